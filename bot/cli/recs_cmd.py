"""`expertbot recs`: load what meetings recommended, follow it up and report on it."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select

from bot.cli.common import State, console, delivery_policy, errors, fail, pass_state, with_database
from bot.db.models import Contact, Recommendation
from bot.db.session import Database
from bot.db.vocab import LANGUAGES, REC_AREAS, REC_STATUSES
from bot.services.contacts import registry as contacts
from bot.services.events.files import Problem
from bot.services.recommendations import registry
from bot.services.recommendations import reminders as rec_reminders
from bot.services.recommendations.files import RecFile, RecFileError, RecSpec, read_rec_file
from bot.services.recommendations.followup import COMMENT_LIMIT
from bot.services.reporting.tables import write_xlsx
from bot.textformat import pick_language

REPORT_COLUMNS = (
    "meeting",
    "meeting date",
    "id",
    "area",
    "text",
    "status",
    "owners",
    "owner emails",
    "due",
    "overdue",
    "latest comment",
)
UPDATE_COLUMNS = ("meeting", "id", "who", "channel", "status", "comment")

_language = click.option(
    "--language",
    type=click.Choice(LANGUAGES),
    default="lv",
    show_default=True,
    help="Show texts in this language (falls back to Latvian, then to any given).",
)


@click.group()
def recs() -> None:
    """Recommendations of meetings: who follows them up, and how far they got."""


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M}" if moment else "—"


def _today(zone: ZoneInfo) -> datetime:
    return datetime.now(UTC).astimezone(zone)


# --- load ---------------------------------------------------------------------------------


def _report(problems: list[str]) -> None:
    for problem in problems:
        errors.print(escape(problem), soft_wrap=True)
    if problems:
        fail(f"nothing was loaded: {len(problems)} problem(s). Fix them and load again.")


def _read_all(files: tuple[Path, ...]) -> tuple[list[RecFile], list[RecFileError]]:
    """Read every file; those with problems come back as errors, to check owners too."""
    specs: list[RecFile] = []
    failed: list[RecFileError] = []
    for file in files:
        try:
            specs.append(read_rec_file(file))
        except RecFileError as error:
            failed.append(error)
    seen: dict[str, str] = {}
    twice = []
    for spec in specs:
        for item in spec.items:
            if item.slug in seen:
                why = f"{item.slug} is also an id in {seen[item.slug]}"
                twice.append(spec.problem(f"{item.path}.id", why))
            seen.setdefault(item.slug, spec.file)
    if twice:
        failed.append(RecFileError(twice))
    return specs, failed


@recs.command("load")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check and report, write nothing.")
@pass_state
def load(state: State, files: tuple[Path, ...], dry_run: bool) -> None:
    """Create or update recommendations from YAML FILES; all are checked before any is written.

    Owners are given by email and must be contacts already (`expertbot contacts import`).
    """
    specs, failed = _read_all(files)
    zone = state.settings.zone

    async def work(database: Database) -> tuple[list[list[registry.RecLoadResult]], list[Problem]]:
        async with database.session_scope() as session:
            results: list[list[registry.RecLoadResult]] = []
            problems = [p for error in failed for p in error.problems]
            for error in failed:
                if error.references is not None:
                    problems += await registry.check_references(session, error.references)
            now = datetime.now(UTC)
            for spec in specs:
                if problems:  # nothing will be written: only look for more problems
                    problems += await registry.check_references(session, spec.references)
                    continue
                try:
                    results.append(await registry.load_recs(session, spec, now=now, zone=zone))
                except RecFileError as error:
                    problems += error.problems
            if problems or dry_run:
                await session.rollback()
            return results, problems

    results, problems = with_database(state.settings, work)
    order = {str(file): n for n, file in enumerate(files)}
    _report([str(p) for p in sorted(problems, key=lambda p: (order.get(p.file, 0), p.line or 0))])
    would = "would be " if dry_run else ""
    for spec, outcomes in zip(specs, results, strict=True):
        for item, result in zip(spec.items, outcomes, strict=True):
            _print_loaded(item, result, would, zone)
        counts = Counter(r.outcome for r in outcomes)
        summary = ", ".join(f"{n} {would}{o}" for o, n in counts.items())
        console.print(f"{spec.file}: {len(outcomes)} recommendation(s): {summary}")


def _print_loaded(
    item: RecSpec, result: registry.RecLoadResult, would: str, zone: ZoneInfo
) -> None:
    if result.outcome == "new":
        due = f"due {item.due}" if item.due else "no due date"
        first = f"{_local(result.next_reminder_at, zone)} ({zone.key})"
        console.print(
            f"{result.slug}: {would}new — {item.area}, {len(item.owners)} owner(s), {due}, "
            f"remind {item.cadence}; first reminder {first}",
            soft_wrap=True,
        )
    elif result.outcome == "unchanged":
        console.print(f"{result.slug}: unchanged ({result.status})")
    else:
        console.print(f"{result.slug}: {would}changed ({result.status})")
        for change in result.changes:
            console.print(f"  {escape(str(change))}", soft_wrap=True)
        if any(c.field == "remind" for c in result.changes) and result.next_reminder_at:
            console.print(f"  next reminder: {_local(result.next_reminder_at, zone)} ({zone.key})")
    for note in result.notes:
        console.print(f"  [yellow]note:[/] {escape(note)}", soft_wrap=True)


# --- list and show ------------------------------------------------------------------------


@recs.command("list")
@click.option("--status", type=click.Choice(REC_STATUSES), help="Only items in this status.")
@click.option("--owner", metavar="EMAIL", help="Only items this person owns.")
@click.option("--area", type=click.Choice(REC_AREAS), help="Only items in this area.")
@click.option("--overdue", is_flag=True, help="Only open items past their due date.")
@_language
@pass_state
def list_(
    state: State,
    status: str | None,
    owner: str | None,
    area: str | None,
    overdue: bool,
    language: str,
) -> None:
    """List recommendations, soonest due first; every filter given narrows the list."""
    zone = state.settings.zone

    async def work(database: Database) -> list[registry.RecRow] | None:
        async with database.session_scope() as session:
            person: Contact | None = None
            if owner is not None:
                person = await contacts.find(session, owner)
                if person is None:
                    return None
            return await registry.list_recs(
                session,
                today=_today(zone).date(),
                status=status,
                owner=person,
                area=area,
                overdue=overdue,
            )

    rows = with_database(state.settings, work)
    if rows is None:
        fail(f"no contact with email {owner}")
    assert rows is not None
    if not rows:
        console.print("No recommendations match; load some with `expertbot recs load FILE.yaml`.")
        return
    table = Table(caption=f"Times in {state.settings.timezone}.")
    for name in ("id", "area", "text", "owners", "due", "status", "next reminder", "last update"):
        # Only the long texts wrap, and the overdue mark under the date.
        table.add_column(name, no_wrap=name not in ("text", "owners", "due"))
    for row in rows:
        rec, last = row.rec, row.last_update
        table.add_row(
            rec.slug,
            rec.area,
            escape(pick_language(rec.text, language)),
            escape(", ".join(c.name for c in row.owners)),
            _due(row),
            rec.status,
            _local(rec.next_reminder_at, zone),
            _local(last.recorded_at if last else None, zone),
        )
    console.print(table)
    console.print(f"{len(rows)} recommendation(s)")


def _due(row: registry.RecRow) -> str:
    if row.rec.due_on is None:
        return "—"
    return f"[red]{row.rec.due_on} overdue[/]" if row.overdue else str(row.rec.due_on)


@recs.command("show")
@click.argument("key", metavar="ID")
@pass_state
def show(state: State, key: str) -> None:
    """Show one recommendation: texts, source meeting, owners and every status update."""
    zone = state.settings.zone

    async def work(database: Database) -> registry.RecDetails | None:
        async with database.session_scope() as session:
            return await registry.details(session, key, today=_today(zone).date())

    found = with_database(state.settings, work)
    if found is None:
        fail(f"no recommendation {key}; `expertbot recs list` shows them")
    assert found is not None
    rec = found.row.rec
    table = Table(show_header=False, title=rec.slug)
    table.add_row("id", f"{rec.slug} (#{rec.id})")
    for language, text in rec.text.items():
        table.add_row(f"text {language}", escape(text))
    table.add_row("area", rec.area)
    meeting = registry.source_label(rec)
    if found.event is not None:
        meeting += f", event {found.event.slug}"
    table.add_row("source meeting", escape(meeting))
    for contact in found.row.owners:
        count = found.unanswered.get(contact.id, 0)
        table.add_row(
            "owner",
            escape(f"{contact.name} <{contact.email or '—'}>, {count} unanswered reminder(s)"),
        )
    table.add_row("due", _due(found.row))
    table.add_row(
        "status", rec.status + (f" since {_local(rec.closed_at, zone)}" if rec.closed_at else "")
    )
    table.add_row("remind", rec.cadence)
    table.add_row(f"next reminder ({state.settings.timezone})", _local(rec.next_reminder_at, zone))
    console.print(table)
    if not found.history:
        console.print("No updates yet.")
        return
    history = Table(f"when ({state.settings.timezone})", "who", "channel", "status", "comment")
    for entry in found.history:
        update = entry.update
        history.add_row(
            _local(update.recorded_at, zone),
            escape(entry.who),
            update.channel or "—",
            update.status,
            escape(update.comment or ""),
        )
    console.print(history)


# --- set ----------------------------------------------------------------------------------


@recs.command("set")
@click.argument("key", metavar="ID")
@click.argument("status", type=click.Choice(REC_STATUSES))
@click.option("--comment", help="Why, or what was done; kept in the history.")
@pass_state
def set_(state: State, key: str, status: str, comment: str | None) -> None:
    """Set a recommendation's STATUS as the coordinator; done or dropped closes it."""
    zone = state.settings.zone

    async def work(database: Database) -> registry.SetResult:
        async with database.session_scope() as session:
            result = await registry.set_status(
                session, key, status, comment=comment, now=datetime.now(UTC), zone=zone
            )
            if result.verdict == "recorded" and result.rec is not None and result.others:
                # The owners hear it from the coordinator (the first one on record).
                by = await session.scalar(
                    select(Contact.name)
                    .where(Contact.role == "coordinator", Contact.erased_at.is_(None))
                    .order_by(Contact.id)
                )
                await rec_reminders.tell_done(
                    session,
                    result.rec,
                    result.others,
                    by or "—",
                    now=datetime.now(UTC),
                    policy=delivery_policy(state.settings),
                )
            return result

    result = with_database(state.settings, work)
    if result.verdict == "missing":
        fail(f"no recommendation {key}; `expertbot recs list` shows them")
    if result.verdict == "too_long":
        fail(f"the comment is {len(comment or '')} characters long; at most {COMMENT_LIMIT} fit")
    if result.verdict != "recorded" or result.rec is None:
        fail(f"not recorded: {result.verdict}")
    assert result.rec is not None
    rec = result.rec
    if rec.closed_at is not None:
        after = "closed, no more reminders"
    else:
        after = (
            f"open, next reminder {_local(rec.next_reminder_at, zone)} ({state.settings.timezone})"
        )
    console.print(f"{rec.slug}: {result.before} → {rec.status}; {after}.")
    if comment:
        console.print(f"  comment: {escape(comment.strip())}", soft_wrap=True)


# --- report -------------------------------------------------------------------------------


@recs.command("report")
@click.option(
    "--export",
    "file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write FILE.xlsx: a sheet 'report' (one row per item) and 'updates'.",
)
@pass_state
def report(state: State, file: Path | None) -> None:
    """Report recommendations by source meeting: status, owners, due, overdue, latest comment."""
    if file is not None and file.suffix.lower() != ".xlsx":
        fail(f"{file.name}: use a .xlsx file name")
    zone = state.settings.zone

    async def work(
        database: Database,
    ) -> tuple[list[registry.MeetingReport], list[tuple[Recommendation, registry.HistoryEntry]]]:
        async with database.session_scope() as session:
            return await registry.report(session, today=_today(zone).date())

    meetings, updates = with_database(state.settings, work)
    if not meetings:
        console.print("No recommendations yet; load some with `expertbot recs load FILE.yaml`.")
        return
    for meeting in meetings:
        _print_meeting(meeting)
    total = Counter({s: sum(m.counts[s] for m in meetings) for s in REC_STATUSES})
    overdue = sum(r.overdue for m in meetings for r in m.rows)
    console.print(f"All meetings: {_counts(total)}; {overdue} overdue")
    if file is not None:
        _export(file, meetings, updates, zone, state.settings.timezone)
        items = sum(len(m.rows) for m in meetings)
        console.print(f"Wrote {items} recommendation(s) and {len(updates)} update(s) to {file}.")


def _counts(counts: dict[str, int]) -> str:
    return f"{sum(counts.values())} item(s): " + ", ".join(f"{counts[s]} {s}" for s in REC_STATUSES)


def _print_meeting(meeting: registry.MeetingReport) -> None:
    table = Table(
        "id",
        "status",
        "owners",
        "due",
        "overdue",
        "latest comment",
        title=escape(registry.meeting_label(meeting)),
    )
    for row in meeting.rows:
        rec = row.rec
        table.add_row(
            rec.slug,
            rec.status,
            escape(", ".join(c.name for c in row.owners)),
            str(rec.due_on or "—"),
            "[red]yes[/]" if row.overdue else "",
            escape(row.latest_comment or ""),
        )
    console.print(table)
    console.print(_counts(meeting.counts))


def _export(
    file: Path,
    meetings: list[registry.MeetingReport],
    updates: list[tuple[Recommendation, registry.HistoryEntry]],
    zone: ZoneInfo,
    zone_name: str,
) -> None:
    rows = [
        [
            pick_language(m.title, "lv") if m.title else "",
            m.held_on.isoformat() if m.held_on else "",
            row.rec.slug,
            row.rec.area,
            pick_language(row.rec.text, "lv"),
            row.rec.status,
            ", ".join(c.name for c in row.owners),
            ", ".join(c.email or "" for c in row.owners),
            row.rec.due_on.isoformat() if row.rec.due_on else "",
            "yes" if row.overdue else "",
            row.latest_comment or "",
        ]
        for m in meetings
        for row in m.rows
    ]
    history = [
        [
            pick_language(rec.source_title, "lv") if rec.source_title else "",
            rec.slug,
            _local(entry.update.recorded_at, zone),
            entry.who,
            entry.update.channel or "",
            entry.update.status,
            entry.update.comment or "",
        ]
        for rec, entry in updates
    ]
    header = [*UPDATE_COLUMNS[:2], f"when ({zone_name})", *UPDATE_COLUMNS[2:]]
    write_xlsx(file, [("report", REPORT_COLUMNS, rows), ("updates", header, history)])
