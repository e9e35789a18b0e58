"""`expertbot contacts`: import, list, show, export and erase contacts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from bot.cli.common import (
    Rows,
    State,
    console,
    database_trouble,
    errors,
    fail,
    pass_state,
    with_database,
)
from bot.db.session import Database
from bot.db.vocab import LANGUAGES, ROLES, STAKEHOLDER_GROUPS
from bot.services.contacts import imports, registry
from bot.services.contacts.audience import Audience
from bot.services.contacts.rows import (
    COLUMNS,
    ContactFileError,
    ParsedFile,
    Problem,
    parse_rows,
    read_table,
)
from bot.services.reporting.tables import write_table


@click.group()
def contacts() -> None:
    """The contacts registry."""


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=errors,
        transient=True,
        disable=not errors.is_terminal,
    )


def _problem_table(title: str, problems: list[Problem], style: str) -> Table:
    table = Table("line", "column", "reason", title=title, title_style=style)
    for p in sorted(problems, key=lambda p: (p.line, p.column)):
        table.add_row(str(p.line), p.column, p.reason)
    return table


def _read(path: Path) -> ParsedFile:
    try:
        records = list(read_table(path))
    except ContactFileError as error:
        return fail(str(error))
    with _progress() as progress:
        task = progress.add_task(f"Checking {path.name}", total=len(records))

        def counted():  # type: ignore[no-untyped-def]
            for record in records:
                yield record
                progress.advance(task)

        return parse_rows(counted())


@contacts.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--skip-invalid", is_flag=True, help="Import the valid rows, report the rest.")
@click.option("--dry-run", is_flag=True, help="Check and report, write nothing.")
@pass_state
def import_(state: State, file: Path, skip_invalid: bool, dry_run: bool) -> None:
    """Import contacts from a CSV (comma or semicolon) or XLSX FILE."""
    parsed = _read(file)

    async def work(database: Database) -> registry.ImportPlan:
        async with database.read_scope() as session:
            plan = await registry.plan_import(session, parsed.rows)
        refused = parsed.errors + plan.conflicts
        if dry_run or (refused and not skip_invalid):
            return plan
        total = len(plan.new) + len(plan.updated)
        with _progress() as progress:
            task = progress.add_task(f"Saving {file.name}", total=total)
            try:
                await imports.write_in_batches(database, plan, lambda n: progress.advance(task, n))
            except imports.ImportStopped as stopped:
                fail(_stopped(stopped))
        return plan

    plan = with_database(state.settings, work)
    refused = parsed.errors + plan.conflicts
    if parsed.warnings:
        console.print(_problem_table("Warnings", parsed.warnings, "yellow"))
    if refused:
        lines = sorted({p.line for p in refused})
        errors.print(_problem_table(f"{len(lines)} invalid row(s)", refused, "red"))
    if refused and not skip_invalid:
        fail(
            "nothing was imported. Fix the rows above and import again, "
            "or use --skip-invalid to import only the valid rows."
        )
    verb = "Would import" if dry_run else "Imported"
    skipped = f", {len({p.line for p in refused})} invalid skipped" if refused else ""
    console.print(f"{verb} {file.name}: {plan.summary}{skipped}.")
    for row, _contact, changed in plan.updated:
        console.print(f"  updated line {row.line} {row.email or row.name}: {', '.join(changed)}")


def _stopped(stopped: imports.ImportStopped) -> str:
    what = database_trouble(stopped.cause) or str(stopped.cause).splitlines()[0]
    if stopped.undone:
        return f"nothing was imported: {what}. The rows saved before were removed again."
    return (
        f"the import stopped after {stopped.written} of {stopped.total} rows: {what}. "
        "Those rows stay saved; importing the same file again completes it."
    )


F = TypeVar("F", bound=Callable[..., Any])
STREAM_BATCH = 1000  # rows read at a time by list and export


def _audience_options(command: F) -> F:
    options = [
        click.option("--role", "roles", multiple=True, type=click.Choice(ROLES)),
        click.option("--municipality", "municipalities", multiple=True),
        click.option("--country", "countries", multiple=True),
        click.option("--language", "languages", multiple=True, type=click.Choice(LANGUAGES)),
        click.option("--tag", "tags", multiple=True),
        click.option("--group", "groups", multiple=True, type=click.Choice(STAKEHOLDER_GROUPS)),
        click.option("--email", "emails", multiple=True, help="Always include this person."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@contacts.command("list")
@_audience_options
@pass_state
def list_(state: State, **filters: tuple[str, ...]) -> None:
    """List contacts as a table; each filter narrows, repeat one to widen it."""
    audience = Audience.build(**filters)
    rows = Rows("name", "email", "telegram", "role", "municipality", "country", "lang", "tags")
    by_role: Counter[str] = Counter()

    async def work(database: Database) -> None:
        async with database.read_scope() as session:
            found = await session.stream_scalars(
                audience.query().execution_options(yield_per=STREAM_BATCH)
            )
            async for c in found:
                by_role[c.role] += 1
                telegram = f"@{c.telegram_username}" if c.telegram_username else ""
                if c.telegram_state == "active":
                    telegram += " ✓"
                rows.add(
                    c.name,
                    c.email or "—",
                    telegram,
                    c.role,
                    c.municipality or "",
                    c.country,
                    c.language,
                    ", ".join(c.tag_names),
                )

    with_database(state.settings, work)
    rows.close()
    total = by_role.total()
    summary = ", ".join(f"{n} {role}" for role, n in sorted(by_role.items()))
    console.print(f"{total} contact(s) ({audience.describe()}){': ' + summary if total else ''}")


@contacts.command("show")
@click.argument("key")
@pass_state
def show(state: State, key: str) -> None:
    """Show one contact by EMAIL, @username or id."""

    async def work(database: Database) -> registry.Contact | None:
        async with database.read_scope() as session:
            return await registry.find(session, key)

    contact = with_database(state.settings, work)
    if contact is None:
        fail(f"no contact {key}; try `expertbot contacts list` to see who is there")
        return
    table = Table(show_header=False, title=contact.name)
    for name, value in registry.as_row(contact).items():
        table.add_row(name, value or "—")
    table.add_row("email channel", contact.email_state)
    table.add_row("telegram channel", contact.telegram_state)
    table.add_row("added", f"{contact.created_at:%Y-%m-%d %H:%M} UTC")
    console.print(table)


@contacts.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@_audience_options
@pass_state
def export(state: State, file: Path, **filters: tuple[str, ...]) -> None:
    """Write contacts to FILE.csv or FILE.xlsx in the import format."""
    if file.suffix.lower() not in (".csv", ".xlsx"):
        fail(f"{file.name}: use a .csv or .xlsx file name")
    audience = Audience.build(**filters)

    async def work(database: Database) -> list[list[str]]:
        # Rows of text, read a batch at a time: not every contact as an object at once.
        async with database.read_scope() as session:
            found = await session.stream_scalars(
                audience.query().execution_options(yield_per=STREAM_BATCH)
            )
            return [list(registry.as_row(c).values()) async for c in found]

    rows = with_database(state.settings, work)
    count = write_table(file, COLUMNS, rows, title="contacts")
    console.print(f"Wrote {count} contact(s) to {file}.")


@contacts.command("remove")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_state
def remove(state: State, email: str, yes: bool) -> None:
    """Erase a person's data for good; only anonymous counts remain."""

    async def work(database: Database) -> registry.Erasure | None:
        async with database.session_scope() as session:
            contact = await registry.find(session, email)
            if contact is None:
                return None
            if not yes and not click.confirm(
                f"Erase {contact.name} <{contact.email or '-'}> and all their personal data?"
            ):
                fail("nothing was changed.")
            return await registry.erase(session, contact)

    erased = with_database(state.settings, work)
    if erased is None:
        fail(f"no contact {email}; nothing was changed")
        return
    console.print(
        f"Erased {erased.name}: personal data, {erased.telegram_links} Telegram link(s) and "
        f"{erased.outbox_rows} queued or sent message(s) removed; "
        "role, country and group are kept as an anonymous count."
    )
