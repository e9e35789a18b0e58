"""Following up what meetings agreed: cadences, status updates from owners, escalation."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.db.models import Contact, Recommendation, RecommendationOwner, RecommendationUpdate
from bot.db.vocab import REC_STATUSES

OPEN = ("not_started", "in_progress")
COMMENT_LIMIT = 2000
# Named cadences: a morning at the start of the month, or of the quarter, local time.
NAMED = {"monthly": "0 9 1 * *", "quarterly": "0 9 1 1,4,7,10 *"}
_EVERY = re.compile(r"^every\s+(\d{1,3})\s*d$")


class CadenceError(ValueError):
    """A cadence that is not monthly, quarterly, every Nd or a five-field cron expression."""


_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _crontab(text: str) -> CronTrigger:
    """APScheduler 3 counts weekdays from Monday; cron counts from Sunday: use names."""
    fields = text.split()
    if len(fields) == 5:
        fields[4] = re.sub(r"\d", lambda m: _DAYS[int(m.group())], fields[4])
    return CronTrigger.from_crontab(" ".join(fields), timezone=ZoneInfo("UTC"))


def validate_cadence(cadence: str) -> str:
    """Return the cadence normalised, or raise CadenceError saying what is accepted."""
    text = " ".join(cadence.strip().lower().split())
    if text in NAMED or _EVERY.match(text):
        if _EVERY.match(text) and int(_EVERY.match(text).group(1)) == 0:  # type: ignore[union-attr]
            raise CadenceError("every 0d is not a cadence")
        return text
    try:
        _crontab(text)
    except ValueError as error:
        raise CadenceError(
            f"{cadence!r} is not monthly, quarterly, every Nd or a cron expression ({error})"
        ) from None
    return text


def next_tick(cadence: str, after: datetime, zone: ZoneInfo) -> datetime:
    """The first reminder time strictly after `after` (in UTC), counted in local time."""
    text = validate_cadence(cadence)
    every = _EVERY.match(text)
    if every:
        return after + timedelta(days=int(every.group(1)))
    trigger = _crontab(NAMED.get(text, text))
    trigger = CronTrigger(
        **{f.name: str(f) for f in trigger.fields if f.name not in ("week",) and not f.is_default}
        | {"second": "0"},
        timezone=zone,
    )
    moment = trigger.get_next_fire_time(None, after.astimezone(zone) + timedelta(seconds=1))
    assert moment is not None
    return moment.astimezone(after.tzinfo)


async def load_recommendation(session: AsyncSession, rec_id: int) -> Recommendation | None:
    return await session.scalar(
        select(Recommendation)
        .where(Recommendation.id == rec_id)
        .options(selectinload(Recommendation.owners), selectinload(Recommendation.updates))
    )


@dataclass
class UpdateOutcome:
    verdict: str  # "recorded" | "not_owner" | "missing" | "closed" | "too_long" | "bad_status"
    recommendation: Recommendation | None = None
    others: list[Contact] = field(default_factory=list)  # owners to tell that it is done


async def record_update(
    session: AsyncSession,
    rec_id: int,
    status: str,
    *,
    now: datetime,
    channel: str,
    contact_id: int | None,
    comment: str | None = None,
) -> UpdateOutcome:
    """One status update from an owner (or, with contact_id None, the coordinator)."""
    rec = await load_recommendation(session, rec_id)
    if rec is None:
        return UpdateOutcome("missing")
    if status not in REC_STATUSES:
        return UpdateOutcome("bad_status", rec)
    owner_ids = [o.contact_id for o in rec.owners]
    if contact_id is not None and contact_id not in owner_ids:
        return UpdateOutcome("not_owner", rec)
    if rec.status not in OPEN and contact_id is not None:
        return UpdateOutcome("closed", rec)
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > COMMENT_LIMIT:
        return UpdateOutcome("too_long", rec)
    session.add(
        RecommendationUpdate(
            recommendation_id=rec.id,
            contact_id=contact_id,
            status=status,
            comment=comment,
            channel=channel,
            recorded_at=now,
        )
    )
    rec.status, rec.updated_at = status, now
    rec.escalated_at = None  # an answer restarts the wait before the coordinators hear
    for owner in rec.owners:
        if owner.contact_id == contact_id:
            owner.unanswered_reminders = 0
    others: list[Contact] = []
    if status not in OPEN:
        rec.closed_at, rec.next_reminder_at = now, None
        if status == "done":
            for other_id in owner_ids:
                if other_id != contact_id:
                    other = await session.get(Contact, other_id)
                    if other is not None and other.erased_at is None:
                        others.append(other)
    elif rec.closed_at is not None:  # reopened by the coordinator
        rec.closed_at = None
    await session.flush()
    return UpdateOutcome("recorded", rec, others)


async def open_items_of(session: AsyncSession, contact_id: int) -> list[Recommendation]:
    """A person's open recommendations, soonest due first."""
    found = await session.scalars(
        select(Recommendation)
        .join(RecommendationOwner, RecommendationOwner.recommendation_id == Recommendation.id)
        .where(RecommendationOwner.contact_id == contact_id, Recommendation.status.in_(OPEN))
        .order_by(Recommendation.due_on.is_(None), Recommendation.due_on, Recommendation.id)
    )
    return list(found)
