"""Self-service: /help, /language, /events, /tasks, /privacy, /stop, and everything else.

Replies that only show something read in sessions that take no lock, so they answer while the
database is being written (a long import)."""

from __future__ import annotations

import contextlib

from telegram import InputFile, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.channels.telegram import keyboard as inline
from bot.db.models import Contact
from bot.services.contacts import registry
from bot.services.onboarding import chats as onboarding
from bot.services.onboarding import selfservice
from bot.services.recommendations.reminders import status_buttons
from bot.telegram.context import Deps, deps, identity, keyboard
from bot.telegram.onboarding_handlers import consent_keyboard
from bot.telegram.rsvp_handlers import CHOSEN


async def _contact(d: Deps, chat_id: int) -> Contact | None:
    async with d.database.read_scope() as session:
        return await onboarding.contact_of_chat(session, chat_id)


async def _reply(update: Update, text: str, **kwargs: object) -> None:
    message = update.effective_message
    assert message is not None
    await message.reply_html(text, **kwargs)  # type: ignore[arg-type]


async def _linked(update: Update, d: Deps) -> Contact | None:
    """The writer's contact; otherwise say how to link and return None."""
    who = identity(update)
    contact = await _contact(d, who.chat_id)
    if contact is None:
        await _reply(update, d.texts.render("not_linked", who.language))
    return contact


async def stale_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a press no other handler knows (old or forged data), so the spinner stops."""
    d, query = deps(context), update.callback_query
    assert query is not None
    contact = await _contact(d, query.from_user.id)
    language = contact.language if contact else identity(update).language
    await query.answer(d.texts.render("button_stale", language))


async def answer_after_failure(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """After a handler failed, still answer its button press, once and quietly."""
    query = update.callback_query if isinstance(update, Update) else None
    if query is None:
        return
    # Already answered before it failed, or too old: then there is no spinner to stop.
    with contextlib.suppress(TelegramError):
        await query.answer()


async def help_(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List what the bot can do."""
    d, who = deps(context), identity(update)
    contact = await _contact(d, who.chat_id)
    language = contact.language if contact else who.language
    text = d.texts.render("help", language)
    async with d.database.read_scope() as session:
        coordinator = await onboarding.is_coordinator(session, who.chat_id)
    if coordinator is not None:  # the role is checked in the database at every /help
        text += "\n\n" + d.texts.render("help_coordinator", language)
    await _reply(update, text)


async def language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Offer lv / et / en, the current one ticked."""
    d = deps(context)
    contact = await _linked(update, d)
    if contact is None:
        return
    names = d.texts.labels["language_buttons"]
    shown = {code: (CHOSEN if code == contact.language else "") + names[code] for code in names}
    buttons = keyboard([(shown[code], f"lang:{code}") for code in ("lv", "et", "en")])
    await _reply(update, d.texts.render("language_choose", contact.language), reply_markup=buttons)


async def language_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Switch every future message to the chosen language."""
    d, query = deps(context), update.callback_query
    assert query is not None and query.data and query.message
    await query.answer()
    code = query.data.removeprefix("lang:")
    async with d.database.session_scope() as session:
        contact = await onboarding.set_language(session, query.message.chat.id, code)
    if contact is not None:
        await query.edit_message_text(
            d.texts.render("language_set", code), parse_mode=ParseMode.HTML
        )


async def events(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show my upcoming events with my answer."""
    d = deps(context)
    contact = await _linked(update, d)
    if contact is None or not await _consented(update, d, contact):
        return
    async with d.database.read_scope() as session:
        found = await selfservice.upcoming_events(session, contact.id, now=d.clock.now())
    lang = contact.language
    if not found:
        await _reply(update, d.texts.render("events_none", lang))
        return
    for item in found:
        item["answer"] = d.texts.label("answers", item["status"], lang)
    await _reply(update, d.texts.render("events", lang, events=found))


async def tasks(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show my open recommendations."""
    d = deps(context)
    contact = await _linked(update, d)
    if contact is None or not await _consented(update, d, contact):
        return
    async with d.database.read_scope() as session:
        found = await selfservice.open_tasks(session, contact.id)
    lang = contact.language
    if not found:
        await _reply(update, d.texts.render("tasks_none", lang))
        return
    for item in found:
        item["status"] = d.texts.label("statuses", item["status"], lang)
    rows = tuple(
        row
        for number, item in enumerate(found, start=1)
        for row in status_buttons(item["id"], number, lang)
    )
    await _reply(update, d.texts.render("tasks", lang, tasks=found), reply_markup=inline(rows))


async def _consented(update: Update, d: Deps, contact: Contact) -> bool:
    if contact.consent_on is not None:
        return True
    await _reply(
        update,
        d.texts.render("consent_question", contact.language),
        reply_markup=consent_keyboard(d.texts, contact.language),
    )
    return False


async def privacy(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show what is stored about me, with Download and Delete."""
    d = deps(context)
    contact = await _linked(update, d)
    if contact is None:
        return
    async with d.database.read_scope() as session:
        counts = await selfservice.summary(session, contact)
    lang = contact.language
    text = d.texts.render(
        "privacy",
        lang,
        name=contact.name,
        email=contact.email,
        phone=contact.phone,
        organisation=contact.organisation,
        language_name=d.texts.label("languages", contact.language, lang),
        consent_on=contact.consent_on,
        retention_days=d.retention_days,
        **counts,
    )
    buttons = keyboard(
        [(d.texts.button("export", lang), "privacy:export")],
        [(d.texts.button("delete", lang), "privacy:delete")],
    )
    await _reply(update, text, reply_markup=buttons)


async def privacy_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Export, ask to confirm deletion, delete, or keep: always the pressing chat's own data."""
    d, query = deps(context), update.callback_query
    assert query is not None and query.data and query.message
    await query.answer()
    chat = query.message.chat.id
    action = query.data.removeprefix("privacy:")
    async with d.database.session_scope() as session:
        contact = await onboarding.contact_of_chat(session, chat)
        if contact is None:
            await query.edit_message_reply_markup(None)
            return
        lang = contact.language
        if action == "export":
            data = await selfservice.export(session, contact)
        elif action == "confirm":
            await registry.erase(session, contact, now=d.clock.now())
    if action == "export":
        caption = d.texts.render("privacy_export", lang, name=contact.name, when=d.clock.now())
        await context.bot.send_document(
            chat, InputFile(selfservice.as_json(data), filename="my-data.json"), caption=caption
        )
        await context.bot.send_document(
            chat, InputFile(selfservice.as_csv(data), filename="my-data.csv")
        )
    elif action == "delete":
        buttons = keyboard(
            [
                (d.texts.button("confirm_delete", lang), "privacy:confirm"),
                (d.texts.button("cancel", lang), "privacy:cancel"),
            ]
        )
        await query.edit_message_text(d.texts.render("privacy_confirm", lang), reply_markup=buttons)
    elif action == "confirm":
        await query.edit_message_text(d.texts.render("privacy_deleted", lang))
    else:
        await query.edit_message_text(d.texts.render("privacy_kept", lang))


async def stop(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop Telegram messages; email goes on."""
    d, who = deps(context), identity(update)
    async with d.database.session_scope() as session:
        contact = await onboarding.stop_telegram(session, who.chat_id)
    if contact is None:
        await _reply(update, d.texts.render("not_linked", who.language))
        return
    has_email = bool(contact.email) and contact.email_state == "active"
    await _reply(update, d.texts.render("stopped", contact.language, has_email=has_email))


async def fallback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer unknown commands, stray text, stickers and photos with short help."""
    d, who = deps(context), identity(update)
    contact = await _contact(d, who.chat_id)
    await _reply(update, d.texts.render("unknown", contact.language if contact else who.language))


async def in_group(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Say once, in one line, that the bot works in private chats."""
    d, who = deps(context), identity(update)
    await _reply(update, d.texts.render("group_only", who.language))


async def membership_changed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Follow a block or unblock of the bot in a private chat."""
    d, change = deps(context), update.my_chat_member
    if change is None or change.chat.type != "private":
        return
    blocked = change.new_chat_member.status == "kicked"
    async with d.database.session_scope() as session:
        await onboarding.chat_blocked(session, change.chat.id, blocked)
