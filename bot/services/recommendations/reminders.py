"""Recommendation follow-up at each cadence tick: one digest per owner, escalation, notices."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.db.models import Contact, OutboxMessage, Recommendation, RecommendationOwner
from bot.rendering import label
from bot.services.delivery import outbox
from bot.services.delivery.compose import ComposeEnv, Composition, Unreachable, builder
from bot.services.delivery.port import Button
from bot.services.recommendations.followup import OPEN, next_tick

DIGEST, ESCALATION, DONE = "rec_digest", "rec_escalation", "rec_done"
TASKS_PURPOSE = "tasks"
# After this many reminders without an answer, the coordinators hear about it.
UNANSWERED_LIMIT = 2


async def _one_channel(
    session: AsyncSession,
    contact: Contact,
    *,
    kind: str,
    key: str,
    now: datetime,
    policy: outbox.DeliveryPolicy,
    params: dict[str, Any],
) -> bool:
    """Queue on Telegram where the person is there, else by email: one copy, not two."""
    return await outbox.enqueue_once(
        session, contact=contact, key=key, kind=kind, now=now, policy=policy, params=params
    )


async def queue_due(session: AsyncSession, *, now: datetime, policy: outbox.DeliveryPolicy) -> int:
    """Remind owners whose items have come due, move the cadence on, escalate what waits."""
    due = list(
        await session.scalars(
            select(Recommendation)
            .where(Recommendation.status.in_(OPEN), Recommendation.next_reminder_at <= now)
            .options(selectinload(Recommendation.owners))
        )
    )
    per_owner: dict[int, list[int]] = {}
    for rec in due:
        for owner in rec.owners:
            per_owner.setdefault(owner.contact_id, []).append(rec.id)
            owner.unanswered_reminders += 1
            owner.last_reminded_at = now
        rec.next_reminder_at = next_tick(rec.cadence, now, policy.zone)
    queued = 0
    for contact_id, items in per_owner.items():
        contact = await session.get(Contact, contact_id)
        if contact is None or contact.erased_at is not None:
            continue
        queued += await _one_channel(
            session,
            contact,
            kind=DIGEST,
            key=f"{DIGEST}:{contact_id}:{now:%Y%m%dT%H%M}",
            now=now,
            policy=policy,
            params={"items": items},
        )
    return queued + await _escalate(session, now=now, policy=policy)


def _overdue(rec: Recommendation, today: date) -> bool:
    return rec.due_on is not None and rec.due_on < today


async def _escalate(session: AsyncSession, *, now: datetime, policy: outbox.DeliveryPolicy) -> int:
    today = now.astimezone(policy.zone).date()
    waiting = [
        rec
        for rec in await session.scalars(
            select(Recommendation)
            .where(Recommendation.status.in_(OPEN), Recommendation.escalated_at.is_(None))
            .options(selectinload(Recommendation.owners))
        )
        if _overdue(rec, today)
        or any(o.unanswered_reminders >= UNANSWERED_LIMIT for o in rec.owners)
    ]
    if not waiting:
        return 0
    for rec in waiting:
        rec.escalated_at = now
    coordinators = await session.scalars(
        select(Contact).where(Contact.role == "coordinator", Contact.erased_at.is_(None))
    )
    queued = 0
    for coordinator in coordinators:
        queued += await _one_channel(
            session,
            coordinator,
            kind=ESCALATION,
            key=f"{ESCALATION}:{coordinator.id}:{now:%Y%m%dT%H%M}",
            now=now,
            policy=policy,
            params={"items": [r.id for r in waiting], "today": today.isoformat()},
        )
    return queued


async def tell_done(
    session: AsyncSession,
    rec: Recommendation,
    others: list[Contact],
    by: str,
    *,
    now: datetime,
    policy: outbox.DeliveryPolicy,
) -> int:
    """Tell the other owners that someone marked the item done."""
    queued = 0
    for other in others:
        queued += await _one_channel(
            session,
            other,
            kind=DONE,
            key=f"{DONE}:{rec.id}:{other.id}",
            now=now,
            policy=policy,
            params={"recommendation": rec.id, "by": by},
        )
    return queued


def status_buttons(rec_id: int, number: int, language: str) -> tuple[tuple[Button, ...], ...]:
    """Done / In progress / Not started / Add a comment, numbered like the list above them."""

    def button(key: str, code: str, group: str = "statuses") -> Button:
        return Button(f"{number} · {label(group, key, language)}", data=f"rec:{rec_id}:{code}")

    return (
        (button("done", "done"), button("in_progress", "in_progress")),
        (button("not_started", "not_started"), button("comment", "comment", "buttons")),
    )


async def _items(
    session: AsyncSession, ids: list[int], language: str, today: date
) -> list[tuple[Recommendation, dict[str, Any]]]:
    found = []
    for rec_id in ids:
        rec = await session.scalar(
            select(Recommendation)
            .where(Recommendation.id == rec_id)
            .options(selectinload(Recommendation.owners))
        )
        if rec is None:
            continue
        found.append(
            (
                rec,
                {
                    "text": rec.text,
                    "status_label": label("statuses", rec.status, language),
                    "due_on": rec.due_on,
                    "overdue": _overdue(rec, today),
                },
            )
        )
    return found


@builder(DIGEST)
async def digest_message(
    session: AsyncSession, row: OutboxMessage, contact: Contact, env: ComposeEnv
) -> Composition:
    """The owner's open items as they stand when the message goes out."""
    today = row.updated_at.date()
    items = [
        (rec, values)
        for rec, values in await _items(session, list(row.params["items"]), contact.language, today)
        if rec.status in OPEN
    ]
    if not items:
        raise Unreachable("nothing open any more")
    if row.channel == "email" and env.links is None:
        raise ValueError("EXPERTBOT_SECRET_KEY is not set, so the page link cannot be signed")
    page = env.links.url("t", TASKS_PURPOSE, {"c": contact.id}) if env.links else ""
    buttons = tuple(
        row_
        for n, (rec, _) in enumerate(items, start=1)
        for row_ in status_buttons(rec.id, n, contact.language)
    )
    values = {"contact_name": contact.name, "items": [v for _, v in items], "page_url": page}
    return Composition(values, buttons=buttons if row.channel == "telegram" else ())


@builder(ESCALATION)
async def escalation_message(
    session: AsyncSession, row: OutboxMessage, contact: Contact, env: ComposeEnv
) -> Composition:
    today = date.fromisoformat(row.params["today"])
    items = []
    for rec, values in await _items(session, list(row.params["items"]), contact.language, today):
        owners = await session.scalars(
            select(Contact.name)
            .join(RecommendationOwner, RecommendationOwner.contact_id == Contact.id)
            .where(RecommendationOwner.recommendation_id == rec.id)
        )
        unanswered = max((o.unanswered_reminders for o in rec.owners), default=0)
        items.append({**values, "owners": ", ".join(owners), "unanswered": unanswered})
    return Composition({"contact_name": contact.name, "items": items})


@builder(DONE)
async def done_message(
    session: AsyncSession, row: OutboxMessage, contact: Contact, env: ComposeEnv
) -> Composition:
    rec = await session.get(Recommendation, int(row.params["recommendation"]))
    if rec is None:
        raise LookupError("the recommendation is gone")
    return Composition({"contact_name": contact.name, "text": rec.text, "by": row.params["by"]})
