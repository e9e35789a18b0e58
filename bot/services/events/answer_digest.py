"""The coordinator's digest of new answers: one message for many answers, at most hourly."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Contact, Event, Invitation, InvitationAnswer, OutboxMessage
from bot.rendering import label
from bot.services.delivery import outbox
from bot.services.delivery.compose import ComposeEnv, Composition, builder

KIND = "rsvp_digest"
EVERY = timedelta(hours=1)
FIRST_LOOK_BACK = timedelta(days=1)


def _answers_between(since: datetime, until: datetime) -> Any:
    return (
        select(InvitationAnswer, Invitation, Contact, Event)
        .join(Invitation, Invitation.id == InvitationAnswer.invitation_id)
        .join(Contact, Contact.id == Invitation.contact_id)
        .join(Event, Event.id == Invitation.event_id)
        .where(
            InvitationAnswer.channel.is_not(None),
            InvitationAnswer.recorded_at > since,
            InvitationAnswer.recorded_at <= until,
        )
        .order_by(Event.starts_at, InvitationAnswer.recorded_at)
    )


async def queue_due(session: AsyncSession, *, now: datetime, policy: outbox.DeliveryPolicy) -> int:
    """For each coordinator, queue one digest of the answers since their last one."""
    coordinators = await session.scalars(
        select(Contact).where(Contact.role == "coordinator", Contact.erased_at.is_(None))
    )
    queued = 0
    for coordinator in coordinators:
        last = await session.scalar(
            select(func.max(OutboxMessage.created_at)).where(
                OutboxMessage.contact_id == coordinator.id, OutboxMessage.kind == KIND
            )
        )
        since = last or now - FIRST_LOOK_BACK
        if now - since < EVERY:
            continue
        if not (await session.execute(_answers_between(since, now).limit(1))).first():
            continue
        queued += await outbox.enqueue_once(
            session,
            contact=coordinator,
            key=f"{KIND}:{coordinator.id}:{now:%Y%m%dT%H%M}",
            kind=KIND,
            now=now,
            policy=policy,
            params={"since": since.isoformat(), "until": now.isoformat()},
        )
    return queued


@builder(KIND)
async def digest_message(
    session: AsyncSession, row: OutboxMessage, contact: Contact, env: ComposeEnv
) -> Composition:
    """Group the window's answers by event, each with the person and the answer."""
    since = datetime.fromisoformat(row.params["since"])
    until = datetime.fromisoformat(row.params["until"])
    events: dict[int, dict[str, Any]] = {}
    for answer, _invitation, person, event in (
        await session.execute(_answers_between(since, until))
    ).all():
        item = events.setdefault(event.id, {"title": event.title, "answers": []})
        item["answers"].append(
            {"name": person.name, "label": label("answers", answer.status, contact.language)}
        )
    return Composition({"contact_name": contact.name, "events": list(events.values())})
