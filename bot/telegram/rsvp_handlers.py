"""Will attend / Can't attend / Not sure yet, pressed under an invitation."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.rendering import label
from bot.services.events import invitations
from bot.telegram.context import deps

CHOSEN = "✓ "


def marked(markup: InlineKeyboardMarkup | None, data: str) -> InlineKeyboardMarkup | None:
    """The same buttons, the chosen one ticked: the choice shows and can still change."""
    if markup is None:
        return None
    rows = []
    for row in markup.inline_keyboard:
        rows.append(
            [
                InlineKeyboardButton(
                    (CHOSEN if button.callback_data == data else "")
                    + button.text.removeprefix(CHOSEN),
                    callback_data=button.callback_data,
                )
                for button in row
            ]
        )
    return InlineKeyboardMarkup(rows)


async def rsvp_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Record the answer behind an invitation button and show it in the message."""
    d, query = deps(context), update.callback_query
    assert query is not None and query.data and query.message
    _, raw_id, code = query.data.split(":")
    async with d.database.session_scope() as session:
        outcome = await invitations.record_answer(
            session,
            int(raw_id),
            code,
            channel="telegram",
            now=d.clock.now(),
            chat_id=query.message.chat.id,
            policy=d.policy,
        )
    language = outcome.contact.language if outcome.contact else "en"
    if outcome.verdict in ("not_yours", "missing"):
        await query.answer(d.texts.render("rsvp_not_yours", language), show_alert=True)
        return
    if outcome.verdict in ("closed", "cancelled"):
        await query.answer(d.texts.render(f"rsvp_{outcome.verdict}", language), show_alert=True)
        return
    if outcome.status == "waitlisted":
        await query.answer(d.texts.render("rsvp_waitlisted", language), show_alert=True)
    else:
        answer = label("answers", outcome.status or "invited", language)
        await query.answer(d.texts.render("rsvp_recorded", language, answer=answer))
    if outcome.verdict == "recorded":
        current = query.message.reply_markup if hasattr(query.message, "reply_markup") else None
        await query.edit_message_reply_markup(marked(current, query.data))
