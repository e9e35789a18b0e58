"""Status buttons under recommendation digests and /tasks, and comments typed after them."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.rendering import label
from bot.services.onboarding import chats as onboarding
from bot.services.recommendations import followup as recommendations
from bot.services.recommendations import reminders as rec_reminders
from bot.telegram.context import Deps, deps
from bot.telegram.rsvp_handlers import marked

AWAITING = "rec_comment_for"


async def _record(
    d: Deps, chat_id: int, rec_id: int, status: str | None, comment: str | None
) -> tuple[str, str, str]:
    """Record an owner's update; returns (verdict, language, status label)."""
    async with d.database.session_scope() as session:
        contact = await onboarding.contact_of_chat(session, chat_id)
        language = contact.language if contact else "en"
        if contact is None:
            return "not_owner", language, ""
        rec = await recommendations.load_recommendation(session, rec_id)
        wanted = status or (rec.status if rec else "in_progress")
        outcome = await recommendations.record_update(
            session,
            rec_id,
            wanted,
            now=d.clock.now(),
            channel="telegram",
            contact_id=contact.id,
            comment=comment,
        )
        if outcome.verdict == "recorded" and outcome.others and d.policy is not None:
            assert outcome.recommendation is not None
            await rec_reminders.tell_done(
                session,
                outcome.recommendation,
                outcome.others,
                contact.name,
                now=d.clock.now(),
                policy=d.policy,
            )
        return outcome.verdict, language, label("statuses", wanted, language)


async def status_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Record Done / In progress / Not started for the owner who pressed it."""
    d, query = deps(context), update.callback_query
    assert query is not None and query.data and query.message
    _, raw_id, code = query.data.split(":")
    chat = query.message.chat.id
    if code == "comment":
        assert context.chat_data is not None
        context.chat_data[AWAITING] = int(raw_id)
        async with d.database.session_scope() as session:
            contact = await onboarding.contact_of_chat(session, chat)
        await query.answer()
        await context.bot.send_message(
            chat, d.texts.render("rec_comment_ask", contact.language if contact else "en")
        )
        return
    verdict, language, shown = await _record(d, chat, int(raw_id), code, None)
    if verdict == "recorded":
        await query.answer(d.texts.render("rec_recorded", language, status=shown))
        current = getattr(query.message, "reply_markup", None)
        await query.edit_message_reply_markup(marked(current, query.data))
    elif verdict == "closed":
        await query.answer(d.texts.render("rec_closed", language), show_alert=True)
    else:
        await query.answer(d.texts.render("rec_not_yours", language), show_alert=True)


async def comment_typed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The text after "Add a comment" becomes that item's comment; otherwise fall through."""
    d, message = deps(context), update.effective_message
    if context.chat_data is None or AWAITING not in context.chat_data:
        return
    assert message is not None and message.text is not None
    rec_id = context.chat_data.pop(AWAITING)
    verdict, language, _ = await _record(d, message.chat_id, rec_id, None, message.text)
    reply = {"recorded": "rec_comment_saved", "too_long": "rec_comment_too_long"}.get(
        verdict, "rec_closed"
    )
    if verdict == "too_long":
        context.chat_data[AWAITING] = rec_id
    await message.reply_html(d.texts.render(reply, language))
    raise ApplicationHandlerStop
