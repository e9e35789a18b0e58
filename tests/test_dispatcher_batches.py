"""A batch is prepared in bulk, leases are recovered while running, a sent batch never twice."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.email import EmailSender, SmtpConfig
from bot.channels.ratelimit import RateLimiter
from bot.channels.telegram import TelegramSender, make_bot
from bot.db.models import Contact, OutboxMessage
from bot.db.session import Database
from bot.rendering import Renderer
from bot.sandbox import TelegramEmulator
from bot.sandbox.mail_server import MailServer
from bot.services.clock import ManualClock
from bot.services.delivery import outbox
from bot.services.delivery.compose import ComposeEnv, Composer, Composition
from bot.services.delivery.dispatcher import Dispatcher
from bot.services.delivery.port import Outgoing, SendResult
from tests.test_outbox import POLICY, add_contact

NOON = datetime(2027, 1, 20, 10, 0, tzinfo=UTC)
RENDERER = Renderer()


@pytest.fixture
async def mail() -> AsyncIterator[MailServer]:
    async with MailServer() as server:
        yield server


def email_sender(mail: MailServer) -> EmailSender:
    return EmailSender(SmtpConfig(host="127.0.0.1", port=mail.port, security="none", timeout=5))


async def queue(
    database: Database, contact_id: int, key: str, clock: ManualClock, channel: str = "email"
) -> None:
    async with database.session_scope() as session:
        contact = await session.get(Contact, contact_id)
        assert contact is not None
        result = await outbox.enqueue(
            session,
            contact=contact,
            channel=channel,
            kind="broadcast",
            dedupe_key=key,
            now=clock.now(),
            policy=POLICY,
            params={"text": f"Ziņa {key}", "subject": "Ziņa"},
        )
        assert result.status == "queued"


async def statuses(database: Database) -> list[str]:
    async with database.read_scope() as session:
        return list(await session.scalars(select(OutboxMessage.status).order_by(OutboxMessage.id)))


async def settle(database: Database, expected: list[str]) -> list[str]:
    """Wait (up to 10 s) until the rows have the expected statuses; return the last seen."""
    for _ in range(1000):
        found = await statuses(database)
        if found == expected:
            break
        await asyncio.sleep(0.01)
    return found


async def test_a_running_dispatcher_requeues_rows_a_crashed_worker_left_sending(
    database: Database, mail: MailServer
) -> None:
    clock = ManualClock(NOON)
    sender = email_sender(mail)
    dispatcher = Dispatcher(
        database, {"email": sender}, Composer(RENDERER), clock, POLICY, poll_seconds=0.02
    )
    contact = await add_contact(database, "Inese Zariņa", "inese@dobele.example", None)
    await queue(database, contact, "crashed", clock)
    async with database.session_scope() as session:  # another worker claims it, then dies
        await outbox.claim_due(session, now=NOON, limit=1, lease=dispatcher.lease)
    await queue(database, contact, "fresh", clock)
    stop = asyncio.Event()
    running = asyncio.create_task(dispatcher.run(stop))
    await mail.wait_for(1)  # running, and past the recovery it does when it starts
    assert await settle(database, ["sending", "sent"]) == ["sending", "sent"]
    clock.advance(dispatcher.lease + timedelta(seconds=1))
    await mail.wait_for(2)
    assert await settle(database, ["sent", "sent"]) == ["sent", "sent"]
    stop.set()
    await running
    await sender.close()
    assert sorted(m.message["Subject"] for m in mail.messages) == ["Ziņa", "Ziņa"]


async def test_stale_leases_are_looked_for_once_a_minute_not_on_every_poll(
    database: Database, mail: MailServer
) -> None:
    clock = ManualClock(NOON)
    dispatcher = Dispatcher(
        database, {"email": email_sender(mail)}, Composer(RENDERER), clock, POLICY
    )
    contact = await add_contact(database, "Inese Zariņa", "inese@dobele.example", None)
    await queue(database, contact, "crashed", clock)
    async with database.session_scope() as session:
        await outbox.claim_due(session, now=NOON, limit=1, lease=dispatcher.lease)
    clock.advance(timedelta(minutes=4, seconds=30))
    assert await dispatcher.recover_when_due() == 0  # looked: not stale yet
    clock.advance(timedelta(seconds=40))
    assert await dispatcher.recover_when_due() == 0  # stale, but looked 40 s ago
    clock.advance(timedelta(seconds=20))
    assert await dispatcher.recover_when_due() == 1


class LockAfterSending:
    """The real email sender; once a message is out, another process takes the write lock."""

    channel = "email"

    def __init__(self, sender: EmailSender, lock: sqlite3.Connection) -> None:
        self.sender = sender
        self.lock = lock
        self.sent: list[int] = []

    async def send(self, message: Outgoing) -> SendResult:
        result = await self.sender.send(message)
        self.sent.append(message.outbox_id)
        if not self.lock.in_transaction:
            self.lock.execute("BEGIN IMMEDIATE")
        return result

    async def close(self) -> None:
        await self.sender.close()


async def test_a_batch_whose_record_fails_is_recorded_when_it_can_and_never_sent_again(
    sqlite_url: str, mail: MailServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "expertbot.dispatcher")
    database = Database(sqlite_url, busy_timeout_ms=20)
    clock = ManualClock(NOON)
    lock = sqlite3.connect(Path(sqlite_url.removeprefix("sqlite:///")), isolation_level=None)
    sender = LockAfterSending(email_sender(mail), lock)
    # One worker: a second one's claim would meet the lock too (and say so by raising).
    dispatcher = Dispatcher(
        database,
        {"email": sender},
        Composer(RENDERER),
        clock,
        POLICY,
        parallel=1,
        record_backoff=0.02,
    )
    contact = await add_contact(database, "Inese Zariņa", "inese@dobele.example", None)
    for n in range(3):
        await queue(database, contact, f"m{n}", clock)
    sending = asyncio.create_task(dispatcher.run_until_idle())
    await mail.wait_for(3)
    for _ in range(500):  # until the dispatcher has met the lock at least once
        if any(r.name == "expertbot.dispatcher" for r in caplog.records):
            break
        await asyncio.sleep(0.01)
    assert "could not record a sent batch" in caplog.text
    lock.execute("ROLLBACK")
    await sending
    assert await statuses(database) == ["sent", "sent", "sent"]
    # Long after any lease, nothing goes a second time.
    clock.advance(timedelta(hours=1))
    await dispatcher.recover()
    await dispatcher.run_until_idle()
    assert len(mail.messages) == 3 and sorted(sender.sent) == [1, 2, 3]
    await sender.close()
    lock.close()
    await database.dispose()


async def test_a_batch_is_prepared_with_one_query_for_its_contacts_and_chats(
    database: Database,
) -> None:
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.split()).upper())

    clock = ManualClock(NOON)
    async with TelegramEmulator() as telegram:
        contacts = []
        for n in range(10):
            telegram.user(7000 + n, f"Dalībnieks {n}", language_code="lv")
            contacts.append(await add_contact(database, f"Dalībnieks {n}", None, 7000 + n))
        for n, contact in enumerate(contacts):
            await queue(database, contact, f"b{n}", clock, channel="telegram")
        sender = TelegramSender(
            make_bot(telegram.token, telegram.base_url), RateLimiter(1000, chat_interval=0)
        )
        dispatcher = Dispatcher(database, {"telegram": sender}, Composer(RENDERER), clock, POLICY)
        engines = {database.engine.sync_engine, database.read_engine.sync_engine}
        for engine in engines:
            event.listen(engine, "before_cursor_execute", seen)
        assert await dispatcher.process_batch() == 10
        for engine in engines:
            event.remove(engine, "before_cursor_execute", seen)
        await sender.close()
        assert all(len(telegram.chat(7000 + n).messages) == 1 for n in range(10))
    assert await statuses(database) == ["sent"] * 10
    reading = [s for s in statements if "FROM CONTACTS" in s or "FROM TELEGRAM_LINKS" in s]
    assert len(reading) == 1
    assert not [s for s in statements if "SAVEPOINT" in s]
    # Claim (select, update, select) and record (one UPDATE for the sent rows) and no more.
    assert len([s for s in statements if s.startswith(("SELECT", "UPDATE"))]) <= 5


async def test_a_telegram_message_renders_only_its_telegram_template(tmp_path: Path) -> None:
    for language in ("lv", "et", "en"):
        folder = tmp_path / language / "outbound"
        folder.mkdir(parents=True)
        (folder / "note.telegram.html").write_text("Sveiki, {{ contact_name }}!")
        for suffix in ("email_subject.txt", "email.txt", "email.html"):
            (folder / f"note.{suffix}").write_text("{{ missing_value }}")
    renderer = Renderer(tmp_path)
    rendered = renderer.render_channel("note", "telegram", "lv", {"contact_name": "Ilze"})
    assert rendered.telegram == "Sveiki, Ilze!" and rendered.text == ""


async def test_a_builder_that_fails_after_writing_leaves_nothing_and_others_keep_theirs(
    database: Database, mail: MailServer
) -> None:
    async def issue_token(
        session: AsyncSession, row: OutboxMessage, contact: Contact, env: ComposeEnv
    ) -> Composition:
        session.add(Contact(name=f"Token for {row.dedupe_key}", role="regional_expert"))
        await session.flush()
        if row.dedupe_key == "fails":
            raise LookupError("the event is gone")
        return Composition({"contact_name": contact.name, **row.params})

    composer = Composer(RENDERER, builders={"broadcast": issue_token}, writing_kinds={"broadcast"})
    clock = ManualClock(NOON)
    sender = email_sender(mail)
    dispatcher = Dispatcher(database, {"email": sender}, composer, clock, POLICY)
    contact = await add_contact(database, "Inese Zariņa", "inese@dobele.example", None)
    await queue(database, contact, "fails", clock)
    await queue(database, contact, "works", clock)
    await dispatcher.run_until_idle()
    await sender.close()
    async with database.read_scope() as session:
        names = set(await session.scalars(select(Contact.name)))
        rows = {r.dedupe_key: r for r in await session.scalars(select(OutboxMessage))}
    assert "Token for fails" not in names and "Token for works" in names
    assert rows["fails"].status == "failed" and "the event is gone" in (
        rows["fails"].last_error or ""
    )
    assert rows["works"].status == "sent" and len(mail.messages) == 1


class HeldSender:
    """The real email sender, held back until the test lets it go (a slow relay, a 429 pause)."""

    channel = "email"

    def __init__(self, sender: EmailSender) -> None:
        self.sender = sender
        self.entered = asyncio.Event()
        self.go = asyncio.Event()

    async def send(self, message: Outgoing) -> SendResult:
        self.entered.set()
        await self.go.wait()
        return await self.sender.send(message)

    async def close(self) -> None:
        await self.sender.close()


async def test_a_batch_still_being_sent_keeps_its_lease_and_is_not_taken_for_stale(
    database: Database, mail: MailServer
) -> None:
    clock = ManualClock(NOON)
    sender = HeldSender(email_sender(mail))
    dispatcher = Dispatcher(
        database, {"email": sender}, Composer(RENDERER), clock, POLICY, renew_every=0.02
    )
    other = Dispatcher(database, {"email": sender}, Composer(RENDERER), clock, POLICY)
    contact = await add_contact(database, "Inese Zariņa", "inese@dobele.example", None)
    await queue(database, contact, "slow", clock)
    sending = asyncio.create_task(dispatcher.run_until_idle())
    await sender.entered.wait()
    clock.advance(dispatcher.lease + timedelta(minutes=1))  # the first lease is long over
    for _ in range(500):  # until the live worker has renewed it
        async with database.read_scope() as session:
            lease_end = await session.scalar(select(OutboxMessage.next_attempt_at))
        if lease_end is not None and lease_end > clock.now():
            break
        await asyncio.sleep(0.01)
    assert await other.recover() == 0  # another worker or instance leaves it alone
    sender.go.set()
    await sending
    await dispatcher.run_until_idle()
    assert await statuses(database) == ["sent"] and len(mail.messages) == 1
    await sender.close()


async def test_a_row_the_database_refuses_to_record_does_not_hold_back_the_sent_ones(
    sqlite_url: str, mail: MailServer, caplog: pytest.LogCaptureFixture
) -> None:
    database = Database(sqlite_url)
    clock = ManualClock(NOON)
    sender = email_sender(mail)
    dispatcher = Dispatcher(database, {"email": sender}, Composer(RENDERER), clock, POLICY)
    contact = await add_contact(database, "Inese Zariņa", "inese@dobele.example", None)
    await queue(database, contact, "first", clock)
    async with database.session_scope() as session:  # no text: it cannot be rendered
        found = await session.get(Contact, contact)
        assert found is not None
        await outbox.enqueue(
            session,
            contact=found,
            channel="email",
            kind="broadcast",
            dedupe_key="broken",
            now=clock.now(),
            policy=POLICY,
            params={},
        )
    await queue(database, contact, "third", clock)
    # The database itself refuses to mark a row failed (as a constraint would).
    refuse = sqlite3.connect(Path(sqlite_url.removeprefix("sqlite:///")))
    refuse.execute(
        "CREATE TRIGGER refuse_failed BEFORE UPDATE ON outbox WHEN NEW.status = 'failed' "
        "BEGIN SELECT RAISE(ABORT, 'refused'); END"
    )
    refuse.commit()
    await dispatcher.run_until_idle()
    assert "recording its rows one by one" in caplog.text
    assert await statuses(database) == ["sent", "sending", "sent"]
    clock.advance(timedelta(hours=1))  # long after any lease: the two sent go no second time
    await dispatcher.recover()
    await dispatcher.run_until_idle()
    assert len(mail.messages) == 2
    refuse.close()
    await sender.close()
    await database.dispose()
