"""Engine set-up and the one place that commits: session_scope(); reads go through read_scope()."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot.config import async_database_url

SQLITE_BUSY_TIMEOUT_MS = 5000
# An execution option on the engine that read sessions use: their transactions begin deferred.
READ_ONLY = "expertbot_read_only"


def _sqlite_connect(busy_timeout_ms: int) -> Any:
    def set_pragmas(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy say when transactions begin (see _begin), not the driver.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        if ":memory:" not in str(getattr(dbapi_connection, "database", "")):
            # Readers see the last commit while a writer works, instead of waiting for it.
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        # SQLite's own lower() knows only ASCII; "Ērgļi" must match "ērgļi" as on PostgreSQL.
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)

    return set_pragmas


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _begin(connection: Any) -> None:
    # A deferred transaction that reads and then writes can fail at once with "database is
    # locked" when another connection writes meanwhile (waiting could deadlock, so SQLite
    # does not). So a writing session takes the write lock at BEGIN and writers queue up on
    # the busy timeout. A read session begins deferred: under WAL it takes no lock at all,
    # and query_only makes a write slipped into it fail loudly instead of taking the lock.
    read_only = bool(connection.get_execution_options().get(READ_ONLY))
    info = connection.connection.info
    if info.get(READ_ONLY) != read_only:
        connection.exec_driver_sql(f"PRAGMA query_only={'ON' if read_only else 'OFF'}")
        info[READ_ONLY] = read_only
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def make_engine(
    url: str, *, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS, **kwargs: Any
) -> AsyncEngine:
    """Create an async engine; SQLite gets WAL, foreign keys, a busy timeout, writing
    transactions that take the write lock when they begin and read ones that take none."""
    engine = create_async_engine(async_database_url(url), **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_connect(busy_timeout_ms))
        event.listen(engine.sync_engine, "begin", _begin)
    return engine


class Database:
    """The engine and two session factories; services get sessions from here."""

    def __init__(
        self, url: str, *, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS, **engine_kwargs: Any
    ) -> None:
        self.url = url
        self.engine = make_engine(url, busy_timeout_ms=busy_timeout_ms, **engine_kwargs)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.read_sessions = async_sessionmaker(
            self.engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )

    @asynccontextmanager
    async def session_scope(self, *, write: bool = True) -> AsyncIterator[AsyncSession]:
        """Yield a session that commits on success and rolls back on any error.

        `write=False` is read_scope(): for sessions that only read.
        """
        async with (self.sessions if write else self.read_sessions)() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    def read_scope(self) -> AbstractAsyncContextManager[AsyncSession]:
        """Yield a session for reading only: on SQLite it takes no lock and waits for no writer
        (WAL), and a write in it fails ("attempt to write a readonly database")."""
        return self.session_scope(write=False)

    async def dispose(self) -> None:
        await self.engine.dispose()
