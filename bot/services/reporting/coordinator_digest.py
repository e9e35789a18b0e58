"""Once a day, at the coordinator's chosen local time: what is new. Nothing new, nothing sent."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import (
    Contact,
    InvitationAnswer,
    OutboxMessage,
    RecommendationUpdate,
    SurveyRecipient,
)
from bot.services.delivery import broadcasts, outbox
from bot.services.delivery.compose import ComposeEnv, Composition, builder

KIND = "coordinator_digest"


async def _count(
    session: AsyncSession, column: Any, since: datetime, until: datetime, *extra: Any
) -> int:
    query = select(func.count()).where(column > since, column <= until, *extra)
    return int(await session.scalar(query) or 0)


async def figures(session: AsyncSession, since: datetime, until: datetime) -> dict[str, object]:
    problems = await session.execute(
        select(Contact.name, OutboxMessage.channel, OutboxMessage.last_error)
        .join(Contact, Contact.id == OutboxMessage.contact_id)
        .where(
            OutboxMessage.status == "failed",
            OutboxMessage.updated_at > since,
            OutboxMessage.updated_at <= until,
        )
        .limit(20)
    )
    return {
        "answers": await _count(
            session,
            InvitationAnswer.recorded_at,
            since,
            until,
            InvitationAnswer.channel.is_not(None),
        ),
        "surveys": await _count(session, SurveyRecipient.finished_at, since, until),
        "recs": await _count(session, RecommendationUpdate.recorded_at, since, until),
        "problems": [
            broadcasts.failure(name, channel, error or "")
            for name, channel, error in problems.all()
        ],
    }


async def queue_due(
    session: AsyncSession, *, now: datetime, policy: outbox.DeliveryPolicy, at: time
) -> int:
    """After `at` local time, one digest per coordinator per day, if anything is new."""
    local = now.astimezone(policy.zone)
    if local.time() < at:
        return 0
    queued = 0
    coordinators = await session.scalars(
        select(Contact).where(Contact.role == "coordinator", Contact.erased_at.is_(None))
    )
    for coordinator in coordinators:
        key = f"{KIND}:{coordinator.id}:{local.date().isoformat()}"
        if await session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.dedupe_key.like(f"{key}:%"))
        ):
            continue
        last = await session.scalar(
            select(func.max(OutboxMessage.created_at)).where(
                OutboxMessage.contact_id == coordinator.id, OutboxMessage.kind == KIND
            )
        )
        since = last or now - timedelta(days=1)
        found = await figures(session, since, now)
        if not (found["answers"] or found["surveys"] or found["recs"] or found["problems"]):
            continue
        queued += await outbox.enqueue_once(
            session,
            contact=coordinator,
            key=key,
            key_per_channel=True,
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
    since = datetime.fromisoformat(row.params["since"])
    until = datetime.fromisoformat(row.params["until"])
    return Composition({"contact_name": contact.name, **await figures(session, since, until)})
