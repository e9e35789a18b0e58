"""Inviting thousands is a handful of statements: every reachable person gets one invitation
with its history and one queued message per open channel, in quiet hours' respect."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import func, insert, select

from bot.db.models import Contact, Event, Invitation, InvitationAnswer, OutboxMessage, TelegramLink
from bot.db.session import Database
from bot.services.contacts.audience import Audience
from bot.services.events import invitations
from tests.test_outbox import POLICY

PEOPLE = 1_200
# 21:30 in Riga: inside the 20:00-08:00 quiet hours, so every message waits for 08:00.
NOW = datetime(2027, 1, 10, 19, 30, tzinfo=UTC)
MORNING = datetime(2027, 1, 11, 6, 0, tzinfo=UTC)


def person(n: int) -> dict[str, Any]:
    return {
        "id": n + 1,
        "name": f"Persona {n:05d}",
        # every 10th has no address, every 7th has unsubscribed from email
        "email": None if n % 10 == 0 else f"p{n}@bulk.example",
        "email_state": "unsubscribed" if n % 7 == 0 else "active",
        # every 3rd has Telegram (linked, with consent)
        "telegram_state": "active" if n % 3 == 0 else "unlinked",
        "consent_on": date(2026, 1, 15) if n % 3 == 0 else None,
        "role": "guest",
        "country": "LV",
        "language": ("lv", "et", "en")[n % 3],
        "created_at": NOW,
        "updated_at": NOW,
    }


def expected_channels(n: int) -> list[str]:
    channels = ["telegram"] if n % 3 == 0 else []
    if n % 10 and n % 7:
        channels.append("email")
    return channels


async def fill(database: Database) -> int:
    async with database.session_scope() as session:
        await session.execute(insert(Contact), [person(n) for n in range(PEOPLE)])
        await session.execute(
            insert(TelegramLink),
            [
                {"contact_id": n + 1, "chat_id": 5_000 + n, "user_id": 5_000 + n, "linked_at": NOW}
                for n in range(0, PEOPLE, 3)
            ],
        )
        event = Event(
            slug="valga-2027",
            kind="cross_border_meeting",
            status="draft",
            title={"lv": "Sanāksme Valgā", "et": "Kohtumine Valgas", "en": "Meeting in Valga"},
            timezone="Europe/Riga",
            starts_at=NOW + timedelta(days=20),
            ends_at=NOW + timedelta(days=20, hours=4),
        )
        session.add(event)
        await session.flush()
        return event.id


async def invite_everyone(database: Database, event_id: int) -> tuple[int, int, int]:
    """Invite; return (people invited, people already invited, statements run)."""
    statements = Counter[str]()

    def count(*_args: Any) -> None:
        statements["run"] += 1

    sa_event.listen(database.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with database.session_scope() as session:
            found = await session.get(Event, event_id)
            assert found is not None
            plan = await invitations.plan(session, found, Audience())
            sent = await invitations.invite(session, found, plan, now=NOW, policy=POLICY)
    finally:
        sa_event.remove(database.engine.sync_engine, "before_cursor_execute", count)
    return sent, plan.already, statements["run"]


async def test_a_large_audience_is_invited_in_a_few_statements_on_every_open_channel(
    database: Database,
) -> None:
    event_id = await fill(database)
    reachable = [n for n in range(PEOPLE) if expected_channels(n)]

    sent, already, statements = await invite_everyone(database, event_id)

    assert (sent, already) == (len(reachable), 0)
    # plan: invited, audience, tags, chats; invite: chats, then 3 per 500 people; the event
    assert statements <= 30, statements
    async with database.session_scope() as session:
        rows = (await session.execute(select(OutboxMessage))).scalars().all()
        by_contact: dict[int, list[str]] = {}
        for row in rows:
            by_contact.setdefault(row.contact_id, []).append(row.channel)
            assert row.kind == "event_invitation" and row.status == "queued"
            assert row.dedupe_key == f"invite:{event_id}:{row.contact_id}:{row.channel}"
            assert row.send_after == row.next_attempt_at == MORNING
        assert {c: sorted(ch) for c, ch in by_contact.items()} == {
            n + 1: sorted(expected_channels(n)) for n in reachable
        }
        answers = await session.execute(
            select(InvitationAnswer.status, func.count()).group_by(InvitationAnswer.status)
        )
        assert answers.all() == [("invited", len(reachable))]
        event = await session.get(Event, event_id)
        assert event is not None and event.status == "published"


async def test_inviting_again_reaches_only_the_people_added_since(database: Database) -> None:
    event_id = await fill(database)
    first, _, _ = await invite_everyone(database, event_id)
    async with database.session_scope() as session:
        session.add(Contact(**{**person(PEOPLE), "id": PEOPLE + 1, "email": "new@bulk.example"}))

    sent, already, _ = await invite_everyone(database, event_id)

    assert (sent, already) == (1, first)
    async with database.session_scope() as session:
        count = await session.scalar(select(func.count(Invitation.id)))
        queued = await session.scalar(select(func.count(OutboxMessage.id)))
    assert count == first + 1
    assert queued == sum(len(expected_channels(n)) for n in range(PEOPLE)) + 1
