"""Who gets a survey and when: after the event, one reminder, then it closes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import (
    Contact,
    Event,
    Invitation,
    OutboxMessage,
    Question,
    Survey,
    SurveyRecipient,
)
from bot.rendering import label
from bot.services.delivery import outbox
from bot.services.delivery.compose import ComposeEnv, Composition, Unreachable, builder
from bot.services.delivery.port import Button

KIND = "survey_invitation"
FORM_PURPOSE = "survey"


async def send(
    session: AsyncSession,
    survey: Survey,
    contacts: Sequence[Contact],
    *,
    event: Event | None,
    now: datetime,
    policy: outbox.DeliveryPolicy,
) -> int:
    """Ask each contact once (per event); returns how many were newly asked."""
    start = event.ends_at if event is not None else now
    closes = start + timedelta(seconds=survey.closes_after) if survey.closes_after else None
    event_id = event.id if event is not None else None
    same_event = (
        SurveyRecipient.event_id.is_(None)
        if event_id is None
        else SurveyRecipient.event_id == event_id
    )
    asked = set(
        await session.scalars(
            select(SurveyRecipient.contact_id).where(
                SurveyRecipient.survey_id == survey.id, same_event
            )
        )
    )
    count = 0
    for contact in contacts:
        if contact.id in asked:
            continue
        recipient = SurveyRecipient(
            survey_id=survey.id,
            contact_id=contact.id,
            event_id=event_id,
            sent_at=now,
            closes_at=closes,
        )
        session.add(recipient)
        await session.flush()
        results = await outbox.enqueue_everywhere(
            session,
            contact=contact,
            key=f"survey:{recipient.id}",
            kind=KIND,
            now=now,
            policy=policy,
            survey_id=survey.id,
            event_id=event_id,
            params={"recipient": recipient.id, "reminder": False},
        )
        count += any(r.status == "queued" for r in results)
    return count


async def participants(session: AsyncSession, event: Event) -> list[Contact]:
    """Those marked present, or, where attendance was not taken, those who said yes."""
    statuses = set(
        await session.scalars(select(Invitation.status).where(Invitation.event_id == event.id))
    )
    wanted = ("attended",) if statuses & {"attended", "no_show"} else ("accepted",)
    found = await session.scalars(
        select(Contact)
        .join(Invitation, Invitation.contact_id == Contact.id)
        .where(Invitation.event_id == event.id, Invitation.status.in_(wanted))
        .order_by(Contact.id)
    )
    return list(found)


async def queue_due(session: AsyncSession, *, now: datetime, policy: outbox.DeliveryPolicy) -> int:
    """Send surveys of events that have ended, and the one reminder to those not finished."""
    queued = 0
    events = await session.scalars(
        select(Event).where(
            Event.survey_slug.is_not(None), Event.ends_at <= now, Event.status != "cancelled"
        )
    )
    for event in events:
        survey = await session.scalar(select(Survey).where(Survey.slug == event.survey_slug))
        if survey is None:
            continue
        opens = event.ends_at + timedelta(seconds=survey.send_after)
        closes = event.ends_at + timedelta(seconds=survey.closes_after or 10**9)
        if opens <= now < closes:
            queued += await send(
                session,
                survey,
                await participants(session, event),
                event=event,
                now=now,
                policy=policy,
            )
    return queued + await _remind(session, now=now, policy=policy)


async def _remind(session: AsyncSession, *, now: datetime, policy: outbox.DeliveryPolicy) -> int:
    rows = await session.execute(
        select(SurveyRecipient, Survey, Contact)
        .join(Survey, Survey.id == SurveyRecipient.survey_id)
        .join(Contact, Contact.id == SurveyRecipient.contact_id)
        .where(
            SurveyRecipient.finished_at.is_(None),
            SurveyRecipient.reminded_at.is_(None),
            Survey.remind_after.is_not(None),
        )
    )
    queued = 0
    for recipient, survey, contact in rows.all():
        due = recipient.sent_at + timedelta(seconds=survey.remind_after or 0)
        if now < due or (recipient.closes_at is not None and now >= recipient.closes_at):
            continue
        recipient.reminded_at = now
        results = await outbox.enqueue_everywhere(
            session,
            contact=contact,
            key=f"survey-reminder:{recipient.id}",
            kind=KIND,
            now=now,
            policy=policy,
            survey_id=survey.id,
            event_id=recipient.event_id,
            params={"recipient": recipient.id, "reminder": True},
        )
        queued += any(r.status == "queued" for r in results)
    return queued


@builder(KIND)
async def survey_message(
    session: AsyncSession, row: OutboxMessage, contact: Contact, env: ComposeEnv
) -> Composition:
    """The request to answer: a Start button on Telegram, a signed form link by email."""
    recipient = await session.get(SurveyRecipient, int(row.params["recipient"]))
    survey = await session.get(Survey, row.survey_id)
    if recipient is None or survey is None:
        raise LookupError("the survey or its recipient is gone")
    if recipient.finished_at is not None:
        raise Unreachable("already answered")
    event = await session.get(Event, recipient.event_id) if recipient.event_id else None
    if row.channel == "email" and env.links is None:
        raise ValueError("EXPERTBOT_SECRET_KEY is not set, so the form link cannot be signed")
    form_url = env.links.url("s", FORM_PURPOSE, {"r": recipient.id}) if env.links else ""
    zone = ZoneInfo(event.timezone) if event else ZoneInfo("Europe/Riga")
    count = len(
        list(await session.scalars(select(Question.id).where(Question.survey_id == survey.id)))
    )
    values = {
        "contact_name": contact.name,
        "survey_title": survey.title,
        "event_title": event.title if event else None,
        "question_count": count,
        "anonymous": survey.anonymous,
        "reminder": bool(row.params.get("reminder")),
        "closes_on": recipient.closes_at.astimezone(zone).date() if recipient.closes_at else None,
        "form_url": form_url,
    }
    start = label("buttons", "start_survey", contact.language)
    buttons = ((Button(start, data=f"survey:{recipient.id}:start"),),)
    return Composition(values, buttons=buttons if row.channel == "telegram" else ())
