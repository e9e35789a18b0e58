"""Every message is an outbox row first; rows are claimed once, recovered after a crash."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.config import parse_quiet_hours
from bot.db.models import Contact, OutboxMessage, TelegramLink
from bot.db.session import Database
from bot.services.delivery import outbox
from bot.services.delivery.outbox import DeliveryPolicy

RIGA = ZoneInfo("Europe/Riga")
POLICY = DeliveryPolicy(RIGA, parse_quiet_hours("20:00-08:00"))
NOON = datetime(2027, 1, 20, 10, 0, tzinfo=UTC)  # 12:00 in Riga


async def add_contact(
    database: Database,
    name: str = "Ilze Kalniņa",
    email: str | None = "ilze.kalnina@jelgava.example",
    chat: int | None = 1001,
    **fields: object,
) -> int:
    async with database.session_scope() as session:
        fields.setdefault("consent_on", date(2026, 1, 15))
        fields.setdefault("role", "regional_expert")
        contact = Contact(name=name, email=email, **fields)
        if chat is not None:
            contact.telegram_state = "active"
            contact.telegram_links = [TelegramLink(chat_id=chat, user_id=chat)]
        session.add(contact)
        await session.flush()
        return contact.id


async def queue(
    database: Database, contact_id: int, key: str, now: datetime = NOON, **fields: object
) -> outbox.Enqueued:
    async with database.session_scope() as session:
        contact = await session.get(Contact, contact_id)
        assert contact is not None
        values: dict[str, object] = {"channel": "email", "kind": "broadcast", **fields}
        return await outbox.enqueue(
            session,
            contact=contact,
            dedupe_key=key,
            now=now,
            policy=POLICY,
            **values,  # type: ignore[arg-type]
        )


async def rows(database: Database) -> list[OutboxMessage]:
    async with database.session_scope() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def test_enqueue_twice_with_one_key_makes_one_row(database: Database) -> None:
    ilze = await add_contact(database)
    first = await queue(database, ilze, "broadcast:1:ilze:email")
    second = await queue(database, ilze, "broadcast:1:ilze:email")
    assert first.status == "queued" and second.status == "duplicate"
    assert second.message_id == first.message_id
    assert len(await rows(database)) == 1


async def test_enqueue_everywhere_uses_each_open_channel(database: Database) -> None:
    ilze = await add_contact(database)
    no_telegram = await add_contact(database, "Jānis Ozols", "janis@ventspils.example", None)
    async with database.session_scope() as session:
        both = await session.get(Contact, ilze)
        one = await session.get(Contact, no_telegram)
        assert both is not None and one is not None
        fields = {"kind": "broadcast", "now": NOON, "policy": POLICY}
        done = await outbox.enqueue_everywhere(session, contact=both, key="b:1:a", **fields)
        half = await outbox.enqueue_everywhere(session, contact=one, key="b:1:b", **fields)
    assert [e.status for e in done] == ["queued", "queued"]
    assert [(e.channel, e.status, e.reason) for e in half] == [
        ("telegram", "skipped", "telegram unlinked"),
        ("email", "queued", None),
    ]
    assert sorted(r.dedupe_key for r in await rows(database)) == [
        "b:1:a:email",
        "b:1:a:telegram",
        "b:1:b:email",
    ]


async def test_telegram_waits_for_consent_while_email_does_not(database: Database) -> None:
    contact = await add_contact(database, consent_on=None)
    async with database.session_scope() as session:
        found = await session.get(Contact, contact)
        assert found is not None
        results = await outbox.enqueue_everywhere(
            session, contact=found, key="k", kind="broadcast", now=NOON, policy=POLICY
        )
    assert [(r.channel, r.status, r.reason) for r in results] == [
        ("telegram", "skipped", "telegram consent not given"),
        ("email", "queued", None),
    ]


@pytest.mark.parametrize("state", ["bounced", "unsubscribed", "inactive"])
async def test_closed_email_channels_are_skipped_when_enqueuing(
    database: Database, state: str
) -> None:
    contact = await add_contact(database, email_state=state)
    result = await queue(database, contact, "k")
    assert (result.status, result.reason) == ("skipped", f"email {state}")
    assert await rows(database) == []


async def test_non_urgent_messages_wait_for_morning_and_urgent_ones_do_not(
    database: Database,
) -> None:
    contact = await add_contact(database)
    late = datetime(2027, 1, 20, 19, 30, tzinfo=UTC)  # 21:30 in Riga
    await queue(database, contact, "calm", now=late)
    await queue(database, contact, "urgent", now=late, urgent=True)
    calm, urgent = await rows(database)
    assert calm.next_attempt_at.astimezone(RIGA) == datetime(2027, 1, 21, 8, 0, tzinfo=RIGA)
    assert urgent.next_attempt_at == late


async def test_quiet_hours_follow_the_contacts_own_time_zone(database: Database) -> None:
    contact = await add_contact(database, timezone="Asia/Tokyo")
    await queue(database, contact, "tokyo", now=NOON)  # 19:00 in Tokyo: fine
    evening = NOON + timedelta(hours=2)  # 21:00 in Tokyo: waits
    await queue(database, contact, "tokyo-late", now=evening)
    first, second = await rows(database)
    assert first.next_attempt_at == NOON
    tokyo = ZoneInfo("Asia/Tokyo")
    assert second.next_attempt_at.astimezone(tokyo).hour == 8


async def test_cancel_by_reference_touches_only_queued_matching_rows(
    database: Database,
) -> None:
    contact = await add_contact(database)
    await queue(database, contact, "a", kind="event_reminder")
    await queue(database, contact, "b", kind="event_reminder")
    await queue(database, contact, "c", kind="broadcast")
    async with database.session_scope() as session:
        claimed = await outbox.claim_due(session, now=NOON, limit=1, lease=timedelta(minutes=5))
        assert [r.dedupe_key for r in claimed] == ["a"]
    async with database.session_scope() as session:
        assert await outbox.cancel(session, now=NOON, kind="event_reminder") == 1
        with pytest.raises(ValueError):
            await outbox.cancel(session, now=NOON)
    assert [r.status for r in await rows(database)] == ["sending", "cancelled", "queued"]


async def test_claim_takes_due_rows_once_and_leases_them(database: Database) -> None:
    contact = await add_contact(database)
    for n in range(5):
        await queue(database, contact, f"m{n}")
    await queue(database, contact, "later", send_after=NOON + timedelta(hours=1))
    lease = timedelta(minutes=5)
    async with database.session_scope() as session:
        first = await outbox.claim_due(session, now=NOON, limit=3, lease=lease)
    async with database.session_scope() as session:
        second = await outbox.claim_due(session, now=NOON, limit=10, lease=lease)
    assert [r.dedupe_key for r in first] == ["m0", "m1", "m2"]
    assert [r.dedupe_key for r in second] == ["m3", "m4"]
    assert all(r.status == "sending" and r.attempts == 1 for r in first + second)
    assert first[0].next_attempt_at == NOON + lease


async def test_rows_left_sending_by_a_crash_return_to_the_queue_after_the_lease(
    database: Database,
) -> None:
    contact = await add_contact(database)
    await queue(database, contact, "m")
    lease = timedelta(minutes=5)
    async with database.session_scope() as session:
        await outbox.claim_due(session, now=NOON, limit=10, lease=lease)
    async with database.session_scope() as session:
        assert await outbox.recover_stale(session, now=NOON + timedelta(minutes=1)) == 0
        assert await outbox.recover_stale(session, now=NOON + timedelta(minutes=6)) == 1
    (row,) = await rows(database)
    assert row.status == "queued"


async def test_two_dispatchers_on_postgres_share_the_work_without_duplicates(
    postgres_url: str,
) -> None:
    first_db, second_db = Database(postgres_url), Database(postgres_url)
    contact = await add_contact(first_db)
    for n in range(6):
        await queue(first_db, contact, f"m{n}")
    lease = timedelta(minutes=5)
    # The first dispatcher's transaction is still open (its rows locked) when the second claims.
    async with first_db.session_scope() as first:
        taken_first = await outbox.claim_due(first, now=NOON, limit=3, lease=lease)
        async with second_db.session_scope() as second:
            taken_second = await outbox.claim_due(second, now=NOON, limit=10, lease=lease)
    first_keys = {r.dedupe_key for r in taken_first}
    second_keys = {r.dedupe_key for r in taken_second}
    assert first_keys == {"m0", "m1", "m2"}
    assert second_keys == {"m3", "m4", "m5"}
    for database in (first_db, second_db):
        await database.dispose()


async def test_status_counts_by_status_and_channel(database: Database) -> None:
    contact = await add_contact(database)
    await queue(database, contact, "a")
    await queue(database, contact, "b", channel="telegram")
    async with database.session_scope() as session:
        report = await outbox.status(session)
    assert report.counts == {("queued", "email"): 1, ("queued", "telegram"): 1}
    assert report.oldest_queued is not None
