"""The outbox: every message is a row before it is sent; rows move queued → sending → sent."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import QuietHours
from bot.db.models import Contact, OutboxMessage, TelegramLink
from bot.services.delivery.quiet import next_allowed

Channel = Literal["telegram", "email"]
CHANNEL_ORDER: tuple[Channel, ...] = ("telegram", "email")


@dataclass(frozen=True)
class DeliveryPolicy:
    """Where people live by default and when they must not be disturbed."""

    zone: ZoneInfo
    quiet: QuietHours | None

    def zone_of(self, contact: Contact) -> ZoneInfo:
        return ZoneInfo(contact.timezone) if contact.timezone else self.zone


@dataclass(frozen=True)
class Enqueued:
    channel: str
    status: Literal["queued", "duplicate", "skipped"]
    message_id: int | None = None
    reason: str | None = None


async def telegram_chat(session: AsyncSession, contact_id: int) -> int | None:
    """Return the chat a contact linked, if any."""
    return await session.scalar(
        select(TelegramLink.chat_id).where(TelegramLink.contact_id == contact_id).limit(1)
    )


async def unavailable(session: AsyncSession, contact: Contact, channel: str) -> str | None:
    """Say why a contact cannot be reached on a channel, or None when they can."""
    # Everything but the link first (chat_id=0 stands for "linked"): the query only if needed.
    reason = closed_reason(contact, channel, chat_id=0)
    if reason or channel == "email":
        return reason
    if await telegram_chat(session, contact.id) is None:
        return "telegram not linked"
    return None


def closed_reason(contact: Contact, channel: str, *, chat_id: int | None) -> str | None:
    """Say why a contact cannot be reached on a channel, given the chat they linked (if any)."""
    if contact.erased_at is not None:
        return "contact erased"
    if channel == "email":
        if not contact.email:
            return "no email address"
        if contact.email_state != "active":
            return f"email {contact.email_state}"
        return None
    if contact.telegram_state != "active":
        return f"telegram {contact.telegram_state}"
    if contact.consent_on is None:
        # Until the person agrees, the consent question is all Telegram may carry.
        return "telegram consent not given"
    if chat_id is None:
        return "telegram not linked"
    return None


@dataclass(frozen=True)
class Recipient:
    """A contact as a batch of messages needs it: the row and the chat they linked."""

    contact: Contact
    chat_id: int | None


async def recipients(session: AsyncSession, contact_ids: Iterable[int]) -> dict[int, Recipient]:
    """Load many contacts with their Telegram chats in one query."""
    found: dict[int, Recipient] = {}
    rows = await session.execute(
        select(Contact, TelegramLink.chat_id)
        .outerjoin(TelegramLink, TelegramLink.contact_id == Contact.id)
        .where(Contact.id.in_(set(contact_ids)))
        .order_by(Contact.id, TelegramLink.id)
    )
    for contact, chat_id in rows:
        known = found.get(contact.id)
        if known is None or known.chat_id is None:
            found[contact.id] = Recipient(contact, chat_id)
    return found


async def enqueue(
    session: AsyncSession,
    *,
    contact: Contact,
    channel: str,
    kind: str,
    dedupe_key: str,
    now: datetime,
    policy: DeliveryPolicy,
    params: dict[str, Any] | None = None,
    event_id: int | None = None,
    survey_id: int | None = None,
    recommendation_id: int | None = None,
    urgent: bool = False,
    send_after: datetime | None = None,
) -> Enqueued:
    """Queue one message unless it is already queued (same key) or the channel is closed."""
    existing = await session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)
    )
    if existing is not None:
        return Enqueued(channel, "duplicate", existing)
    reason = await unavailable(session, contact, channel)
    if reason:
        return Enqueued(channel, "skipped", reason=reason)
    due = max(send_after or now, now)
    if not urgent:
        due = next_allowed(due, policy.zone_of(contact), policy.quiet)
    row = OutboxMessage(
        dedupe_key=dedupe_key,
        contact_id=contact.id,
        channel=channel,
        kind=kind,
        params=params or {},
        event_id=event_id,
        survey_id=survey_id,
        recommendation_id=recommendation_id,
        urgent=urgent,
        send_after=due,
        next_attempt_at=due,
        created_at=now,
        updated_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        # Another process queued the same key between our check and insert.
        found = await session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)
        )
        return Enqueued(channel, "duplicate", found)
    return Enqueued(channel, "queued", row.id)


async def enqueue_everywhere(
    session: AsyncSession, *, contact: Contact, key: str, **fields: Any
) -> list[Enqueued]:
    """Queue a message on every channel the contact can be reached on (key:<channel>)."""
    return [
        await enqueue(session, contact=contact, channel=ch, dedupe_key=f"{key}:{ch}", **fields)
        for ch in CHANNEL_ORDER
    ]


async def enqueue_once(
    session: AsyncSession,
    *,
    contact: Contact,
    key: str,
    key_per_channel: bool = False,
    **fields: Any,
) -> bool:
    """Queue one copy on the first open channel (Telegram where linked, else email).

    Return whether a new row was queued (False for a duplicate or no open channel).
    """
    for channel in CHANNEL_ORDER:
        dedupe_key = f"{key}:{channel}" if key_per_channel else key
        result = await enqueue(
            session, contact=contact, channel=channel, dedupe_key=dedupe_key, **fields
        )
        if result.status != "skipped":
            return result.status == "queued"
    return False


async def cancel(
    session: AsyncSession,
    *,
    now: datetime,
    kind: str | None = None,
    event_id: int | None = None,
    survey_id: int | None = None,
    recommendation_id: int | None = None,
    contact_id: int | None = None,
    channel: str | None = None,
) -> int:
    """Cancel queued messages matching every given reference; return how many."""
    filters = [OutboxMessage.status == "queued"]
    for column, value in (
        (OutboxMessage.kind, kind),
        (OutboxMessage.event_id, event_id),
        (OutboxMessage.survey_id, survey_id),
        (OutboxMessage.recommendation_id, recommendation_id),
        (OutboxMessage.contact_id, contact_id),
        (OutboxMessage.channel, channel),
    ):
        if value is not None:
            filters.append(column == value)
    if len(filters) == 1:
        raise ValueError("cancel needs at least one reference")
    result = await session.execute(
        update(OutboxMessage)
        .where(*filters)
        .values(status="cancelled", last_error="cancelled", updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def claim_due(
    session: AsyncSession,
    *,
    now: datetime,
    limit: int,
    lease: timedelta,
    channels: Sequence[str] = CHANNEL_ORDER,
) -> list[OutboxMessage]:
    """Mark up to `limit` due rows as sending, leased until now+lease; skip rows others hold."""
    due = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.status == "queued",
            OutboxMessage.next_attempt_at <= now,
            OutboxMessage.channel.in_(channels),
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Two dispatchers share the work: each skips the rows the other has locked
        # (held until this transaction commits).
        due = due.with_for_update(skip_locked=True)
    candidates = list(await session.scalars(due))
    if not candidates:
        return []
    # The status guard keeps SQLite, which locks nothing on read, from double-claiming.
    claimed = await session.scalars(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(candidates), OutboxMessage.status == "queued")
        .values(
            status="sending",
            attempts=OutboxMessage.attempts + 1,
            next_attempt_at=now + lease,
            updated_at=now,
        )
        .returning(OutboxMessage)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return sorted(claimed, key=lambda row: row.id)


async def recover_stale(session: AsyncSession, *, now: datetime) -> int:
    """Return rows whose sender died mid-send (lease over) to the queue."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == "sending", OutboxMessage.next_attempt_at < now)
        .values(status="queued", next_attempt_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def extend_leases(session: AsyncSession, ids: list[int], *, until: datetime) -> int:
    """Keep rows a live worker is still sending from looking stale (their lease runs to `until`)."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "sending")
        .values(next_attempt_at=until)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def mark_sent(
    session: AsyncSession,
    message_id: int,
    *,
    now: datetime,
    provider_id: str | None,
    language: str,
    subject: str | None,
    text: str,
) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(
            status="sent",
            sent_at=now,
            provider_id=provider_id,
            language=language,
            subject=subject,
            rendered_text=text,
            last_error=None,
            updated_at=now,
        )
    )


async def mark_many_sent(session: AsyncSession, values: list[dict[str, Any]]) -> None:
    """Record a batch of sent messages at once (an UPDATE by primary key per row)."""
    await session.execute(update(OutboxMessage), values)


async def mark_retry(
    session: AsyncSession,
    message_id: int,
    *,
    now: datetime,
    at: datetime,
    error: str,
    counts: bool = True,
) -> None:
    """Queue a row again for `at`; a rate limit does not count as an attempt."""
    values: dict[str, Any] = {
        "status": "queued",
        "next_attempt_at": at,
        "last_error": error[:2000],
        "updated_at": now,
    }
    if not counts:
        values["attempts"] = OutboxMessage.attempts - 1
    await session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values)
    )


async def mark_failed(
    session: AsyncSession, message_id: int, *, now: datetime, error: str, text: str | None = None
) -> None:
    values: dict[str, Any] = {"status": "failed", "last_error": error[:2000], "updated_at": now}
    if text is not None:
        values["rendered_text"] = text
    await session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values)
    )


async def requeue_failed(session: AsyncSession, *, now: datetime) -> int:
    """Give every failed message another round of attempts."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == "failed")
        .values(status="queued", attempts=0, next_attempt_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class OutboxStatus:
    counts: dict[tuple[str, str], int]
    oldest_queued: datetime | None
    recent_failures: list[OutboxMessage]


async def status(session: AsyncSession, *, failures: int = 10) -> OutboxStatus:
    """Counts by status and channel, the oldest queued row, the latest failures."""
    rows = await session.execute(
        select(OutboxMessage.status, OutboxMessage.channel, func.count()).group_by(
            OutboxMessage.status, OutboxMessage.channel
        )
    )
    counts = {(s, c): int(n) for s, c, n in rows}
    oldest = await session.scalar(
        select(func.min(OutboxMessage.created_at)).where(OutboxMessage.status == "queued")
    )
    failed = await session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.status == "failed")
        .order_by(OutboxMessage.updated_at.desc())
        .limit(failures)
    )
    return OutboxStatus(counts, oldest, list(failed))
