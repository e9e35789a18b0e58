"""Reminders at the event's offsets, to those coming or unsure; catching up; across DST."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from bot.channels.email import EmailSender, SmtpConfig
from bot.db.models import Contact, Event, Invitation, OutboxMessage, Place
from bot.db.session import Database
from bot.rendering import Renderer
from bot.sandbox.mail_server import MailServer
from bot.scheduler import Ticker
from bot.services.clock import ManualClock
from bot.services.delivery.compose import Composer
from bot.services.delivery.dispatcher import Dispatcher
from bot.services.delivery.signed_links import Links
from bot.services.events.invitations import rsvp_closes
from bot.services.events.reminders import queue_nudges
from tests.test_outbox import POLICY, add_contact

VALGA_START = datetime(2027, 2, 4, 8, 0, tzinfo=UTC)  # 10:00 in Tallinn
DAY = timedelta(days=1)


async def make_event(
    database: Database,
    starts: datetime = VALGA_START,
    offsets: tuple[int, ...] = (7 * 86400, 86400, 7200),
    zone: str = "Europe/Tallinn",
) -> int:
    async with database.session_scope() as session:
        event = Event(
            slug=f"event-{starts:%Y%m%d%H}",
            kind="expert_meeting",
            status="published",
            title={"lv": "Ekspertu sanāksme", "et": "Ekspertide kohtumine", "en": "Meeting"},
            timezone=zone,
            starts_at=starts,
            ends_at=starts + timedelta(hours=5),
            reminder_offsets=list(offsets),
            rsvp_by=date(2027, 1, 28),
        )
        event.places = [Place(position=0, name="Valga Vallavalitsus")]
        session.add(event)
        await session.flush()
        return event.id


async def invite(database: Database, event_id: int, **people: str) -> dict[str, int]:
    """people: name=status; each gets an email-only contact."""
    ids = {}
    for name, status in people.items():
        contact = await add_contact(database, name, f"{name}@x.example", None)
        async with database.session_scope() as session:
            session.add(Invitation(event_id=event_id, contact_id=contact, status=status))
        ids[name] = contact
    return ids


async def queued(database: Database) -> list[str]:
    async with database.session_scope() as session:
        rows = await session.scalars(select(OutboxMessage.dedupe_key).order_by(OutboxMessage.id))
        return list(rows)


@pytest.fixture
async def ticker(database: Database) -> AsyncIterator[Ticker]:
    yield Ticker(database, ManualClock(VALGA_START - 8 * DAY), POLICY)


async def test_reminders_go_at_each_offset_to_those_coming_or_unsure(
    database: Database, ticker: Ticker
) -> None:
    event = await make_event(database)
    ids = await invite(
        database, event, ilze="accepted", kadri="not_sure", edgars="declined", margus="invited"
    )
    # Eight days ahead no reminder is due, but Margus, who has not answered, gets the one
    # nudge: the reply deadline (28 January) is three days or less away.
    assert await ticker.tick() == 1
    clock = ticker.clock
    assert isinstance(clock, ManualClock)
    clock.set(VALGA_START - 7 * DAY)
    assert await ticker.tick() == 2
    assert await ticker.tick() == 0  # idempotent
    clock.set(VALGA_START - DAY)
    assert await ticker.tick() == 2
    keys = await queued(database)
    assert keys == [
        f"nudge:{event}:{ids['margus']}:email",
        f"reminder:{event}:0:604800:{ids['ilze']}:email",
        f"reminder:{event}:0:604800:{ids['kadri']}:email",
        f"reminder:{event}:0:86400:{ids['ilze']}:email",
        f"reminder:{event}:0:86400:{ids['kadri']}:email",
    ]


async def test_a_process_that_was_down_sends_only_the_latest_reminder(
    database: Database, ticker: Ticker
) -> None:
    event = await make_event(database)
    await invite(database, event, ilze="accepted")
    assert isinstance(ticker.clock, ManualClock)
    ticker.clock.set(VALGA_START - timedelta(hours=1))
    assert await ticker.tick() == 1
    (key,) = await queued(database)
    assert key.startswith(f"reminder:{event}:0:7200:")


async def test_no_reminders_once_the_event_started_or_when_cancelled(
    database: Database, ticker: Ticker
) -> None:
    event = await make_event(database)
    await invite(database, event, ilze="accepted")
    assert isinstance(ticker.clock, ManualClock)
    ticker.clock.set(VALGA_START + timedelta(minutes=1))
    assert await ticker.tick() == 0
    async with database.session_scope() as session:
        found = await session.get(Event, event)
        assert found is not None
        found.status = "cancelled"
    ticker.clock.set(VALGA_START - DAY)
    assert await ticker.tick() == 0


@pytest.mark.parametrize(
    ("starts", "due"),
    [
        # Sunday 28 March 2027, 09:00 in Riga, clocks went from 03:00 to 04:00 that night:
        # 8 hours before is 22:00 UTC (00:00 local winter time), not 23:00.
        (datetime(2027, 3, 28, 6, 0, tzinfo=UTC), datetime(2027, 3, 27, 22, 0, tzinfo=UTC)),
        # Sunday 31 October 2027, 09:00 in Riga, clocks went from 04:00 back to 03:00:
        # 8 hours before is 23:00 UTC, within the hour that happens twice.
        (datetime(2027, 10, 31, 7, 0, tzinfo=UTC), datetime(2027, 10, 30, 23, 0, tzinfo=UTC)),
    ],
)
async def test_a_reminder_due_on_a_daylight_saving_night_comes_at_the_right_moment(
    database: Database, starts: datetime, due: datetime
) -> None:
    event = await make_event(database, starts, offsets=(8 * 3600,), zone="Europe/Riga")
    await invite(database, event, ilze="accepted")
    clock = ManualClock(due - timedelta(minutes=1))
    ticker = Ticker(database, clock, POLICY)
    assert await ticker.tick() == 0
    clock.set(due)
    assert await ticker.tick() == 1
    async with database.session_scope() as session:
        row = await session.scalar(select(OutboxMessage))
        assert row is not None and row.urgent  # less than a day ahead: it does not wait
        assert row.next_attempt_at == due


async def test_a_day_before_reminder_waits_for_morning_across_the_spring_switch(
    database: Database,
) -> None:
    # Starts Sunday 28 March 05:00 Riga summer time (02:00 UTC); a day before is 27 March
    # 02:00 UTC = 04:00 winter time, in quiet hours: it waits until 08:00 = 06:00 UTC.
    starts = datetime(2027, 3, 28, 2, 0, tzinfo=UTC)
    event = await make_event(database, starts, offsets=(86400,), zone="Europe/Riga")
    await invite(database, event, ilze="accepted")
    ticker = Ticker(database, ManualClock(starts - DAY), POLICY)
    assert await ticker.tick() == 1
    async with database.session_scope() as session:
        row = await session.scalar(select(OutboxMessage))
        assert row is not None and not row.urgent
        assert row.next_attempt_at == datetime(2027, 3, 27, 6, 0, tzinfo=UTC)


async def test_the_reminder_says_how_many_days_are_left_in_the_persons_language(
    sqlite_database: Database,
) -> None:
    event = await make_event(sqlite_database)
    ids = await invite(sqlite_database, event, kadri="accepted")
    async with sqlite_database.session_scope() as session:
        contact = await session.get(Contact, ids["kadri"])
        assert contact is not None
        contact.language = "et"
    clock = ManualClock(VALGA_START - DAY)
    assert await Ticker(sqlite_database, clock, POLICY).tick() == 1
    async with MailServer() as mail:
        sender = EmailSender(SmtpConfig(host="127.0.0.1", port=mail.port, security="none"))
        composer = Composer(Renderer(), Links("k" * 32, "https://bot.example"))
        dispatcher = Dispatcher(sqlite_database, {"email": sender}, composer, clock, POLICY)
        assert await dispatcher.run_until_idle() == 1
        (message,) = mail.mailbox("kadri@x.example")
        await sender.close()
    body = message.get_body(("plain",))
    assert body is not None and "homme" in body.get_content()


async def test_send_agenda_goes_at_once_with_the_agenda_and_only_once(
    sqlite_database: Database,
) -> None:
    from bot.db.models import AgendaItem
    from bot.services.events import reminders

    event_id = await make_event(sqlite_database)
    await invite(sqlite_database, event_id, ilze="accepted", edgars="declined")
    async with sqlite_database.session_scope() as session:
        event = await session.get(Event, event_id)
        assert event is not None
        session.add(
            AgendaItem(
                event_id=event_id,
                position=0,
                day=date(2027, 2, 4),
                title={"lv": "Darbs grupās", "et": "Rühmatöö", "en": "Group work"},
            )
        )
        now = VALGA_START - 10 * DAY
        assert await reminders.send_agenda(session, event, now=now, policy=POLICY) == 1
        assert await reminders.send_agenda(session, event, now=now, policy=POLICY) == 0
    clock = ManualClock(VALGA_START - 10 * DAY + timedelta(hours=12))
    async with MailServer() as mail:
        sender = EmailSender(SmtpConfig(host="127.0.0.1", port=mail.port, security="none"))
        composer = Composer(Renderer(), Links("k" * 32, "https://bot.example"))
        await Dispatcher(
            sqlite_database, {"email": sender}, composer, clock, POLICY
        ).run_until_idle()
        (message,) = mail.mailbox("ilze@x.example")
        await sender.close()
    body = message.get_body(("plain",))
    assert body is not None
    assert "Darba kārtība" in body.get_content() and "Darbs grupās" in body.get_content()


async def test_the_coordinator_gets_one_digest_of_new_answers_at_most_hourly(
    sqlite_database: Database,
) -> None:
    from bot.services.events import invitations

    event_id = await make_event(sqlite_database)
    ids = await invite(sqlite_database, event_id, ilze="invited", kadri="invited")
    await add_contact(
        sqlite_database, "Sandra Jansone", "sandra@km.example", None, role="coordinator"
    )
    answered = VALGA_START - 20 * DAY
    async with sqlite_database.session_scope() as session:
        for name, code in (("ilze", "yes"), ("kadri", "no")):
            invitation = await session.scalar(
                select(Invitation).where(Invitation.contact_id == ids[name])
            )
            assert invitation is not None
            await invitations.record_answer(
                session, invitation.id, code, channel="telegram", now=answered
            )
    clock = ManualClock(answered + timedelta(minutes=30))
    # The daily overview (its own test) is set late here so that only the hourly digest counts.
    ticker = Ticker(sqlite_database, clock, POLICY, digest_time=time(23, 59))
    assert await ticker.tick() == 1
    assert await ticker.tick() == 0  # within the hour: nothing more
    clock.advance(timedelta(hours=2))
    assert await ticker.tick() == 0  # no new answers: nothing
    async with MailServer() as mail:
        sender = EmailSender(SmtpConfig(host="127.0.0.1", port=mail.port, security="none"))
        composer = Composer(Renderer(), Links("k" * 32, "https://bot.example"))
        await Dispatcher(
            sqlite_database, {"email": sender}, composer, clock, POLICY
        ).run_until_idle()
        (digest,) = mail.mailbox("sandra@km.example")
        await sender.close()
    body = digest.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "ilze: Piedalīšos" in text and "kadri: Nevarēšu piedalīties" in text


async def test_whoever_gets_a_freed_place_is_told(sqlite_database: Database) -> None:
    from bot.services.events import invitations

    event_id = await make_event(sqlite_database)
    async with sqlite_database.session_scope() as session:
        event = await session.get(Event, event_id)
        assert event is not None
        event.capacity = 1
    ids = await invite(sqlite_database, event_id, ilze="invited", kadri="invited")
    now = VALGA_START - 20 * DAY
    async with sqlite_database.session_scope() as session:
        rows = {
            name: await session.scalar(select(Invitation).where(Invitation.contact_id == cid))
            for name, cid in ids.items()
        }
        for name, code in (("ilze", "yes"), ("kadri", "yes"), ("ilze", "no")):
            row = rows[name]
            assert row is not None
            await invitations.record_answer(
                session, row.id, code, channel="email", now=now, policy=POLICY
            )
    keys = await queued(sqlite_database)
    assert any(k.startswith(f"place:{event_id}:{ids['kadri']}:") for k in keys)


@pytest.mark.parametrize(
    ("invited_before_deadline", "nudged_before_deadline"),
    [
        (timedelta(days=10), timedelta(days=3)),  # the usual nudge
        (timedelta(days=3, hours=12), timedelta(days=1, hours=12)),  # two days after inviting
        (timedelta(days=2, hours=12), timedelta(days=1)),  # too late for that: a day before
        (timedelta(days=1), timedelta(hours=12)),  # a day before: halfway there
        (timedelta(hours=11), None),  # under half a day: the invitation is the nudge
    ],
)
async def test_people_invited_late_get_one_nudge_at_the_latest_sensible_moment(
    database: Database,
    invited_before_deadline: timedelta,
    nudged_before_deadline: timedelta | None,
) -> None:
    event_id = await make_event(database)
    contact = await add_contact(database, "margus", "margus@x.example", None)
    async with database.session_scope() as session:
        event = await session.get(Event, event_id)
        assert event is not None
        closes = rsvp_closes(event)
        session.add(
            Invitation(
                event_id=event_id,
                contact_id=contact,
                status="invited",
                invited_at=closes - invited_before_deadline,
            )
        )

    async def nudges(at: datetime) -> int:
        async with database.session_scope() as session:
            return await queue_nudges(session, now=at, policy=POLICY)

    if nudged_before_deadline is None:
        moments = [closes - invited_before_deadline + timedelta(minutes=m) for m in (0, 300, 659)]
        assert [await nudges(at) for at in moments] == [0, 0, 0]
        return
    due = closes - nudged_before_deadline
    assert await nudges(due - timedelta(minutes=1)) == 0
    assert await nudges(due) == 1
    assert await nudges(due + timedelta(hours=1)) == 0  # one nudge, never a second
    assert await queued(database) == [f"nudge:{event_id}:{contact}:email"]
