"""/start, consent, and requests to join."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.db.models import AccessRequest
from bot.services.onboarding import chats as onboarding
from bot.telegram.context import deps, identity, keyboard
from bot.telegram.texts import Texts

log = logging.getLogger("expertbot.telegram")


def consent_keyboard(texts: Texts, language: str) -> InlineKeyboardMarkup:
    return keyboard(
        [
            (texts.button("agree", language), "consent:yes"),
            (texts.button("not_now", language), "consent:no"),
        ]
    )


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Link the chat through an invite token, or explain how to join."""
    d, who = deps(context), identity(update)
    token = context.args[0] if context.args else None
    async with d.database.session_scope() as session:
        outcome = await onboarding.start(session, who, token, now=d.clock.now())
    message = update.effective_message
    assert message is not None
    language = outcome.language
    if outcome.status in ("linked", "welcome_back"):
        reply = "welcome" if outcome.status == "linked" else "welcome_back"
        await message.reply_html(d.texts.render(reply, language, name=outcome.name or ""))
        if outcome.needs_consent:
            await message.reply_html(
                d.texts.render("consent_question", language),
                reply_markup=consent_keyboard(d.texts, language),
            )
        return
    if outcome.status == "no_token":
        button = keyboard([(d.texts.button("request_access", language), "access:request")])
        await message.reply_html(d.texts.render("no_token", language), reply_markup=button)
        return
    reply = {"taken": "account_taken"}.get(outcome.status, f"token_{outcome.status}")
    await message.reply_html(d.texts.render(reply, language))


async def consent_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Record Agree / Not now for the chat that pressed it."""
    d, query = deps(context), update.callback_query
    assert query is not None and query.data and query.message
    await query.answer()
    granted = query.data == "consent:yes"
    async with d.database.session_scope() as session:
        contact = await onboarding.record_consent(
            session, query.message.chat.id, granted, now=d.clock.now()
        )
    if contact is None:
        await query.edit_message_reply_markup(None)
        return
    reply = "consent_thanks" if granted else "consent_later"
    await query.edit_message_text(
        d.texts.render(reply, contact.language), parse_mode=ParseMode.HTML
    )


async def access_requested(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """File a request to join and tell the coordinators, with Approve / Decline."""
    d, query, who = deps(context), update.callback_query, identity(update)
    assert query is not None
    await query.answer()
    async with d.database.session_scope() as session:
        request, is_new = await onboarding.request_access(session, who, now=d.clock.now())
        coordinators = await onboarding.coordinator_chats(session) if is_new else []
    await query.edit_message_reply_markup(None)
    await query.message.reply_html(  # type: ignore[union-attr]
        d.texts.render("access_requested" if is_new else "access_pending", who.language)
    )
    for coordinator, chat in coordinators:
        language = coordinator.language
        buttons = keyboard(
            [
                (d.texts.button("approve", language), f"access:approve:{request.id}"),
                (d.texts.button("decline", language), f"access:decline:{request.id}"),
            ]
        )
        text = d.texts.render(
            "access_request", language, name=request.display_name, username=request.username
        )
        try:
            await context.bot.send_message(
                chat, text, parse_mode=ParseMode.HTML, reply_markup=buttons
            )
        except TelegramError as error:
            log.warning("could not tell coordinator %s about a request: %s", coordinator.id, error)


async def access_decided(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Approve (picking or making the contact) or decline; only a coordinator, checked now."""
    d, query = deps(context), update.callback_query
    assert query is not None and query.data and query.message
    parts = query.data.split(":")
    verb, request_id = parts[1], int(parts[2])
    link_to = int(parts[3]) if verb == "link" else None
    async with d.database.session_scope() as session:
        coordinator = await onboarding.is_coordinator(session, query.message.chat.id)
        request = await session.get(AccessRequest, request_id)
        picks = (
            await onboarding.candidates(session, request)
            if verb == "approve" and coordinator and request and request.status == "pending"
            else []
        )
        if picks:
            outcome = None
        else:
            outcome = await onboarding.decide_access(
                session,
                request_id,
                query.message.chat.id,
                verb != "decline",
                now=d.clock.now(),
                default_language=d.default_language,
                link_to=link_to,
            )
    await query.answer()
    if picks and coordinator and request:
        language = coordinator.language
        rows = [
            [(f"{c.name} · {c.email or c.municipality or ''}", f"access:link:{request.id}:{c.id}")]
            for c in picks
        ]
        rows.append([(d.texts.button("new_contact", language), f"access:new:{request.id}")])
        await query.edit_message_text(
            d.texts.render("access_pick", language, name=request.display_name),
            reply_markup=keyboard(*rows),
        )
        return
    assert outcome is not None
    if outcome.status in ("not_coordinator", "missing"):
        return
    language = coordinator.language if coordinator else "en"
    request = outcome.request
    assert request is not None
    if outcome.status == "already_decided":
        await query.edit_message_text(d.texts.render("access_already_decided", language))
        return
    approved = outcome.status == "approved"
    contact = outcome.contact
    linked = link_to is not None and contact is not None
    await query.edit_message_text(
        d.texts.render(
            "access_decided",
            language,
            approved=approved,
            name=request.display_name,
            linked=linked,
            contact=contact.name if contact else "",
        )
    )
    who = onboarding.Identity(
        request.chat_id, request.user_id, request.display_name, language_code=request.language_code
    )
    reply_language = outcome.contact.language if outcome.contact else who.language
    reply = "access_approved" if approved else "access_declined"
    try:
        await context.bot.send_message(
            request.chat_id,
            d.texts.render(
                reply, reply_language, name=contact.name if contact else request.display_name
            ),
            parse_mode=ParseMode.HTML,
        )
        if approved and contact is not None and contact.consent_on is None:
            await context.bot.send_message(
                request.chat_id,
                d.texts.render("consent_question", reply_language),
                parse_mode=ParseMode.HTML,
                reply_markup=consent_keyboard(d.texts, reply_language),
            )
    except TelegramError as error:
        log.warning("could not answer access request %s: %s", request.id, error)
