"""`expertbot run`: start the service."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from pathlib import Path

import click
from rich.table import Table

from bot import app, logsetup
from bot.cli.common import State, console, pass_state, with_database
from bot.db import migrate
from bot.db.session import Database
from bot.services import contacts as registry
from bot.services import events
from bot.services.audience import Audience, select_contacts
from bot.services.contact_rows import parse_rows, read_table
from bot.services.event_files import read_event_file

DEMO_CONTACTS = Path(__file__).resolve().parents[1] / "demo" / "contacts.csv"
DEMO_EVENTS = DEMO_CONTACTS.parent / "events"
log = logging.getLogger("expertbot")


@click.command()
@pass_state
def run(state: State) -> None:
    """Migrate the database and start the service (sandbox without credentials)."""
    settings = state.settings
    mode = "sandbox: no Telegram token and no SMTP host, nothing leaves this machine"
    console.print(f"[bold]expertbot[/] mode: {mode if settings.sandbox else 'live'}")
    migrate.upgrade(settings.database_url)
    console.print(f"Database ready: {settings.masked()['EXPERTBOT_DATABASE_URL']}")

    async def work(database: Database) -> tuple[str, list[registry.Contact]]:
        async with database.session_scope() as session:
            people = await select_contacts(session, Audience())
            note = ""
            if not people and settings.sandbox:
                plan = await registry.plan_import(
                    session, parse_rows(read_table(DEMO_CONTACTS)).rows
                )
                await registry.apply_import(session, plan)
                for path in sorted(DEMO_EVENTS.glob("*.yaml")):
                    await events.load_event(session, read_event_file(path))
                note = (
                    f"Empty database: loaded the demo network ({plan.summary}) "
                    f"and {len(list(DEMO_EVENTS.glob('*.yaml')))} events."
                )
                people = await select_contacts(session, Audience())
            return note, people

    note, people = with_database(settings, work)
    if note:
        console.print(note)
    console.print(f"{len(people)} contact(s) in the registry. See them: expertbot contacts list")
    if settings.sandbox:
        groups = Counter(c.stakeholder_group or "other" for c in people)
        table = Table("stakeholder group", "people", title="The network")
        for group, count in groups.most_common():
            table.add_row(group, str(count))
        console.print(table)
        console.print(
            "Try: expertbot events list · expertbot events show sabile-talsi-2027 · "
            "expertbot events invite valga-2027 --dry-run"
        )
        console.print(
            "To send for real, set EXPERTBOT_TELEGRAM_TOKEN and/or EXPERTBOT_SMTP_HOST "
            "(see README, Settings) and run again."
        )
        return
    logsetup.configure(app.secrets(settings))
    log.info("live mode: sending queued messages; stop with Ctrl+C or SIGTERM")
    asyncio.run(app.Service(settings).run())
