"""What the coordinator sees first: coming events, open surveys, follow-up, delivery problems."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Contact, Event, OutboxMessage, Recommendation
from bot.services.events import registry as events
from bot.services.recommendations.followup import OPEN
from bot.services.surveys import registry as surveys

CHANNELS = ("telegram", "email")
CLOSED_STATES = ("blocked", "bounced", "unsubscribed", "inactive")


@dataclass(frozen=True)
class ComingEvent:
    key: str
    title: dict[str, str]
    starts_at: datetime
    status: str
    accepted: int
    declined: int
    not_sure: int
    no_answer: int
    waiting_list: int


@dataclass(frozen=True)
class OpenSurvey:
    key: str
    title: dict[str, str]
    sent: int
    finished: int

    @property
    def rate(self) -> int:
        """Percent of those sent it who finished, rounded down."""
        return self.finished * 100 // self.sent if self.sent else 0


@dataclass(frozen=True)
class Problem:
    """A person a channel cannot reach, or a message that failed, with the reason."""

    contact_id: int
    name: str
    channel: str
    state: str  # failed, blocked, bounced, unsubscribed, inactive
    reason: str
    outbox_id: int | None = None


@dataclass
class Overview:
    events: list[ComingEvent] = field(default_factory=list)
    surveys: list[OpenSurvey] = field(default_factory=list)
    overdue: int = 0
    escalated: int = 0
    problems: list[Problem] = field(default_factory=list)
    queued: dict[str, int] = field(default_factory=dict)
    last_sent: dict[str, datetime | None] = field(default_factory=dict)


async def overview(session: AsyncSession, *, now: datetime, today: date) -> Overview:
    """Gather the overview in a handful of queries."""
    result = Overview()
    result.events = await coming_events(session, now=now)
    result.surveys = [
        OpenSurvey(o.survey.slug, dict(o.survey.title), o.sent, o.finished)
        for o in await surveys.list_surveys(session)
        if o.sent and o.finished < o.sent
    ]
    open_recs = (
        select(func.count()).select_from(Recommendation).where(Recommendation.status.in_(OPEN))
    )
    result.overdue = int(await session.scalar(open_recs.where(Recommendation.due_on < today)) or 0)
    result.escalated = int(
        await session.scalar(open_recs.where(Recommendation.escalated_at.is_not(None))) or 0
    )
    result.problems = await problems(session)
    for channel in CHANNELS:
        result.queued[channel] = int(
            await session.scalar(
                select(func.count()).where(
                    OutboxMessage.channel == channel, OutboxMessage.status == "queued"
                )
            )
            or 0
        )
        result.last_sent[channel] = await session.scalar(
            select(func.max(OutboxMessage.sent_at)).where(
                OutboxMessage.channel == channel, OutboxMessage.status == "sent"
            )
        )
    return result


async def coming_events(session: AsyncSession, *, now: datetime) -> list[ComingEvent]:
    """Events that have not ended, soonest first, with their answers counted."""
    found = list(
        await session.scalars(
            select(Event).where(Event.ends_at >= now).order_by(Event.starts_at, Event.id)
        )
    )
    counts = await events.answer_counts(session, (e.id for e in found))
    return [
        ComingEvent(
            key=e.slug,
            title=dict(e.title),
            starts_at=e.starts_at,
            status=e.status,
            accepted=counts[e.id].accepted,
            declined=counts[e.id].declined,
            not_sure=counts[e.id].not_sure,
            no_answer=counts[e.id].waiting,
            waiting_list=counts[e.id].by_status.get("waitlisted", 0),
        )
        for e in found
    ]


async def problems(session: AsyncSession, limit: int = 50) -> list[Problem]:
    """Failed messages (newest first) and every channel closed to a person."""
    failed = await session.execute(
        select(OutboxMessage, Contact)
        .join(Contact, Contact.id == OutboxMessage.contact_id)
        .where(OutboxMessage.status == "failed", Contact.erased_at.is_(None))
        .order_by(OutboxMessage.updated_at.desc())
        .limit(limit)
    )
    found = [
        Problem(c.id, c.name, row.channel, "failed", row.last_error or "", row.id)
        for row, c in failed.all()
    ]
    closed = await session.scalars(
        select(Contact)
        .where(
            Contact.erased_at.is_(None),
            or_(Contact.email_state.in_(CLOSED_STATES), Contact.telegram_state.in_(CLOSED_STATES)),
        )
        .order_by(Contact.name)
        .limit(limit)
    )
    for contact in closed:
        states = {"email": contact.email_state, "telegram": contact.telegram_state}
        for channel, state in states.items():
            if state in CLOSED_STATES:
                found.append(Problem(contact.id, contact.name, channel, state, state))
    return found


async def resend(session: AsyncSession, outbox_id: int, *, now: datetime) -> bool:
    """Give one failed message another round of attempts; False if it is not a failed one."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id, OutboxMessage.status == "failed")
        .values(status="queued", attempts=0, next_attempt_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
