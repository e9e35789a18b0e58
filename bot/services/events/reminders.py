"""Event reminders: an idempotent scan for what is due, so a restart only catches up."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Contact, Event, Invitation, OutboxMessage
from bot.services.delivery import outbox
from bot.services.delivery.compose import ComposeEnv, Composition, builder
from bot.services.events.invitation_messages import event_values, load_event, rsvp_links
from bot.services.events.invitations import rsvp_closes

KIND = "event_reminder"
# Who is reminded: those coming and those still making up their mind.
REMINDED = ("accepted", "not_sure")
# A reminder less than a day before the start is about today: it does not wait for morning.
URGENT_WITHIN = timedelta(hours=24)
DAY = 86400


def due_offset(event: Event, now: datetime) -> int | None:
    """The latest of the event's reminder offsets that has come due (none once it started)."""
    if now >= event.starts_at:
        return None
    due = [o for o in event.reminder_offsets if event.starts_at - timedelta(seconds=o) <= now]
    return min(due) if due else None


async def queue_due(session: AsyncSession, *, now: datetime, policy: outbox.DeliveryPolicy) -> int:
    """Queue every reminder that is due now; running it twice queues nothing more."""
    events = await session.scalars(
        select(Event).where(Event.status.in_(("published", "changed")), Event.starts_at > now)
    )
    queued = 0
    for event in events:
        offset = due_offset(event, now)
        if offset is None:
            continue
        people = await session.execute(
            select(Contact)
            .join(Invitation, Invitation.contact_id == Contact.id)
            .where(Invitation.event_id == event.id, Invitation.status.in_(REMINDED))
        )
        for contact in people.scalars():
            results = await outbox.enqueue_everywhere(
                session,
                contact=contact,
                # The sequence is in the key: after a change, reminders are due anew.
                key=f"reminder:{event.id}:{event.sequence}:{offset}:{contact.id}",
                kind=KIND,
                now=now,
                policy=policy,
                event_id=event.id,
                urgent=timedelta(seconds=offset) < URGENT_WITHIN,
                params={"offset": offset},
            )
            queued += sum(r.status == "queued" for r in results)
    return queued


async def send_agenda(
    session: AsyncSession, event: Event, *, now: datetime, policy: outbox.DeliveryPolicy
) -> int:
    """Queue the agenda now to those coming or unsure (once per version of the event)."""
    people = await session.execute(
        select(Contact)
        .join(Invitation, Invitation.contact_id == Contact.id)
        .where(Invitation.event_id == event.id, Invitation.status.in_(REMINDED))
    )
    queued = 0
    for contact in people.scalars():
        results = await outbox.enqueue_everywhere(
            session,
            contact=contact,
            key=f"agenda:{event.id}:{event.sequence}:{contact.id}",
            kind=KIND,
            now=now,
            policy=policy,
            event_id=event.id,
            params={"agenda": True},
        )
        queued += sum(r.status == "queued" for r in results)
    return queued


NUDGE = "event_nudge"
# One nudge: three days before the reply deadline, but not sooner than two days after inviting.
NUDGE_BEFORE = timedelta(days=3)
NUDGE_NOT_BEFORE = timedelta(days=2)
# Invited later than that: the nudge comes a day before the deadline, or halfway there when
# the invitation left less time; with under half a day left, the invitation is the nudge.
LAST_NUDGE_BEFORE = timedelta(days=1)
NO_NUDGE_WITHIN = timedelta(hours=12)


def nudge_at(invited_at: datetime, closes: datetime) -> datetime | None:
    """When someone invited at `invited_at` who has not answered is nudged, if at all."""
    usual = max(closes - NUDGE_BEFORE, invited_at + NUDGE_NOT_BEFORE)
    if usual < closes - LAST_NUDGE_BEFORE:
        return usual
    if closes - invited_at < NO_NUDGE_WITHIN:
        return None
    return max(closes - LAST_NUDGE_BEFORE, invited_at + (closes - invited_at) / 2)


async def queue_nudges(
    session: AsyncSession, *, now: datetime, policy: outbox.DeliveryPolicy
) -> int:
    """Queue the one nudge to people who have not answered, before the reply deadline."""
    events = await session.scalars(
        select(Event).where(Event.status.in_(("published", "changed")), Event.starts_at > now)
    )
    queued = 0
    for event in events:
        closes = rsvp_closes(event)
        if now >= closes:
            continue
        rows = await session.execute(
            select(Invitation, Contact)
            .join(Contact, Contact.id == Invitation.contact_id)
            .where(Invitation.event_id == event.id, Invitation.status == "invited")
        )
        for invitation, contact in rows.all():
            due = nudge_at(invitation.invited_at, closes)
            if due is None or now < due:
                continue
            results = await outbox.enqueue_everywhere(
                session,
                contact=contact,
                key=f"nudge:{event.id}:{contact.id}",
                kind=NUDGE,
                now=now,
                policy=policy,
                event_id=event.id,
            )
            queued += sum(r.status == "queued" for r in results)
    return queued


@builder(KIND)
async def reminder_message(
    session: AsyncSession, row: OutboxMessage, contact: Contact, env: ComposeEnv
) -> Composition:
    """How many days are left, counted in the event's own calendar, as it goes out."""
    assert row.event_id is not None
    event = await load_event(session, row.event_id)
    invitation = await session.scalar(
        select(Invitation).where(
            Invitation.event_id == event.id, Invitation.contact_id == contact.id
        )
    )
    if invitation is None:
        raise LookupError(f"{contact.name} is not invited to {event.slug}")
    if row.channel == "email" and env.links is None:
        raise ValueError("EXPERTBOT_SECRET_KEY is not set, so RSVP links cannot be signed")
    zone = ZoneInfo(event.timezone)
    # row.updated_at is when the dispatcher claimed the row: its clock's "now".
    days = (event.starts_at.astimezone(zone).date() - row.updated_at.astimezone(zone).date()).days
    links = (
        rsvp_links(env.links, invitation, event)
        if env.links
        else {"accept": "", "decline": "", "maybe": ""}
    )
    values = {
        "contact_name": contact.name,
        "event": event_values(event),
        "starts_in_days": max(days, 0),
        # The agenda comes with the day-before reminder, or whenever the coordinator sends it.
        "show_agenda": bool(row.params.get("agenda")) or int(row.params.get("offset", 0)) <= DAY,
        "rsvp_links": links,
    }
    return Composition(values)
