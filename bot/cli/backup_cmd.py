"""`expertbot backup FILE` and `expertbot restore FILE`."""

from __future__ import annotations

import time
from pathlib import Path

import click

from bot.cli.common import State, console, fail, pass_state

FILE = click.Path(dir_okay=False, path_type=Path)


@click.command()
@click.argument("file", type=FILE)
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@pass_state
def backup(state: State, file: Path, force: bool) -> None:
    """Copy the database to FILE while the service runs (SQLite: its online backup;
    PostgreSQL: pg_dump's custom format)."""
    from bot.ops import backup as ops

    if file.exists() and not force:
        fail(f"{file} exists; choose a new name or add --force to replace it")
    started = time.monotonic()
    try:
        with console.status("Backing up…") as status:
            written = ops.backup(
                state.settings.database_url, file, lambda text: status.update(f"Backing up: {text}")
            )
    except ops.BackupError as error:
        fail(str(error))
    seconds = time.monotonic() - started
    console.print(
        f"Backed up to {written} ({ops.size_text(written)}, {seconds:.1f} s). "
        f"Restore with: expertbot restore {written}"
    )


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_state
def restore(state: State, file: Path) -> None:
    """Restore a backup FILE into an empty database (EXPERTBOT_DATABASE_URL)."""
    from bot.ops import backup as ops

    try:
        with console.status("Restoring…") as status:
            ops.restore(
                file, state.settings.database_url, lambda text: status.update(f"Restoring: {text}")
            )
    except ops.BackupError as error:
        fail(str(error))
    console.print(
        f"Restored {file}. If the backup comes from an older version, run: expertbot db upgrade "
        "(expertbot run does it on start)."
    )
