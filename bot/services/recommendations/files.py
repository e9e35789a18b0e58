"""Read a recommendations file (YAML) and check all of it before anything is written.

A file names the meeting that agreed the recommendations and lists them, each with its
owners and a reminder cadence. Problems are reported the way event and survey files report
them (file:line: field.path: reason, items counted from 1); what only the database can tell
(is there a contact with this email, an event with this id?) is checked when loading, and
reported the same way through `RecFile.problem`. The format is described in
docs/recommendations.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from email_validator import EmailNotValidError, validate_email

from bot.db.vocab import REC_AREAS
from bot.services.events.files import (
    _PARENT,
    EventFileError,
    Problem,
    _load_yaml,
    _Reader,
    path_join,
    read_source,
)
from bot.services.recommendations.followup import CadenceError, validate_cadence

FIELDS = ("source", "recommendations")
SOURCE_FIELDS = ("event", "title", "date")
ITEM_FIELDS = ("id", "area", "text", "owners", "due", "remind")
ITEM_REQUIRED = ("id", "area", "text", "owners", "remind")


@dataclass(frozen=True)
class References:
    """What only the database can confirm: the source event and the owners, by field path.

    Collected even from a file with problems, so that one run reports those too.
    """

    file: str
    event: str | None = None  # source.event, an event's id (slug) or number
    owners: tuple[tuple[str, str], ...] = ()  # (field path, normalised email)
    lines: Mapping[str, int] = field(default_factory=dict, repr=False, compare=False)

    def problem(self, path: str, reason: str) -> Problem:
        """Return a problem at a field path of this file, with the nearest line known."""
        line, parent = None, path
        while parent and line is None:
            line = self.lines.get(parent)
            match = _PARENT.match(parent)
            parent = match.group(1) if match else ""
        return Problem(self.file, path, reason, line)


class RecFileError(EventFileError):
    """The file has problems, or names people or an event that are not there."""

    def __init__(self, problems: list[Problem], references: References | None = None) -> None:
        super().__init__(problems)
        self.references = references


@dataclass(frozen=True)
class MeetingSpec:
    """The meeting that agreed the recommendations: a loaded event, or a title and a date."""

    event: str | None = None  # an event's id (slug) or number
    title: dict[str, str] = field(default_factory=dict)
    held_on: date | None = None


@dataclass(frozen=True)
class RecSpec:
    slug: str
    area: str
    text: dict[str, str]
    owners: tuple[str, ...]  # normalised email addresses, in the file's order
    due: date | None
    cadence: str  # normalised by validate_cadence
    path: str  # "recommendations[2]", to name it in problems found on loading


@dataclass(frozen=True)
class RecFile:
    """A valid recommendations file."""

    meeting: MeetingSpec
    items: tuple[RecSpec, ...]
    digest: str
    references: References

    @property
    def file(self) -> str:
        return self.references.file

    def problem(self, path: str, reason: str) -> Problem:
        """Return a problem at a field path of this file, with the nearest line known."""
        return self.references.problem(path, reason)


def read_rec_file(path: Path) -> RecFile:
    """Read and check one recommendations file; raise RecFileError listing every problem."""
    try:
        content = read_source(path)
    except EventFileError as error:
        raise RecFileError(error.problems) from None
    return parse_recs(content, str(path))


def parse_recs(content: bytes, source: str) -> RecFile:
    """Check the YAML text of a recommendations file; `source` names it in problems."""
    try:
        data, lines, problems = _load_yaml(content, source)
    except EventFileError as error:
        raise RecFileError(error.problems) from None
    reader = _RecReader(source, lines, problems)
    spec = reader.file(data, hashlib.sha256(content).hexdigest())
    if reader.problems or spec is None:
        problems = sorted(reader.problems, key=lambda p: p.line or 0)
        raise RecFileError(problems, reader.references())
    return spec


class _RecReader(_Reader):
    """The event file checks, plus those of the source meeting and the recommendations."""

    def __init__(self, source: str, lines: dict[str, int], problems: list[Problem]) -> None:
        super().__init__(source, lines, problems)
        self.event_key: str | None = None
        self.owner_emails: list[tuple[str, str]] = []

    def file(self, data: Any, digest: str) -> RecFile | None:
        if not isinstance(data, Mapping):
            self.bad("", "expected source: and recommendations:")
            return None
        self.keys(data, "", FIELDS, FIELDS)
        meeting = self.meeting(data.get("source"))
        items = self.recommendations(data)
        if self.problems or meeting is None:
            return None
        return RecFile(meeting, tuple(items), digest, self.references())

    def references(self) -> References:
        return References(self.source, self.event_key, tuple(self.owner_emails), dict(self.lines))

    def text(self, value: Any, path: str, max_length: int = 300) -> str | None:
        if isinstance(value, bool):
            # YAML 1.1 reads an unquoted yes, no, on or off as true or false.
            self.bad(path, f"{value!r} was read as true/false; put the text in quotes")
            return None
        return super().text(value, path, max_length)

    def meeting(self, value: Any) -> MeetingSpec | None:
        if value is None:
            return None  # reported as required
        if not isinstance(value, Mapping):
            self.bad("source", "expected event: (an event's id), or title: and date:")
            return None
        self.keys(value, "source", SOURCE_FIELDS, ())
        event = value.get("event")
        if isinstance(event, int) and not isinstance(event, bool):
            event = str(event)
        event = self.event_key = self.text(event, "source.event", max_length=100)
        title = self.texts(value.get("title"), "source.title")
        day = self.day(value.get("date"), "source.date")
        given = [k for k in ("title", "date") if value.get(k) is not None]
        if value.get("event") is not None and given:
            self.bad(
                f"source.{given[0]}",
                "give either event: (the meeting's details come from the event) "
                "or title: and date:, not both",
            )
        elif value.get("event") is None:
            for key in ("title", "date"):
                if value.get(key) is None:
                    self.bad(f"source.{key}", "required when no event: is given")
        return MeetingSpec(event, title, day)

    def recommendations(self, data: Mapping[str, Any]) -> list[RecSpec]:
        given = data.get("recommendations")
        if isinstance(given, list) and not given:
            self.bad("recommendations", "give at least one recommendation")
        items: list[RecSpec] = []
        first_of: dict[str, str] = {}
        for number, value in self.items(data, "recommendations"):
            path = path_join("recommendations", number)
            given = value.get("id") if isinstance(value, Mapping) else None
            key = str(given).strip() if isinstance(given, str | int) else None
            if key and key in first_of:
                self.bad(path_join(path, "id"), f"{key!r} is also the id of {first_of[key]}")
            elif key:
                first_of[key] = path
            item = self.recommendation(value, path)
            if item is not None and first_of.get(item.slug) == path:
                items.append(item)
        return items

    def recommendation(self, value: Any, path: str) -> RecSpec | None:
        if not isinstance(value, Mapping):
            self.bad(path, "expected a recommendation with id:, area:, text:, owners: and remind:")
            return None
        self.keys(value, path, ITEM_FIELDS, ITEM_REQUIRED)
        slug = self.slug(value.get("id"), path_join(path, "id"))
        area = self.choice(value.get("area"), path_join(path, "area"), REC_AREAS)
        text = self.texts(value.get("text"), path_join(path, "text"))
        owners = self.owners(value.get("owners"), path_join(path, "owners"))
        due = self.day(value.get("due"), path_join(path, "due"))
        cadence = self.cadence(value.get("remind"), path_join(path, "remind"))
        if slug is None or area is None or not text or not owners or cadence is None:
            return None
        return RecSpec(slug, area, text, owners, due, cadence, path)

    def owners(self, value: Any, path: str) -> tuple[str, ...]:
        if value is None:
            return ()
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list):
            self.bad(path, "expected a list of email addresses, e.g. [a@example.lv, b@example.ee]")
            return ()
        if not values:
            self.bad(path, "give at least one owner's email address")
        emails: list[str] = []
        for number, item in enumerate(values):
            where = path_join(path, number)
            text = self.text(item, where, max_length=320)
            if text is None:
                continue
            try:
                email = validate_email(text, check_deliverability=False).normalized.lower()
            except EmailNotValidError as error:
                self.bad(where, f"{text!r} is not a valid address: {error}")
                continue
            if email in emails:
                self.bad(where, f"{email} is given twice")
                continue
            emails.append(email)
            self.owner_emails.append((where, email))
        return tuple(emails)

    def cadence(self, value: Any, path: str) -> str | None:
        text = self.text(value, path, max_length=100)
        if text is None:
            return None
        try:
            return validate_cadence(text)
        except CadenceError as error:
            self.bad(path, str(error))
            return None
