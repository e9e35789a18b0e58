"""Read a survey file (YAML) and check all of it before anything is written.

Problems are reported the way event files report them (file:line: field.path: reason, items
counted from 1), and the YAML reading and the field checks are shared with event files. The
format is described in docs/surveys.md.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bot.db.vocab import LANGUAGES, QUESTION_TYPES
from bot.services.events.files import (
    OFFSET_UNITS,
    EventFileError,
    Problem,
    _load_yaml,
    _Reader,
    format_offset,
    path_join,
    read_source,
)

FIELDS = ("id", "title", "send_after", "remind_after", "closes_after", "anonymous", "questions")
REQUIRED = ("id", "title", "questions")
QUESTION_FIELDS = ("id", "type", "text", "required", "scale", "max_length", "options")
OPTION_FIELDS = ("id", "text")
CHOICE_TYPES = ("single_choice", "multiple_choice")
DEFAULT_SCALE = 5
SCALES = range(2, 11)
DEFAULT_MAX_LENGTH = 2000
# A Telegram message holds 4096 characters; an answer is quoted back inside one.
LONGEST_MAX_LENGTH = 3500

# Question and option ids become column names and export values: no spaces or commas.
_KEY = re.compile(r"^[a-z0-9]+(?:[_-][a-z0-9]+)*$")
_OFFSET = re.compile(r"^(\d+)\s*([wdhm])$", re.IGNORECASE)
_PARENT = re.compile(r"^(.*?)(?:\.[^.\[]+|\[\d+\])$")


class SurveyFileError(EventFileError):
    """The file has problems, or loading it would break stored answers; `problems` lists all."""


@dataclass(frozen=True)
class OptionSpec:
    id: str
    text: dict[str, str]


@dataclass(frozen=True)
class QuestionSpec:
    key: str
    type: str
    text: dict[str, str]
    required: bool = True
    scale: int | None = None  # rating only
    max_length: int | None = None  # text only
    options: tuple[OptionSpec, ...] = ()  # choice questions only

    def options_json(self) -> list[dict[str, Any]]:
        """Return the options as stored on Question.options."""
        return [{"id": o.id, "text": dict(o.text)} for o in self.options]


@dataclass(frozen=True)
class SurveySpec:
    """A valid survey file; offsets are seconds after the end of the linked event."""

    slug: str
    title: dict[str, str]
    anonymous: bool
    send_after: int
    remind_after: int | None
    closes_after: int | None
    questions: tuple[QuestionSpec, ...]
    source: str
    digest: str
    # Field path -> line, so that problems found later (on loading) can name the line too.
    lines: Mapping[str, int] = field(default_factory=dict, repr=False, compare=False)

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self.title)

    def problem(self, path: str, reason: str) -> Problem:
        """Return a problem at a field path of this file, with the nearest line known."""
        line, parent = None, path
        while parent and line is None:
            line = self.lines.get(parent)
            match = _PARENT.match(parent)
            parent = match.group(1) if match else ""
        return Problem(self.source, path, reason, line)


def read_survey_file(path: Path) -> SurveySpec:
    """Read and check one survey file; raise SurveyFileError listing every problem."""
    try:
        content = read_source(path)
    except EventFileError as error:
        raise SurveyFileError(error.problems) from None
    return parse_survey(content, str(path))


def parse_survey(content: bytes, source: str) -> SurveySpec:
    """Check the YAML text of a survey file; `source` names it in problems."""
    try:
        data, lines, problems = _load_yaml(content, source)
    except EventFileError as error:
        raise SurveyFileError([_hinted(p) for p in error.problems]) from None
    reader = _SurveyReader(source, lines, problems)
    spec = reader.survey(data, hashlib.sha256(content).hexdigest())
    if reader.problems or spec is None:
        # In the order of the file, which is how people fix them.
        raise SurveyFileError(sorted(reader.problems, key=lambda p: p.line or 0))
    return spec


def _hinted(problem: Problem) -> Problem:
    # Questions end in "?", which YAML refuses unquoted inside {...} and [...].
    if "but got '?'" not in problem.reason:
        return problem
    hint = '; inside { } put a text with ? in quotes, e.g. {lv: "Kāpēc?", en: "Why?"}'
    return replace(problem, reason=problem.reason + hint)


class _SurveyReader(_Reader):
    """The event file checks, plus those of survey fields and questions."""

    def survey(self, data: Any, digest: str) -> SurveySpec | None:
        if not isinstance(data, Mapping):
            self.bad("", "expected the fields of one survey (id:, title:, questions:, ...)")
            return None
        self.keys(data, "", FIELDS, REQUIRED)
        slug = self.slug(data.get("id"), "id")
        title = self.texts(data.get("title"), "title")
        anonymous = self.flag(data.get("anonymous"), "anonymous", default=False)
        send_after = self.offset(data.get("send_after"), "send_after", zero=True) or 0
        remind_after = self.offset(data.get("remind_after"), "remind_after")
        closes_after = self.offset(data.get("closes_after"), "closes_after")
        self.offsets_in_order(send_after, remind_after, closes_after)
        questions = self.questions(data, tuple(title))
        if self.problems:
            return None
        assert slug and title
        return SurveySpec(
            slug=slug,
            title=title,
            anonymous=anonymous,
            send_after=send_after,
            remind_after=remind_after,
            closes_after=closes_after,
            questions=tuple(questions),
            source=self.source,
            digest=digest,
            lines=dict(self.lines),
        )

    # Plain values ---------------------------------------------------------------------

    def text(self, value: Any, path: str, max_length: int = 300) -> str | None:
        if isinstance(value, bool):
            # YAML 1.1 reads an unquoted yes, no, on or off as true or false.
            self.bad(path, f"{value!r} was read as true/false; put the text in quotes")
            return None
        return super().text(value, path, max_length)

    def flag(self, value: Any, path: str, *, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.bad(path, f"{value!r} is not true or false")
            return default
        return value

    def number(self, value: Any, path: str, allowed: range, default: int) -> int:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value not in allowed:
            self.bad(
                path, f"{value!r} is not a whole number from {allowed.start} to {allowed.stop - 1}"
            )
            return default
        return value

    def key(self, value: Any, path: str) -> str | None:
        """Read a question or option id: lowercase letters, digits, _ and -."""
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        text = self.text(value, path, max_length=100)
        if text is not None and not _KEY.match(text):
            self.bad(
                path,
                f"{text!r} is not an id: use lowercase letters, digits, _ and -, e.g. best_part",
            )
            return None
        return text

    def offset(self, value: Any, path: str, *, zero: bool = False) -> int | None:
        """Read a time after the event ends such as 2h, 3d or 14d (seconds)."""
        if value is None:
            return None
        if value == 0 and zero and not isinstance(value, bool):
            return 0
        match = _OFFSET.match(value.strip()) if isinstance(value, str) else None
        if not match or (int(match.group(1)) == 0 and not zero):
            self.bad(path, f"{value!r} is not a time after the event ends such as 2h, 3d or 14d")
            return None
        return int(match.group(1)) * OFFSET_UNITS[match.group(2).lower()]

    def offsets_in_order(self, send: int, remind: int | None, closes: int | None) -> None:
        if remind is not None and remind <= send:
            self.bad(
                "remind_after",
                f"{format_offset(remind)} is not after send_after ({format_offset(send)})",
            )
        if closes is not None:
            later = max(send, remind or 0)
            if closes <= later:
                which = "remind_after" if remind is not None and remind >= send else "send_after"
                self.bad(
                    "closes_after",
                    f"{format_offset(closes)} is not after {which} ({format_offset(later)})",
                )

    def same_languages(self, given: Any, path: str, languages: tuple[str, ...]) -> None:
        """Every text must come in the title's languages, no fewer and no more."""
        if not isinstance(given, Mapping) or not given or not languages:
            return  # already reported by texts()
        listed = ", ".join(languages)
        for language in languages:
            if language not in given:
                self.bad(path_join(path, language), f"missing; the title is in {listed}")
        for language in given:
            if language in LANGUAGES and language not in languages:
                self.bad(
                    path_join(path, language),
                    f"the title has no {language} text; give texts in {listed} only",
                )

    # Questions ------------------------------------------------------------------------

    def questions(self, data: Mapping[str, Any], languages: tuple[str, ...]) -> list[QuestionSpec]:
        items = self.items(data, "questions")
        if data.get("questions") is not None and not items and isinstance(data["questions"], list):
            self.bad("questions", "give at least one question")
        questions: list[QuestionSpec] = []
        first_of: dict[str, str] = {}
        for number, value in items:
            path = path_join("questions", number)
            key = _raw_id(value)
            twice = key is not None and key in first_of
            if key is not None and twice:
                self.bad(path_join(path, "id"), f"{key!r} is also the id of {first_of[key]}")
            elif key is not None:
                first_of[key] = path
            question = self.question(value, path, languages)
            if question is not None and not twice:
                questions.append(question)
        return questions

    def question(self, value: Any, path: str, languages: tuple[str, ...]) -> QuestionSpec | None:
        if not isinstance(value, Mapping):
            self.bad(path, "expected a question with id:, type: and text:")
            return None
        self.keys(value, path, QUESTION_FIELDS, ("id", "type", "text"))
        key = self.key(value.get("id"), path_join(path, "id"))
        kind = self.choice(value.get("type"), path_join(path, "type"), QUESTION_TYPES)
        text = self.texts(value.get("text"), path_join(path, "text"))
        self.same_languages(value.get("text"), path_join(path, "text"), languages)
        required = self.flag(value.get("required"), path_join(path, "required"), default=True)
        self.only_for(value, path, kind)
        scale = max_length = None
        if kind == "rating":
            scale = self.number(value.get("scale"), path_join(path, "scale"), SCALES, DEFAULT_SCALE)
        if kind == "text":
            lengths = range(1, LONGEST_MAX_LENGTH + 1)
            where = path_join(path, "max_length")
            max_length = self.number(value.get("max_length"), where, lengths, DEFAULT_MAX_LENGTH)
        options: list[OptionSpec] = []
        if kind in CHOICE_TYPES:
            options = self.options(value, path, languages)
        if key is None or kind is None or not text:
            return None
        return QuestionSpec(key, kind, text, required, scale, max_length, tuple(options))

    def only_for(self, value: Mapping[str, Any], path: str, kind: str | None) -> None:
        """Refuse fields that the question's type does not use."""
        if kind is None:
            return
        for name, types in (
            ("scale", ("rating",)),
            ("max_length", ("text",)),
            ("options", CHOICE_TYPES),
        ):
            if value.get(name) is not None and kind not in types:
                self.bad(path_join(path, name), f"only for {' and '.join(types)} questions")

    def options(
        self, value: Mapping[str, Any], path: str, languages: tuple[str, ...]
    ) -> list[OptionSpec]:
        where = path_join(path, "options")
        given = value.get("options")
        if given is None:
            self.bad(where, "required for choice questions: give at least two options")
            return []
        if not isinstance(given, list):
            self.bad(where, "expected a list (items starting with -)")
            return []
        if len(given) < 2:
            self.bad(where, "give at least two options")
        options: list[OptionSpec] = []
        first_of: dict[str, int] = {}
        for number, item in enumerate(given):
            path = path_join(where, number)
            option_id = _raw_id(item)
            twice = option_id is not None and option_id in first_of
            if option_id is not None and twice:
                self.bad(
                    path_join(path, "id"),
                    f"{option_id!r} is given twice in this question "
                    f"(also options[{first_of[option_id] + 1}])",
                )
            elif option_id is not None:
                first_of[option_id] = number
            option = self.option(item, path, languages)
            if option is not None and not twice:
                options.append(option)
        return options

    def option(self, item: Any, path: str, languages: tuple[str, ...]) -> OptionSpec | None:
        if not isinstance(item, Mapping):
            self.bad(path, "expected an option with id: and text:")
            return None
        self.keys(item, path, OPTION_FIELDS, OPTION_FIELDS)
        option_id = self.key(item.get("id"), path_join(path, "id"))
        text = self.texts(item.get("text"), path_join(path, "text"))
        self.same_languages(item.get("text"), path_join(path, "text"), languages)
        if option_id is None or not text:
            return None
        return OptionSpec(option_id, text)


def _raw_id(value: Any) -> str | None:
    """The id an item was given, before it is checked, to find ids given twice."""
    given = value.get("id") if isinstance(value, Mapping) else None
    if isinstance(given, bool) or not isinstance(given, str | int):
        return None
    return str(given).strip() or None
