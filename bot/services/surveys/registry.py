"""Surveys in the database: load checked files, report changes, and add up the answers.

Questions are matched by their id across reloads, so answers stay attached to them. Once a
survey has responses, a reload may edit texts, add questions and reorder them, but not
remove a question or an option, change a question's type or scale, or switch anonymity:
stored answers would then mean something else (or nothing).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.db.models import Contact, Event, Question, Survey, SurveyRecipient, SurveyResponse
from bot.rendering import label
from bot.services.events.files import DEFAULT_TIMEZONE, Problem, format_offset, path_join
from bot.services.events.registry import Change
from bot.services.surveys.files import CHOICE_TYPES, QuestionSpec, SurveyFileError, SurveySpec
from bot.textformat import pick_language

Outcome = Literal["new", "changed", "unchanged"]
YES_NO = ("yes", "no")
EXPORT_ZONE = DEFAULT_TIMEZONE


@dataclass(frozen=True)
class SurveyLoadResult:
    """What loading one file did to the database."""

    slug: str
    survey_id: int
    outcome: Outcome
    changes: tuple[Change, ...] = ()
    responses: int = 0  # started or finished, before this load


@dataclass(frozen=True)
class SurveyOverview:
    survey: Survey
    questions: int
    sent: int
    finished: int


@dataclass(frozen=True)
class Share:
    """How many chose one option (or yes, or no), of those who answered the question."""

    id: str
    label: str
    count: int
    share: float  # 0..1


@dataclass(frozen=True)
class TextAnswer:
    text: str
    author: str | None = None  # never set for anonymous surveys


@dataclass(frozen=True)
class QuestionResult:
    key: str
    type: str
    text: str
    answered: int  # finished responses that answer it
    skipped: int
    mean: float | None = None  # rating
    distribution: tuple[tuple[int, int], ...] = ()  # rating: (value, count), highest first
    shares: tuple[Share, ...] = ()  # choices and yes/no, in the file's order
    texts: tuple[TextAnswer, ...] = ()  # free text, oldest first


@dataclass(frozen=True)
class SurveyResults:
    """Everything a results page shows, in one language."""

    slug: str
    title: str
    language: str
    anonymous: bool
    sent: int  # recipients
    finished: int  # recipients who finished
    responses: int  # finished responses, which the question results count
    questions: tuple[QuestionResult, ...]

    @property
    def rate(self) -> float | None:
        """Finished / sent, or None when nobody was sent the survey."""
        return self.finished / self.sent if self.sent else None


# --- Loading ------------------------------------------------------------------------------


async def find_survey(session: AsyncSession, key: str) -> Survey | None:
    """Return the survey with this slug or numeric id, with its questions loaded."""
    key = key.strip()
    where = Survey.id == int(key) if key.isdigit() else Survey.slug == key
    return await session.scalar(select(Survey).where(where).options(selectinload(Survey.questions)))


async def load_survey(session: AsyncSession, spec: SurveySpec) -> SurveyLoadResult:
    """Create the survey of a checked file, or update the one with its id; never commits.

    Raises SurveyFileError when the survey has responses and the file would break them.
    """
    survey = await find_survey(session, spec.slug)
    if survey is None:
        survey = Survey(slug=spec.slug)
        _apply_fields(survey, spec)
        survey.questions = [_new_question(q, n) for n, q in enumerate(spec.questions)]
        session.add(survey)
        await session.flush()
        return SurveyLoadResult(spec.slug, survey.id, "new")
    responses = await _count(session, SurveyResponse, SurveyResponse.survey_id == survey.id)
    if responses:
        problems = breaking_changes(survey, spec, responses)
        if problems:
            raise SurveyFileError(problems)
    changes = describe_changes(survey, spec)
    survey.source_digest = spec.digest
    if changes:
        _apply_fields(survey, spec)
        await _apply_questions(session, survey, spec)
    await session.flush()
    outcome: Outcome = "changed" if changes else "unchanged"
    return SurveyLoadResult(spec.slug, survey.id, outcome, tuple(changes), responses)


def _apply_fields(survey: Survey, spec: SurveySpec) -> None:
    survey.title = dict(spec.title)
    survey.anonymous = spec.anonymous
    survey.send_after = spec.send_after
    survey.remind_after = spec.remind_after
    survey.closes_after = spec.closes_after
    survey.source_digest = spec.digest


def _new_question(spec: QuestionSpec, position: int) -> Question:
    question = Question(key=spec.key, position=position)
    _apply_question(question, spec)
    return question


def _apply_question(question: Question, spec: QuestionSpec) -> None:
    question.type = spec.type
    question.text = dict(spec.text)
    question.required = spec.required
    question.scale = spec.scale
    question.max_length = spec.max_length
    question.options = spec.options_json()


async def _apply_questions(session: AsyncSession, survey: Survey, spec: SurveySpec) -> None:
    by_key = {q.key: q for q in survey.questions}
    wanted = {q.key for q in spec.questions}
    kept = [q for q in survey.questions if q.key in wanted]
    # (survey_id, position) is unique and checked row by row: first drop the removed
    # questions and park the kept ones on negative positions, then number them all.
    for question in kept:
        question.position = -1 - question.position
    survey.questions = kept
    await session.flush()
    ordered = []
    for position, question_spec in enumerate(spec.questions):
        question = by_key.get(question_spec.key) or Question(key=question_spec.key)
        question.position = position
        _apply_question(question, question_spec)
        ordered.append(question)
    survey.questions = ordered


def breaking_changes(survey: Survey, spec: SurveySpec, responses: int) -> list[Problem]:
    """List what in the file would break the survey's stored answers."""
    why = f"the survey already has {responses} response(s)"
    problems = []
    if survey.anonymous != spec.anonymous:
        promised = "anonymous" if survey.anonymous else "not anonymous"
        problems.append(spec.problem("anonymous", f"cannot change: {why}, given as {promised}"))
    given = {q.key: (number, q) for number, q in enumerate(spec.questions)}
    for question in survey.questions:
        if question.key not in given:
            problems.append(
                spec.problem(
                    "questions",
                    f"question {question.key!r} cannot be removed: {why}; "
                    "put it back (its texts may change)",
                )
            )
            continue
        number, new = given[question.key]
        path = path_join("questions", number)
        if new.type != question.type:
            problems.append(
                spec.problem(
                    path_join(path, "type"),
                    f"was {question.type}; cannot change: {why}. "
                    "Add a question with a new id instead",
                )
            )
            continue
        if question.type == "rating" and new.scale != question.scale:
            problems.append(
                spec.problem(
                    path_join(path, "scale"), f"was {question.scale}; cannot change: {why}"
                )
            )
        new_ids = {o.id for o in new.options}
        for option in question.options:
            if option["id"] not in new_ids:
                problems.append(
                    spec.problem(
                        path_join(path, "options"),
                        f"option {option['id']!r} cannot be removed: {why}; "
                        "put it back (its texts may change)",
                    )
                )
    return problems


def describe_changes(survey: Survey, spec: SurveySpec) -> list[Change]:
    """List, field by field, how the file differs from the stored survey."""
    changes = _text_changes("title", survey.title, spec.title)
    changes += _simple("anonymous", survey.anonymous, spec.anonymous)
    for name in ("send_after", "remind_after", "closes_after"):
        before, after = getattr(survey, name), getattr(spec, name)
        changes += _simple(name, _offset(before), _offset(after))
    before_keys = [q.key for q in survey.questions]
    after_keys = [q.key for q in spec.questions]
    kept = [k for k in before_keys if k in after_keys]
    if kept != [k for k in after_keys if k in before_keys]:
        changes.append(
            Change("questions", "order " + " → ".join(map(", ".join, (kept, after_keys))))
        )
    stored = {q.key: q for q in survey.questions}
    for key in before_keys:
        if key not in after_keys:
            changes.append(Change(f"questions.{key}", "removed"))
    for question_spec in spec.questions:
        question = stored.get(question_spec.key)
        if question is None:
            changes.append(Change(f"questions.{question_spec.key}", "added"))
        else:
            changes += _question_changes(question, question_spec)
    return changes


def _question_changes(question: Question, spec: QuestionSpec) -> list[Change]:
    path = f"questions.{spec.key}"
    changes = _simple(f"{path}.type", question.type, spec.type)
    changes += _text_changes(f"{path}.text", question.text, spec.text)
    changes += _simple(f"{path}.required", question.required, spec.required)
    changes += _simple(f"{path}.scale", question.scale, spec.scale)
    changes += _simple(f"{path}.max_length", question.max_length, spec.max_length)
    before = {str(o["id"]): o.get("text") or {} for o in question.options}
    after = {o.id: o.text for o in spec.options}
    for option_id in before:
        if option_id not in after:
            changes.append(Change(f"{path}.options.{option_id}", "removed"))
    for option_id, text in after.items():
        if option_id not in before:
            changes.append(Change(f"{path}.options.{option_id}", "added"))
        else:
            changes += _text_changes(f"{path}.options.{option_id}.text", before[option_id], text)
    if [i for i in before if i in after] != [i for i in after if i in before]:
        changes.append(Change(f"{path}.options", "order changed"))
    return changes


def _simple(name: str, before: Any, after: Any) -> list[Change]:
    return [] if before == after else [Change(name, f"{_shown(before)} → {_shown(after)}")]


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "—" if value in (None, "") else str(value)


def _offset(seconds: int | None) -> str | None:
    return None if seconds is None else format_offset(seconds)


def _text_changes(name: str, before: dict[str, Any], after: dict[str, str]) -> list[Change]:
    changes = []
    for language in dict.fromkeys([*before, *after]):
        if language not in after:
            changes.append(Change(f"{name}.{language}", "removed"))
        elif language not in before:
            changes.append(Change(f"{name}.{language}", "added"))
        elif before[language] != after[language]:
            changes.append(Change(f"{name}.{language}"))
    return changes


# --- Overview and results -----------------------------------------------------------------


async def _count(session: AsyncSession, model: type[Any], *where: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def events_of(session: AsyncSession, survey: Survey) -> list[Event]:
    """The events after which a survey was sent, soonest first."""
    return list(
        await session.scalars(
            select(Event)
            .where(
                Event.id.in_(
                    select(SurveyRecipient.event_id).where(SurveyRecipient.survey_id == survey.id)
                )
            )
            .order_by(Event.starts_at)
        )
    )


async def list_surveys(session: AsyncSession) -> list[SurveyOverview]:
    """Return every survey by id (slug), with its number of questions and who was sent it."""
    surveys = list(
        await session.scalars(
            select(Survey).options(selectinload(Survey.questions)).order_by(Survey.slug)
        )
    )
    rows = await session.execute(
        select(
            SurveyRecipient.survey_id,
            func.count(),
            func.count(SurveyRecipient.finished_at),
        ).group_by(SurveyRecipient.survey_id)
    )
    counts = {survey_id: (sent, finished) for survey_id, sent, finished in rows}
    return [SurveyOverview(s, len(s.questions), *counts.get(s.id, (0, 0))) for s in surveys]


async def _finished_responses(
    session: AsyncSession, survey: Survey, event_id: int | None = None
) -> list[tuple[SurveyResponse, Contact | None]]:
    """Finished responses, oldest first; their contact only when the survey is not anonymous."""
    where = [SurveyResponse.survey_id == survey.id, SurveyResponse.status == "finished"]
    if event_id is not None:
        where.append(SurveyResponse.event_id == event_id)
    responses = list(
        await session.scalars(
            select(SurveyResponse)
            .where(*where)
            .options(selectinload(SurveyResponse.answers))
            .order_by(SurveyResponse.finished_at, SurveyResponse.id)
        )
    )
    if survey.anonymous:
        return [(r, None) for r in responses]
    ids = {r.contact_id for r in responses if r.contact_id is not None}
    contacts = {c.id: c for c in await session.scalars(select(Contact).where(Contact.id.in_(ids)))}
    return [(r, contacts.get(r.contact_id) if r.contact_id else None) for r in responses]


async def results(
    session: AsyncSession, survey: Survey, language: str = "lv", *, event_id: int | None = None
) -> SurveyResults:
    """Add up the finished responses of a survey (after one event, if given), in one language."""
    scope = [SurveyRecipient.survey_id == survey.id]
    if event_id is not None:
        scope.append(SurveyRecipient.event_id == event_id)
    sent = await _count(session, SurveyRecipient, *scope)
    finished = await _count(
        session, SurveyRecipient, *scope, SurveyRecipient.finished_at.is_not(None)
    )
    responses = await _finished_responses(session, survey, event_id)
    questions = []
    for question in survey.questions:
        given = [
            (answer.value.get("value"), contact)
            for response, contact in responses
            for answer in response.answers
            if answer.question_id == question.id and _given(answer.value.get("value"))
        ]
        questions.append(_question_result(question, given, len(responses), language))
    return SurveyResults(
        slug=survey.slug,
        title=pick_language(survey.title, language),
        language=language,
        anonymous=survey.anonymous,
        sent=sent,
        finished=finished,
        responses=len(responses),
        questions=tuple(questions),
    )


def _given(value: Any) -> bool:
    # An empty list is an answer ("none of these"); an empty text is not.
    return value is not None and value != ""


def _question_result(
    question: Question,
    given: Sequence[tuple[Any, Contact | None]],
    responses: int,
    language: str,
) -> QuestionResult:
    values = [value for value, _ in given]
    base = QuestionResult(
        key=question.key,
        type=question.type,
        text=pick_language(question.text, language),
        answered=len(values),
        skipped=responses - len(values),
    )
    if question.type == "rating":
        numbers = [n for n in map(_number, values) if n is not None]
        counts = Counter(numbers)
        scale = range(max([question.scale or 5, *numbers]), 0, -1)
        return replace(
            base,
            mean=sum(numbers) / len(numbers) if numbers else None,
            distribution=tuple((n, counts[n]) for n in scale),
        )
    if question.type == "text":
        texts = [
            TextAnswer(str(value).strip(), contact.name if contact else None)
            for value, contact in given
        ]
        return replace(base, texts=tuple(texts))
    chosen: Counter[str] = Counter()
    for value in values:
        ids = value if isinstance(value, list) else [value]
        chosen.update({_option_id(i) for i in ids})  # each option once per respondent
    labels = _labels(question, language)
    labels.update({i: i for i in chosen if i not in labels})
    shares = tuple(
        Share(i, label, chosen[i], chosen[i] / len(values) if values else 0.0)
        for i, label in labels.items()
    )
    return replace(base, shares=shares)


def _number(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(value) if isinstance(value, str) and value.strip().isdigit() else None


def _option_id(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _labels(question: Question, language: str) -> dict[str, str]:
    if question.type == "yes_no":
        return {answer: label("buttons", answer, language) for answer in YES_NO}
    return {
        str(o["id"]): pick_language(o.get("text") or str(o["id"]), language)
        for o in question.options
    }


# --- Export -------------------------------------------------------------------------------


async def export_table(
    session: AsyncSession, survey: Survey, language: str = "lv"
) -> tuple[list[str], list[list[Any]]]:
    """Return a header and one row per finished response; names only if not anonymous.

    Chosen options read as their labels in `language`, as the coordinator sees them elsewhere.
    """
    zone = ZoneInfo(EXPORT_ZONE)
    header = ["response", f"finished ({EXPORT_ZONE})"]
    if not survey.anonymous:
        header += ["name", "email"]
    header += [q.key for q in survey.questions]
    rows = []
    for number, (response, contact) in enumerate(await _finished_responses(session, survey), 1):
        row: list[Any] = [number, _local(response.finished_at, zone)]
        if not survey.anonymous:
            row += [contact.name if contact else "", (contact.email or "") if contact else ""]
        values = {a.question_id: a.value.get("value") for a in response.answers}
        row += [answer_cell(q, values.get(q.id), language) for q in survey.questions]
        rows.append(row)
    return header, rows


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M}" if moment else ""


def answer_cell(question: Question, value: Any, language: str) -> Any:
    """Return an answer as a table shows it: chosen options by their labels in `language`."""
    if value is None or value == "":
        return ""
    if question.type in (*CHOICE_TYPES, "yes_no") or isinstance(value, bool):
        labels = _labels(question, language)
        chosen = value if isinstance(value, list) else [value]
        return ", ".join(labels.get(_option_id(v), _option_id(v)) for v in chosen)
    return value
