"""`expertbot config`: look at the effective settings."""

from __future__ import annotations

import click
from rich.table import Table

from bot.cli.common import State, console, pass_state


@click.group()
def config() -> None:
    """Look at the settings."""


@config.command("show")
@pass_state
def show(state: State) -> None:
    """Print the effective settings, secrets masked."""
    table = Table("variable", "value", title="Effective settings (environment and .env)")
    for name, value in state.settings.masked().items():
        table.add_row(name, value)
    console.print(table)
    mode = "sandbox (nothing leaves this machine)" if state.settings.sandbox else "live"
    console.print(f"Mode: {mode}")
