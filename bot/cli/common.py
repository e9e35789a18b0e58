"""What every command shares: settings, the database, the console and async running."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
from rich.console import Console

from bot.config import Settings, SettingsError, load_settings
from bot.db.session import Database

T = TypeVar("T")

# Piped output (a file, a test, CI) gets wide tables instead of rich's 80 columns.
_WIDTH = None if sys.stdout.isatty() else 160
console = Console(highlight=False, width=_WIDTH)
errors = Console(stderr=True, highlight=False, width=_WIDTH)


class State:
    """Loaded on first use, so `--help` works even when a setting is broken."""

    def __init__(self) -> None:
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_settings()
            except SettingsError as error:
                for line in str(error).splitlines():
                    errors.print(f"[red]Setting error:[/] {line}", soft_wrap=True)
                sys.exit(2)
        return self._settings


pass_state = click.make_pass_decorator(State, ensure=True)


def with_database(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run async work against the configured database, then close it."""

    async def runner() -> T:
        database = Database(settings.database_url)
        try:
            return await work(database)
        finally:
            await database.dispose()

    return asyncio.run(runner())


def fail(message: str, code: int = 1) -> Any:
    errors.print(f"[red]Error:[/] {message}", soft_wrap=True)
    sys.exit(code)
