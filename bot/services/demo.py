"""The demo network: invented people, three events, a feedback survey and recommendations.

The files in bot/demo/ are ordinary contact, event, survey and recommendation files, loaded
through the same checks and services as `contacts import`, `events load`, `surveys load` and
`recs load`. Their dates are absolute; loading moves every date of the events and every due
date of the recommendations by the same whole number of weeks, so that the first event is
about ten days ahead of `now` (7 to 13 days) and the others follow at the spacing the files
give. Whole weeks keep each meeting on its weekday; clock times stay as written. The dates of
the past meetings that recommendations come from do not move.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Contact
from bot.services import marks
from bot.services.contacts import registry as contacts
from bot.services.contacts.rows import ContactFileError, parse_rows, read_table
from bot.services.events import registry as event_registry
from bot.services.events.files import DEFAULT_TIMEZONE, _load_yaml, parse_event, path_join
from bot.services.recommendations import registry as rec_registry
from bot.services.recommendations.files import parse_recs
from bot.services.surveys import registry as survey_registry
from bot.services.surveys.files import read_survey_file

DEMO_DIR = Path(__file__).resolve().parents[1] / "demo"
# From today to the first event; moving by whole weeks lands it within three days of this.
LEAD = timedelta(days=10)

_DATED = re.compile(r"^\d{4}-\d{2}-\d{2}")
# Yields (field path, value) for every date the loader moves in one parsed file.
_Dates = Callable[[Any], Iterator[tuple[str, Any]]]


@dataclass(frozen=True)
class DemoSummary:
    """What load_demo() put in the database."""

    contacts: str  # the import plan's summary, e.g. "26 new, 0 updated, 0 unchanged"
    events: list[tuple[str, datetime]]  # (event key, starts_at in UTC), soonest first
    surveys: list[str]  # survey keys
    recommendations: int


async def contact_count(session: AsyncSession) -> int:
    """Count every contact, erased ones included."""
    return int(await session.scalar(select(func.count(Contact.id))) or 0)


async def is_empty(session: AsyncSession) -> bool:
    """Tell whether the database has no contacts at all (the demo loads only then)."""
    return await contact_count(session) == 0


async def load_demo(
    session: AsyncSession, *, now: datetime, zone: ZoneInfo | None = None
) -> DemoSummary:
    """Load the demo network with its events dated from `now`; never commits.

    Meant for an empty database (see is_empty). `zone` is the coordinators' time zone: it
    decides what "today" is and when recommendation reminders tick (Europe/Riga by default).
    Broken demo files raise the error their loader raises (EventFileError and its kin,
    ContactFileError).
    """
    zone = zone or ZoneInfo(DEFAULT_TIMEZONE)
    summary = await _load_contacts(session)
    event_files = sorted((DEMO_DIR / "events").glob("*.yaml"))
    days = shift_days(event_files, now.astimezone(zone).date())
    surveys = []
    for path in sorted((DEMO_DIR / "surveys").glob("*.yaml")):
        surveys.append((await survey_registry.load_survey(session, read_survey_file(path))).slug)
    loaded = []
    for path in event_files:
        spec = parse_event(moved(path, days, _event_dates), str(path))
        await event_registry.load_event(session, spec, now=now)
        loaded.append((spec.slug, spec.starts.astimezone(UTC)))
    recommendations = 0
    for path in sorted((DEMO_DIR / "recommendations").glob("*.yaml")):
        recs = parse_recs(moved(path, days, _rec_dates), str(path))
        recommendations += len(await rec_registry.load_recs(session, recs, now=now, zone=zone))
    loaded.sort(key=lambda item: item[1])
    await marks.mark_sandbox(session, "demo")  # invented people: only the playground may use it
    return DemoSummary(summary, loaded, surveys, recommendations)


def shift_days(event_files: list[Path], today: date) -> int:
    """Return the whole weeks, in days, that bring the first event about LEAD after today."""
    first = min(parse_event(path.read_bytes(), str(path)).starts.date() for path in event_files)
    return 7 * round((today + LEAD - first).days / 7)


def moved(path: Path, days: int, dates: _Dates) -> bytes:
    """Return a file's text with the dates that `dates` names moved by `days`.

    Only those values change, on their own lines, so that comments stay and any problem
    the parser finds names the right line of the file.
    """
    content = path.read_bytes()
    data, lines, _ = _load_yaml(content, str(path))
    text = content.decode("utf-8-sig").split("\n")
    for field_path, value in dates(data):
        if isinstance(value, str) and _DATED.match(value) and field_path in lines:
            number = lines[field_path] - 1
            text[number] = text[number].replace(value, _plus(value, days), 1)
    return "\n".join(text).encode("utf-8")


def _plus(value: str, days: int) -> str:
    try:
        day = date.fromisoformat(value[:10]) + timedelta(days=days)
    except ValueError:  # not a real date: left for the parser to report
        return value
    return day.isoformat() + value[10:]


def _event_dates(data: Any) -> Iterator[tuple[str, Any]]:
    if not isinstance(data, Mapping):
        return
    for key in ("starts", "ends", "rsvp_by"):
        yield key, data.get(key)
    agenda = data.get("agenda")
    for number, item in enumerate(agenda if isinstance(agenda, list) else []):
        if isinstance(item, Mapping):
            yield path_join(path_join("agenda", number), "day"), item.get("day")


def _rec_dates(data: Any) -> Iterator[tuple[str, Any]]:
    items = data.get("recommendations") if isinstance(data, Mapping) else None
    for number, item in enumerate(items if isinstance(items, list) else []):
        if isinstance(item, Mapping):
            yield path_join(path_join("recommendations", number), "due"), item.get("due")


async def _load_contacts(session: AsyncSession) -> str:
    path = DEMO_DIR / "contacts.csv"
    parsed = parse_rows(read_table(path))
    plan = await contacts.plan_import(session, parsed.rows)
    problems = parsed.errors + plan.conflicts
    if problems:
        listed = "; ".join(f"line {p.line}: {p.column}: {p.reason}" for p in problems)
        raise ContactFileError(f"{path}: {listed}")
    await contacts.apply_import(session, plan)
    return plan.summary
