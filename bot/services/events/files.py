"""Read an event file (YAML) and check all of it before anything is written.

Every problem is collected, each naming the file, the line, the field path (`agenda[2].until`,
items counted from 1 as they appear in the file) and the reason. The format is described in
docs/events.md.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from email_validator import EmailNotValidError, validate_email
from yaml.composer import ComposerError

from bot.db.vocab import EVENT_KINDS, LANGUAGES, ROLES, STAKEHOLDER_GROUPS
from bot.services.contacts.audience import Audience
from bot.services.contacts.rows import COUNTRIES

DEFAULT_TIMEZONE = "Europe/Riga"
FIELDS = (
    "id",
    "kind",
    "title",
    "description",
    "timezone",
    "starts",
    "ends",
    "venue",
    "places",
    "capacity",
    "rsvp_by",
    "reminders",
    "audience",
    "survey",
    "agenda",
)
REQUIRED = ("id", "kind", "title", "starts", "ends", "venue")
PLACE_FIELDS = ("name", "address", "country")
AGENDA_FIELDS = ("day", "at", "until", "title", "place", "method", "presenter")
# Seconds per unit of a reminder offset such as "14d", "2h" or "30m".
OFFSET_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60}
# What an audience field may contain; None means free text.
AUDIENCE_VALUES: dict[str, tuple[str, ...] | frozenset[str] | None] = {
    "roles": ROLES,
    "municipalities": None,
    "countries": COUNTRIES,
    "languages": LANGUAGES,
    "tags": None,
    "groups": STAKEHOLDER_GROUPS,
    "emails": None,
}

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}(?::\d{2})?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
_OFFSET = re.compile(r"^(\d+)\s*([wdhm])$", re.IGNORECASE)
_PARENT = re.compile(r"^(.*?)(?:\.[^.\[]+|\[\d+\])$")


# Files people write by hand are a few kilobytes; these bounds keep a hostile or broken one
# (a "billion laughs" of anchors, megabytes of nesting) from taking memory, time or the screen.
MAX_FILE_BYTES = 512 * 1024
MAX_DEPTH = 40
MAX_PROBLEMS = 50
MAX_REASON_CHARS = 300
MAX_PATH_CHARS = 120


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a file: where (file, line, field path) and why."""

    file: str
    path: str
    reason: str
    line: int | None = None

    def __post_init__(self) -> None:
        # A problem quotes what it found; a huge value must not become a huge message.
        object.__setattr__(self, "path", _shorten(self.path, MAX_PATH_CHARS))
        object.__setattr__(self, "reason", _shorten(self.reason, MAX_REASON_CHARS))

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.reason}" if self.path else f"{where}: {self.reason}"


class EventFileError(Exception):
    """The file has problems; `problems` lists every one of them."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class PlaceSpec:
    name: str
    address: str | None = None
    country: str | None = None

    def describe(self) -> str:
        return ", ".join(p for p in (self.name, self.address, self.country) if p)


@dataclass(frozen=True)
class AgendaSpec:
    """One agenda item; times are local wall-clock times in the event's zone."""

    day: date
    starts: time | None
    ends: time | None
    title: dict[str, str]
    place: str | None = None
    method: str | None = None
    presenter: str | None = None


@dataclass(frozen=True)
class EventSpec:
    """A valid event file. `starts`/`ends` are aware datetimes in the event's zone."""

    slug: str
    kind: str
    title: dict[str, str]
    description: dict[str, str]
    timezone: str
    starts: datetime
    ends: datetime
    places: tuple[PlaceSpec, ...]  # the venue first, then any further places
    capacity: int | None
    rsvp_by: date | None
    reminder_offsets: tuple[int, ...]  # seconds before the start, largest first
    audience: Audience
    survey: str | None
    agenda: tuple[AgendaSpec, ...]
    source: str
    digest: str

    @property
    def venue(self) -> PlaceSpec:
        return self.places[0]

    def audience_mapping(self) -> dict[str, list[str]]:
        """Return the audience as stored on Event.audience (only the fields given)."""
        return {k: list(v) for k, v in asdict(self.audience).items() if v}


def read_source(path: Path) -> bytes:
    """Read a YAML file, but never more than one byte past MAX_FILE_BYTES (which
    `_load_yaml` then refuses): a huge file is not read into memory."""
    try:
        with path.open("rb") as file:
            return file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise EventFileError(
            [Problem(str(path), "", f"cannot be read ({error.strerror})")]
        ) from None


def read_event_file(path: Path) -> EventSpec:
    """Read and check one event file; raise EventFileError listing every problem."""
    return parse_event(read_source(path), str(path))


def parse_event(content: bytes, source: str) -> EventSpec:
    """Check the YAML text of an event file; `source` names it in problems."""
    data, lines, problems = _load_yaml(content, source)
    reader = _Reader(source, lines, problems)
    spec = reader.event(data, hashlib.sha256(content).hexdigest())
    if reader.problems or spec is None:
        raise EventFileError(reader.problems)
    return spec


def format_offset(seconds: int) -> str:
    """Write a reminder offset the way files do: 1209600 -> "14d", 7200 -> "2h"."""
    for unit in ("d", "h", "m"):
        if seconds % OFFSET_UNITS[unit] == 0:
            return f"{seconds // OFFSET_UNITS[unit]}{unit}"
    return f"{seconds}s"


def path_join(path: str, key: str | int) -> str:
    """Extend a field path: ("agenda", 1) -> "agenda[2]", ("agenda[2]", "at") -> "agenda[2].at"."""
    if isinstance(key, int):
        return f"{path}[{key + 1}]"
    return f"{path}.{key}" if path else str(key)


# --- YAML ---------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """Safe YAML that keeps dates and times as text, so that they are checked here.

    YAML 1.1 reads an unquoted 10:30 as the number 630 (base 60) and 2027-06-16 as a date.
    Anchors and aliases (&name, *name) are refused: nobody needs them in these files, and
    nested ones expand exponentially (a 400-byte file can ask for gigabytes). So is nesting
    deeper than MAX_DEPTH, which would otherwise exhaust the stack.
    """

    depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise ComposerError(
                None,
                None,
                "anchors and aliases (&name, *name) are not allowed; write the value out",
                event.start_mark,
            )
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise ComposerError(
                    None, None, f"nested deeper than {MAX_DEPTH} levels", event.start_mark
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _digit in "0123456789":
    _Loader.yaml_implicit_resolvers.setdefault(_digit, []).insert(
        0, ("tag:yaml.org,2002:str", re.compile(r"^\d+(?::[0-5]?\d)+$"))
    )


def _load_yaml(content: bytes, source: str) -> tuple[Any, dict[str, int], list[Problem]]:
    """Parse a hand-written YAML file (events, surveys, recommendations) within bounds."""
    if len(content) > MAX_FILE_BYTES:
        reason = (
            f"too large ({len(content):,} bytes or more); files of this kind are a few "
            f"kilobytes, at most {MAX_FILE_BYTES // 1024} KB"
        )
        raise EventFileError([Problem(source, "", reason)])
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        reason = f"not UTF-8 (byte {error.start}); save the file as UTF-8"
        raise EventFileError([Problem(source, "", reason)]) from None
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise EventFileError([Problem(source, "", "the file is empty")])
        lines: dict[str, int] = {}
        problems: list[Problem] = []
        _index(node, "", lines, problems, source)
        return loader.construct_document(node), lines, problems
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        reason = getattr(error, "problem", None) or str(error)
        line = mark.line + 1 if mark is not None else None
        raise EventFileError([Problem(source, "", f"not valid YAML: {reason}", line)]) from None
    finally:
        loader.dispose()


def _index(
    node: yaml.Node, path: str, lines: dict[str, int], problems: list[Problem], source: str
) -> None:
    """Note the line of every field path, and refuse keys given twice."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = path_join(path, key)
            line = key_node.start_mark.line + 1
            if key in seen:
                problems.append(Problem(source, child, "given twice", line))
            seen.add(key)
            lines.setdefault(child, line)
            _index(value_node, child, lines, problems, source)
    elif isinstance(node, yaml.SequenceNode):
        for number, item in enumerate(node.value):
            child = path_join(path, number)
            lines[child] = item.start_mark.line + 1
            _index(item, child, lines, problems, source)


# --- Checking -----------------------------------------------------------------------------


class _Reader:
    """Checks one parsed file field by field, collecting problems instead of stopping."""

    def __init__(self, source: str, lines: dict[str, int], problems: list[Problem]) -> None:
        self.source = source
        self.lines = lines
        self.problems = list(problems)

    def bad(self, path: str, reason: str) -> None:
        if len(self.problems) >= MAX_PROBLEMS:
            if len(self.problems) == MAX_PROBLEMS:
                more = "more problems follow; fix these first and check the file again"
                self.problems.append(Problem(self.source, "", more))
            return
        line, parent = None, path
        while parent and line is None:
            line = self.lines.get(parent)
            match = _PARENT.match(parent)
            parent = match.group(1) if match else ""
        self.problems.append(Problem(self.source, path, reason, line))

    # Event ----------------------------------------------------------------------------

    def event(self, data: Any, digest: str) -> EventSpec | None:
        if not isinstance(data, Mapping):
            self.bad("", "expected the fields of one event (id:, kind:, title:, ...)")
            return None
        self.keys(data, "", FIELDS, REQUIRED)
        slug = self.slug(data.get("id"), "id")
        kind = self.choice(data.get("kind"), "kind", EVENT_KINDS)
        title = self.texts(data.get("title"), "title")
        description = self.texts(data.get("description"), "description")
        zone_name, zone = self.zone(data.get("timezone"))
        starts = self.moment(data.get("starts"), "starts", zone)
        ends = self.moment(data.get("ends"), "ends", zone)
        if starts and ends and ends <= starts:
            self.bad("ends", f"{ends:%Y-%m-%d %H:%M} is not after starts ({starts:%Y-%m-%d %H:%M})")
            ends = None
        venue = self.place(data.get("venue"), "venue")
        places = [self.place(p, path_join("places", i)) for i, p in self.items(data, "places")]
        capacity = self.capacity(data.get("capacity"), "capacity")
        rsvp_by = self.day(data.get("rsvp_by"), "rsvp_by")
        if rsvp_by and starts and rsvp_by > starts.date():
            self.bad("rsvp_by", f"{rsvp_by} is after the event starts ({starts.date()})")
        reminders = self.reminders(data)
        audience = self.audience(data.get("audience"), "audience")
        survey = self.slug(data.get("survey"), "survey")
        agenda = [
            self.agenda_item(item, path_join("agenda", i), starts, ends)
            for i, item in self.items(data, "agenda")
        ]
        if self.problems:
            return None
        assert slug and kind and title and starts and ends and venue and zone
        return EventSpec(
            slug=slug,
            kind=kind,
            title=title,
            description=description,
            timezone=zone_name,
            starts=_local(starts, zone),
            ends=_local(ends, zone),
            places=(venue, *(p for p in places if p)),
            capacity=capacity,
            rsvp_by=rsvp_by,
            reminder_offsets=reminders,
            audience=audience,
            survey=survey,
            agenda=tuple(a for a in agenda if a),
            source=self.source,
            digest=digest,
        )

    def keys(
        self,
        data: Mapping[Any, Any],
        path: str,
        allowed: tuple[str, ...],
        required: tuple[str, ...],
    ) -> None:
        for key in data:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f"did you mean {close[0]}?" if close else f"expected {', '.join(allowed)}"
                self.bad(path_join(path, str(key)), f"unknown field; {hint}")
        for key in required:
            if data.get(key) is None:
                self.bad(path_join(path, key), "required")

    def items(self, data: Mapping[str, Any], key: str) -> list[tuple[int, Any]]:
        value = data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.bad(key, "expected a list (items starting with -)")
            return []
        return list(enumerate(value))

    # Plain values ---------------------------------------------------------------------

    def text(self, value: Any, path: str, max_length: int = 300) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            self.bad(path, f"expected text, got {value!r}")
            return None
        text = value.strip()
        if not text:
            self.bad(path, "is empty")
        elif len(text) > max_length:
            self.bad(path, f"is {len(text)} characters long; at most {max_length} fit")
        else:
            return text
        return None

    def texts(self, value: Any, path: str) -> dict[str, str]:
        """Read {lv: ..., et: ..., en: ...}: one to three languages."""
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.bad(path, f"give the text per language, e.g. {path}: {{lv: ..., et: ...}}")
            return {}
        texts = {}
        for language, text in value.items():
            where = path_join(path, str(language))
            if language not in LANGUAGES:
                self.bad(where, f"unknown language {language!r}; use {', '.join(LANGUAGES)}")
            elif (checked := self.text(text, where, max_length=2000)) is not None:
                texts[str(language)] = checked
            elif text is None:
                self.bad(where, "is empty")
        if not value:
            self.bad(path, f"give the text in at least one of {', '.join(LANGUAGES)}")
        return texts

    def slug(self, value: Any, path: str) -> str | None:
        text = self.text(value, path, max_length=100)
        if text is None:
            return None
        if not _SLUG.match(text) or text.isdigit():
            self.bad(
                path,
                f"{text!r} is not an id: use lowercase letters, digits and dashes, e.g. valga-2027",
            )
            return None
        return text

    def choice(self, value: Any, path: str, allowed: tuple[str, ...]) -> str | None:
        text = self.text(value, path)
        if text is not None and text not in allowed:
            self.bad(path, f"{text!r} is not one of {', '.join(allowed)}")
            return None
        return text

    def zone(self, value: Any) -> tuple[str, ZoneInfo | None]:
        name = self.text(value, "timezone", max_length=64)
        if name is None:
            name = DEFAULT_TIMEZONE
        try:
            return name, ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            self.bad(
                "timezone",
                f"{name!r} is not an IANA time zone; use e.g. Europe/Riga or Europe/Tallinn",
            )
            return name, None

    def moment(self, value: Any, path: str, zone: ZoneInfo | None) -> datetime | None:
        """Read a local date and time; returned naive, to compare before the zone is known."""
        text = self.text(value, path, max_length=40)
        if text is None:
            return None
        if not _MOMENT.match(text):
            self.bad(
                path,
                f"{text!r} is not a local date and time as YYYY-MM-DDTHH:MM "
                "(no offset: the zone comes from timezone)",
            )
            return None
        try:
            moment = datetime.fromisoformat(text.replace(" ", "T"))
        except ValueError:
            self.bad(path, f"{text!r} is not a real date and time")
            return None
        if (
            zone is not None
            and _local(moment, zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) != moment
        ):
            # Still returned: comparisons with other fields remain meaningful.
            self.bad(path, f"{text} does not exist in {zone.key} (the clocks move forward)")
        return moment

    def day(self, value: Any, path: str) -> date | None:
        text = self.text(value, path, max_length=20)
        if text is None:
            return None
        try:
            if not _DATE.match(text):
                raise ValueError
            return date.fromisoformat(text)
        except ValueError:
            self.bad(path, f"{text!r} is not a date as YYYY-MM-DD")
            return None

    def clock(self, value: Any, path: str) -> time | None:
        if isinstance(value, int) and not isinstance(value, bool):
            self.bad(path, f'{value!r} is not a time; write it as HH:MM in quotes, e.g. "10:30"')
            return None
        text = self.text(value, path, max_length=10)
        if text is None:
            return None
        match = _CLOCK.match(text)
        if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
            self.bad(path, f"{text!r} is not a time as HH:MM")
            return None
        return time(int(match.group(1)), int(match.group(2)))

    def capacity(self, value: Any, path: str) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            self.bad(path, f"{value!r} is not a positive whole number")
            return None
        return value

    # Structures -----------------------------------------------------------------------

    def place(self, value: Any, path: str) -> PlaceSpec | None:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            self.bad(path, "expected name:, address: and country: of a place")
            return None
        self.keys(value, path, PLACE_FIELDS, ("name",))
        name = self.text(value.get("name"), path_join(path, "name"))
        address = self.text(value.get("address"), path_join(path, "address"))
        country = self.text(value.get("country"), path_join(path, "country"), max_length=2)
        if country is not None and country.upper() not in COUNTRIES:
            where = path_join(path, "country")
            self.bad(where, f"{country!r} is not an ISO 3166 two-letter country code")
        if name is None:
            return None
        return PlaceSpec(name, address, country.upper() if country else None)

    def reminders(self, data: Mapping[str, Any]) -> tuple[int, ...]:
        offsets: list[int] = []
        for number, value in self.items(data, "reminders"):
            path = path_join("reminders", number)
            match = _OFFSET.match(value.strip()) if isinstance(value, str) else None
            if not match or int(match.group(1)) == 0:
                self.bad(path, f"{value!r} is not a time before the start such as 7d, 2h or 30m")
                continue
            seconds = int(match.group(1)) * OFFSET_UNITS[match.group(2).lower()]
            if seconds in offsets:
                self.bad(path, f"{value} is given twice")
            offsets.append(seconds)
        return tuple(sorted(set(offsets), reverse=True))

    def audience(self, value: Any, path: str) -> Audience:
        if value is None:
            return Audience()
        if not isinstance(value, Mapping):
            self.bad(path, f"expected fields of {', '.join(AUDIENCE_VALUES)}")
            return Audience()
        self.keys(value, path, tuple(f.name for f in fields(Audience)), ())
        clean: dict[str, list[str]] = {}
        for key, allowed in AUDIENCE_VALUES.items():
            given = value.get(key)
            if given is None:
                continue
            where = path_join(path, key)
            values = [given] if isinstance(given, str) else given
            if not isinstance(values, list):
                self.bad(where, "expected a list, e.g. [mediator, coordinator]")
                continue
            clean[key] = [
                v
                for i, item in enumerate(values)
                if (v := self.audience_value(key, item, path_join(where, i), allowed)) is not None
            ]
        return Audience.from_mapping(clean)

    def audience_value(
        self, key: str, item: Any, path: str, allowed: tuple[str, ...] | frozenset[str] | None
    ) -> str | None:
        text = self.text(item, path, max_length=320)
        if text is None:
            return None
        if key == "countries":
            text = text.upper()
        if allowed is not None and text not in allowed:
            listed = ", ".join(allowed) if isinstance(allowed, tuple) else "a two-letter code"
            self.bad(path, f"{text!r} is not one of {listed}")
            return None
        if key == "emails":
            try:
                return validate_email(text, check_deliverability=False).normalized.lower()
            except EmailNotValidError as error:
                self.bad(path, f"{text!r} is not a valid address: {error}")
                return None
        return text

    def agenda_item(
        self, value: Any, path: str, starts: datetime | None, ends: datetime | None
    ) -> AgendaSpec | None:
        if not isinstance(value, Mapping):
            self.bad(path, "expected an agenda item with at:, until: and title:")
            return None
        self.keys(value, path, AGENDA_FIELDS, ("title",))
        day = self.day(value.get("day"), path_join(path, "day"))
        at = self.clock(value.get("at"), path_join(path, "at"))
        until = self.clock(value.get("until"), path_join(path, "until"))
        title = self.texts(value.get("title"), path_join(path, "title"))
        place = self.text(value.get("place"), path_join(path, "place"))
        method = self.text(value.get("method"), path_join(path, "method"), max_length=100)
        presenter = self.text(value.get("presenter"), path_join(path, "presenter"), 200)
        if value.get("until") is not None and value.get("at") is None:
            self.bad(path_join(path, "at"), "required when until is given")
        if at and until and until <= at:
            self.bad(path_join(path, "until"), f"{until:%H:%M} is not after at ({at:%H:%M})")
            until = None
        if starts and ends:
            day = self.agenda_day(value, path, day, starts, ends)
            if day:
                self.agenda_within(path, day, at, until, starts, ends)
        if day is None or not title:
            return None
        return AgendaSpec(day, at, until, title, place, method, presenter)

    def agenda_day(
        self,
        value: Mapping[str, Any],
        path: str,
        day: date | None,
        starts: datetime,
        ends: datetime,
    ) -> date | None:
        first, last = starts.date(), ends.date()
        if value.get("day") is None:
            if first != last:
                self.bad(path_join(path, "day"), "required: the event lasts several days")
                return None
            return first
        if day and not first <= day <= last:
            span = f"{first}" if first == last else f"{first} – {last}"
            self.bad(path_join(path, "day"), f"{day} is outside the event's days ({span})")
            return None
        return day

    def agenda_within(
        self,
        path: str,
        day: date,
        at: time | None,
        until: time | None,
        starts: datetime,
        ends: datetime,
    ) -> None:
        if at and datetime.combine(day, at) < starts:
            self.bad(
                path_join(path, "at"), f"{at:%H:%M} is before the event starts ({starts:%H:%M})"
            )
        if (until or at) and datetime.combine(day, until or at or time()) > ends:
            field = "until" if until else "at"
            moment = until or at
            assert moment is not None
            self.bad(
                path_join(path, field), f"{moment:%H:%M} is after the event ends ({ends:%H:%M})"
            )


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.replace(tzinfo=zone)
