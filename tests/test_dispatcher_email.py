"""The dispatcher sends outbox rows by email to a real SMTP server and records every outcome."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.channels.email import EmailSender, SmtpConfig
from bot.db.models import Contact, OutboxMessage
from bot.db.session import Database
from bot.rendering import Renderer
from bot.sandbox.mail_server import MailServer
from bot.services.clock import ManualClock
from bot.services.delivery import outbox
from bot.services.delivery.compose import Composer
from bot.services.delivery.dispatcher import Dispatcher, RetryPolicy
from bot.services.delivery.signed_links import Links
from tests.conftest import Cli
from tests.test_outbox import POLICY, add_contact

NOON = datetime(2027, 1, 20, 10, 0, tzinfo=UTC)
RENDERER = Renderer()


@pytest.fixture
async def mail() -> AsyncIterator[MailServer]:
    async with MailServer() as server:
        yield server


class Harness:
    def __init__(self, database: Database, mail: MailServer) -> None:
        self.database = database
        self.mail = mail
        self.clock = ManualClock(NOON)
        config = SmtpConfig(
            host="127.0.0.1",
            port=mail.port,
            security="none",
            mail_from="Ekspertu tīkls <tikls@km.example>",
            timeout=5,
        )
        self.sender = EmailSender(config)
        links = Links("test-secret", "https://bot.example")
        self.dispatcher = Dispatcher(
            database,
            {"email": self.sender},
            Composer(RENDERER, links, mail_from=config.mail_from),
            self.clock,
            POLICY,
            retry=RetryPolicy(max_attempts=3, base=timedelta(minutes=1), jitter=0),
        )

    async def broadcast(self, contact_id: int, key: str, text: str = "Sveiki!") -> None:
        async with self.database.session_scope() as session:
            contact = await session.get(Contact, contact_id)
            assert contact is not None
            await outbox.enqueue(
                session,
                contact=contact,
                channel="email",
                kind="broadcast",
                dedupe_key=key,
                now=self.clock.now(),
                policy=POLICY,
                params={"text": text, "subject": ""},
            )

    async def rows(self) -> list[OutboxMessage]:
        async with self.database.session_scope() as session:
            return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))

    async def contact(self, contact_id: int) -> Contact:
        async with self.database.session_scope() as session:
            found = await session.get(Contact, contact_id)
            assert found is not None
            return found


@pytest.fixture
async def harness(database: Database, mail: MailServer) -> AsyncIterator[Harness]:
    h = Harness(database, mail)
    yield h
    await h.sender.close()


async def test_a_queued_message_is_rendered_in_the_contacts_language_and_sent(
    harness: Harness,
) -> None:
    kadri = await add_contact(
        harness.database, "Kadri Tamm", "kadri.tamm@valga.example", None, language="et"
    )
    await harness.broadcast(kadri, "b:1", "Kohtume Valgas!")
    assert await harness.dispatcher.run_until_idle() == 1
    (row,) = await harness.rows()
    assert row.status == "sent" and row.provider_id and row.language == "et"
    assert row.subject == "Teade piirkondlike ekspertide võrgustikult"
    assert "Tere, Kadri Tamm!" in (row.rendered_text or "")
    (message,) = harness.mail.mailbox("kadri.tamm@valga.example")
    assert str(message["Message-ID"]) == row.provider_id
    assert str(message["List-Unsubscribe"]).strip().startswith("<https://bot.example/u/")


async def test_the_language_is_the_one_the_contact_has_when_it_is_sent(
    harness: Harness,
) -> None:
    contact = await add_contact(harness.database, "Mikko Virtanen", "mikko@m.example", None)
    await harness.broadcast(contact, "b:1")
    async with harness.database.session_scope() as session:
        found = await session.get(Contact, contact)
        assert found is not None
        found.language = "en"
    await harness.dispatcher.run_until_idle()
    (row,) = await harness.rows()
    assert row.language == "en" and "Dear Mikko Virtanen" in (row.rendered_text or "")


async def test_a_550_marks_the_address_bounced_and_fails_the_message(harness: Harness) -> None:
    gone = await add_contact(harness.database, "Jānis Ozols", "gone@ventspils.example", None)
    harness.mail.faults.refuse["gone@ventspils.example"] = "550 5.1.1 No such user"
    await harness.broadcast(gone, "b:1")
    await harness.dispatcher.run_until_idle()
    (row,) = await harness.rows()
    assert row.status == "failed" and "550" in (row.last_error or "")
    assert (await harness.contact(gone)).email_state == "bounced"
    await harness.broadcast(gone, "b:2")
    assert len(await harness.rows()) == 1  # a bounced address gets nothing more


async def test_a_4xx_is_retried_with_backoff_until_it_goes_through(harness: Harness) -> None:
    contact = await add_contact(harness.database, "Aija Bērziņa", "aija@valmiera.example", None)
    harness.mail.faults.busy = 1
    await harness.broadcast(contact, "b:1")
    await harness.dispatcher.run_until_idle()
    (row,) = await harness.rows()
    assert row.status == "queued" and row.attempts == 1 and "421" in (row.last_error or "")
    assert row.next_attempt_at == NOON + timedelta(minutes=1)
    assert await harness.dispatcher.run_until_idle() == 0  # not due yet
    harness.clock.advance(timedelta(minutes=1))
    await harness.dispatcher.run_until_idle()
    (row,) = await harness.rows()
    assert row.status == "sent" and row.attempts == 2


async def test_after_the_last_attempt_the_message_fails_with_the_reason(
    harness: Harness,
) -> None:
    contact = await add_contact(harness.database, "Aija Bērziņa", "aija@valmiera.example", None)
    harness.mail.faults.refuse["aija@valmiera.example"] = "451 4.7.1 Greylisted"
    await harness.broadcast(contact, "b:1")
    for _ in range(3):
        await harness.dispatcher.run_until_idle()
        harness.clock.advance(timedelta(hours=1))
    (row,) = await harness.rows()
    assert row.status == "failed" and row.attempts == 3
    assert row.last_error == "gave up after 3 attempts: recipient deferred: 451 4.7.1 Greylisted"


async def test_a_channel_closed_after_queuing_is_skipped_when_sending(harness: Harness) -> None:
    contact = await add_contact(harness.database, "Zane Ābele", "zane@ngo.example", None)
    await harness.broadcast(contact, "b:1")
    async with harness.database.session_scope() as session:
        found = await session.get(Contact, contact)
        assert found is not None
        found.email_state = "unsubscribed"
    await harness.dispatcher.run_until_idle()
    (row,) = await harness.rows()
    assert (row.status, row.last_error) == ("cancelled", "skipped: email unsubscribed")
    assert harness.mail.messages == []


async def test_a_template_error_fails_loudly_and_sends_nothing(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    contact = await add_contact(harness.database, "Dace Krūmiņa", "dace@talsi.example", None)
    async with harness.database.session_scope() as session:
        found = await session.get(Contact, contact)
        assert found is not None
        await outbox.enqueue(
            session,
            contact=found,
            channel="email",
            kind="broadcast",
            dedupe_key="bad",
            now=NOON,
            policy=POLICY,
            params={"subject": ""},  # no text: StrictUndefined refuses
        )
    await harness.dispatcher.run_until_idle()
    (row,) = await harness.rows()
    assert row.status == "failed" and "template error" in (row.last_error or "")
    assert "cannot be rendered" in caplog.text
    assert harness.mail.messages == []


async def test_a_crash_mid_send_leaves_the_row_to_be_sent_after_restart(
    harness: Harness,
) -> None:
    contact = await add_contact(harness.database, "Inese Zariņa", "inese@dobele.example", None)
    await harness.broadcast(contact, "b:1")
    claimed = await harness.dispatcher.claim(10)  # then the process dies before sending
    assert [r.status for r in claimed] == ["sending"]
    restarted = Harness(harness.database, harness.mail)
    restarted.clock.set(NOON + timedelta(minutes=6))
    assert await restarted.dispatcher.recover() == 1
    await restarted.dispatcher.run_until_idle()
    (row,) = await harness.rows()
    assert row.status == "sent"
    assert len(harness.mail.messages) == 1
    await restarted.sender.close()


async def test_outbox_status_shows_failures_and_retry_requeues_them(harness: Harness) -> None:
    gone = await add_contact(harness.database, "Jānis Ozols", "gone@ventspils.example", None)
    harness.mail.faults.refuse["gone@ventspils.example"] = "550 5.1.1 No such user"
    await harness.broadcast(gone, "b:1")
    await harness.dispatcher.run_until_idle()
    cli = Cli(harness.database.url)
    shown = await asyncio.to_thread(cli, "outbox", "status")
    assert "550 5.1.1 No such user" in shown.output
    assert "expertbot outbox retry --failed" in shown.output
    retried = await asyncio.to_thread(cli, "outbox", "retry", "--failed")
    assert "Requeued 1 failed message(s)." in retried.output
    (row,) = await harness.rows()
    assert row.status == "queued" and row.attempts == 0
