"""Invite an audience and take answers by Telegram button and by email link, end to end."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import func, select

from bot.db.models import (
    AgendaItem,
    Contact,
    Event,
    Invitation,
    InvitationAnswer,
    OutboxMessage,
    Place,
)
from bot.db.session import Database
from bot.sandbox import TelegramEmulator
from bot.sandbox.mail_server import MailServer
from bot.services.contacts import registry
from bot.services.contacts.audience import Audience
from bot.services.contacts.rows import parse_rows, read_table
from bot.services.events import invitations
from tests.conftest import DATA
from tests.test_onboarding import Network, ilze
from tests.test_outbox import POLICY

LINK = re.compile(r"https?://\S+/r/[\w.\-]+")


class Scene(Network):
    async def event(self, capacity: int | None = 25) -> int:
        async with self.database.session_scope() as session:
            event = Event(
                slug="valga-2027",
                kind="cross_border_meeting",
                status="draft",
                title={
                    "lv": "Latvijas un Igaunijas ekspertu sanāksme Valgā",
                    "et": "Läti ja Eesti ekspertide kohtumine Valgas",
                    "en": "Latvian–Estonian expert meeting in Valga",
                },
                timezone="Europe/Tallinn",
                starts_at=datetime(2027, 2, 4, 8, 0, tzinfo=UTC),
                ends_at=datetime(2027, 2, 4, 13, 30, tzinfo=UTC),
                capacity=capacity,
                rsvp_by=date(2027, 1, 28),
            )
            event.places = [Place(position=0, name="Valga Vallavalitsus", address="Puiestee 8")]
            event.agenda = [
                AgendaItem(
                    position=0,
                    day=date(2027, 2, 4),
                    starts=time(10, 0),
                    ends=time(10, 30),
                    title={"lv": "Iepazīšanās", "et": "Tutvustus", "en": "Introductions"},
                )
            ]
            session.add(event)
            await session.flush()
            return event.id

    async def invite(self, event_id: int, *emails: str) -> int:
        async with self.database.session_scope() as session:
            event = await session.get(Event, event_id)
            assert event is not None
            found = await invitations.plan(session, event, Audience.build(emails=emails))
            return await invitations.invite(
                session, event, found, now=self.clock.now(), policy=POLICY
            )

    async def status(self, email: str) -> str:
        async with self.database.session_scope() as session:
            contact = await registry.find(session, email)
            assert contact is not None
            invitation = await session.scalar(
                select(Invitation).where(Invitation.contact_id == contact.id)
            )
            assert invitation is not None
            return invitation.status


S = TypeVar("S", bound=Scene)


@asynccontextmanager
async def running(
    database: Database,
    secret_key: str,
    kind: type[S],
    busy_timeout_ms: int | None = None,
) -> AsyncIterator[S]:
    """The service over the sample contacts, with the emulator and a mail server, in live
    mode; the scene's `mail` is the mail server and links point at its own web port."""
    async with database.session_scope() as session:
        rows = parse_rows(read_table(DATA / "contacts.csv")).rows
        await registry.apply_import(session, await registry.plan_import(session, rows))
    async with TelegramEmulator() as emulator, MailServer() as mail:
        net = kind(
            database,
            emulator,
            secret_key=secret_key,
            smtp_host="127.0.0.1",
            smtp_port=mail.port,
            smtp_security="none",
        )
        net.mail = mail  # type: ignore[attr-defined]
        net.settings = net.settings.model_copy(
            update={"public_url": f"http://127.0.0.1:{net.settings.web_port}"}
        )
        net.service.settings = net.settings
        if busy_timeout_ms is not None:
            net.service.busy_timeout_ms = busy_timeout_ms
        yield net


@pytest.fixture
async def scene(sqlite_database: Database) -> AsyncIterator[Scene]:
    async with running(sqlite_database, "rsvp-signing-key-for-tests-0123456789", Scene) as net:
        await net.start()
        yield net
        await net.close()


async def test_a_telegram_press_records_the_answer_and_ticks_the_button(scene: Scene) -> None:
    user = ilze(scene.emulator)
    await scene.joined(user, "ilze.kalnina@jelgava.example")
    event = await scene.event()
    assert await scene.invite(event, "ilze.kalnina@jelgava.example") == 1
    scene.service_wake()
    invitation = await user.wait_for_message(lambda m: bool(m.reply_markup))
    assert "Latvijas un Igaunijas ekspertu sanāksme Valgā" in (invitation.text or "")
    assert "2027. gada 4. februārī, 10:00–15:30" in (invitation.text or "")
    await user.press(invitation, "Piedalīšos")
    await user.wait_for(lambda: "✓ Piedalīšos" in str(invitation.reply_markup))
    assert await scene.status("ilze.kalnina@jelgava.example") == "accepted"
    async with scene.database.session_scope() as session:
        channels = list(await session.scalars(select(InvitationAnswer.channel)))
    assert channels == [None, "telegram"]


async def test_an_email_link_shows_on_get_and_records_only_on_post(scene: Scene) -> None:
    event = await scene.event()
    await scene.invite(event, "kadri.tamm@valga.example")
    scene.service_wake()
    mail: MailServer = scene.mail  # type: ignore[attr-defined]
    (message,) = await mail.wait_for(1)
    body = message.message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "Osalen" in text
    accept = LINK.findall(text)[0]
    async with httpx.AsyncClient() as client:
        shown = await client.get(accept)
        assert shown.status_code == 200 and "Osalen" in shown.text
        assert "Kinnitamisel salvestame Teie vastuse" in shown.text  # nothing recorded yet
        assert await scene.status("kadri.tamm@valga.example") == "invited"
        confirm = re.search(r'name="confirm" value="(\w+)"', shown.text)
        assert confirm is not None
        forged = await client.post(accept, data={"confirm": "0" * 64})
        assert forged.status_code == 403
        foreign = await client.post(accept, data={"confirm": "ā" * 64})  # not a 500 either
        assert foreign.status_code == 403
        done = await client.post(accept, data={"confirm": confirm.group(1)})
        reopened = await client.get(accept)
    assert done.status_code == 200 and "Teie vastus on salvestatud" in done.text
    assert await scene.status("kadri.tamm@valga.example") == "accepted"
    assert "Teie vastus on salvestatud" in reopened.text and 'name="confirm"' not in reopened.text


async def test_an_expired_link_answers_in_the_persons_language_with_a_next_step(
    scene: Scene,
) -> None:
    event = await scene.event()
    await scene.invite(event, "kadri.tamm@valga.example")
    scene.service_wake()
    mail: MailServer = scene.mail  # type: ignore[attr-defined]
    (message,) = await mail.wait_for(1)
    body = message.message.get_body(("plain",))
    assert body is not None
    accept = LINK.findall(body.get_content())[0]
    scene.clock.advance(timedelta(days=30))  # the event is over, and so is the link
    async with httpx.AsyncClient() as client:
        page = await client.get(accept, headers={"Accept-Language": "en-GB"})
    assert page.status_code == 410
    assert "Selle lingi kehtivusaeg on läbi" in page.text  # Kadri reads Estonian
    assert "küsige koordinaatorilt uus link" in page.text


async def test_a_tampered_link_is_refused_politely(scene: Scene) -> None:
    async with httpx.AsyncClient() as client:
        page = await client.get(
            f"{scene.settings.public_url}/r/not-a-real-token", headers={"Accept-Language": "et"}
        )
    assert page.status_code == 410 and "See link ei kehti" in page.text


async def test_at_capacity_yes_waits_and_a_decline_frees_the_place(scene: Scene) -> None:
    event = await scene.event(capacity=1)
    await scene.invite(event, "ilze.kalnina@jelgava.example", "kadri.tamm@valga.example")
    async with scene.database.session_scope() as session:
        rows = {
            c.email: i.id
            for i, c in (
                await session.execute(
                    select(Invitation, Contact).join(Contact, Contact.id == Invitation.contact_id)
                )
            ).all()
        }
        now = scene.clock.now()
        first = await invitations.record_answer(
            session, rows["ilze.kalnina@jelgava.example"], "yes", channel="email", now=now
        )
        second = await invitations.record_answer(
            session, rows["kadri.tamm@valga.example"], "yes", channel="email", now=now
        )
        freed = await invitations.record_answer(
            session, rows["ilze.kalnina@jelgava.example"], "no", channel="email", now=now
        )
    assert (first.status, second.status) == ("accepted", "waitlisted")
    assert freed.promoted is not None and freed.promoted.email == "kadri.tamm@valga.example"
    assert await scene.status("kadri.tamm@valga.example") == "accepted"


async def test_after_the_reply_deadline_answers_are_politely_refused(scene: Scene) -> None:
    event = await scene.event()
    await scene.invite(event, "kadri.tamm@valga.example")
    scene.clock.set(datetime(2027, 1, 28, 22, 1, tzinfo=UTC))  # 29 Jan, 00:01 in Tallinn
    async with scene.database.session_scope() as session:
        invitation = await session.scalar(select(Invitation))
        assert invitation is not None
        late = await invitations.record_answer(
            session, invitation.id, "yes", channel="email", now=scene.clock.now()
        )
    assert late.verdict == "closed"
    assert await scene.status("kadri.tamm@valga.example") == "invited"


async def test_a_press_from_another_chat_changes_nothing(scene: Scene) -> None:
    user = ilze(scene.emulator)
    await scene.joined(user, "ilze.kalnina@jelgava.example")
    event = await scene.event()
    await scene.invite(event, "ilze.kalnina@jelgava.example")
    async with scene.database.session_scope() as session:
        invitation = await session.scalar(select(Invitation))
        assert invitation is not None
        outcome = await invitations.record_answer(
            session, invitation.id, "no", channel="telegram", now=scene.clock.now(), chat_id=999
        )
    assert outcome.verdict == "not_yours"
    assert await scene.status("ilze.kalnina@jelgava.example") == "invited"


def test_rsvp_links_expire_when_the_event_is_over() -> None:
    from bot.services.delivery.signed_links import LinkError, Links
    from bot.services.events.invitation_messages import read_rsvp, rsvp_links

    links = Links("k" * 32, "https://bot.example")
    event = Event(id=1, ends_at=datetime(2027, 2, 4, 13, 30, tzinfo=UTC))
    invitation = Invitation(id=7)
    token = rsvp_links(links, invitation, event)["accept"].rsplit("/", 1)[1]
    assert read_rsvp(links, token, datetime(2027, 2, 4, 12, 0, tzinfo=UTC)) == (7, "yes")
    with pytest.raises(LinkError, match="expired"):
        read_rsvp(links, token, datetime(2027, 2, 4, 13, 31, tzinfo=UTC) + timedelta(0))


async def test_the_invitation_carries_a_calendar_file_on_both_channels(scene: Scene) -> None:
    import icalendar

    user = ilze(scene.emulator)
    await scene.joined(user, "ilze.kalnina@jelgava.example")
    event = await scene.event()
    await scene.invite(event, "ilze.kalnina@jelgava.example", "kadri.tamm@valga.example")
    scene.service_wake()
    document = await user.wait_for_message(lambda m: m.document is not None)
    assert document.document is not None and document.document.file_name == "valga-2027.ics"
    mail: MailServer = scene.mail  # type: ignore[attr-defined]
    await mail.wait_for(2)
    (message,) = mail.mailbox("kadri.tamm@valga.example")
    (part,) = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert part.get_param("method") == "REQUEST"
    for raw in (document.document.data, part.get_payload(decode=True)):
        calendar = icalendar.Calendar.from_ical(raw)
        (vevent,) = calendar.walk("VEVENT")
        assert str(calendar["METHOD"]) == "REQUEST"
        start = vevent.decoded("DTSTART")
        assert start.utcoffset() == timedelta(hours=2)  # Tallinn in February
        assert start.astimezone(UTC) == datetime(2027, 2, 4, 8, 0, tzinfo=UTC)


async def _recorded(scene: Scene) -> None:
    """Wait until the dispatcher has written down the Telegram message id it was given."""
    while True:
        async with scene.database.session_scope() as session:
            busy = await session.scalar(
                select(func.count()).where(OutboxMessage.status.in_(("queued", "sending")))
            )
        if not busy:
            return
        await asyncio.sleep(0.02)  # bounded by the caller's wait_for


def _buttons(message: Any) -> list[str]:
    return [b["text"] for row in (message.reply_markup or {})["inline_keyboard"] for b in row]


async def test_an_answer_given_by_email_moves_the_tick_on_the_telegram_invitation(
    scene: Scene,
) -> None:
    user = ilze(scene.emulator)
    await scene.joined(user, "ilze.kalnina@jelgava.example")
    event = await scene.event()
    await scene.invite(event, "ilze.kalnina@jelgava.example")
    scene.service_wake()
    invitation = await user.wait_for_message(lambda m: bool(m.reply_markup))
    mail: MailServer = scene.mail  # type: ignore[attr-defined]
    (message,) = await mail.wait_for(1)
    body = message.message.get_body(("plain",))
    assert body is not None
    accept, decline, _ = LINK.findall(body.get_content())[:3]
    await asyncio.wait_for(_recorded(scene), 10)
    async with httpx.AsyncClient() as client:
        for link, shown in (
            (accept, ["✓ Piedalīšos", "Nevarēšu piedalīties", "Vēl nezinu"]),
            (decline, ["Piedalīšos", "✓ Nevarēšu piedalīties", "Vēl nezinu"]),
        ):
            page = await client.get(link)
            confirm = re.search(r'name="confirm" value="(\w+)"', page.text)
            assert confirm is not None
            done = await client.post(link, data={"confirm": confirm.group(1)})
            assert done.status_code == 200
            scene.service_wake()
            await user.wait_for(lambda shown=shown: _buttons(invitation) == shown)
    # The chat got no new message: the invitation itself shows the answer.
    assert [m for m in user.bot_messages if m.reply_markup] == [invitation]
    assert await scene.status("ilze.kalnina@jelgava.example") == "declined"
    # Pressing in Telegram afterwards still works on the edited buttons.
    await user.press(invitation, "Vēl nezinu")
    await user.wait_for(lambda: "✓ Vēl nezinu" in str(invitation.reply_markup))
