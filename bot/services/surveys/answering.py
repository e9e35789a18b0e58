"""Answering a survey: one question at a time (Telegram) or all at once (web form).

State lives in the database, so a restart or an answer days later resumes where the person
was. Anonymous surveys keep no link from answers to people: while a response is unfinished it
carries a keyed hash to resume by; at the end that is cleared, and only the recipient row (who
was asked, whether they finished) remains.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.db.models import Answer, Contact, Question, Survey, SurveyRecipient, SurveyResponse
from bot.services.onboarding.chats import contact_of_chat

DEFAULT_TEXT_LIMIT = 2000


def respondent_key(secret: str, recipient: SurveyRecipient) -> str:
    message = f"{recipient.survey_id}:{recipient.event_id}:{recipient.contact_id}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


async def load_survey(session: AsyncSession, survey_id: int) -> Survey:
    survey = await session.scalar(
        select(Survey).where(Survey.id == survey_id).options(selectinload(Survey.questions))
    )
    if survey is None:
        raise LookupError(f"survey {survey_id} is gone")
    return survey


async def recipient_of_chat(
    session: AsyncSession, recipient_id: int, chat_id: int
) -> SurveyRecipient | None:
    """The recipient row, only if this chat belongs to its contact."""
    recipient = await session.get(SurveyRecipient, recipient_id)
    owner = await contact_of_chat(session, chat_id)
    if recipient is None or owner is None or owner.id != recipient.contact_id:
        return None
    return recipient


Opening = Literal["open", "closed", "finished"]


async def open_response(
    session: AsyncSession,
    recipient: SurveyRecipient,
    *,
    now: datetime,
    secret: str,
    save: bool = True,
) -> tuple[Opening, SurveyResponse | None]:
    """Find or start the person's response; closed and finished-anonymous ones stay shut.

    `save=False` (a look at the form): a new response is not stored, so nothing is written."""
    survey = await load_survey(session, recipient.survey_id)
    if recipient.closes_at is not None and now >= recipient.closes_at:
        return "closed", None
    if survey.anonymous:
        if recipient.finished_at is not None:
            return "finished", None
        key = respondent_key(secret, recipient)
        response = await session.scalar(
            select(SurveyResponse).where(SurveyResponse.respondent_key == key)
        )
        if response is None:
            response = SurveyResponse(
                survey_id=survey.id, event_id=recipient.event_id, respondent_key=key
            )
    else:
        response = await session.scalar(
            select(SurveyResponse).where(
                SurveyResponse.survey_id == survey.id,
                SurveyResponse.contact_id == recipient.contact_id,
                SurveyResponse.event_id == recipient.event_id,
            )
        )
        if response is None:
            response = SurveyResponse(
                survey_id=survey.id, event_id=recipient.event_id, contact_id=recipient.contact_id
            )
    if response.id is None and save:
        response.started_at = now
        session.add(response)
        await session.flush()
    return "open", response


@dataclass
class Step:
    """The question to show now, with the answer given so far (if any)."""

    position: int
    total: int
    question: Question
    current: Any = None


async def _answers(session: AsyncSession, response: SurveyResponse) -> dict[int, Answer]:
    rows = await session.scalars(select(Answer).where(Answer.response_id == response.id))
    return {a.question_id: a for a in rows}


async def step(session: AsyncSession, response: SurveyResponse) -> Step | None:
    """The current question, or None when every question has been passed."""
    survey = await load_survey(session, response.survey_id)
    questions = survey.questions
    if response.current_position >= len(questions):
        return None
    question = questions[response.current_position]
    given = (await _answers(session, response)).get(question.id)
    return Step(
        response.current_position, len(questions), question, given.value["value"] if given else None
    )


Verdict = Literal["ok", "stale", "invalid", "too_long", "required"]


def check(question: Question, value: Any) -> tuple[Verdict, Any]:
    """Validate one answer; return the verdict and the normalised value."""
    if question.type == "rating":
        scale = question.scale or 5
        try:
            number = int(value)
        except (TypeError, ValueError):
            return "invalid", None
        return ("ok", number) if 1 <= number <= scale else ("invalid", None)
    ids = [str(o["id"]) for o in question.options]
    if question.type == "single_choice":
        return ("ok", str(value)) if str(value) in ids else ("invalid", None)
    if question.type == "multiple_choice":
        chosen = [str(v) for v in (value or [])]
        if any(c not in ids for c in chosen):
            return "invalid", None
        return "ok", [i for i in ids if i in chosen]
    if question.type == "yes_no":
        return ("ok", str(value)) if value in ("yes", "no") else ("invalid", None)
    text = str(value or "").strip()
    if len(text) > (question.max_length or DEFAULT_TEXT_LIMIT):
        return "too_long", None
    return "ok", text


async def _store(
    session: AsyncSession, response: SurveyResponse, question: Question, value: Any, now: datetime
) -> None:
    existing = (await _answers(session, response)).get(question.id)
    if existing is None:
        session.add(
            Answer(
                response_id=response.id,
                question_id=question.id,
                value={"value": value},
                answered_at=now,
            )
        )
    else:
        existing.value, existing.answered_at = {"value": value}, now


async def answer(
    session: AsyncSession,
    response: SurveyResponse,
    position: int,
    value: Any,
    *,
    now: datetime,
    advance: bool = True,
) -> Verdict:
    """Record the answer to the question at `position` (a press on an old one changes nothing)."""
    current = await step(session, response)
    if current is None or position != current.position:
        return "stale"
    verdict, clean = check(current.question, value)
    if verdict != "ok":
        return verdict
    if clean in ("", []) and current.question.required and advance:
        return "required"
    await _store(session, response, current.question, clean, now)
    if advance:
        response.current_position += 1
    return "ok"


async def skip(
    session: AsyncSession, response: SurveyResponse, position: int, *, now: datetime
) -> Verdict:
    current = await step(session, response)
    if current is None or position != current.position:
        return "stale"
    if current.question.required:
        return "required"
    given = (await _answers(session, response)).get(current.question.id)
    if given is not None:
        await session.delete(given)
    response.current_position += 1
    return "ok"


async def back(session: AsyncSession, response: SurveyResponse, position: int) -> Verdict:
    current = await step(session, response)
    shown = current.position if current else response.current_position
    if position != shown or shown == 0:
        return "stale"
    response.current_position -= 1
    return "ok"


async def finish(
    session: AsyncSession, response: SurveyResponse, recipient: SurveyRecipient, *, now: datetime
) -> None:
    """Close the response; an anonymous one loses its resume key here."""
    response.status, response.finished_at = "finished", now
    response.respondent_key = None
    recipient.finished_at = now


async def summary(session: AsyncSession, response: SurveyResponse) -> list[tuple[Question, Any]]:
    survey = await load_survey(session, response.survey_id)
    given = await _answers(session, response)
    return [(q, given[q.id].value["value"]) for q in survey.questions if q.id in given]


@dataclass
class FormResult:
    errors: dict[str, str] = field(default_factory=dict)  # question key -> verdict
    values: dict[str, Any] = field(default_factory=dict)


async def submit_form(
    session: AsyncSession,
    recipient: SurveyRecipient,
    raw: dict[str, Any],
    *,
    now: datetime,
    secret: str,
) -> tuple[Opening | Literal["invalid", "saved"], FormResult]:
    """Check every answer of the web form; write all of them or none."""
    state, response = await open_response(session, recipient, now=now, secret=secret)
    result = FormResult(values=dict(raw))
    if state != "open" or response is None:
        return state, result
    survey = await load_survey(session, recipient.survey_id)
    clean: dict[int, Any] = {}
    for question in survey.questions:
        given = raw.get(question.key)
        if given in (None, "", []) or (isinstance(given, str) and not given.strip()):
            if question.required:
                result.errors[question.key] = "required"
            continue
        verdict, value = check(question, given)
        if verdict != "ok":
            result.errors[question.key] = verdict
        elif value not in ("", [], None):
            clean[question.id] = value
    if result.errors:
        return "invalid", result
    given = await _answers(session, response)
    for question in survey.questions:
        if question.id in clean:
            await _store(session, response, question, clean[question.id], now)
        elif question.id in given:
            await session.delete(given[question.id])
    response.current_position = len(survey.questions)
    response.channel = "email"
    await finish(session, response, recipient, now=now)
    return "saved", result


async def contact_of(session: AsyncSession, chat_id: int) -> Any:
    return await contact_of_chat(session, chat_id)


async def recipient_of_response(
    session: AsyncSession, response: SurveyResponse, secret: str
) -> SurveyRecipient | None:
    """Who a response belongs to: by contact when named, by the resume key when anonymous."""
    if response.contact_id is not None:
        return await session.scalar(
            select(SurveyRecipient).where(
                SurveyRecipient.survey_id == response.survey_id,
                SurveyRecipient.contact_id == response.contact_id,
                SurveyRecipient.event_id.is_(None)
                if response.event_id is None
                else SurveyRecipient.event_id == response.event_id,
            )
        )
    candidates = await session.scalars(
        select(SurveyRecipient).where(
            SurveyRecipient.survey_id == response.survey_id,
            SurveyRecipient.finished_at.is_(None),
        )
    )
    for recipient in candidates:
        if response.respondent_key and hmac.compare_digest(
            respondent_key(secret, recipient), response.respondent_key
        ):
            return recipient
    return None


async def response_of_chat(
    session: AsyncSession, response_id: int, chat_id: int, secret: str
) -> tuple[SurveyResponse, SurveyRecipient] | None:
    """The response and its recipient, only if they belong to this chat's contact."""
    response = await session.get(SurveyResponse, response_id)
    contact = await contact_of_chat(session, chat_id)
    if response is None or contact is None:
        return None
    recipient = await recipient_of_response(session, response, secret)
    if recipient is None or recipient.contact_id != contact.id:
        return None
    return response, recipient


async def waiting_for_text(
    session: AsyncSession, chat_id: int, secret: str, now: datetime
) -> tuple[SurveyResponse, Step, str] | None:
    """The open response of this chat whose current question wants typed text, if any."""
    contact = await contact_of_chat(session, chat_id)
    if contact is None:
        return None
    recipients = await session.scalars(
        select(SurveyRecipient)
        .where(SurveyRecipient.contact_id == contact.id, SurveyRecipient.finished_at.is_(None))
        .order_by(SurveyRecipient.sent_at.desc())
    )
    for recipient in recipients:
        if recipient.closes_at is not None and now >= recipient.closes_at:
            continue
        survey = await load_survey(session, recipient.survey_id)
        if survey.anonymous:
            response = await session.scalar(
                select(SurveyResponse).where(
                    SurveyResponse.respondent_key == respondent_key(secret, recipient)
                )
            )
        else:
            response = await session.scalar(
                select(SurveyResponse).where(
                    SurveyResponse.survey_id == survey.id,
                    SurveyResponse.contact_id == contact.id,
                    SurveyResponse.status == "in_progress",
                )
            )
        if response is None:
            continue
        current = await step(session, response)
        if current is not None and current.question.type == "text":
            return response, current, contact.language
    return None


async def contact_by_id(session: AsyncSession, contact_id: int) -> Any:
    """The contact, unless erased."""
    contact = await session.get(Contact, contact_id)
    return contact if contact is not None and contact.erased_at is None else None
