"""`expertbot run`: start the service, or the offline playground when there are no credentials."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import webbrowser
from pathlib import Path

import click
from rich.panel import Panel

from bot import app, logsetup
from bot.cli.common import State, console, fail, pass_state, with_database
from bot.config import Settings, SettingsError
from bot.db import migrate
from bot.db.session import Database
from bot.playground.app import playground as build_playground
from bot.playground.runtime import Playground
from bot.services import demo, marks
from bot.services.clock import ShiftedClock

log = logging.getLogger("expertbot")
SANDBOX = (
    "mode: sandbox (no Telegram token and no SMTP host): Telegram and email are simulated "
    "in this process; nothing leaves this machine"
)


def describe_mode(settings: Settings) -> str:
    if settings.sandbox:
        return SANDBOX
    channels = [
        name
        for name, on in (("Telegram", settings.telegram_token), ("email", settings.smtp_host))
        if on
    ]
    return f"mode: live: sending by {' and '.join(channels)}"


@click.command()
@click.option(
    "--demo", is_flag=True, help="Load the invented demo network first (sandbox, empty database)."
)
@click.option("--no-browser", is_flag=True, help="Do not open the playground in a browser.")
@click.option(
    "--use-existing-database",
    is_flag=True,
    help="Let the playground use a database it did not create (it links chats and invites).",
)
@pass_state
def run(state: State, demo: bool, no_browser: bool, use_existing_database: bool) -> None:
    """Migrate the database and start the service; without credentials, the playground."""
    settings = state.settings
    logsetup.configure(app.secrets(settings), fmt=settings.log_format)
    if demo and not settings.sandbox:
        fail(
            "--demo is for the sandbox only: the demo's invented people must never get real "
            "messages. Unset EXPERTBOT_TELEGRAM_TOKEN and EXPERTBOT_SMTP_HOST to try it."
        )
    log.info(describe_mode(settings))
    _check_sqlite_folder(settings.database_url)
    migrate.upgrade(settings.database_url)
    console.print(f"Database ready: {settings.masked()['EXPERTBOT_DATABASE_URL']}")
    if not settings.sandbox:
        log.info("sending queued messages; stop with Ctrl+C or SIGTERM")
        try:
            asyncio.run(app.Service(settings).run())
        except SettingsError as error:  # unsafe settings: one line that says what to do
            fail(str(error))
        return
    clock = ShiftedClock()
    _load_demo_if_empty(settings, clock, explicit=demo)
    _claim_database(settings, allowed=use_existing_database)
    playground = build_playground(settings, clock, on_ready=lambda p: _ready(p, not no_browser))
    asyncio.run(playground.run())
    console.print(
        "Playground stopped. The database keeps the answers, the chats, the mailboxes and the "
        "playground's time: run it again to go on."
    )


def _check_sqlite_folder(url: str) -> None:
    """A SQLite file in a folder that does not exist: one line now, not the driver's noise."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    folder = Path(str(parsed.database)).parent
    if not folder.is_dir():
        fail(
            f"cannot open the SQLite database ({parsed.database}): the folder {folder} does "
            "not exist. Create it, or fix EXPERTBOT_DATABASE_URL."
        )


def _load_demo_if_empty(settings: Settings, clock: ShiftedClock, *, explicit: bool) -> None:
    async def work(database: Database) -> demo.DemoSummary | None:
        async with database.session_scope() as session:
            if not await demo.is_empty(session):
                return None
            return await demo.load_demo(session, now=clock.now(), zone=settings.zone)

    loaded = with_database(settings, work)
    if loaded is None:
        if explicit:
            console.print(
                "The database already has contacts, so the demo was not loaded; the playground "
                "shows what is there. For a fresh demo, point EXPERTBOT_DATABASE_URL at a new file."
            )
        return
    console.print(
        f"Empty database: loaded the demo network ({loaded.contacts}), "
        f"{len(loaded.events)} events, {len(loaded.surveys)} survey(s) and "
        f"{loaded.recommendations} recommendations."
    )


def _claim_database(settings: Settings, *, allowed: bool) -> None:
    """The playground writes (invite tokens, emulated chats, invitations): only to its own."""

    async def work(database: Database) -> int | None:
        async with database.session_scope() as session:
            if await marks.is_sandbox(session):
                return None
            if allowed:
                await marks.mark_sandbox(session, "allowed with --use-existing-database")
                return None
            return await demo.contact_count(session)

    count = with_database(settings, work)
    if count is not None:
        fail(
            f"This database ({count} contacts) was not made by the playground, and the playground "
            "would change it: it issues Telegram links, links chats to emulated accounts and "
            "sends invitations. If it is the live service's database, set "
            "EXPERTBOT_TELEGRAM_TOKEN / EXPERTBOT_SMTP_HOST to run the real service. To try the "
            "playground, point EXPERTBOT_DATABASE_URL at a new file (e.g. sqlite:///playground.db)"
            ", or pass --use-existing-database if this is a copy you can spare."
        )


def _ready(playground: Playground, browser: bool) -> None:
    people = len(playground.users)
    console.print(
        Panel.fit(
            f"[bold]Open {playground.url}/[/] in a browser.\n"
            f"Every contact's Telegram chat ({people} on Telegram) and mailbox, the coordinator's "
            "view and a time control.\nNothing leaves this machine. Stop with Ctrl+C.",
            title="expertbot playground",
            border_style="yellow",
        )
    )
    log.info("playground on %s/", playground.url)
    if browser and _graphical():
        webbrowser.open(f"{playground.url}/")


def _graphical() -> bool:
    """A terminal on a desktop: webbrowser would otherwise start a text browser in it."""
    if not sys.stdout.isatty():
        return False
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
