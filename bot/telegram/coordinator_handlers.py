"""The coordinator's /broadcast: text → audience → preview → confirm → progress → summary.

Every step checks the coordinator role in the database; anyone else gets the ordinary help.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from telegram import Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.db.models import Contact, Event
from bot.rendering import label, labels
from bot.services.delivery import broadcasts
from bot.services.onboarding import chats as onboarding
from bot.telegram.context import Deps, deps, keyboard

STATE = "broadcast"
log = logging.getLogger("expertbot.telegram")
TEXT_LIMIT = 3500  # a broadcast's text; the preview and Telegram's 4,096 need the rest


async def _coordinator(d: Deps, chat_id: int) -> Contact | None:
    async with d.database.session_scope() as session:
        return await onboarding.is_coordinator(session, chat_id)


def _cancel(language: str) -> tuple[str, str]:
    return (label("buttons", "cancel", language), "bc:cancel")


async def broadcast(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Start a broadcast (coordinators only; others get the ordinary help)."""
    d, message = deps(context), update.effective_message
    assert message is not None and context.chat_data is not None
    coordinator = await _coordinator(d, message.chat_id)
    if coordinator is None:
        from bot.telegram.self_handlers import help_

        await help_(update, context)
        return
    context.chat_data[STATE] = {"step": "text"}
    language = coordinator.language
    await message.reply_html(
        d.texts.render("bc_ask", language), reply_markup=keyboard([_cancel(language)])
    )


async def text_typed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The coordinator's message text; then the audience buttons."""
    d, message = deps(context), update.effective_message
    state = (context.chat_data or {}).get(STATE)
    if not state or state.get("step") != "text":
        return
    assert message is not None and message.text is not None
    coordinator = await _coordinator(d, message.chat_id)
    if coordinator is None:
        return
    language = coordinator.language
    if len(message.text) > TEXT_LIMIT:  # the preview adds its own lines: keep within 4,096
        limit, length = TEXT_LIMIT, len(message.text)
        await message.reply_html(
            d.texts.render("bc_too_long", language, limit=limit, length=length)
        )
        raise ApplicationHandlerStop  # handled: no "not understood" after it
    state.update(step="audience", text=message.text)
    async with d.database.session_scope() as session:
        upcoming = list(
            await session.scalars(
                select(Event)
                .where(Event.status.in_(("published", "changed")), Event.ends_at >= d.clock.now())
                .order_by(Event.starts_at)
                .limit(4)
            )
        )
    rows = [[(label("buttons", "everyone", language), "bc:all")]]
    roles = [
        (label("roles", r, language), f"bc:role:{r}")
        for r in ("regional_expert", "mediator", "partner")
    ]
    rows += [roles]
    rows += [[(label("countries", c, language), f"bc:country:{c}") for c in ("LV", "EE")]]
    rows += [
        [(labels()["language_buttons"][lang], f"bc:lang:{lang}") for lang in ("lv", "et", "en")]
    ]
    for event in upcoming:
        title = event.title.get(language) or event.title.get("lv") or event.slug
        rows.append([(title[:60], f"bc:event:{event.id}")])
    rows.append([_cancel(language)])
    await message.reply_html(d.texts.render("bc_audience", language), reply_markup=keyboard(*rows))
    raise ApplicationHandlerStop


def _audience_name(choice: str, language: str, events: dict[int, Any]) -> str:
    kind, _, value = choice.partition(":")
    if kind == "role":
        return label("roles", value, language)
    if kind == "country":
        return label("countries", value, language)
    if kind == "lang":
        return str(labels()["language_buttons"][value])
    if kind == "event":
        return str(events.get(int(value), value))
    return label("buttons", "everyone", language)


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Audience chosen → preview with counts; Send → queue and follow; Cancel at any step."""
    d, query = deps(context), update.callback_query
    assert query is not None and query.data and query.message and context.chat_data is not None
    chat = query.message.chat.id
    coordinator = await _coordinator(d, chat)
    await query.answer()
    if coordinator is None:
        return
    language = coordinator.language
    state = context.chat_data.get(STATE)
    choice = query.data.removeprefix("bc:")
    if choice == "cancel" or not state:
        context.chat_data.pop(STATE, None)
        await query.edit_message_text(d.texts.render("bc_cancelled", language))
        return
    if choice == "go" and state.get("step") == "confirm":
        await _send(d, context, chat, state, language)
        context.chat_data.pop(STATE, None)
        await query.edit_message_reply_markup(None)
        return
    if state.get("step") != "audience":
        return
    async with d.database.session_scope() as session:
        people = await broadcasts.recipients(session, choice)
        shown = await broadcasts.preview(session, people, d.channels)
        events = {
            e.id: e.title.get(language) or e.slug for e in await session.scalars(select(Event))
        }
    if not shown.total:
        await query.edit_message_text(d.texts.render("bc_nobody", language))
        context.chat_data.pop(STATE, None)
        return
    state.update(step="confirm", choice=choice)
    counts = [
        {"channel": labels()["channels"][ch], "language": labels()["languages"][lang], "count": n}
        for (ch, lang), n in sorted(shown.counts.items())
    ]
    text = d.texts.render(
        "bc_preview",
        language,
        text=state["text"],
        counts=counts,
        audience=_audience_name(choice, language, events),
        unreachable=len(shown.unreachable),
    )
    buttons = keyboard([(label("buttons", "send", language), "bc:go"), _cancel(language)])
    await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=buttons)


async def _send(
    d: Deps, context: ContextTypes.DEFAULT_TYPE, chat: int, state: dict[str, Any], language: str
) -> None:
    now = d.clock.now()
    key = f"broadcast:{chat}:{now:%Y%m%dT%H%M%S%f}"
    async with d.database.session_scope() as session:
        people = await broadcasts.recipients(session, state["choice"])
        shown = await broadcasts.preview(session, people, d.channels)
        assert d.policy is not None
        total = await broadcasts.send(
            session,
            people,
            state["text"],
            key=key,
            now=now,
            policy=d.policy,
            channels=d.channels,
        )
    if d.wake is not None:
        d.wake()
    note = await context.bot.send_message(
        chat, d.texts.render("bc_progress", language, done=0, total=total)
    )
    context.application.create_task(
        _follow(d, context, chat, note.message_id, key, total, len(shown.unreachable), language)
    )


async def _follow(
    d: Deps,
    context: ContextTypes.DEFAULT_TYPE,
    chat: int,
    message_id: int,
    key: str,
    total: int,
    skipped: int,
    language: str,
) -> None:
    """Show progress while the dispatcher works, then the summary (whatever the edits did)."""
    shown = d.texts.render("bc_progress", language, done=0, total=total)  # sent as it is

    async def show(done: int) -> None:
        nonlocal shown
        text = d.texts.render("bc_progress", language, done=done, total=total)
        if text == shown:  # Telegram refuses an edit that changes nothing
            return
        try:
            await context.bot.edit_message_text(text, chat, message_id)
            shown = text
        except TelegramError as error:  # a progress line is not worth the summary
            log.warning("broadcast progress in chat %s not shown: %s", chat, error)

    started = datetime.now()
    while True:
        async with d.database.session_scope() as session:
            state = await broadcasts.progress(session, key)
        done = total - state.pending
        if state.pending == 0 or (datetime.now() - started).total_seconds() > 3600:
            break
        await show(done)
        await asyncio.sleep(1.0)  # a real-time progress display, not a test wait
    await show(done)  # the last count, so the progress line does not stop short
    reasons = state.failures[:10]
    await context.bot.send_message(
        chat,
        d.texts.render(
            "bc_summary",
            language,
            sent=state.counts["sent"],
            failed=state.counts["failed"],
            skipped=skipped + state.counts["cancelled"],
            reasons=reasons,
        ),
        parse_mode=ParseMode.HTML,
    )
