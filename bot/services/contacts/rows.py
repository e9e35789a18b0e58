"""Read a contacts file (CSV or XLSX) and validate every row before anything is written."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

import phonenumbers
from babel import Locale
from email_validator import EmailNotValidError, validate_email

from bot.db.vocab import LANGUAGES, ROLES, SPECIAL_CATEGORY_GROUPS, STAKEHOLDER_GROUPS

COLUMNS = (
    "name",
    "email",
    "telegram_username",
    "phone",
    "role",
    "organization",
    "municipality",
    "country",
    "language",
    "stakeholder_group",
    "consent",
    "tags",
)
REQUIRED_COLUMNS = ("name", "role")
ALIASES = {"organisation": "organization", "telegram": "telegram_username", "lang": "language"}
# Exports prefix these with an apostrophe so spreadsheets do not run them as formulas.
FORMULA_STARTS = ("=", "+", "-", "@")
_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{4,31}$")
# Babel knows every ISO 3166 alpha-2 territory, plus a few groupings that are not countries.
_NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"}
COUNTRIES = frozenset(
    str(code)
    for code in Locale("en").territories
    if isinstance(code, str) and len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
)


# Reports one problem: (column, reason).
_Bad = Callable[[str, str], None]


class ContactFileError(Exception):
    """The file as a whole cannot be read (format, encoding, header)."""


@dataclass(frozen=True)
class ContactRow:
    """One valid row, normalised."""

    line: int
    name: str
    email: str | None
    telegram_username: str | None
    phone: str | None
    role: str
    organisation: str | None
    municipality: str | None
    country: str
    language: str
    stakeholder_group: str | None
    consent_on: date | None
    tags: tuple[str, ...]


@dataclass(frozen=True)
class Problem:
    line: int
    column: str
    reason: str


@dataclass
class ParsedFile:
    rows: list[ContactRow] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def bad_lines(self) -> list[int]:
        return sorted({p.line for p in self.errors})


def unneutralise(value: str) -> str:
    """Undo the apostrophe an export put before = + - @."""
    if len(value) > 1 and value[0] == "'" and value[1] in FORMULA_STARTS:
        return value[1:]
    return value


def read_table(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) from a CSV or XLSX file, keys being canonical column names."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        records = _read_xlsx(path)
    elif suffix in (".csv", ".txt", ""):
        records = _read_csv(path)
    else:
        raise ContactFileError(f"{path.name}: use a .csv or .xlsx file (got {suffix})")
    header_line, header = next(records, (1, []))
    columns = [ALIASES.get(h, h) for h in (_header_name(h) for h in header)]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    unknown = [c for c in columns if c and c not in COLUMNS]
    if missing or unknown:
        faults = [f"the header lacks {', '.join(missing)}"] if missing else []
        faults += [f"unknown column(s) {', '.join(unknown)}"] if unknown else []
        raise ContactFileError(
            f"{path.name} line {header_line}: {'; '.join(faults)}; "
            f"expected columns: {', '.join(COLUMNS)}"
        )
    for line, values in records:
        if not any(v.strip() for v in values):
            continue
        row = {c: unneutralise(v.strip()) for c, v in zip(columns, values, strict=False) if c}
        yield line, row


def _header_name(text: str) -> str:
    return text.strip().lstrip("\ufeff").strip().lower().replace(" ", "_")


def _read_csv(path: Path) -> Iterator[tuple[int, list[str]]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ContactFileError(
            f"{path.name}: not UTF-8 (byte {error.start}); in Excel choose "
            "'CSV UTF-8 (Comma delimited)' when saving"
        ) from None
    first = text.split("\n", 1)[0]
    # Excel in a Latvian or Estonian locale writes semicolons.
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    for values in reader:
        yield start, values
        start = reader.line_num + 1


def _read_xlsx(path: Path) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a damaged file
        raise ContactFileError(f"{path.name}: cannot be read as XLSX ({error})") from None
    sheet = workbook.worksheets[0]
    for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
        yield number, [_cell_text(c) for c in cells]
    workbook.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()[:10]
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def parse_rows(records: Iterator[tuple[int, dict[str, str]]]) -> ParsedFile:
    """Validate every row; collect all problems rather than stopping at the first."""
    parsed = ParsedFile()
    seen: dict[str, tuple[str, int]] = {}
    for line, raw in records:
        problems: list[Problem] = []
        row = _validate(line, raw, problems)
        for key_name, key in _identity_keys(raw, row):
            if key in seen and seen[key][0] == key_name:
                problems.append(Problem(line, key_name, f"same {key_name} as line {seen[key][1]}"))
            seen.setdefault(key, (key_name, line))
        if problems or row is None:
            parsed.errors.extend(problems)
            continue
        if row.email is None:
            parsed.warnings.append(
                Problem(line, "email", "no email: reachable only after linking Telegram")
            )
        parsed.rows.append(row)
    return parsed


def _identity_keys(raw: dict[str, str], row: ContactRow | None) -> list[tuple[str, str]]:
    keys = []
    email = raw.get("email", "").strip().lower()
    if email:
        keys.append(("email", "email:" + (row.email if row and row.email else email)))
    username = raw.get("telegram_username", "").strip().lstrip("@").lower()
    if username:
        keys.append(("telegram_username", "tg:" + username))
    return keys


def _validate(line: int, raw: dict[str, str], problems: list[Problem]) -> ContactRow | None:
    def bad(column: str, reason: str) -> None:
        problems.append(Problem(line, column, reason))

    name = raw.get("name", "")
    if not name:
        bad("name", "a name is required")
    email = _email(raw.get("email", ""), bad)
    username = _username(raw.get("telegram_username", ""), bad)
    country = raw.get("country", "").upper() or "LV"
    if country not in COUNTRIES:
        bad("country", f"{raw.get('country')!r} is not an ISO 3166 two-letter country code")
    phone = _phone(raw.get("phone", ""), country, bad)
    role = _one_of(raw.get("role", ""), ROLES, "role", bad, required=True)
    language = _one_of(raw.get("language", "") or "lv", LANGUAGES, "language", bad)
    group = _one_of(raw.get("stakeholder_group", ""), STAKEHOLDER_GROUPS, "stakeholder_group", bad)
    consent = _consent(raw.get("consent", ""), bad)
    if (
        group in SPECIAL_CATEGORY_GROUPS
        and consent is None
        and "consent" not in {p.column for p in problems}
    ):
        bad("consent", f"{group} is ethnic-origin data: a consent date is required (GDPR art. 9)")
    tags = tuple(dict.fromkeys(t.strip().lower() for t in raw.get("tags", "").split(",")))
    if problems:
        return None
    assert role is not None and language is not None
    return ContactRow(
        line=line,
        name=name,
        email=email,
        telegram_username=username,
        phone=phone,
        role=role,
        organisation=raw.get("organization") or None,
        municipality=raw.get("municipality") or None,
        country=country,
        language=language,
        stakeholder_group=group,
        consent_on=consent,
        tags=tuple(t for t in tags if t),
    )


def _email(value: str, bad: _Bad) -> str | None:
    if not value:
        return None
    plain = _PLAIN_EMAIL.match(value)
    if plain and len(value) <= 254:
        # A file of thousands of addresses has a few dozen domains: check each domain once.
        domain = _email_domain(plain["domain"])
        if domain is not None:
            return f"{plain['local']}@{domain}".lower()
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as error:
        bad("email", f"{value!r} is not a valid address: {error}")
        return None
    return result.normalized.lower()


# An unquoted ASCII dot-atom local part (RFC 5322) needs no check beyond this pattern.
_PLAIN_EMAIL = re.compile(
    r"^(?P<local>[A-Za-z0-9_+-]{1,64}(?:\.[A-Za-z0-9_+-]+)*)@(?P<domain>[A-Za-z0-9.-]+)$"
)


@lru_cache(maxsize=4096)
def _email_domain(domain: str) -> str | None:
    """The normalised domain, or None to let the full check word the error."""
    try:
        return validate_email(f"a@{domain}", check_deliverability=False).domain
    except EmailNotValidError:
        return None


def _username(value: str, bad: _Bad) -> str | None:
    if not value:
        return None
    name = value[1:] if value.startswith("@") else value
    if not _USERNAME.match(name):
        bad(
            "telegram_username",
            f"{value!r} is not a Telegram username (5-32 letters, digits or _, "
            "starting with a letter)",
        )
        return None
    return name


def _phone(value: str, country: str, bad: _Bad) -> str | None:
    if not value:
        return None
    try:
        number = phonenumbers.parse(value, country if country in COUNTRIES else "LV")
    except phonenumbers.NumberParseException:
        bad("phone", f"{value!r} is not a phone number")
        return None
    if not phonenumbers.is_possible_number(number):
        bad("phone", f"{value!r} has the wrong number of digits for its country")
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _one_of(
    value: str, allowed: tuple[str, ...], column: str, bad: _Bad, required: bool = False
) -> str | None:
    if not value:
        if required:
            bad(column, f"required; one of {', '.join(allowed)}")
        return None
    if value.lower() not in allowed:
        bad(column, f"{value!r} is not one of {', '.join(allowed)}")
        return None
    return value.lower()


def _consent(value: str, bad: _Bad) -> date | None:
    if not value:
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        bad("consent", f"{value!r} is not a date as YYYY-MM-DD")
        return None
