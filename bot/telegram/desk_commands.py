"""Coordinator commands for the phone: /invite, /rsvps, /results, /recs, /stats."""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime, timedelta
from functools import wraps
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from telegram import InputFile, Update
from telegram.ext import ContextTypes

from bot.db.models import (
    Contact,
    Event,
    OutboxMessage,
    Recommendation,
    RecommendationUpdate,
    TelegramLink,
)
from bot.rendering import label
from bot.services.console import signin
from bot.services.contacts.audience import Audience
from bot.services.events import invitations
from bot.services.events import registry as event_registry
from bot.services.events.invitation_messages import load_event
from bot.services.onboarding import chats as onboarding
from bot.services.recommendations.followup import OPEN
from bot.services.reporting import exports
from bot.services.surveys.registry import find_survey, results
from bot.telegram.context import Deps, deps
from bot.telegram.self_handlers import help_
from bot.textformat import format_number, format_share, pick_language

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]
ANSWERS = ("accepted", "waitlisted", "not_sure", "declined", "invited", "attended", "no_show")


Reply = Callable[..., Awaitable[str]]


def coordinators_only(handler: Reply, *, write: bool = False) -> Handler:
    """Check the role in the database now; anyone else gets the ordinary help.

    The reply reads only (and answers while the database is being written) unless `write`."""

    @wraps(handler)
    async def checked(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        d, message = deps(context), update.effective_message
        assert message is not None
        async with d.database.session_scope(write=write) as session:
            coordinator = await onboarding.is_coordinator(session, message.chat_id)
            if coordinator is not None:
                text = await handler(d, session, coordinator.language, context.args or [])
        if coordinator is None:
            await help_(update, context)
            return
        await message.reply_html(text)

    return checked


def coordinators_writing(handler: Reply) -> Handler:
    """coordinators_only for a command that changes something."""
    return coordinators_only(handler, write=True)


def _title(texts: dict[str, str], language: str) -> str:
    return texts.get(language) or texts.get("lv") or next(iter(texts.values()), "")


async def _event(d: Deps, session: Any, args: list[str], language: str) -> Event | str:
    if not args:
        return d.texts.render("coord_usage", language, usage="/rsvps valga-2027")
    found = await event_registry.find_event(session, args[0])
    return found if found is not None else d.texts.render("coord_missing", language, key=args[0])


@coordinators_only
async def rsvps(d: Deps, session: Any, language: str, args: list[str]) -> str:
    """Counts and names by answer for one event."""
    event = await _event(d, session, args, language)
    if isinstance(event, str):
        return event
    rows = await session.execute(
        select(Contact.name, invitations.Invitation.status)
        .join(invitations.Invitation, invitations.Invitation.contact_id == Contact.id)
        .where(invitations.Invitation.event_id == event.id)
        .order_by(Contact.name)
    )
    by_status: dict[str, list[str]] = {}
    for name, status in rows.all():
        by_status.setdefault(status, []).append(name)
    groups = [
        {"label": label("answers", s, language), "names": by_status[s]}
        for s in ANSWERS
        if s in by_status
    ]
    return d.texts.render(
        "coord_rsvps", language, title=_title(event.title, language), groups=groups
    )


@coordinators_writing
async def invite(d: Deps, session: Any, language: str, args: list[str]) -> str:
    """Invite an event's audience (only new people), as `events invite` does."""
    event = await _event(d, session, args, language)
    if isinstance(event, str):
        return event
    event = await load_event(session, event.id)
    plan = await invitations.plan(session, event, Audience.from_mapping(event.audience or {}))
    assert d.policy is not None
    count = await invitations.invite(session, event, plan, now=d.clock.now(), policy=d.policy)
    if d.wake is not None:
        d.wake()
    return d.texts.render(
        "coord_invited",
        language,
        title=_title(event.title, language),
        count=count,
        already=plan.already,
    )


@coordinators_only
async def survey_results(d: Deps, session: Any, language: str, args: list[str]) -> str:
    """The aggregates of one survey."""
    if not args:
        return d.texts.render("coord_usage", language, usage="/results visit-feedback")
    survey = await find_survey(session, args[0])
    if survey is None:
        return d.texts.render("coord_missing", language, key=args[0])
    found = await results(session, survey, language)
    lines = []
    for q in found.questions:
        if q.mean is not None:
            lines.append(f"{q.text} {format_number(q.mean, language)}")
        elif q.shares:
            shares = (f"{s.label} {format_share(s.share, language)}" for s in q.shares)
            lines.append(q.text + " " + ", ".join(shares))
        elif q.texts:
            lines.append(f"{q.text} ({len(q.texts)})")
    return d.texts.render(
        "coord_results",
        language,
        title=found.title,
        finished=found.finished,
        sent=found.sent,
        lines=lines,
    )


SHORT = 70


@coordinators_only
async def recs(d: Deps, session: Any, language: str, args: list[str]) -> str:
    """Overdue items and the updates of the last week."""
    today = d.clock.now().date()
    overdue = await session.scalars(
        select(Recommendation).where(Recommendation.status.in_(OPEN), Recommendation.due_on < today)
    )
    recent = await session.execute(
        select(RecommendationUpdate, Recommendation)
        .join(Recommendation, Recommendation.id == RecommendationUpdate.recommendation_id)
        .where(RecommendationUpdate.recorded_at >= d.clock.now() - timedelta(days=7))
        .order_by(RecommendationUpdate.recorded_at.desc())
        .limit(10)
    )
    updates = []
    for update, rec in recent.all():
        said = f"{_rec_title(rec, language)}: {label('statuses', update.status, language)}"
        updates.append(f"{said} – {_short(update.comment)}" if update.comment else said)
    return d.texts.render(
        "coord_recs",
        language,
        overdue=[{"title": _rec_title(r, language), "due_on": r.due_on} for r in overdue],
        updates=updates,
    )


def _short(text: str, limit: int = SHORT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _rec_title(rec: Recommendation, language: str) -> str:
    """The recommendation's own words, shortened, rather than its file key."""
    return _short(pick_language(rec.text, language)) if rec.text else rec.slug


@coordinators_only
async def stats(d: Deps, session: Any, language: str, args: list[str]) -> str:
    """The network in a few numbers."""

    async def count(query: Any) -> int:
        return int(await session.scalar(query) or 0)

    now: datetime = d.clock.now()
    return d.texts.render(
        "coord_stats",
        language,
        contacts=await count(select(func.count(Contact.id)).where(Contact.erased_at.is_(None))),
        telegram=await count(select(func.count(TelegramLink.id))),
        email=await count(
            select(func.count(Contact.id)).where(
                Contact.email.is_not(None), Contact.email_state == "active"
            )
        ),
        events=await count(select(func.count(Event.id)).where(Event.starts_at >= now)),
        open_recs=await count(
            select(func.count(Recommendation.id)).where(Recommendation.status.in_(OPEN))
        ),
        queued=await count(
            select(func.count(OutboxMessage.id)).where(OutboxMessage.status == "queued")
        ),
        failed=await count(
            select(func.count(OutboxMessage.id)).where(OutboxMessage.status == "failed")
        ),
    )


async def export(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the coordinator's workbook (every sheet of `expertbot export`) as a document."""
    d, message = deps(context), update.effective_message
    assert message is not None
    async with d.database.read_scope() as session:
        coordinator = await onboarding.is_coordinator(session, message.chat_id)
        sheets = (
            await exports.collect(
                session, exports.Scope(zone=d.texts.zone, language=coordinator.language)
            )
            if coordinator
            else []
        )
    if coordinator is None:
        await help_(update, context)
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"expertbot-{d.clock.now():%Y-%m-%d}.xlsx"
        exports.write_workbook(path, sheets)
        await context.bot.send_document(
            message.chat_id, InputFile(path.read_bytes(), filename=path.name)
        )


async def console(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send a coordinator a one-time sign-in link to the console, here in the chat."""
    d, message = deps(context), update.effective_message
    assert message is not None
    async with d.database.session_scope() as session:
        coordinator = await onboarding.is_coordinator(session, message.chat_id)
        if coordinator is not None:
            token = await signin.issue(session, coordinator, channel="telegram", now=d.clock.now())
            language = coordinator.language
    if coordinator is None:
        await help_(update, context)
        return
    url = f"{d.public_url.rstrip('/')}{signin.SIGNIN_PATH}{token}"
    minutes = int(signin.LINK_LIFETIME.total_seconds() // 60)
    await message.reply_html(d.texts.render("console_link", language, url=url, minutes=minutes))
