"""Telegram delivery through the unmodified PTB client and the Bot API emulator, every path."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import logsetup
from bot.channels.email import EmailSender, SmtpConfig
from bot.channels.ratelimit import RateLimiter
from bot.channels.telegram import TelegramSender, make_bot
from bot.db.models import Contact, OutboxMessage
from bot.db.session import Database
from bot.rendering import Renderer
from bot.sandbox import Fault, TelegramEmulator
from bot.sandbox.mail_server import MailServer
from bot.services.clock import ManualClock
from bot.services.delivery import outbox
from bot.services.delivery.compose import Composer, Composition
from bot.services.delivery.dispatcher import Dispatcher, RetryPolicy
from bot.services.delivery.port import Attachment
from tests.test_outbox import POLICY, add_contact

NOON = datetime(2027, 1, 20, 10, 0, tzinfo=UTC)
CHAT = 5001


class Harness:
    def __init__(
        self,
        database: Database,
        emulator: TelegramEmulator,
        mail: MailServer,
        renderer: Renderer | None = None,
    ) -> None:
        self.database = database
        self.emulator = emulator
        self.mail = mail
        self.clock = ManualClock(NOON)
        bot = make_bot(emulator.token, emulator.base_url, timeout=0.5)
        self.limiter = RateLimiter(rate=50, chat_interval=0.0)
        self.telegram = TelegramSender(bot, self.limiter)
        self.email = EmailSender(
            SmtpConfig(host="127.0.0.1", port=mail.port, security="none", timeout=5)
        )
        self.dispatcher = Dispatcher(
            database,
            {"telegram": self.telegram, "email": self.email},
            Composer(renderer or Renderer()),
            self.clock,
            POLICY,
            retry=RetryPolicy(max_attempts=3, base=timedelta(minutes=1), jitter=0),
        )

    async def person(self, chat: int = CHAT, email: str | None = "ilze@jelgava.example") -> int:
        self.emulator.user(chat, "Ilze", "Kalniņa", "ilzek", "lv")
        return await add_contact(self.database, "Ilze Kalniņa", email, chat)

    async def send(self, contact_id: int, key: str, kind: str = "broadcast", **params: str) -> None:
        async with self.database.session_scope() as session:
            contact = await session.get(Contact, contact_id)
            assert contact is not None
            await outbox.enqueue(
                session,
                contact=contact,
                channel="telegram",
                kind=kind,
                dedupe_key=key,
                now=self.clock.now(),
                policy=POLICY,
                params={"text": "Sveiki, <kolēģi> & draugi!", "subject": "", **params},
            )

    async def rows(self) -> list[OutboxMessage]:
        async with self.database.session_scope() as session:
            return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))

    async def contact(self, contact_id: int) -> Contact:
        async with self.database.session_scope() as session:
            found = await session.get(Contact, contact_id)
            assert found is not None
            return found

    async def close(self) -> None:
        await self.telegram.close()
        await self.email.close()


@pytest.fixture
async def servers() -> AsyncIterator[tuple[TelegramEmulator, MailServer]]:
    async with TelegramEmulator() as emulator, MailServer() as mail:
        yield emulator, mail


@pytest.fixture
async def harness(
    sqlite_database: Database, servers: tuple[TelegramEmulator, MailServer]
) -> AsyncIterator[Harness]:
    h = Harness(sqlite_database, *servers)
    yield h
    await h.close()


async def test_a_message_reaches_the_chat_as_html_and_the_row_keeps_what_was_sent(
    harness: Harness,
) -> None:
    ilze = await harness.person()
    await harness.send(ilze, "b:1")
    await harness.dispatcher.run_until_idle()
    (row,) = await harness.rows()
    chat = harness.emulator.chat(CHAT)
    (message,) = [m for m in chat.messages if m.from_bot]
    assert message.text == "Sveiki, <kolēģi> & draugi!"
    assert row.status == "sent" and row.provider_id == str(message.message_id)
    assert row.rendered_text == "Sveiki, &lt;kolēģi&gt; &amp; draugi!"


async def test_buttons_go_out_as_an_inline_keyboard(harness: Harness) -> None:
    ilze = await harness.person()
    async with harness.database.session_scope() as session:
        contact = await session.get(Contact, ilze)
        assert contact is not None
        await outbox.enqueue(
            session,
            contact=contact,
            channel="telegram",
            kind="broadcast",
            dedupe_key="k",
            now=NOON,
            policy=POLICY,
            params={
                "text": "Vai piedalīsieties?",
                "subject": "",
                "buttons": [[{"label": "Piedalīšos", "data": "rsvp:1:yes"}]],
            },
        )
    await harness.dispatcher.run_until_idle()
    user = harness.emulator.user(CHAT, "Ilze")
    assert user.last_message is not None
    query = await user.press(user.last_message, "Piedalīšos")
    assert query


async def test_a_429_pauses_the_lane_and_requeues_without_counting_an_attempt(
    harness: Harness,
) -> None:
    ilze = await harness.person()
    harness.emulator.fail_next(Fault.too_many_requests(7), method="sendMessage")
    await harness.send(ilze, "b:1")
    await harness.dispatcher.run_until_idle()
    (row,) = await harness.rows()
    assert row.status == "queued" and row.attempts == 0
    assert row.next_attempt_at == NOON + timedelta(seconds=7)
    assert "429" in (row.last_error or "")
    assert harness.limiter.paused_until > 0
    harness.limiter.paused_until = 0  # the real lane would wait 7 s; this test does not
    harness.clock.advance(timedelta(seconds=7))
    await harness.dispatcher.run_until_idle()
    (row,) = await harness.rows()
    assert row.status == "sent" and row.attempts == 1


@pytest.mark.parametrize(
    "fault", [Fault.bad_gateway(), Fault.server_error(), Fault.drop(), Fault.delay(2)]
)
async def test_network_errors_and_5xx_retry_with_backoff_then_fail(
    harness: Harness, fault: Fault
) -> None:
    ilze = await harness.person()
    harness.emulator.fail_next(fault, method="sendMessage", times=3)
    await harness.send(ilze, "b:1")
    await harness.dispatcher.run_until_idle()
    (row,) = await harness.rows()
    assert row.status == "queued" and row.attempts == 1
    assert row.next_attempt_at == NOON + timedelta(minutes=1)
    harness.clock.advance(timedelta(minutes=1))
    await harness.dispatcher.run_until_idle()
    assert (await harness.rows())[0].next_attempt_at == harness.clock.now() + timedelta(minutes=2)
    harness.clock.advance(timedelta(minutes=2))
    await harness.dispatcher.run_until_idle()
    (row,) = await harness.rows()
    assert row.status == "failed" and (row.last_error or "").startswith("gave up after 3 attempts")


async def test_a_blocked_bot_marks_telegram_blocked_and_falls_back_to_email(
    harness: Harness,
) -> None:
    ilze = await harness.person()
    harness.emulator.user(CHAT, "Ilze").block()
    await harness.send(ilze, "invite:1:ilze:telegram")
    await harness.dispatcher.run_until_idle()
    telegram, email = await harness.rows()
    assert telegram.status == "failed" and "bot was blocked by the user" in (
        telegram.last_error or ""
    )
    assert (await harness.contact(ilze)).telegram_state == "blocked"
    assert email.dedupe_key == "invite:1:ilze:telegram:fallback-email"
    assert email.channel == "email" and email.status == "sent"
    assert len(harness.mail.mailbox("ilze@jelgava.example")) == 1
    await harness.send(ilze, "later")
    assert len(await harness.rows()) == 2  # a blocked channel gets nothing more


async def test_chat_not_found_marks_telegram_inactive_without_email_nothing_more(
    harness: Harness,
) -> None:
    contact = await add_contact(harness.database, "Raimonds Kļaviņš", None, 9999)
    await harness.send(contact, "b:1")
    await harness.dispatcher.run_until_idle()
    (row,) = await harness.rows()
    assert row.status == "failed" and "chat not found" in (row.last_error or "").lower()
    assert (await harness.contact(contact)).telegram_state == "inactive"


async def test_unparseable_html_is_a_template_bug_that_fails_loudly_keeping_the_text_on_the_row(
    sqlite_database: Database,
    servers: tuple[TelegramEmulator, MailServer],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    for language in ("lv", "et", "en"):
        folder = tmp_path / language / "outbound"
        folder.mkdir(parents=True)
        (folder / "broken.telegram.html").write_text("<p>{{ text }}</p>", encoding="utf-8")
        for variant in ("email_subject.txt", "email.txt", "email.html"):
            (folder / f"broken.{variant}").write_text("{{ text }}", encoding="utf-8")
    h = Harness(sqlite_database, *servers, renderer=Renderer(tmp_path))
    ilze = await h.person()
    await h.send(ilze, "b:1", kind="broken")
    await h.dispatcher.run_until_idle()
    (row,) = await h.rows()
    assert row.status == "failed" and "can't parse entities" in (row.last_error or "").lower()
    assert row.rendered_text == "<p>Sveiki, &lt;kolēģi&gt; &amp; draugi!</p>"
    # The log says which row and why; the text stays on the row, out of the log.
    assert "template bug" in caplog.text and f"message {row.id} " in caplog.text
    assert "Sveiki" not in caplog.text
    await h.close()


async def test_the_sender_keeps_under_the_servers_limits_so_nothing_is_refused(
    harness: Harness,
) -> None:
    harness.emulator.limits.per_second = 20
    harness.emulator.limits.burst = 3  # Telegram tolerates short bursts, no more
    harness.emulator.reset_rate_limits()
    harness.limiter.spacing = 1 / 20
    for n in range(30):
        contact = await harness.person(chat=7000 + n, email=None)
        await harness.send(contact, f"b:{n}")
    await harness.dispatcher.run_until_idle()
    assert [r.status for r in await harness.rows()] == ["sent"] * 30
    assert harness.emulator.stats.too_many_requests == 0


async def test_no_log_line_contains_the_bot_token(harness: Harness) -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    handler = logging.StreamHandler(stream)
    logsetup.add_redaction(handler, [harness.emulator.token])
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.DEBUG)
    logging.getLogger("httpx").setLevel(logging.DEBUG)  # the worst case: URLs at every level
    try:
        ilze = await harness.person()
        await harness.send(ilze, "b:1")
        await harness.dispatcher.run_until_idle()
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
    logged = stream.getvalue()
    assert "/bot********/sendMessage" in logged
    assert harness.emulator.token not in logged


async def test_a_calendar_file_goes_to_the_chat_as_a_document(
    sqlite_database: Database, servers: tuple[TelegramEmulator, MailServer]
) -> None:
    ics = (
        "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nSUMMARY:Sanāksme Valgā\r\nEND:VCALENDAR\r\n".encode()
    )

    async def with_calendar(
        session: AsyncSession, row: OutboxMessage, contact: Contact, env: object
    ) -> Composition:
        values = {"contact_name": contact.name, **row.params}
        calendar = Attachment("valga-2027.ics", "text/calendar", ics)
        return Composition(values, attachments=(calendar,))

    h = Harness(sqlite_database, *servers)
    h.dispatcher.composer = Composer(Renderer(), builders={"broadcast": with_calendar})
    ilze = await h.person()
    await h.send(ilze, "b:1")
    await h.dispatcher.run_until_idle()
    (row,) = await h.rows()
    assert row.status == "sent"
    documents = [m.document for m in h.emulator.chat(CHAT).messages if m.document]
    assert len(documents) == 1
    assert documents[0].file_name == "valga-2027.ics" and documents[0].data == ics
    await h.close()
