"""`expertbot db`: migrate the database."""

from __future__ import annotations

import click

from bot.cli.common import State, console, pass_state
from bot.db import migrate


@click.group()
def db() -> None:
    """Create or migrate the database."""


@db.command("upgrade")
@click.argument("revision", default="head")
@pass_state
def upgrade(state: State, revision: str) -> None:
    """Bring the database to the newest schema (or REVISION)."""
    migrate.upgrade(state.settings.database_url, revision)
    console.print(f"Database is at {revision}.")


@db.command("downgrade")
@click.argument("revision")
@pass_state
def downgrade(state: State, revision: str) -> None:
    """Step the schema back to REVISION ('base' drops every table)."""
    migrate.downgrade(state.settings.database_url, revision)
    console.print(f"Database is at {revision}.")


@db.command("current")
@pass_state
def current(state: State) -> None:
    """Show the schema revision the database is at."""
    migrate.current(state.settings.database_url)
