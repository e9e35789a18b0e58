"""A changed time reaches everyone who has not declined; a cancellation stops what is pending."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import icalendar
from sqlalchemy import select

from bot.channels.email import EmailSender, SmtpConfig
from bot.db.models import Contact, Invitation, OutboxMessage
from bot.db.session import Database
from bot.rendering import Renderer
from bot.sandbox.mail_server import MailServer
from bot.services.clock import ManualClock
from bot.services.delivery.compose import Composer
from bot.services.delivery.dispatcher import Dispatcher
from bot.services.delivery.signed_links import Links
from bot.services.events import invitations
from tests.conftest import DATA, Cli
from tests.test_outbox import POLICY

VALGA = DATA / "events" / "valga-2027.yaml"


async def answer(database: Database, email: str, code: str) -> None:
    async with database.session_scope() as session:
        invitation = await session.scalar(
            select(Invitation).join(Contact).where(Contact.email == email)
        )
        assert invitation is not None
        await invitations.record_answer(
            session, invitation.id, code, channel="email", now=datetime(2027, 1, 10, tzinfo=UTC)
        )


async def send_all(database: Database, mail: MailServer) -> None:
    """Deliver everything queued, a week from now (past any quiet hours)."""
    sender = EmailSender(SmtpConfig(host="127.0.0.1", port=mail.port, security="none"))
    clock = ManualClock(datetime.now(UTC) + timedelta(days=7))
    composer = Composer(Renderer(), Links("k" * 32, "https://bot.example"), "tikls@km.example")
    try:
        await Dispatcher(database, {"email": sender}, composer, clock, POLICY).run_until_idle()
    finally:
        await sender.close()


async def kinds(database: Database) -> list[tuple[str, str, str]]:
    async with database.session_scope() as session:
        rows = await session.execute(
            select(Contact.email, OutboxMessage.kind, OutboxMessage.status)
            .join(Contact, Contact.id == OutboxMessage.contact_id)
            .order_by(OutboxMessage.id)
        )
        return [(str(e), k, s) for e, k, s in rows.all()]


def calendar_of(message: object) -> icalendar.Calendar:
    (part,) = [
        p
        for p in message.iter_attachments()  # type: ignore[attr-defined]
        if p.get_content_type() == "text/calendar"
    ]
    return icalendar.Calendar.from_ical(part.get_payload(decode=True))


async def test_a_new_start_time_is_told_with_an_updated_calendar(
    cli: Cli, sqlite_database: Database, tmp_path: Path
) -> None:
    await asyncio.to_thread(cli, "contacts", "import", str(DATA / "contacts.csv"))
    await asyncio.to_thread(cli, "events", "load", str(VALGA))
    await asyncio.to_thread(cli, "events", "invite", "valga-2027")
    await answer(sqlite_database, "edgars.vitols@valka.example", "no")
    async with MailServer() as mail:
        await send_all(sqlite_database, mail)
        changed = tmp_path / "valga-2027.yaml"
        changed.write_text(
            VALGA.read_text("utf-8").replace(
                "starts: 2027-02-04T10:00", "starts: 2027-02-04T09:00"
            ),
            "utf-8",
        )
        result = await asyncio.to_thread(cli, "events", "load", str(changed))
        assert "told invited people: 1 message(s) queued" in result.output
        await send_all(sqlite_database, mail)
        (_, notice) = mail.mailbox("kadri.tamm@valga.example")
    assert str(notice["Subject"]).startswith("Muudatus üritusel")
    body = notice.get_body(("plain",))
    assert body is not None and "09:00–15:30" in body.get_content()
    (event,) = calendar_of(notice).walk("VEVENT")
    assert int(event["SEQUENCE"]) == 1
    assert event.decoded("DTSTART").astimezone(UTC) == datetime(2027, 2, 4, 7, 0, tzinfo=UTC)
    assert ("edgars.vitols@valka.example", "event_changed", "sent") not in await kinds(
        sqlite_database
    )


async def test_cancelling_tells_people_and_stops_pending_messages(
    cli: Cli, sqlite_database: Database
) -> None:
    await asyncio.to_thread(cli, "contacts", "import", str(DATA / "contacts.csv"))
    await asyncio.to_thread(cli, "events", "load", str(VALGA))
    await asyncio.to_thread(cli, "events", "invite", "valga-2027")
    result = await asyncio.to_thread(
        cli, "events", "cancel", "valga-2027", "--reason", "Telpas nav pieejamas"
    )
    assert "Cancelled valga-2027: 2 message(s) queued" in result.output
    statuses = await kinds(sqlite_database)
    assert [s for _, k, s in statuses if k == "event_invitation"] == ["cancelled", "cancelled"]
    async with MailServer() as mail:
        await send_all(sqlite_database, mail)
        (notice,) = mail.mailbox("kadri.tamm@valga.example")
    calendar = calendar_of(notice)
    (event,) = calendar.walk("VEVENT")
    assert str(calendar["METHOD"]) == "CANCEL" and str(event["STATUS"]) == "CANCELLED"
    body = notice.get_body(("plain",))
    assert body is not None and "Telpas nav pieejamas" in body.get_content()
    again = await asyncio.to_thread(cli, "events", "cancel", "valga-2027", "--reason", "x")
    assert again.exit_code == 1 and "already cancelled" in again.output
