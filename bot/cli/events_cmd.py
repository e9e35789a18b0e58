"""`expertbot events`: load event files, list and show events, see who answered."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from rich.markup import escape
from rich.table import Table

from bot.cli.common import (
    Rows,
    State,
    console,
    delivery_policy,
    errors,
    fail,
    pass_state,
    with_database,
)
from bot.db.models import Event
from bot.db.session import Database
from bot.db.vocab import LANGUAGES
from bot.services.contacts.audience import Audience
from bot.services.events import invitations, registry, reminders
from bot.services.events.attendance import SheetPerson, SheetReport, record_sheet
from bot.services.events.files import EventFileError, EventSpec, format_offset, read_event_file
from bot.services.reporting.tables import write_table
from bot.textformat import pick_language

ANSWER_LABELS = {
    "invited": "no answer",
    "accepted": "accepted",
    "waitlisted": "waiting list",
    "declined": "declined",
    "not_sure": "not sure",
    "attended": "attended",
    "no_show": "did not come",
}
RSVP_COLUMNS = ("name", "email", "organisation", "municipality", "answer", "answered", "channel")

_language = click.option(
    "--language",
    type=click.Choice(LANGUAGES),
    default="lv",
    show_default=True,
    help="Show titles in this language (falls back to Latvian).",
)


SHOWN = 20  # addresses an error lists one by one; the rest are counted


@click.group()
def events() -> None:
    """Events: meetings, visits, seminars and workshops."""


def _read_all(files: tuple[Path, ...]) -> list[EventSpec]:
    specs: list[EventSpec] = []
    problems: list[str] = []
    for file in files:
        try:
            specs.append(read_event_file(file))
        except EventFileError as error:
            problems.extend(str(p) for p in error.problems)
    seen: dict[str, str] = {}
    for spec in specs:
        if spec.slug in seen:
            problems.append(f"{spec.source}: id: {spec.slug} is also the id in {seen[spec.slug]}")
        seen.setdefault(spec.slug, spec.source)
    for problem in problems:
        errors.print(escape(problem), soft_wrap=True)
    if problems:
        fail(f"nothing was loaded: {len(problems)} problem(s). Fix them and load again.")
    return specs


@events.command("load")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check and report, write nothing.")
@pass_state
def load(state: State, files: tuple[Path, ...], dry_run: bool) -> None:
    """Create or update events from YAML FILES; all are checked before any is written."""
    specs = _read_all(files)

    async def work(database: Database) -> tuple[list[registry.LoadResult], list[int]]:
        async with database.session_scope() as session:
            results = [await registry.load_event(session, spec) for spec in specs]
            if dry_run:
                await session.rollback()
                return results, [0] * len(results)
            told = []
            for result in results:
                event = await session.get(Event, result.event_id)
                if result.needs_notice and event is not None and event.status != "cancelled":
                    told.append(
                        await invitations.notify_change(
                            session,
                            event,
                            now=datetime.now(UTC),
                            policy=delivery_policy(state.settings),
                        )
                    )
                else:
                    told.append(0)
            return results, told

    results, told = with_database(state.settings, work)
    for spec, result, count in zip(specs, results, told, strict=True):
        _print_result(spec, result, dry_run)
        if count:
            console.print(f"  told invited people: {count} message(s) queued with the new details")


@events.command("cancel")
@click.argument("key")
@click.option("--reason", required=True, help="Told to everyone invited who has not declined.")
@pass_state
def cancel(state: State, key: str, reason: str) -> None:
    """Cancel an event: tell people (with METHOD:CANCEL) and stop what is pending."""

    async def work(database: Database) -> tuple[str, int]:
        async with database.session_scope() as session:
            event = await registry.find_event(session, key)
            if event is None:
                fail(f"no event {key}; `expertbot events list` shows them")
            assert event is not None
            if event.status == "cancelled":
                fail(f"{event.slug} is already cancelled")
            count = await invitations.cancel_event(
                session,
                event,
                reason,
                now=datetime.now(UTC),
                policy=delivery_policy(state.settings),
            )
            return event.slug, count

    slug, count = with_database(state.settings, work)
    console.print(f"Cancelled {slug}: {count} message(s) queued; pending reminders stopped.")


def _print_result(spec: EventSpec, result: registry.LoadResult, dry_run: bool) -> None:
    would = "would be " if dry_run else ""
    if result.outcome == "new":
        title = pick_language(spec.title, "lv")
        when = _span(spec.starts, spec.ends, spec.timezone)
        console.print(
            f"{result.slug}: {would}new, {result.status} — {escape(title)}, {when}, "
            f"{len(spec.agenda)} agenda item(s)",
            soft_wrap=True,
        )
    elif result.outcome == "unchanged":
        console.print(f"{result.slug}: unchanged")
    else:
        moved = [
            n for n, yes in (("time", result.time_changed), ("place", result.place_changed)) if yes
        ]
        notice = f"; {' and '.join(moved)} changed, sequence {result.sequence}" if moved else ""
        if moved and result.status != "draft":
            notice += ": invited people need to be told"
        console.print(f"{result.slug}: {would}changed ({result.status}){notice}", soft_wrap=True)
        for change in result.changes:
            console.print(f"  {escape(str(change))}", soft_wrap=True)
    for note in result.notes:
        console.print(f"  [yellow]note:[/] {escape(note)}", soft_wrap=True)


def _span(starts: datetime, ends: datetime, timezone: str) -> str:
    """Show an event's time in its own zone: one day compactly, several days in full."""
    zone = ZoneInfo(timezone)
    first, last = starts.astimezone(zone), ends.astimezone(zone)
    if first.date() == last.date():
        return f"{first:%Y-%m-%d %H:%M}–{last:%H:%M}"
    return f"{first:%Y-%m-%d %H:%M} – {last:%Y-%m-%d %H:%M}"


def _find(state: State, key: str) -> tuple[Event, registry.AnswerCounts]:
    async def work(database: Database) -> tuple[Event, registry.AnswerCounts] | None:
        async with database.read_scope() as session:
            event = await registry.find_event(session, key)
            if event is None:
                return None
            return event, (await registry.answer_counts(session, [event.id]))[event.id]

    found = with_database(state.settings, work)
    if found is None:
        fail(f"no event {key}; try `expertbot events list` to see the ids")
    assert found is not None
    return found


@events.command("list")
@_language
@pass_state
def list_(state: State, language: str) -> None:
    """List events, soonest first, with how many were invited and what they answered."""

    async def work(database: Database) -> list[registry.EventOverview]:
        async with database.read_scope() as session:
            return await registry.list_events(session)

    overviews = with_database(state.settings, work)
    if not overviews:
        console.print("No events yet; load one with `expertbot events load FILE.yaml`.")
        return
    table = Table("#", "id", "title")
    table.add_column("when (local time)", no_wrap=True)
    for name in ("status", "invited", "accepted", "declined", "not sure"):
        table.add_column(name)
    for item in overviews:
        event, counts = item.event, item.counts
        table.add_row(
            str(event.id),
            event.slug,
            escape(pick_language(event.title, language)),
            f"{_span(event.starts_at, event.ends_at, event.timezone)} {event.timezone}",
            event.status,
            str(counts.invited),
            str(counts.accepted),
            str(counts.declined),
            str(counts.not_sure),
        )
    console.print(table)
    console.print(f"{len(overviews)} event(s)")


@events.command("show")
@click.argument("key", metavar="ID")
@_language
@pass_state
def show(state: State, key: str, language: str) -> None:
    """Show one event by its id (slug) or number: details, venue, agenda and answers."""
    event, counts = _find(state, key)
    table = Table(show_header=False, title=escape(pick_language(event.title, language)))
    table.add_row("id", f"{event.slug} (#{event.id})")
    table.add_row("kind", event.kind)
    table.add_row("status", f"{event.status}, sequence {event.sequence}")
    for name, texts in (("title", event.title), ("description", event.description)):
        for lang, text in texts.items():
            table.add_row(f"{name} {lang}", escape(text))
    when = _span(event.starts_at, event.ends_at, event.timezone)
    table.add_row("when", f"{when} ({event.timezone})")
    for number, place in enumerate(event.places):
        parts = (place.name, place.address, place.country)
        table.add_row(
            "venue" if number == 0 else "also at", escape(", ".join(p for p in parts if p))
        )
    table.add_row("capacity", str(event.capacity or "—"))
    table.add_row("answer by", str(event.rsvp_by or "—"))
    offsets = ", ".join(format_offset(s) for s in event.reminder_offsets)
    table.add_row("reminders", f"{offsets} before" if offsets else "—")
    audience = Audience.from_mapping(event.audience or {})
    table.add_row("audience", escape(audience.describe()))
    table.add_row("survey", event.survey_slug or "—")
    table.add_row("answers", _answers(counts))
    console.print(table)
    _print_agenda(event, language)


def _answers(counts: registry.AnswerCounts) -> str:
    if not counts.invited:
        return "nobody invited yet"
    given = [
        f"{counts.by_status[s]} {ANSWER_LABELS[s]}"
        for s in registry.ANSWER_ORDER
        if counts.by_status.get(s)
    ]
    return f"{counts.invited} invited: {', '.join(given)}"


def _print_agenda(event: Event, language: str) -> None:
    if not event.agenda:
        console.print("No agenda yet.")
        return
    agenda = sorted(event.agenda, key=lambda item: item.day)
    for day, items in groupby(agenda, key=lambda item: item.day):
        table = Table("time", "item", "place", "method", "presenter", title=f"{day:%Y-%m-%d %A}")
        for item in items:
            times = "–".join(f"{t:%H:%M}" for t in (item.starts, item.ends) if t is not None)
            table.add_row(
                times,
                escape(pick_language(item.title, language)),
                escape(item.place or ""),
                escape(item.method or ""),
                escape(item.presenter or ""),
            )
        console.print(table)


@events.command("rsvps")
@click.argument("key", metavar="ID")
@click.option(
    "--export",
    "file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the list to FILE.csv or FILE.xlsx.",
)
@pass_state
def rsvps(state: State, key: str, file: Path | None) -> None:
    """Who was invited to an event and what they answered, when and through which channel."""
    if file is not None and file.suffix.lower() not in (".csv", ".xlsx"):
        fail(f"{file.name}: use a .csv or .xlsx file name")
    event, counts = _find(state, key)
    zone = registry.zone_of(event)
    header = [*RSVP_COLUMNS[:5], f"answered ({event.timezone})", "channel"]
    shown = Rows(*header, title=f"{event.slug}: {_answers(counts)}")
    kept: list[list[str]] = []  # for --export only

    async def work(database: Database) -> int:
        count = 0
        async with database.read_scope() as session:
            async for p in invitations.stream_rsvps(session, event):
                row = [
                    p.name,
                    p.email or "",
                    p.organisation or "",
                    p.municipality or "",
                    ANSWER_LABELS[p.status],
                    f"{p.answered_at.astimezone(zone):%Y-%m-%d %H:%M}" if p.answered_at else "",
                    p.channel or "",
                ]
                shown.add(*row)
                if file is not None:
                    kept.append(row)
                count += 1
        return count

    if not with_database(state.settings, work):
        console.print(f"No invitations for {event.slug} yet; nothing to show or export.")
        return
    shown.close()
    if file is not None:
        count = write_table(file, header, kept, title=event.slug)
        console.print(f"Wrote {count} answer(s) to {file}.")


@events.command("attendance")
@click.argument("key")
@click.option("--present", "present", multiple=True, help="Email of someone who came; repeat.")
@click.option(
    "--csv",
    "sheet",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A sign-in sheet: a CSV with an email and/or a name column (organization optional).",
)
@pass_state
def attendance(state: State, key: str, present: tuple[str, ...], sheet: Path | None) -> None:
    """Record who came, walk-ins too; people who had said yes and are not listed are no-shows.

    Someone registered but not invited is recorded as present; a name without a known address
    on the sign-in sheet is added as a guest.
    """
    people = [SheetPerson(email=e) for e in present] + (_sheet_people(sheet) if sheet else [])
    if not people:
        fail("say who came: --present EMAIL (repeat) or --csv SIGN-IN.csv")

    async def work(database: Database) -> tuple[str, SheetReport]:
        async with database.session_scope() as session:
            event = await registry.find_event(session, key)
            if event is None:
                fail(f"no event {key}; `expertbot events list` shows them")
            assert event is not None
            slug = event.slug
            report = await record_sheet(session, event, people, now=datetime.now(UTC))
            if report.unknown:
                await session.rollback()  # all or nothing
            return slug, report

    slug, report = with_database(state.settings, work)
    if report.unknown:
        shown = ", ".join(report.unknown[:SHOWN])
        more = f" and {len(report.unknown) - SHOWN} more" if len(report.unknown) > SHOWN else ""
        fail(
            f"{len(report.unknown)} address(es) belong to nobody: {shown}{more}; nothing was "
            "recorded. Fix the addresses, or give a name with each so they are added as guests."
        )
    console.print(
        f"{slug}: {len(report.present)} present, {len(report.walk_ins)} walk-in(s), "
        f"{len(report.absent)} marked as not present."
    )


def _sheet_people(path: Path) -> list[SheetPerson]:
    import csv

    text = path.read_bytes().decode("utf-8-sig")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    rows = [
        {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        for row in csv.DictReader(text.splitlines(), delimiter=delimiter)
    ]
    if not rows or not {"email", "name"} & set(rows[0]):
        fail(f"{path.name}: needs a header with an 'email' or a 'name' column")
    return [
        SheetPerson(
            email=row.get("email", ""),
            name=row.get("name", ""),
            organisation=row.get("organization", "") or row.get("organisation", ""),
        )
        for row in rows
        if row.get("email") or row.get("name")
    ]


@events.command("send-agenda")
@click.argument("key")
@pass_state
def send_agenda(state: State, key: str) -> None:
    """Send the agenda now to those coming or unsure (again only after a change)."""

    async def work(database: Database) -> tuple[str, int]:
        async with database.session_scope() as session:
            event = await registry.find_event(session, key)
            if event is None:
                fail(f"no event {key}; `expertbot events list` shows them")
            assert event is not None
            count = await reminders.send_agenda(
                session, event, now=datetime.now(UTC), policy=delivery_policy(state.settings)
            )
            return event.slug, count

    slug, count = with_database(state.settings, work)
    console.print(f"{slug}: agenda queued, {count} message(s).")
