"""Where the playground's time control can jump: the next scheduled message and event milestones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import QuietHours
from bot.db.models import Event, OutboxMessage, Recommendation, Survey, SurveyRecipient
from bot.services.delivery.quiet import next_allowed
from bot.services.recommendations.followup import OPEN
from bot.textformat import pick_language

LIVE = ("published", "changed")
AFTER_WITHOUT_SURVEY = timedelta(hours=1)
RECENT = timedelta(days=30)  # ended events whose surveys may still be due


@dataclass(frozen=True)
class Jump:
    id: str
    label: str
    at: datetime  # UTC
    what: str = ""  # what happens then, for the "next" jump


def title(event: Event) -> str:
    return pick_language(event.title, "en")


async def _survey_delays(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(Survey.slug, Survey.send_after))
    return {slug: int(after or 0) for slug, after in rows}


def _event_after(event: Event, delays: dict[str, int]) -> datetime:
    if event.survey_slug and event.survey_slug in delays:
        return event.ends_at + timedelta(seconds=delays[event.survey_slug], minutes=1)
    return event.ends_at + AFTER_WITHOUT_SURVEY


async def _next(
    session: AsyncSession, now: datetime, events: list[Event], delays: dict[str, int]
) -> Jump | None:
    """The earliest moment at which the scheduler or the dispatcher has something to do."""
    candidates: list[tuple[datetime, str]] = []
    waiting = await session.scalar(
        select(func.min(OutboxMessage.next_attempt_at)).where(
            OutboxMessage.status == "queued", OutboxMessage.next_attempt_at > now
        )
    )
    if waiting is not None:
        candidates.append((waiting, "queued messages are due"))
    for event in events:
        for offset in event.reminder_offsets:
            moment = event.starts_at - timedelta(seconds=offset)
            if moment > now:
                candidates.append((moment, f"reminder for “{title(event)}”"))
        if event.survey_slug in delays:
            moment = _event_after(event, delays) - timedelta(minutes=1)
            if moment > now:
                candidates.append((moment, f"survey after “{title(event)}”"))
    due = await _next_rec_reminder(session, now)
    if due is not None:
        candidates.append((due, "recommendation reminders"))
    survey_reminder = await _survey_reminder(session, now)
    if survey_reminder is not None:
        candidates.append((survey_reminder, "survey reminder"))
    if not candidates:
        return None
    moment, what = min(candidates, key=lambda c: c[0])
    return Jump("next", "Next scheduled message", moment, what)


async def _next_rec_reminder(session: AsyncSession, now: datetime) -> datetime | None:
    return await session.scalar(
        select(func.min(Recommendation.next_reminder_at)).where(
            Recommendation.status.in_(OPEN), Recommendation.next_reminder_at > now
        )
    )


async def _survey_reminder(session: AsyncSession, now: datetime) -> datetime | None:
    rows = await session.execute(
        select(SurveyRecipient.sent_at, Survey.remind_after)
        .join(Survey, Survey.id == SurveyRecipient.survey_id)
        .where(
            SurveyRecipient.finished_at.is_(None),
            SurveyRecipient.reminded_at.is_(None),
            Survey.remind_after.is_not(None),
        )
    )
    moments = [sent + timedelta(seconds=after or 0) for sent, after in rows]
    future = [m for m in moments if m > now]
    return min(future) if future else None


async def upcoming(session: AsyncSession, now: datetime) -> Jump | None:
    """The next moment the scheduler or the dispatcher has something to do, if any."""
    recent = list(
        await session.scalars(
            select(Event).where(Event.status.in_(LIVE), Event.ends_at > now - RECENT)
        )
    )
    return await _next(session, now, recent, await _survey_delays(session))


async def jumps(
    session: AsyncSession, now: datetime, zone: ZoneInfo, quiet: QuietHours | None
) -> list[Jump]:
    """The next scheduled message, then per coming event: the day before and past its end."""
    events = list(
        await session.scalars(
            select(Event)
            .where(Event.status.in_(LIVE), Event.ends_at > now)
            .order_by(Event.starts_at, Event.id)
        )
    )
    delays = await _survey_delays(session)
    found: list[Jump] = []
    soonest = await upcoming(session, now)
    if soonest is not None:
        found.append(soonest)
    for event in events:
        day_before = event.starts_at - timedelta(days=1)
        if day_before > now:
            found.append(
                Jump(f"event:{event.slug}:day-before", f"Day before: {title(event)}", day_before)
            )
        after = next_allowed(_event_after(event, delays), zone, quiet)
        found.append(Jump(f"event:{event.slug}:after", f"Past the event: {title(event)}", after))
    recs = await _next_rec_reminder(session, now)
    if recs is not None:
        moment = next_allowed(recs, zone, quiet)
        found.append(Jump("recs", "Recommendation reminders", moment, "owners get their digest"))
    return found
