"""A survey in the chat: one question at a time, buttons for choices, typed text, back and skip."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.db.models import Question, SurveyResponse
from bot.rendering import label
from bot.services.surveys import answering as surveys
from bot.telegram.context import Deps, deps, keyboard


def _text(texts: dict[str, str], language: str) -> str:
    return texts.get(language) or texts.get("lv") or next(iter(texts.values()), "")


def _buttons(step: surveys.Step, response_id: int, language: str) -> InlineKeyboardMarkup:
    q, base = step.question, f"sv:{response_id}:{step.position}"
    rows: list[list[tuple[str, str]]] = []
    if q.type == "rating":
        rows.append([(str(n), f"{base}:a:{n}") for n in range(1, (q.scale or 5) + 1)])
    elif q.type == "yes_no":
        rows.append([(label("buttons", v, language), f"{base}:a:{v}") for v in ("yes", "no")])
    elif q.type == "single_choice":
        rows += [[(_text(o["text"], language), f"{base}:a:{o['id']}")] for o in q.options]
    elif q.type == "multiple_choice":
        chosen = set(step.current or [])
        rows += [
            [
                (
                    ("✓ " if o["id"] in chosen else "") + _text(o["text"], language),
                    f"{base}:t:{o['id']}",
                )
            ]
            for o in q.options
        ]
        rows.append([(label("buttons", "done", language), f"{base}:d")])
    extra = []
    if step.position > 0:
        extra.append((label("buttons", "back", language), f"{base}:b"))
    if not q.required:
        extra.append((label("buttons", "skip", language), f"{base}:s"))
    if extra:
        rows.append(extra)
    return keyboard(*rows)


def _question(d: Deps, step: surveys.Step, response_id: int, language: str) -> dict[str, Any]:
    text = d.texts.render(
        "survey_question",
        language,
        position=step.position + 1,
        total=step.total,
        text=_text(step.question.text, language),
        kind=step.question.type,
        required=step.question.required,
        scale=step.question.scale or 5,
    )
    return {"text": text, "reply_markup": _buttons(step, response_id, language)}


def _shown(question: Question, value: Any, language: str) -> str:
    options = {o["id"]: _text(o["text"], language) for o in question.options}
    if question.type == "yes_no":
        shown = label("buttons", str(value), language)
    elif question.type == "single_choice":
        shown = options.get(value, str(value))
    elif question.type == "multiple_choice":
        shown = ", ".join(options.get(v, v) for v in value)
    else:
        shown = str(value) if len(str(value)) <= 60 else str(value)[:57] + "…"
    return f"{_text(question.text, language)} {shown}"


async def _next(d: Deps, response: SurveyResponse, language: str, session: Any) -> dict[str, Any]:
    """The next question, or the thank-you with a short summary when none is left."""
    step = await surveys.step(session, response)
    if step is not None:
        return _question(d, step, response.id, language)
    recipient = await surveys.recipient_of_response(session, response, d.secret)
    if recipient is not None and response.status != "finished":
        await surveys.finish(session, response, recipient, now=d.clock.now())
    lines = [_shown(q, v, language) for q, v in await surveys.summary(session, response)]
    return {"text": d.texts.render("survey_thanks", language, lines=lines), "reply_markup": None}


async def start_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Open (or resume) the survey behind a Start button, for the chat that owns it."""
    d, query = deps(context), update.callback_query
    assert query is not None and query.data and query.message
    recipient_id = int(query.data.split(":")[1])
    async with d.database.session_scope() as session:
        recipient = await surveys.recipient_of_chat(session, recipient_id, query.message.chat.id)
        contact = await surveys.contact_of(session, query.message.chat.id)
        language = contact.language if contact else "en"
        if recipient is None:
            await query.answer(d.texts.render("survey_not_yours", language), show_alert=True)
            return
        state, response = await surveys.open_response(
            session, recipient, now=d.clock.now(), secret=d.secret
        )
        if state != "open" or response is None:
            await query.answer(d.texts.render(f"survey_{state}", language), show_alert=True)
            return
        response.channel = "telegram"
        shown = await _next(d, response, language, session)
    await query.answer()
    await context.bot.send_message(
        query.message.chat.id,
        shown["text"],
        parse_mode=ParseMode.HTML,
        reply_markup=shown["reply_markup"],
    )


async def step_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer, toggle, finish a multiple choice, skip or go back; old questions change nothing."""
    d, query = deps(context), update.callback_query
    assert query is not None and query.data and query.message
    _, raw_id, raw_position, action, *rest = query.data.split(":")
    value = rest[0] if rest else None
    now = d.clock.now()
    async with d.database.session_scope() as session:
        contact = await surveys.contact_of(session, query.message.chat.id)
        language = contact.language if contact else "en"
        found = await surveys.response_of_chat(
            session, int(raw_id), query.message.chat.id, d.secret
        )
        if found is None:
            await query.answer(d.texts.render("survey_not_yours", language), show_alert=True)
            return
        response, recipient = found
        if recipient.closes_at is not None and now >= recipient.closes_at:
            await query.answer(d.texts.render("survey_closed", language), show_alert=True)
            return
        verdict = await _act(session, response, int(raw_position), action, value, now)
        if verdict != "ok":
            reply = "survey_stale" if verdict == "invalid" else f"survey_{verdict}"
            await query.answer(d.texts.render(reply, language, limit=0), show_alert=True)
            return
        shown = await _next(d, response, language, session)
    await query.answer()
    await query.edit_message_text(
        shown["text"], parse_mode=ParseMode.HTML, reply_markup=shown["reply_markup"]
    )


async def _act(
    session: Any, response: SurveyResponse, position: int, action: str, value: str | None, now: Any
) -> str:
    if action == "a":
        return await surveys.answer(session, response, position, value, now=now)
    if action == "t":
        step = await surveys.step(session, response)
        chosen = list(step.current or []) if step else []
        chosen = [c for c in chosen if c != value] if value in chosen else [*chosen, value]
        return await surveys.answer(session, response, position, chosen, now=now, advance=False)
    if action == "d":
        step = await surveys.step(session, response)
        return await surveys.answer(
            session, response, position, step.current if step else [], now=now
        )
    if action == "s":
        return await surveys.skip(session, response, position, now=now)
    return await surveys.back(session, response, position)


async def text_typed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A typed reply answers the open text question, if there is one; else fall through."""
    d, message = deps(context), update.effective_message
    assert message is not None and message.text is not None
    async with d.database.session_scope() as session:
        found = await surveys.waiting_for_text(session, message.chat_id, d.secret, d.clock.now())
        if found is None:
            return
        response, step, language = found
        verdict = await surveys.answer(
            session, response, step.position, message.text, now=d.clock.now()
        )
        if verdict == "ok":
            shown = await _next(d, response, language, session)
        else:
            limit = step.question.max_length or surveys.DEFAULT_TEXT_LIMIT
            reply = "survey_stale" if verdict == "invalid" else f"survey_{verdict}"
            shown = {"text": d.texts.render(reply, language, limit=limit), "reply_markup": None}
    await message.reply_html(shown["text"], reply_markup=shown["reply_markup"])
    raise ApplicationHandlerStop
