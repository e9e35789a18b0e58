"""Shared fixtures: clean settings, migrated SQLite and PostgreSQL databases, the CLI."""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from click.testing import CliRunner, Result
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli import main
from bot.db import migrate
from bot.db.session import Database
from tests import pgserver

DATA = Path(__file__).parent / "data"
SHARED_EXAMPLES = Path(__file__).resolve().parents[2] / "shared" / "examples"


def in_thread(factory: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """Run a coroutine to completion on its own loop, even from inside a running one."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(factory())
        except BaseException as error:  # re-raised in the caller's thread
            box["error"] = error

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")


T = TypeVar("T")


def query(url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run one read (or write) against a test database, outside the code under test."""

    async def run() -> T:
        database = Database(url)
        try:
            async with database.session_scope() as session:
                return await work(session)
        finally:
            await database.dispose()

    return in_thread(run)  # type: ignore[no-any-return]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep a developer's own EXPERTBOT_* settings and .env out of every test."""
    for name in list(os.environ):
        if name.startswith("EXPERTBOT_") and name != pgserver.ENV_URL:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


# --- SQLite -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A migrated SQLite file of this test's own."""
    path = tmp_path / "expertbot.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


# --- PostgreSQL ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The admin URL of a real PostgreSQL server on loopback."""
    given = os.environ.get(pgserver.ENV_URL)
    if given:
        yield given
        return
    try:
        server = pgserver.TempPostgres()
        url = server.start()
    except pgserver.Unavailable as reason:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI: {reason}")
        pytest.skip(f"no PostgreSQL server: {reason}")
    try:
        yield url
    finally:
        server.stop()


def _with_database(admin_url: str, name: str) -> str:
    return admin_url.rsplit("/", 1)[0] + "/" + name


def _admin(admin_url: str, *statements: str) -> None:
    async def run() -> None:
        connection = await asyncpg.connect(admin_url)
        try:
            for statement in statements:
                await connection.execute(statement)
        finally:
            await connection.close()

    in_thread(run)


_numbers = itertools.count()


@pytest.fixture
def postgres_empty(postgres_server: str) -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped afterwards."""
    name = f"expertbot_test_{os.getpid()}_{next(_numbers)}"
    _admin(postgres_server, f'CREATE DATABASE "{name}"')
    yield _with_database(postgres_server, name)
    _admin(postgres_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_template(postgres_server: str) -> Iterator[str]:
    name = f"expertbot_template_{os.getpid()}"
    _admin(postgres_server, f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')
    in_thread(_async_upgrade(_with_database(postgres_server, name)))
    yield name
    _admin(postgres_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _async_upgrade(url: str) -> Callable[[], Coroutine[Any, Any, None]]:
    async def run() -> None:
        await asyncio.to_thread(migrate.upgrade, url)

    return run


@pytest.fixture
def postgres_url(postgres_server: str, postgres_template: str) -> Iterator[str]:
    """A migrated PostgreSQL database of this test's own."""
    name = f"expertbot_test_{os.getpid()}_{next(_numbers)}"
    _admin(postgres_server, f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"')
    yield _with_database(postgres_server, name)
    _admin(postgres_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- Either -------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    """A migrated database; tests using this run once on SQLite and once on PostgreSQL."""
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    db = Database(db_url)
    yield db
    await db.dispose()


@pytest.fixture
async def sqlite_database(sqlite_url: str) -> AsyncIterator[Database]:
    db = Database(sqlite_url)
    yield db
    await db.dispose()


# --- CLI ----------------------------------------------------------------------------------


class Cli:
    """Invoke `expertbot` in-process against one database, as a user would type it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None, **env: str) -> Result:
        environment = {"EXPERTBOT_DATABASE_URL": self.url, **env}
        return self.runner.invoke(
            main, list(args), env=environment, input=input, catch_exceptions=False
        )


@pytest.fixture
def cli(sqlite_url: str) -> Cli:
    return Cli(sqlite_url)
