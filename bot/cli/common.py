"""What every command shares: settings, the database, the console and async running.

Settings, the database layer and rich are imported on first use, not with this module:
`expertbot --help` loads only click (tests/test_cli_startup.py).
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from rich.console import Console

    from bot.config import Settings
    from bot.db.session import Database
    from bot.services.delivery.outbox import DeliveryPolicy

    console: Console
    errors: Console

T = TypeVar("T")

_consoles: dict[str, Console] = {}


def __getattr__(name: str) -> Any:
    """Build `console` (stdout) and `errors` (stderr) when a command first prints."""
    if name not in ("console", "errors"):
        raise AttributeError(name)
    if name not in _consoles:
        from rich.console import Console

        # Piped output (a file, a test, CI) gets wide tables instead of rich's 80 columns.
        width = None if sys.stdout.isatty() else 160
        _consoles[name] = Console(stderr=name == "errors", highlight=False, width=width)
    return _consoles[name]


class State:
    """Loaded on first use, so `--help` works even when a setting is broken."""

    def __init__(self) -> None:
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from bot.config import SettingsError, load_settings

            try:
                self._settings = load_settings()
            except SettingsError as error:
                for line in str(error).splitlines():
                    __getattr__("errors").print(f"[red]Setting error:[/] {line}", soft_wrap=True)
                sys.exit(2)
        return self._settings

    @property
    def database_url(self) -> str | None:
        """The configured database, if the settings were loaded."""
        return self._settings.database_url if self._settings is not None else None


pass_state = click.make_pass_decorator(State, ensure=True)


def with_database(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """Run async work against the configured database, then close it."""
    import asyncio
    import sqlite3

    from bot.db.session import Database

    folder = _sqlite_folder(settings.database_url)
    if folder is not None and not folder.is_dir():
        # Said before the driver tries: its failed open leaves a worker thread behind.
        missing = sqlite3.OperationalError("unable to open database file")
        fail(str(database_trouble(missing, settings.database_url)))

    async def runner() -> T:
        database = Database(settings.database_url)
        try:
            return await work(database)
        finally:
            await database.dispose()

    return asyncio.run(runner())


def fail(message: str, code: int = 1) -> Any:
    __getattr__("errors").print(f"[red]Error:[/] {message}", soft_wrap=True)
    sys.exit(code)


def database_trouble(error: BaseException, url: str | None = None) -> str | None:
    """Say in one line what is wrong with the database and what to do; None if it is not that."""
    cause = getattr(error, "orig", None) or error  # SQLAlchemy wraps the driver's error
    text = str(cause).lower()
    where = _where(url)
    if "database is locked" in text or "database table is locked" in text:
        return (
            f"the database{where} is busy: another program (the running service, an import "
            "or a backup) is writing to it. Try again in a moment."
        )
    if "unable to open database file" in text:
        return (
            f"cannot open the SQLite database{where}: check EXPERTBOT_DATABASE_URL and that "
            "its folder exists and is writable."
        )
    if "no such table" in text or ("relation" in text and "does not exist" in text):
        return f"the database{where} has no tables yet: run `expertbot db upgrade` first."
    if "password authentication failed" in text or type(cause).__name__ == "InvalidPasswordError":
        return f"the database{where} refused the user name or password in EXPERTBOT_DATABASE_URL."
    if type(cause).__name__ == "InvalidCatalogNameError":
        return f"the database{where} does not exist: create it, then run `expertbot db upgrade`."
    if isinstance(cause, OSError) or type(cause).__name__ in (
        "CannotConnectNowError",
        "ConnectionDoesNotExistError",
        "TooManyConnectionsError",
    ):
        reason = (
            "connection refused"
            if isinstance(cause, ConnectionRefusedError)
            else getattr(cause, "strerror", None) or str(cause).split(":")[-1].strip()
        )
        return (
            f"cannot reach the database{where} ({reason or type(cause).__name__}): is the "
            "database server running? Check EXPERTBOT_DATABASE_URL."
        )
    return None


def _sqlite_folder(url: str) -> Path | None:
    """The folder of a SQLite file database, None for anything else."""
    if not url.startswith("sqlite:///") or ":memory:" in url:
        return None
    return Path(url.removeprefix("sqlite:///").split("?", 1)[0]).parent


def _where(url: str | None) -> str:
    """Where the database is, for a message: the SQLite file or host/name, never a password."""
    if not url:
        return ""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:  # an unparsable URL is named by the settings check, not here
        return ""
    if parsed.get_backend_name() == "sqlite":
        return f" ({parsed.database})" if parsed.database else ""
    port = f":{parsed.port}" if parsed.port else ""
    return f" ({parsed.host or 'localhost'}{port}/{parsed.database or ''})"


def delivery_policy(settings: Settings) -> DeliveryPolicy:
    """The service's time zone and quiet hours (what bot.app uses, without loading the app)."""
    from bot.services.delivery.outbox import DeliveryPolicy

    return DeliveryPolicy(settings.zone, settings.quiet)


class Rows:
    """Print rows as a table when there are few; past `limit`, as tab-separated lines as they
    come, so that 50,000 contacts neither wait for nor fill memory with one rich table."""

    def __init__(self, *header: str, title: str | None = None, limit: int = 500) -> None:
        self.header, self.title, self.limit = header, title, limit
        self.waiting: list[list[str]] | None = []  # None once streaming

    def add(self, *values: str) -> None:
        row = [v.replace("\t", " ").replace("\n", " ") for v in values]
        if self.waiting is None:
            click.echo("\t".join(row))
            return
        self.waiting.append(row)
        if len(self.waiting) > self.limit:
            click.echo("\t".join(self.header))
            click.echo("\n".join("\t".join(r) for r in self.waiting))
            self.waiting = None

    def close(self) -> None:
        """Print the table if it was small enough to wait for."""
        if self.waiting is None:
            return
        from rich.markup import escape
        from rich.table import Table

        table = Table(*self.header, title=self.title)
        for row in self.waiting:
            table.add_row(*(escape(v) for v in row))
        __getattr__("console").print(table)
