"""Problems in a form or file of the console, in the coordinator's language.

The checks of events, surveys, recommendations and contacts word each problem in English (the
CLI prints them so, next to a file whose field names are English). The console recognises the
problems a coordinator can meet and hands the templates a key with the values in it;
messages/<lang>/console/_problems.html says it in the console's language. A problem it does not
recognise is shown as the checks wrote it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

_VALUE = r"'?(?P<value>.*?)'?"  # a value the checks quote with repr(): 'text' or 12
_DAY = r"\d{4}-\d{2}-\d{2}"
_CLOCK = r"\d{1,2}:\d{2}"

# (key, the English wording as the checks write it); numbers named in NUMBERS become ints.
PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (key, re.compile(pattern))
    for key, pattern in (
        ("required", r"required"),
        ("required_with_until", r"required when until is given"),
        ("required_day", r"required: the event lasts several days"),
        ("required_without_event", r"required when no event: is given"),
        ("empty", r"is empty"),
        ("file_empty", r"the file is empty"),
        ("given_twice", r"given twice"),
        ("too_long", r"is (?P<length>\d+) characters long; at most (?P<limit>\d+) fit"),
        ("ends_before_start", rf"(?P<ends>{_DAY} {_CLOCK}) is not after starts \((?P<starts>.+)\)"),
        ("reply_after_start", rf"(?P<day>{_DAY}) is after the event starts \((?P<starts>.+)\)"),
        ("before_start", rf"(?P<at>{_CLOCK}) is before the event starts \((?P<starts>.+)\)"),
        ("after_end", rf"(?P<at>{_CLOCK}) is after the event ends \((?P<ends>.+)\)"),
        ("until_before_at", rf"(?P<until>{_CLOCK}) is not after at \((?P<at>.+)\)"),
        ("outside_days", rf"(?P<day>{_DAY}) is outside the event's days \((?P<days>.+)\)"),
        ("not_a_date", rf"{_VALUE} is not a date as YYYY-MM-DD"),
        ("not_a_time", rf"{_VALUE} is not a time as HH:MM"),
        ("not_a_time", rf"{_VALUE} is not a time; write it as HH:MM in quotes.*"),
        ("not_a_moment", rf"{_VALUE} is not a local date and time as YYYY-MM-DDTHH:MM.*"),
        ("not_a_real_moment", rf"{_VALUE} is not a real date and time"),
        ("clocks_forward", r"(?P<value>.+) does not exist in (?P<zone>\S+) \(the clocks .*\)"),
        ("not_a_zone", rf"{_VALUE} is not an IANA time zone.*"),
        ("not_a_country", rf"{_VALUE} is not an ISO 3166 two-letter country code"),
        ("not_an_address", rf"{_VALUE} is not a valid address: .*"),
        ("not_an_id", rf"{_VALUE} is not an id: use lowercase letters, digits and dashes.*"),
        ("not_an_id_", rf"{_VALUE} is not an id: use lowercase letters, digits, _ and -.*"),
        ("id_taken_in_file", rf"{_VALUE} is also the id of (?P<other>.+)"),
        ("not_one_of", rf"{_VALUE} is not one of (?P<allowed>.+)"),
        ("not_positive", rf"{_VALUE} is not a positive whole number"),
        ("not_before_start", rf"{_VALUE} is not a time before the start such as .*"),
        ("not_after_end", rf"{_VALUE} is not a time after the event ends such as .*"),
        ("not_in_range", rf"{_VALUE} is not a whole number from (?P<low>\d+) to (?P<high>\d+)"),
        ("twice", rf"{_VALUE} is given twice.*"),
        ("later_than", r"(?P<value>\S+) is not after \w+ \((?P<earlier>[^)]+)\)"),
        ("missing_language", r"missing; the title is in (?P<languages>.+)"),
        ("language_not_in_title", r"the title has no (?P<language>\w+) text; .*"),
        ("text_in_one_language", r"give the text in at least one of .*"),
        ("two_options", r"(?:required for choice questions: )?give at least two options"),
        ("one_question", r"give at least one question"),
        ("one_owner", r"give at least one owner's email address"),
        ("no_contact", r"no contact with email (?P<value>.+)"),
        ("no_event", r"no event (?P<value>.+)"),
        # a person, in the contact form or a line of a contacts file
        ("name_required", r"a name is required"),
        ("not_a_username", rf"{_VALUE} is not a Telegram username.*"),
        ("not_a_phone", rf"{_VALUE} is not a phone number"),
        ("phone_digits", rf"{_VALUE} has the wrong number of digits for its country"),
        ("required_one_of", r"required; one of .+"),
        ("consent_needed", r"\w+ is ethnic-origin data: a consent date is required.*"),
        ("same_as_line", r"same \w+ as line (?P<other>\d+)"),
        ("no_email", r"no email: reachable only after linking Telegram"),
        ("taken_by_another", r"already belongs to someone else"),
        ("belongs_to_another", r"(?P<value>\S+) already belongs to someone else"),
        ("belongs_to", r"(?P<value>\S+) already belongs to (?P<owner>.+)"),
        ("in_registry", r"already in the registry"),
    )
]
NUMBERS = ("length", "limit", "low", "high")


class Located(Protocol):
    """A problem as the checks report it (events', surveys' and recommendations' files)."""

    @property
    def file(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def line(self) -> int | None: ...


@dataclass(frozen=True)
class Said:
    """One problem for the templates: its key ("" when not recognised) and values."""

    key: str
    text: str  # as the checks wrote it, in English
    values: dict[str, str | int] = field(default_factory=dict)
    where: str = ""  # "valga-2027.yaml:15: ends" for a problem in an uploaded file

    def __str__(self) -> str:
        return f"{self.where}: {self.text}" if self.where else self.text


def recognise(reason: str, where: str = "") -> Said:
    """Name the problem behind an English reason, with the values it quotes."""
    for key, pattern in PATTERNS:
        found = pattern.fullmatch(reason)
        if found:
            values: dict[str, str | int] = {
                name: int(value) if name in NUMBERS else value
                for name, value in found.groupdict().items()
            }
            return Said(key, reason, values, where)
    return Said("", reason, {}, where)


def in_file(problem: Located) -> Said:
    """A problem of an uploaded file, with its place: file, line and field."""
    where = f"{problem.file}:{problem.line}" if problem.line else problem.file
    return recognise(problem.reason, f"{where}: {problem.path}" if problem.path else where)
