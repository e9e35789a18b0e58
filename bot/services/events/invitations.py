"""Inviting an audience to an event and recording answers from every channel, in one place."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, case, func, insert, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Contact, Event, Invitation, InvitationAnswer, OutboxMessage, TelegramLink
from bot.services.contacts.audience import Audience, select_contacts
from bot.services.delivery import outbox
from bot.services.delivery.quiet import next_allowed
from bot.services.events.registry import ANSWER_ORDER, Rsvp
from bot.services.onboarding.chats import contact_of_chat

# Button and link codes → invitation statuses.
ANSWERS = {"yes": "accepted", "no": "declined", "maybe": "not_sure"}
CODES = {status: code for code, status in ANSWERS.items()}
KIND = "event_invitation"
CHUNK = 500  # people per statement when inviting


def invitation_key(event_id: int, contact_id: int) -> str:
    return f"invite:{event_id}:{contact_id}"


def rsvp_closes(event: Event) -> datetime:
    """Answers may change until the end of the RSVP day (local), else until the start."""
    if event.rsvp_by is None:
        return event.starts_at
    zone = ZoneInfo(event.timezone)
    return datetime.combine(event.rsvp_by + timedelta(days=1), time(0), tzinfo=zone)


@dataclass
class InvitePlan:
    """Who an invitation would reach, and who lacks the event's texts in their language."""

    new: list[Contact] = field(default_factory=list)
    already: int = 0
    missing_language: list[tuple[Contact, str]] = field(default_factory=list)
    channels: Counter[tuple[str, str]] = field(default_factory=Counter)  # (channel, language)
    unreachable: list[tuple[Contact, str]] = field(default_factory=list)


async def plan(
    session: AsyncSession, event: Event, audience: Audience, *, fallback: str | None = None
) -> InvitePlan:
    """Work out an invitation round without writing anything (a fixed number of queries)."""
    invited = set(
        await session.scalars(select(Invitation.contact_id).where(Invitation.event_id == event.id))
    )
    result = InvitePlan()
    everyone = await select_contacts(session, audience)
    chosen = [c for c in everyone if c.id not in invited]
    result.already = len(everyone) - len(chosen)
    chats = await _chats(session, [c.id for c in chosen])
    for contact in chosen:
        language = contact.language
        if language not in event.title:
            if fallback is None or fallback not in event.title:
                result.missing_language.append((contact, language))
                continue
            language = fallback
        reasons = {
            ch: outbox.closed_reason(contact, ch, chat_id=chats.get(contact.id))
            for ch in outbox.CHANNEL_ORDER
        }
        open_channels = [ch for ch, reason in reasons.items() if reason is None]
        if not open_channels:
            result.unreachable.append((contact, "; ".join(str(r) for r in reasons.values())))
            continue
        result.new.append(contact)
        for channel in open_channels:
            result.channels[(channel, language)] += 1
    return result


async def _chats(session: AsyncSession, contact_ids: Sequence[int]) -> dict[int, int]:
    """The chat each of these contacts linked (the first, as outbox.recipients picks)."""
    chats: dict[int, int] = {}
    for first in range(0, len(contact_ids), CHUNK):
        rows = await session.execute(
            select(TelegramLink.contact_id, TelegramLink.chat_id)
            .where(TelegramLink.contact_id.in_(contact_ids[first : first + CHUNK]))
            .order_by(TelegramLink.id)
        )
        for contact_id, chat_id in rows:
            chats.setdefault(contact_id, chat_id)
    return chats


async def invite(
    session: AsyncSession,
    event: Event,
    invite_plan: InvitePlan,
    *,
    now: datetime,
    policy: outbox.DeliveryPolicy,
    fallback: str | None = None,
) -> int:
    """Create the invitations of a plan and queue one message per open channel.

    Set-based: a few statements per CHUNK people, not a handful per person. Channels are
    checked again here (as outbox.enqueue would), and a message already queued under the
    same key is left as it is.
    """
    people = invite_plan.new
    chats = await _chats(session, [c.id for c in people])
    params = {"fallback_language": fallback} if fallback else {}
    for first in range(0, len(people), CHUNK):
        chunk = people[first : first + CHUNK]
        created = await session.execute(
            insert(_table(Invitation)).returning(
                _table(Invitation).c.id, _table(Invitation).c.contact_id
            ),
            [
                {
                    "event_id": event.id,
                    "contact_id": c.id,
                    "status": "invited",
                    "invited_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
                for c in chunk
            ],
        )
        await session.execute(
            insert(_table(InvitationAnswer)),
            [
                {"invitation_id": i, "status": "invited", "channel": None, "recorded_at": now}
                for i, _contact_id in created.all()
            ],
        )
        messages = [
            _message(event, contact, channel, now, policy, params)
            for contact in chunk
            for channel in outbox.CHANNEL_ORDER
            if outbox.closed_reason(contact, channel, chat_id=chats.get(contact.id)) is None
        ]
        await _queue(session, messages)
    if event.status == "draft":
        event.status = "published"
    return len(people)


def _message(
    event: Event,
    contact: Contact,
    channel: str,
    now: datetime,
    policy: outbox.DeliveryPolicy,
    params: dict[str, Any],
) -> dict[str, Any]:
    due = next_allowed(now, policy.zone_of(contact), policy.quiet)
    return {
        "dedupe_key": f"{invitation_key(event.id, contact.id)}:{channel}",
        "contact_id": contact.id,
        "channel": channel,
        "kind": KIND,
        "params": params,
        "event_id": event.id,
        "urgent": False,
        "send_after": due,
        "next_attempt_at": due,
        "status": "queued",
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
    }


async def _queue(session: AsyncSession, messages: list[dict[str, Any]]) -> None:
    """Insert outbox rows; a key queued before (or meanwhile, elsewhere) is skipped."""
    if not messages:
        return
    dialect = session.get_bind().dialect.name
    statement = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(
        _table(OutboxMessage)
    )
    await session.execute(statement.on_conflict_do_nothing(index_elements=["dedupe_key"]), messages)


def _table(model: type[Any]) -> Table:
    # The table, not the class: the ORM's bulk insert splits rows by which values are None.
    return cast(Table, model.__table__)


async def counts(session: AsyncSession, event_id: int) -> Counter[str]:
    rows = await session.execute(
        select(Invitation.status, func.count())
        .where(Invitation.event_id == event_id)
        .group_by(Invitation.status)
    )
    return Counter({status: int(n) for status, n in rows.all()})


Verdict = Literal["recorded", "unchanged", "closed", "cancelled", "not_yours", "missing"]


@dataclass(frozen=True)
class AnswerOutcome:
    verdict: Verdict
    status: str | None = None  # the invitation's status after the answer
    event: Event | None = None
    contact: Contact | None = None
    promoted: Contact | None = None  # who got the freed place


async def record_answer(
    session: AsyncSession,
    invitation_id: int,
    code: str,
    *,
    channel: str,
    now: datetime,
    chat_id: int | None = None,
    policy: outbox.DeliveryPolicy | None = None,
) -> AnswerOutcome:
    """Record yes / no / maybe from any channel: the one code path for every answer.

    With a delivery policy, whoever gets a freed place is told at once.
    """
    invitation = await session.get(Invitation, invitation_id)
    if invitation is None or code not in ANSWERS:
        return AnswerOutcome("missing")
    event = await session.get(Event, invitation.event_id)
    contact = await session.get(Contact, invitation.contact_id)
    assert event is not None
    if contact is None or contact.erased_at is not None:
        # An erased person's links and buttons answer for no one.
        return AnswerOutcome("missing")
    if chat_id is not None:
        owner = await contact_of_chat(session, chat_id)
        if owner is None or owner.id != contact.id:
            return AnswerOutcome("not_yours")
    if event.status == "cancelled":
        return AnswerOutcome("cancelled", invitation.status, event, contact)
    if now >= rsvp_closes(event):
        return AnswerOutcome("closed", invitation.status, event, contact)
    wanted = ANSWERS[code]
    if wanted == invitation.status or (wanted == "accepted" and invitation.status == "waitlisted"):
        return AnswerOutcome("unchanged", invitation.status, event, contact)
    was_accepted = invitation.status == "accepted"
    if wanted == "accepted" and await _full(session, event):
        wanted = "waitlisted"
    _set(session, invitation, wanted, channel, now)
    promoted = None
    if was_accepted and wanted != "accepted":
        promoted = await _promote_first_waiting(session, event, now)
        if promoted is not None and policy is not None:
            await outbox.enqueue_everywhere(
                session,
                contact=promoted,
                key=f"place:{event.id}:{promoted.id}:{now:%Y%m%dT%H%M%S}",
                kind="event_place_freed",
                now=now,
                policy=policy,
                event_id=event.id,
                urgent=event.starts_at - now < timedelta(days=1),
            )
    return AnswerOutcome("recorded", wanted, event, contact, promoted)


def _set(
    session: AsyncSession, invitation: Invitation, status: str, channel: str | None, now: datetime
) -> None:
    invitation.status, invitation.answered_at, invitation.updated_at = status, now, now
    session.add(
        InvitationAnswer(
            invitation_id=invitation.id, status=status, channel=channel, recorded_at=now
        )
    )


async def _full(session: AsyncSession, event: Event) -> bool:
    if not event.capacity:
        return False
    taken = (await counts(session, event.id))["accepted"]
    return taken >= event.capacity


async def _promote_first_waiting(
    session: AsyncSession, event: Event, now: datetime
) -> Contact | None:
    """Give a freed place to whoever has waited longest."""
    first = await session.scalar(
        select(Invitation)
        .where(Invitation.event_id == event.id, Invitation.status == "waitlisted")
        .order_by(Invitation.answered_at, Invitation.id)
        .limit(1)
    )
    if first is None or await _full(session, event):
        return None
    _set(session, first, "accepted", None, now)
    return await session.get(Contact, first.contact_id)


# Everyone invited who has not said no hears about changes and cancellations.
STILL_EXPECTED = ("invited", "accepted", "waitlisted", "not_sure")
SOON = timedelta(days=1)


async def _expected(session: AsyncSession, event: Event) -> list[Contact]:
    found = await session.scalars(
        select(Contact)
        .join(Invitation, Invitation.contact_id == Contact.id)
        .where(Invitation.event_id == event.id, Invitation.status.in_(STILL_EXPECTED))
        .order_by(Contact.id)
    )
    return list(found)


async def notify_change(
    session: AsyncSession, event: Event, *, now: datetime, policy: outbox.DeliveryPolicy
) -> int:
    """Tell people a changed time or place, with the updated calendar; reminders follow anew."""
    await outbox.cancel(session, now=now, event_id=event.id, kind="event_reminder")
    await outbox.cancel(session, now=now, event_id=event.id, kind="event_changed")
    urgent = event.starts_at - now < SOON  # a same-day change must not wait for morning
    queued = 0
    for contact in await _expected(session, event):
        results = await outbox.enqueue_everywhere(
            session,
            contact=contact,
            key=f"change:{event.id}:{event.sequence}:{contact.id}",
            kind="event_changed",
            now=now,
            policy=policy,
            event_id=event.id,
            urgent=urgent,
        )
        queued += sum(r.status == "queued" for r in results)
    return queued


async def cancel_event(
    session: AsyncSession,
    event: Event,
    reason: str,
    *,
    now: datetime,
    policy: outbox.DeliveryPolicy,
) -> int:
    """Cancel: stop everything pending for it, tell people, send METHOD:CANCEL."""
    event.status, event.cancel_reason = "cancelled", reason.strip() or None
    event.sequence += 1
    await outbox.cancel(session, now=now, event_id=event.id)
    urgent = event.starts_at - now < SOON
    queued = 0
    for contact in await _expected(session, event):
        results = await outbox.enqueue_everywhere(
            session,
            contact=contact,
            key=f"cancel:{event.id}:{contact.id}",
            kind="event_cancelled",
            now=now,
            policy=policy,
            event_id=event.id,
            urgent=urgent,
        )
        queued += sum(r.status == "queued" for r in results)
    return queued


@dataclass
class Attendance:
    present: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # given, but not invited / not found


async def record_attendance(
    session: AsyncSession, event: Event, emails: list[str], *, now: datetime
) -> Attendance:
    """Mark who came; whoever had said yes and is not listed becomes a no-show."""
    wanted = {e.strip().lower() for e in emails if e.strip()}
    rows = await session.execute(
        select(Invitation, Contact)
        .join(Contact, Contact.id == Invitation.contact_id)
        .where(Invitation.event_id == event.id)
    )
    report = Attendance()
    seen = set()
    for invitation, contact in rows.all():
        email = (contact.email or "").lower()
        if email in wanted:
            seen.add(email)
            if invitation.status != "attended":
                _set(session, invitation, "attended", None, now)
            report.present.append(contact.name)
        elif invitation.status in ("accepted", "attended"):
            _set(session, invitation, "no_show", None, now)
            report.absent.append(contact.name)
    report.unknown = sorted(wanted - seen)
    return report


async def stream_rsvps(session: AsyncSession, event: Event) -> AsyncIterator[Rsvp]:
    """Yield everyone invited with their latest answer, by answer then name, a batch at a time
    (list_rsvps in bulk: the same rows without holding them all)."""
    last_channel = (
        select(InvitationAnswer.channel)
        .where(InvitationAnswer.invitation_id == Invitation.id)
        .order_by(InvitationAnswer.recorded_at.desc(), InvitationAnswer.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    order = case({status: n for n, status in enumerate(ANSWER_ORDER)}, value=Invitation.status)
    query = (
        select(
            Contact.id,
            Contact.name,
            Contact.email,
            Contact.organisation,
            Contact.municipality,
            Contact.language,
            Invitation.status,
            Invitation.invited_at,
            Invitation.answered_at,
            last_channel,
        )
        .join(Contact, Contact.id == Invitation.contact_id)
        .where(Invitation.event_id == event.id)
        .order_by(order, Contact.name, Contact.id)
        .execution_options(yield_per=CHUNK)
    )
    async for row in await session.stream(query):
        yield Rsvp(*row)
