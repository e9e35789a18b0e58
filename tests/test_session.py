"""Sessions: writers take SQLite's write lock at BEGIN, readers take none and never wait."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from bot.db.models import Contact
from bot.db.session import Database
from tests.test_outbox import add_contact


@pytest.fixture
def write_lock(sqlite_url: str) -> Iterator[sqlite3.Connection]:
    """Another process's connection in the middle of a write transaction."""
    raw = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    yield raw
    if raw.in_transaction:
        raw.execute("ROLLBACK")
    raw.close()


async def test_a_read_session_answers_while_another_connection_holds_the_write_lock(
    sqlite_url: str, write_lock: sqlite3.Connection
) -> None:
    database = Database(sqlite_url, busy_timeout_ms=50)
    await add_contact(database)
    write_lock.execute("BEGIN IMMEDIATE")
    write_lock.execute("UPDATE contacts SET name = 'Renamed'")
    async with database.read_scope() as session:
        names = list(await session.scalars(select(Contact.name)))
    assert names == ["Ilze Kalniņa"]  # the last commit, not the writer's unfinished work
    with pytest.raises(OperationalError, match="database is locked"):
        async with database.session_scope() as session:
            await session.execute(text("SELECT 1"))
    await database.dispose()


async def test_a_write_slipped_into_a_read_session_fails_instead_of_taking_the_lock(
    sqlite_url: str,
) -> None:
    database = Database(sqlite_url)
    await add_contact(database)
    with pytest.raises(OperationalError, match="readonly"):
        async with database.read_scope() as session:
            await session.execute(text("DELETE FROM contacts"))
    async with database.read_scope() as session:
        assert await session.scalar(select(func.count()).select_from(Contact)) == 1
    await database.dispose()


async def test_a_connection_that_served_a_read_writes_again_afterwards(sqlite_url: str) -> None:
    # One pooled connection serves both kinds of session in turn.
    database = Database(sqlite_url, pool_size=1, max_overflow=0)
    for name in ("Jānis", "Mari", "Līga"):
        async with database.read_scope() as session:
            before = await session.scalar(select(func.count()).select_from(Contact))
        await add_contact(database, name, None, None)
        async with database.read_scope() as session:
            assert await session.scalar(select(func.count()).select_from(Contact)) == before + 1
    await database.dispose()


async def test_read_scope_reads_what_session_scope_committed(database: Database) -> None:
    contact = await add_contact(database)
    async with database.read_scope() as session:
        found = await session.get(Contact, contact)
    assert found is not None and found.name == "Ilze Kalniņa"


async def test_a_write_session_opened_inside_another_of_the_same_task_does_not_queue(
    sqlite_url: str,
) -> None:
    # As a form does: read in a writing session, roll back on an error, show the page from
    # a second session. Writers of one process queue for the lock; this one must not wait
    # for the session it is inside of.
    database = Database(sqlite_url, busy_timeout_ms=60_000)

    async def form_with_an_error() -> int:
        async with database.session_scope() as outer:
            await outer.execute(select(Contact.id))
            await outer.rollback()
            return await add_contact(database, "Kadri Tamm", None, None)

    assert await asyncio.wait_for(form_with_an_error(), 5) > 0
    await database.dispose()
