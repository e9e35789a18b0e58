"""Recommendations in the database: load checked files, and list, show and report them.

Loading sets what the file says (texts, area, owners, due date, cadence, source meeting) and
never touches an item's status or its history of updates. The first reminder of a new item
comes at the next tick of its cadence after loading, not at once; a reload moves the next
reminder only when the cadence changed. Nothing here commits.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.db.models import (
    Contact,
    Event,
    Recommendation,
    RecommendationOwner,
    RecommendationUpdate,
)
from bot.db.vocab import REC_STATUSES
from bot.services.contacts import registry as contacts
from bot.services.events.files import Problem
from bot.services.events.registry import Change, _shown, _text_changes, find_event, zone_of
from bot.services.recommendations.files import (
    MeetingSpec,
    RecFile,
    RecFileError,
    RecSpec,
    References,
)
from bot.services.recommendations.followup import OPEN, next_tick, record_update
from bot.textformat import pick_language

Outcome = Literal["new", "changed", "unchanged"]


@dataclass(frozen=True)
class RecLoadResult:
    """What loading one recommendation did to the database."""

    slug: str
    outcome: Outcome
    status: str
    next_reminder_at: datetime | None
    changes: tuple[Change, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Meeting:
    event_id: int | None
    title: dict[str, str]
    held_on: date | None


@dataclass(frozen=True)
class RecRow:
    """One recommendation with its owners and its latest update, for lists and reports."""

    rec: Recommendation
    owners: tuple[Contact, ...]
    overdue: bool

    @property
    def last_update(self) -> RecommendationUpdate | None:
        return self.rec.updates[-1] if self.rec.updates else None

    @property
    def latest_comment(self) -> str | None:
        return next((u.comment for u in reversed(self.rec.updates) if u.comment), None)


@dataclass(frozen=True)
class HistoryEntry:
    update: RecommendationUpdate
    who: str  # the owner's name, "coordinator", or "—" when the person is gone


@dataclass(frozen=True)
class RecDetails:
    row: RecRow
    event: Event | None
    unanswered: dict[int, int]  # contact id -> reminders not answered in a row
    history: tuple[HistoryEntry, ...]


@dataclass(frozen=True)
class MeetingReport:
    title: dict[str, str]
    held_on: date | None
    rows: tuple[RecRow, ...]

    @property
    def counts(self) -> dict[str, int]:
        found = Counter(r.rec.status for r in self.rows)
        return {s: found.get(s, 0) for s in REC_STATUSES}


@dataclass(frozen=True)
class SetResult:
    verdict: str  # as record_update's: "recorded", "missing", "too_long", ...
    rec: Recommendation | None = None
    before: str | None = None
    others: list[Contact] = field(default_factory=list)


# --- Loading ------------------------------------------------------------------------------


async def load_recs(
    session: AsyncSession, spec: RecFile, *, now: datetime, zone: ZoneInfo
) -> list[RecLoadResult]:
    """Create or update the file's recommendations; raise RecFileError before any write
    when an owner or the source event is not in the database."""
    problems, event, people = await _resolve(session, spec.references)
    if problems:
        raise RecFileError(problems, spec.references)
    meeting = _meeting(spec.meeting, event)
    today = now.astimezone(zone).date()
    results = []
    for item in spec.items:
        owners = [people[e].id for e in item.owners]
        results.append(await _load_one(session, item, meeting, owners, now, zone, today))
    return results


async def check_references(session: AsyncSession, references: References) -> list[Problem]:
    """Name every owner and source event that the file gives but the database lacks."""
    problems, _, _ = await _resolve(session, references)
    return problems


async def _resolve(
    session: AsyncSession, references: References
) -> tuple[list[Problem], Event | None, dict[str, Contact]]:
    problems = []
    event = None
    if references.event is not None:
        event = await find_event(session, references.event)
        if event is None:
            problems.append(references.problem("source.event", f"no event {references.event}"))
    people: dict[str, Contact] = {}
    for path, email in references.owners:
        contact = people.get(email) or await contacts.find(session, email)
        if contact is None:
            problems.append(references.problem(path, f"no contact with email {email}"))
        else:
            people[email] = contact
    return sorted(problems, key=lambda p: p.line or 0), event, people


def _meeting(given: MeetingSpec, event: Event | None) -> _Meeting:
    if event is None:
        return _Meeting(None, dict(given.title), given.held_on)
    held_on = event.starts_at.astimezone(zone_of(event)).date()
    return _Meeting(event.id, dict(event.title), held_on)


async def _load_one(
    session: AsyncSession,
    item: RecSpec,
    meeting: _Meeting,
    owners: list[int],
    now: datetime,
    zone: ZoneInfo,
    today: date,
) -> RecLoadResult:
    rec = await find_recommendation(session, item.slug)
    notes = _notes(item, today)
    if rec is None:
        rec = Recommendation(slug=item.slug, status="not_started", cadence=item.cadence)
        _apply(rec, item, meeting)
        rec.next_reminder_at = next_tick(item.cadence, now, zone)
        rec.owners = [RecommendationOwner(contact_id=i, unanswered_reminders=0) for i in owners]
        session.add(rec)
        await session.flush()
        return RecLoadResult(rec.slug, "new", rec.status, rec.next_reminder_at, notes=notes)
    changes = await _changes(session, rec, item, meeting, owners)
    if not changes:
        return RecLoadResult(rec.slug, "unchanged", rec.status, rec.next_reminder_at)
    if rec.cadence != item.cadence and rec.status in OPEN:
        rec.next_reminder_at = next_tick(item.cadence, now, zone)
    rec.cadence = item.cadence
    _apply(rec, item, meeting)
    kept = [o for o in rec.owners if o.contact_id in owners]
    known = {o.contact_id for o in kept}
    rec.owners = kept + [
        RecommendationOwner(contact_id=i, unanswered_reminders=0) for i in owners if i not in known
    ]
    await session.flush()
    if rec.status not in OPEN:
        notes += (f"{rec.status}: no reminders are sent for it",)
    return RecLoadResult(
        rec.slug, "changed", rec.status, rec.next_reminder_at, tuple(changes), notes
    )


def _apply(rec: Recommendation, item: RecSpec, meeting: _Meeting) -> None:
    rec.area = item.area
    rec.text = dict(item.text)
    rec.due_on = item.due
    rec.source_event_id = meeting.event_id
    rec.source_title = dict(meeting.title)
    rec.source_date = meeting.held_on


def _notes(item: RecSpec, today: date) -> tuple[str, ...]:
    if item.due is not None and item.due < today:
        return (f"due {item.due} has already passed",)
    return ()


async def _changes(
    session: AsyncSession, rec: Recommendation, item: RecSpec, meeting: _Meeting, owners: list[int]
) -> list[Change]:
    changes: list[Change] = []

    def simple(name: str, before: Any, after: Any) -> None:
        if before != after:
            changes.append(Change(name, f"{_shown(before)} → {_shown(after)}"))

    simple("area", rec.area, item.area)
    changes += _text_changes("text", rec.text, item.text)
    before = {o.contact_id for o in rec.owners}
    if before != set(owners):
        emails = await _emails(session, before | set(owners))
        moved = [f"+{emails[i]}" for i in owners if i not in before]
        moved += [f"−{emails[i]}" for i in sorted(before - set(owners))]
        changes.append(Change("owners", ", ".join(moved)))
    simple("due", rec.due_on, item.due)
    simple("remind", rec.cadence, item.cadence)
    old = (rec.source_event_id, rec.source_title, rec.source_date)
    if old != (meeting.event_id, meeting.title, meeting.held_on):
        changes.append(
            Change("source", f"{source_label(rec)} → {_label(meeting.title, meeting.held_on)}")
        )
    return changes


async def _emails(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    found = await session.execute(select(Contact.id, Contact.email).where(Contact.id.in_(ids)))
    return {i: email or f"#{i}" for i, email in found}


def _label(title: dict[str, Any], held_on: date | None) -> str:
    name = pick_language(title, "lv") if title else "—"
    return f"{name} ({held_on})" if held_on else name


def source_label(rec: Recommendation) -> str:
    """The source meeting's title (in Latvian when given) and date."""
    return _label(rec.source_title, rec.source_date)


# --- Looking up ---------------------------------------------------------------------------


async def find_recommendation(session: AsyncSession, key: str) -> Recommendation | None:
    """Return the recommendation with this id (slug) or number, owners and updates loaded."""
    key = key.strip()
    where = Recommendation.id == int(key) if key.isdigit() else Recommendation.slug == key
    return await session.scalar(
        select(Recommendation)
        .where(where)
        .options(selectinload(Recommendation.owners), selectinload(Recommendation.updates))
    )


async def list_recs(
    session: AsyncSession,
    *,
    today: date,
    status: str | None = None,
    owner: Contact | None = None,
    area: str | None = None,
    overdue: bool = False,
) -> list[RecRow]:
    """Recommendations that match every filter given, soonest due first."""
    query = select(Recommendation).options(
        selectinload(Recommendation.owners), selectinload(Recommendation.updates)
    )
    if status is not None:
        query = query.where(Recommendation.status == status)
    if area is not None:
        query = query.where(Recommendation.area == area)
    if owner is not None:
        query = query.where(Recommendation.owners.any(RecommendationOwner.contact_id == owner.id))
    if overdue:
        query = query.where(Recommendation.status.in_(OPEN), Recommendation.due_on < today)
    query = query.order_by(
        Recommendation.due_on.is_(None), Recommendation.due_on, Recommendation.id
    )
    return await _rows(session, list(await session.scalars(query)), today)


async def _rows(session: AsyncSession, recs: Sequence[Recommendation], today: date) -> list[RecRow]:
    ids = {o.contact_id for r in recs for o in r.owners}
    people = {c.id: c for c in await session.scalars(select(Contact).where(Contact.id.in_(ids)))}
    return [
        RecRow(
            rec,
            tuple(
                sorted(
                    (people[o.contact_id] for o in rec.owners if o.contact_id in people),
                    key=lambda c: c.name,
                )
            ),
            is_overdue(rec, today),
        )
        for rec in recs
    ]


def is_overdue(rec: Recommendation, today: date) -> bool:
    """Open and past its due date."""
    return rec.status in OPEN and rec.due_on is not None and rec.due_on < today


async def details(session: AsyncSession, key: str, *, today: date) -> RecDetails | None:
    """One recommendation with its owners, source event and full history of updates."""
    rec = await find_recommendation(session, key)
    if rec is None:
        return None
    [row] = await _rows(session, [rec], today)
    event = await session.get(Event, rec.source_event_id) if rec.source_event_id else None
    history = await _history(session, rec.updates)
    unanswered = {o.contact_id: o.unanswered_reminders for o in rec.owners}
    return RecDetails(row, event, unanswered, tuple(history))


async def _history(
    session: AsyncSession, updates: Sequence[RecommendationUpdate]
) -> list[HistoryEntry]:
    ids = {u.contact_id for u in updates if u.contact_id is not None}
    found = await session.execute(select(Contact.id, Contact.name).where(Contact.id.in_(ids)))
    names = {i: name for i, name in found}
    entries = []
    for update in updates:
        if update.contact_id is not None:
            who = names.get(update.contact_id, "—")
        else:
            who = "coordinator" if update.channel == "coordinator" else "—"
        entries.append(HistoryEntry(update, who))
    return entries


async def report(
    session: AsyncSession, *, today: date
) -> tuple[list[MeetingReport], list[tuple[Recommendation, HistoryEntry]]]:
    """Every recommendation grouped by source meeting (oldest first), and every update."""
    rows = await list_recs(session, today=today)
    groups: dict[tuple[Any, ...], list[RecRow]] = {}
    for row in sorted(rows, key=lambda r: (r.rec.source_date or date.max, r.rec.id)):
        rec = row.rec
        key = (rec.source_event_id, rec.source_date, tuple(sorted(rec.source_title.items())))
        groups.setdefault(key, []).append(row)
    meetings = [
        MeetingReport(group[0].rec.source_title, group[0].rec.source_date, tuple(group))
        for group in groups.values()
    ]
    recs = [row.rec for meeting in meetings for row in meeting.rows]
    entries = await _history(session, [u for rec in recs for u in rec.updates])
    by_id = {rec.id: rec for rec in recs}
    return meetings, [(by_id[e.update.recommendation_id], e) for e in entries]


def meeting_label(meeting: MeetingReport) -> str:
    """The meeting's title (in Latvian when given) and date."""
    return _label(meeting.title, meeting.held_on)


# --- The coordinator's updates ------------------------------------------------------------


async def set_status(
    session: AsyncSession,
    key: str,
    status: str,
    *,
    comment: str | None,
    now: datetime,
    zone: ZoneInfo,
) -> SetResult:
    """Record a status set by the coordinator; a reopened item gets reminders again."""
    rec = await find_recommendation(session, key)
    if rec is None:
        return SetResult("missing")
    before = rec.status
    outcome = await record_update(
        session, rec.id, status, now=now, channel="coordinator", contact_id=None, comment=comment
    )
    if outcome.verdict == "recorded" and before not in OPEN and status in OPEN:
        # record_update clears closed_at on reopening but leaves no reminder scheduled.
        rec.next_reminder_at = next_tick(rec.cadence, now, zone)
        await session.flush()
    return SetResult(outcome.verdict, outcome.recommendation, before, outcome.others)
