"""`expertbot run`: start the service."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import click

from bot import app, logsetup
from bot.cli.common import State, console, pass_state, with_database
from bot.db import migrate
from bot.db.session import Database
from bot.services import contacts as registry
from bot.services.audience import Audience, select_contacts
from bot.services.contact_rows import parse_rows, read_table

DEMO_CONTACTS = Path(__file__).resolve().parents[1] / "demo" / "contacts.csv"
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
                note = f"Empty database: loaded the demo network ({plan.summary})."
                people = await select_contacts(session, Audience())
            return note, people

    note, people = with_database(settings, work)
    if note:
        console.print(note)
    console.print(f"{len(people)} contact(s) in the registry. See them: expertbot contacts list")
    if settings.sandbox:
        return
    logsetup.configure(app.secrets(settings))
    log.info("live mode: sending queued messages; stop with Ctrl+C or SIGTERM")
    asyncio.run(app.Service(settings).run())
