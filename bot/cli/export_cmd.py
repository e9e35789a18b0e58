"""`expertbot export` (every table, for the coordinator) and `expertbot report` (for the funder)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import click
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table

from bot.cli.common import State, console, errors, fail, pass_state, with_database
from bot.db.session import Database
from bot.db.vocab import LANGUAGES
from bot.services.events import registry
from bot.services.reporting import exports, funding_report

_DAY = click.DateTime(formats=["%Y-%m-%d"])
_DATE = "DATE"


def _day(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        console=errors,
        transient=True,
        disable=not errors.is_terminal,
    )


@click.command("export")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--csv",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write one CSV file (UTF-8 with BOM) per sheet into this folder.",
)
@click.option(
    "--from",
    "start",
    type=_DAY,
    metavar=_DATE,
    help="Only events starting, and rows recorded, on or after this day (YYYY-MM-DD).",
)
@click.option("--to", "end", type=_DAY, metavar=_DATE, help="… and on or before this day.")
@click.option("--event", "event_key", metavar="ID", help="Only this event (id or number).")
@pass_state
def export(
    state: State,
    file: Path | None,
    folder: Path | None,
    start: datetime | None,
    end: datetime | None,
    event_key: str | None,
) -> None:
    """Export every table to FILE.xlsx (one sheet each) or, with --csv, to CSV files.

    Sheets: contacts (with stakeholder group and consent: personal and special-category data,
    for the coordinator only), events, invitations, invitation_history, attendance, one per
    survey (finished responses; no names for anonymous surveys), recommendations,
    recommendation_updates and deliveries. Contacts and recommendations are listed in full
    unless --event narrows them to that event's people and recommendations.
    """
    if file is None and folder is None:
        fail("say where to write: FILE.xlsx, or --csv FOLDER")
    if file is not None and file.suffix.lower() != ".xlsx":
        fail(f"{file.name}: use an .xlsx file name, or --csv FOLDER for CSV files")
    if start and end and end < start:
        fail(f"--to {end:%Y-%m-%d} is before --from {start:%Y-%m-%d}")
    zone = state.settings.zone

    async def work(database: Database) -> list[tuple[str, int]]:
        async with database.read_scope() as session:
            event_id = None
            if event_key is not None:
                event = await registry.find_event(session, event_key)
                if event is None:
                    fail(f"no event {event_key}; `expertbot events list` shows them")
                assert event is not None
                event_id = event.id
            scope = exports.Scope(zone, _day(start), _day(end), event_id)
            with _progress() as progress:
                task = progress.add_task("Reading the database", total=None)
                return await exports.write_out(
                    session,
                    scope,
                    xlsx=file,
                    folder=folder,
                    progress=lambda name: progress.update(task, description=f"Wrote {name}"),
                )

    sheets = with_database(state.settings, work)
    table = Table("sheet", "rows", title=f"Times in {zone.key}")
    for name, rows in sheets:
        table.add_row(name, str(rows))
    console.print(table)
    if file is not None:
        count = sum(rows for _name, rows in sheets)
        console.print(f"Wrote {len(sheets)} sheet(s), {count} row(s) to {file}.")
    if folder is not None:
        console.print(f"Wrote {len(sheets)} CSV file(s) to {folder}/.")
    console.print("[yellow]note:[/] the contacts sheet holds personal data; keep the file safe.")


@click.command("report")
@click.option(
    "--from", "start", type=_DAY, metavar=_DATE, required=True, help="First day (YYYY-MM-DD)."
)
@click.option("--to", "end", type=_DAY, metavar=_DATE, required=True, help="Last day (YYYY-MM-DD).")
@click.option(
    "--lang",
    "language",
    type=click.Choice(LANGUAGES),
    default="lv",
    show_default=True,
    help="Language of the headings.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="FILE.xlsx (with charts) or FILE.html (with SVG charts).",
)
@click.option(
    "--as-of",
    "as_of",
    type=_DAY,
    metavar=_DATE,
    help="Count as held the events that had ended by the end of this day (default: now).",
)
@pass_state
def report(
    state: State, start: datetime, end: datetime, language: str, out: Path, as_of: datetime | None
) -> None:
    """Report the period's results to the funder: people involved by group and country,
    events by kind, active mediators, survey satisfaction and recommendation status.

    Roma representatives are counted, never named: the report holds no names at all.
    """
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".html"):
        fail(f"{out.name}: use a .xlsx or .html file name")
    if end < start:
        fail(f"--to {end:%Y-%m-%d} is before --from {start:%Y-%m-%d}")
    zone = state.settings.zone

    async def work(database: Database) -> funding_report.ReportFigures:
        async with database.read_scope() as session:
            held_by = (
                datetime.combine(as_of.date() + timedelta(days=1), time(0), tzinfo=zone)
                if as_of is not None
                else datetime.now(UTC)
            )
            return await funding_report.figures(
                session, start=start.date(), end=end.date(), zone=zone, now=held_by
            )

    figures = with_database(state.settings, work)
    if suffix == ".xlsx":
        funding_report.write_xlsx(out, figures, language, zone)
    else:
        out.write_text(funding_report.render_html(figures, language, zone), "utf-8")
    groups = ", ".join(f"{g} {n}" for g, n in figures.by_group.items() if n)
    console.print(
        f"{start:%Y-%m-%d} – {end:%Y-%m-%d}: {figures.people} people involved"
        + (f" ({groups})" if groups else "")
        + f"; {len(figures.events)} event(s); {figures.mediators} active mediator(s).",
        soft_wrap=True,
    )
    for item in figures.without_attendance:
        console.print(
            f"[yellow]note:[/] {item.slug} took no attendance: "
            f"its {item.participants} participant(s) are those who accepted.",
            soft_wrap=True,
        )
    console.print(f"Wrote the report ({language}) to {out}.")
