"""Events: load them from checked files, report what changed, and look them up.

Loading never sends anything. A new event starts as `draft`; whoever sends the first
invitations publishes it. When a reload moves the time (starts, ends) or the place (venue or
further places), `load_event` raises `sequence` by one and, for a published event, sets the
status to `changed`; the result says so, and the invitations layer then tells the invited
people (without raising `sequence` again) and may set the status back to `published`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.db.base import utcnow
from bot.db.models import AgendaItem, Contact, Event, Invitation, Place, Survey
from bot.services.contacts.audience import Audience
from bot.services.events.files import AgendaSpec, EventSpec, PlaceSpec, format_offset

Outcome = Literal["new", "changed", "unchanged"]
# Answers that meant "yes" when they were given; attendance is marked on top of them.
SAID_YES = ("accepted", "attended", "no_show")
# How answer lists are ordered: who comes first, who has not answered last.
ANSWER_ORDER = ("accepted", "attended", "no_show", "waitlisted", "not_sure", "declined", "invited")


@dataclass(frozen=True)
class Change:
    """One field that a reload changed: "starts: 2027-02-04 10:00 → 11:00", "title.et"."""

    field: str
    detail: str | None = None

    def __str__(self) -> str:
        return f"{self.field}: {self.detail}" if self.detail else self.field


@dataclass(frozen=True)
class LoadResult:
    """What loading one file did to the database."""

    slug: str
    event_id: int
    outcome: Outcome
    status: str
    sequence: int
    changes: tuple[Change, ...] = ()
    time_changed: bool = False  # starts or ends moved
    place_changed: bool = False  # the venue or a further place changed
    notes: tuple[str, ...] = ()  # things worth knowing that are not errors

    @property
    def needs_notice(self) -> bool:
        """Whether invited people should be told (and get an updated calendar entry)."""
        return self.time_changed or self.place_changed


@dataclass(frozen=True)
class AnswerCounts:
    """How many invitations of an event are in each status."""

    by_status: dict[str, int] = field(default_factory=dict)

    @property
    def invited(self) -> int:
        return sum(self.by_status.values())

    @property
    def accepted(self) -> int:
        return sum(self.by_status.get(s, 0) for s in SAID_YES)

    @property
    def declined(self) -> int:
        return self.by_status.get("declined", 0)

    @property
    def not_sure(self) -> int:
        return self.by_status.get("not_sure", 0)

    @property
    def waiting(self) -> int:
        """Invited and not answered yet."""
        return self.by_status.get("invited", 0)


@dataclass(frozen=True)
class EventOverview:
    event: Event
    counts: AnswerCounts


@dataclass(frozen=True)
class Rsvp:
    """One invited person and their latest answer."""

    contact_id: int
    name: str
    email: str | None
    organisation: str | None
    municipality: str | None
    language: str
    status: str
    invited_at: datetime
    answered_at: datetime | None
    channel: str | None  # telegram, email, web, coordinator; None before any answer


def zone_of(event: Event) -> ZoneInfo:
    return ZoneInfo(event.timezone)


def _with_details() -> Any:
    return (selectinload(Event.places), selectinload(Event.agenda))


async def find_event(session: AsyncSession, key: str) -> Event | None:
    """Return the event with this slug or numeric id, with its places and agenda loaded."""
    where = Event.id == int(key) if key.strip().isdigit() else Event.slug == key.strip()
    return await session.scalar(select(Event).where(where).options(*_with_details()))


async def load_event(
    session: AsyncSession, spec: EventSpec, *, now: datetime | None = None
) -> LoadResult:
    """Create the event of a checked file, or update the one with its slug; never commits."""
    event = await session.scalar(
        select(Event).where(Event.slug == spec.slug).options(*_with_details())
    )
    notes = await _notes(session, spec, event, now or utcnow())
    if event is None:
        event = Event(slug=spec.slug, status="draft", sequence=0)
        _apply(event, spec)
        session.add(event)
        await session.flush()
        return LoadResult(spec.slug, event.id, "new", event.status, event.sequence, notes=notes)
    changes = describe_changes(event, spec)
    time_changed = (event.starts_at, event.ends_at) != (spec.starts, spec.ends)
    place_changed = _places_of(event) != list(spec.places)
    event.source_digest = spec.digest
    if not changes:
        await session.flush()
        return LoadResult(spec.slug, event.id, "unchanged", event.status, event.sequence)
    _apply(event, spec)
    if time_changed or place_changed:
        event.sequence += 1
        if event.status == "published":
            event.status = "changed"
    await session.flush()
    return LoadResult(
        spec.slug,
        event.id,
        "changed",
        event.status,
        event.sequence,
        tuple(changes),
        time_changed,
        place_changed,
        notes,
    )


async def _notes(
    session: AsyncSession, spec: EventSpec, event: Event | None, now: datetime
) -> tuple[str, ...]:
    notes = []
    if spec.starts < now:
        notes.append(f"starts in the past ({spec.starts:%Y-%m-%d %H:%M})")
    if spec.survey and not await session.scalar(
        select(Survey.id).where(Survey.slug == spec.survey)
    ):
        notes.append(f"survey {spec.survey} is not loaded yet")
    if event is not None and event.status == "cancelled":
        notes.append("the event is cancelled; loading does not reopen it")
    return tuple(notes)


def _apply(event: Event, spec: EventSpec) -> None:
    event.kind = spec.kind
    event.title = dict(spec.title)
    event.description = dict(spec.description)
    event.timezone = spec.timezone
    event.starts_at = spec.starts.astimezone(UTC)
    event.ends_at = spec.ends.astimezone(UTC)
    event.capacity = spec.capacity
    event.rsvp_by = spec.rsvp_by
    event.reminder_offsets = list(spec.reminder_offsets)
    event.audience = spec.audience_mapping()
    event.survey_slug = spec.survey
    event.source_digest = spec.digest
    # Rows are updated in place by position: (event_id, position) is unique, and a flush
    # may insert new rows before it deletes old ones.
    _fit(event.places, len(spec.places), Place)
    for position, (place, given) in enumerate(zip(event.places, spec.places, strict=True)):
        place.position = position
        place.name, place.address, place.country = given.name, given.address, given.country
    _fit(event.agenda, len(spec.agenda), AgendaItem)
    for position, (item, item_spec) in enumerate(zip(event.agenda, spec.agenda, strict=True)):
        item.position = position
        _apply_item(item, item_spec)


def _fit(rows: list[Any], size: int, model: type) -> None:
    del rows[size:]
    rows.extend(model() for _ in range(size - len(rows)))


def _apply_item(item: AgendaItem, spec: AgendaSpec) -> None:
    item.day, item.starts, item.ends = spec.day, spec.starts, spec.ends
    item.title = dict(spec.title)
    item.place, item.method, item.presenter = spec.place, spec.method, spec.presenter


def _places_of(event: Event) -> list[PlaceSpec]:
    return [PlaceSpec(p.name, p.address, p.country) for p in event.places]


def _agenda_of(event: Event) -> list[AgendaSpec]:
    return [
        AgendaSpec(i.day, i.starts, i.ends, dict(i.title), i.place, i.method, i.presenter)
        for i in event.agenda
    ]


def describe_changes(event: Event, spec: EventSpec) -> list[Change]:
    """List, field by field, how the file differs from the stored event."""
    zone = ZoneInfo(spec.timezone)
    changes: list[Change] = []

    def simple(name: str, before: Any, after: Any) -> None:
        if before != after:
            changes.append(Change(name, f"{_shown(before)} → {_shown(after)}"))

    simple("kind", event.kind, spec.kind)
    changes += _text_changes("title", event.title, spec.title)
    changes += _text_changes("description", event.description, spec.description)
    simple("timezone", event.timezone, spec.timezone)
    for name, before, after in (
        ("starts", event.starts_at, spec.starts),
        ("ends", event.ends_at, spec.ends),
    ):
        if before != after:
            changes.append(Change(name, _moved(before, after, zone)))
    changes += _place_changes(_places_of(event), list(spec.places))
    simple("capacity", event.capacity, spec.capacity)
    simple("rsvp_by", event.rsvp_by, spec.rsvp_by)
    simple(
        "reminders",
        ", ".join(format_offset(s) for s in event.reminder_offsets),
        ", ".join(format_offset(s) for s in spec.reminder_offsets),
    )
    before_audience = Audience.from_mapping(event.audience or {})
    if before_audience != spec.audience:
        changes.append(
            Change("audience", f"{before_audience.describe()} → {spec.audience.describe()}")
        )
    simple("survey", event.survey_slug, spec.survey)
    agenda = _count_changes(_agenda_of(event), list(spec.agenda), "item")
    if agenda:
        changes.append(Change("agenda", agenda))
    return changes


def _shown(value: Any) -> str:
    return "—" if value in (None, "") else str(value)


def _moved(before: datetime, after: datetime, zone: tzinfo) -> str:
    old, new = before.astimezone(zone), after.astimezone(zone)
    shown = f"{new:%H:%M}" if old.date() == new.date() else f"{new:%Y-%m-%d %H:%M}"
    return f"{old:%Y-%m-%d %H:%M} → {shown}"


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


def _place_changes(before: list[PlaceSpec], after: list[PlaceSpec]) -> list[Change]:
    changes = []
    if before[:1] != after[:1]:
        old = before[0].describe() if before else "—"
        changes.append(Change("venue", f"{old} → {after[0].describe()}"))
    further = _count_changes(before[1:], after[1:], "place")
    if further:
        changes.append(Change("places", further))
    return changes


def _count_changes(before: Sequence[Any], after: Sequence[Any], noun: str) -> str | None:
    """Summarise two lists compared by position: "2 items changed, 1 added"."""
    changed = sum(1 for old, new in zip(before, after, strict=False) if old != new)
    parts = [
        (changed, "changed"),
        (len(after) - len(before), "added"),
        (len(before) - len(after), "removed"),
    ]
    shown = [f"{n} {noun}{'' if n == 1 else 's'} {verb}" for n, verb in parts if n > 0]
    return ", ".join(shown) or None


async def answer_counts(session: AsyncSession, event_ids: Iterable[int]) -> dict[int, AnswerCounts]:
    """Count invitations by status for each event."""
    ids = list(event_ids)
    rows = await session.execute(
        select(Invitation.event_id, Invitation.status, func.count())
        .where(Invitation.event_id.in_(ids))
        .group_by(Invitation.event_id, Invitation.status)
    )
    counts: dict[int, dict[str, int]] = {i: {} for i in ids}
    for event_id, status, number in rows:
        counts[event_id][status] = number
    return {i: AnswerCounts(c) for i, c in counts.items()}


async def list_events(session: AsyncSession) -> list[EventOverview]:
    """Return every event, soonest first, with its answer counts."""
    events = list(await session.scalars(select(Event).order_by(Event.starts_at, Event.id)))
    counts = await answer_counts(session, (e.id for e in events))
    return [EventOverview(e, counts[e.id]) for e in events]


async def list_rsvps(session: AsyncSession, event: Event) -> list[Rsvp]:
    """Return everyone invited to an event with their latest answer, by answer then name."""
    rows = await session.execute(
        select(Invitation, Contact)
        .join(Contact, Contact.id == Invitation.contact_id)
        .where(Invitation.event_id == event.id)
        .options(selectinload(Invitation.history))
        .order_by(Contact.name, Contact.id)
    )
    rsvps = [
        Rsvp(
            contact_id=contact.id,
            name=contact.name,
            email=contact.email,
            organisation=contact.organisation,
            municipality=contact.municipality,
            language=contact.language,
            status=invitation.status,
            invited_at=invitation.invited_at,
            answered_at=invitation.answered_at,
            channel=invitation.history[-1].channel if invitation.history else None,
        )
        for invitation, contact in rows
    ]
    return sorted(rsvps, key=lambda r: ANSWER_ORDER.index(r.status))
