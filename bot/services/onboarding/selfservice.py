"""What a person can see and do about themselves: events, tasks, their data, erasure."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.db.models import (
    ConsentRecord,
    Contact,
    Event,
    Invitation,
    InvitationAnswer,
    Recommendation,
    RecommendationOwner,
    RecommendationUpdate,
    SurveyResponse,
)

OPEN_STATUSES = ("not_started", "in_progress")


async def upcoming_events(
    session: AsyncSession, contact_id: int, *, now: datetime
) -> list[dict[str, Any]]:
    """Events not yet over that the person is invited to, soonest first, with their answer."""
    rows = await session.execute(
        select(Event, Invitation.status)
        .join(Invitation, Invitation.event_id == Event.id)
        .where(
            Invitation.contact_id == contact_id,
            Event.ends_at >= now,
            Event.status != "cancelled",
        )
        .order_by(Event.starts_at)
    )
    return [
        {
            "id": event.id,
            "title": event.title,
            "starts_at": event.starts_at,
            "ends_at": event.ends_at,
            "status": status,
        }
        for event, status in rows.all()
    ]


async def open_tasks(session: AsyncSession, contact_id: int) -> list[dict[str, Any]]:
    """Recommendations the person owns that are not done or dropped."""
    rows = await session.scalars(
        select(Recommendation)
        .join(RecommendationOwner, RecommendationOwner.recommendation_id == Recommendation.id)
        .where(
            RecommendationOwner.contact_id == contact_id,
            Recommendation.status.in_(OPEN_STATUSES),
        )
        .order_by(Recommendation.due_on.is_(None), Recommendation.due_on, Recommendation.id)
    )
    return [{"id": r.id, "text": r.text, "due_on": r.due_on, "status": r.status} for r in rows]


async def summary(session: AsyncSession, contact: Contact) -> dict[str, Any]:
    """What is stored about a person, in numbers."""

    async def count(query: Any) -> int:
        return int(await session.scalar(query) or 0)

    return {
        "invitations": await count(select(func.count()).where(Invitation.contact_id == contact.id)),
        "answers": await count(
            select(func.count())
            .select_from(InvitationAnswer)
            .join(Invitation, Invitation.id == InvitationAnswer.invitation_id)
            # being invited is in the history too, but it is not an answer the person gave
            .where(Invitation.contact_id == contact.id, InvitationAnswer.status != "invited")
        )
        + await count(select(func.count()).where(SurveyResponse.contact_id == contact.id)),
        "tasks": await count(
            select(func.count()).where(RecommendationOwner.contact_id == contact.id)
        ),
    }


async def export(session: AsyncSession, contact: Contact) -> dict[str, Any]:
    """Everything stored about a person, as plain data (for the JSON and CSV files)."""
    await session.refresh(contact, ["tags", "telegram_links"])
    invitations = await session.scalars(
        select(Invitation)
        .where(Invitation.contact_id == contact.id)
        .options(selectinload(Invitation.history), selectinload(Invitation.event))
    )
    consents = await session.scalars(
        select(ConsentRecord).where(ConsentRecord.contact_id == contact.id)
    )
    updates = await session.scalars(
        select(RecommendationUpdate).where(RecommendationUpdate.contact_id == contact.id)
    )
    responses = await session.scalars(
        select(SurveyResponse)
        .where(SurveyResponse.contact_id == contact.id)
        .options(selectinload(SurveyResponse.answers))
    )
    return {
        "contact": {
            "name": contact.name,
            "email": contact.email,
            "telegram_username": contact.telegram_username,
            "phone": contact.phone,
            "role": contact.role,
            "organisation": contact.organisation,
            "municipality": contact.municipality,
            "country": contact.country,
            "language": contact.language,
            "stakeholder_group": contact.stakeholder_group,
            "consent_on": _iso(contact.consent_on),
            "tags": contact.tag_names,
            "email_state": contact.email_state,
            "telegram_state": contact.telegram_state,
        },
        "consents": [
            {"granted": c.granted, "source": c.source, "at": _iso(c.recorded_at)} for c in consents
        ],
        "invitations": [
            {
                "event": i.event.slug,
                "status": i.status,
                "history": [
                    {"status": a.status, "channel": a.channel, "at": _iso(a.recorded_at)}
                    for a in i.history
                ],
            }
            for i in invitations
        ],
        "survey_responses": [
            {
                "survey_id": r.survey_id,
                "status": r.status,
                "answers": [a.value for a in r.answers],
            }
            for r in responses
        ],
        "recommendation_updates": [
            {
                "recommendation_id": u.recommendation_id,
                "status": u.status,
                "comment": u.comment,
                "at": _iso(u.recorded_at),
            }
            for u in updates
        ],
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def as_json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")


def as_csv(data: dict[str, Any]) -> bytes:
    """A flat two-column view (field, value) that opens in a spreadsheet."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["field", "value"])
    for key, value in data["contact"].items():
        writer.writerow([key, ", ".join(value) if isinstance(value, list) else value or ""])
    for section in ("consents", "invitations", "survey_responses", "recommendation_updates"):
        for n, item in enumerate(data[section], start=1):
            writer.writerow([f"{section}.{n}", json.dumps(item, ensure_ascii=False)])
    return buffer.getvalue().encode("utf-8-sig")
