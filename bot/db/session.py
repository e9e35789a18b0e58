"""Engine set-up and the one place that commits: session_scope(); reads go through read_scope()."""

from __future__ import annotations

import asyncio
import weakref
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


def _sqlite_connect(busy_timeout_ms: int, read_only: bool) -> Any:
    def set_pragmas(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy say when transactions begin (see _begin_*), not the driver.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        if ":memory:" not in str(getattr(dbapi_connection, "database", "")):
            # Readers see the last commit while a writer works, instead of waiting for it.
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        if read_only:
            # A write slipped into a read session fails loudly instead of taking the lock.
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()
        # SQLite's own lower() knows only ASCII; "Ērgļi" must match "ērgļi" as on PostgreSQL.
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)

    return set_pragmas


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _begin_immediate(connection: Any) -> None:
    # A deferred transaction that reads and then writes can fail at once with "database is
    # locked" when another connection writes meanwhile (waiting could deadlock, so SQLite
    # does not). Taking the write lock at BEGIN makes writers queue up on the busy timeout.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _begin_deferred(connection: Any) -> None:
    # Reading only: under WAL a deferred transaction takes no lock and waits for no writer.
    connection.exec_driver_sql("BEGIN")


def make_engine(
    url: str,
    *,
    busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
    read_only: bool = False,
    **kwargs: Any,
) -> AsyncEngine:
    """Create an async engine; SQLite gets WAL, foreign keys, a busy timeout and transactions
    that take the write lock when they begin (read_only: take none and refuse writes)."""
    engine = create_async_engine(async_database_url(url), **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_connect(busy_timeout_ms, read_only))
        begin = _begin_deferred if read_only else _begin_immediate
        event.listen(engine.sync_engine, "begin", begin)
    return engine


class Database:
    """The engines and session factories; services get sessions from here.

    On SQLite, reading sessions have connections of their own (query_only, deferred BEGIN),
    so a connection never switches between the two kinds.
    """

    def __init__(
        self, url: str, *, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS, **engine_kwargs: Any
    ) -> None:
        self.url = url
        self.engine = make_engine(url, busy_timeout_ms=busy_timeout_ms, **engine_kwargs)
        self.read_engine = self.engine
        if self.engine.dialect.name == "sqlite" and self.engine.url.database not in (
            None,
            "",
            ":memory:",
        ):
            self.read_engine = make_engine(
                url, busy_timeout_ms=busy_timeout_ms, read_only=True, **engine_kwargs
            )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.read_sessions = async_sessionmaker(self.read_engine, expire_on_commit=False)
        # SQLite lets one writer in at a time and makes the others poll with growing sleeps
        # (up to 100 ms each). Writers of this process queue here instead, first come first
        # served, and meet SQLite's busy timeout only against other processes.
        self.busy_timeout = busy_timeout_ms / 1000
        self._queue_writers = self.read_engine is not self.engine
        self._writer_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]
        self._writer_locks = weakref.WeakKeyDictionary()
        self._writer_tasks: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, asyncio.Task[Any] | None
        ] = weakref.WeakKeyDictionary()

    @asynccontextmanager
    async def session_scope(self, *, write: bool = True) -> AsyncIterator[AsyncSession]:
        """Yield a session that commits on success and rolls back on any error.

        `write=False` is read_scope(): for sessions that only read.
        """
        factory = self.sessions if write else self.read_sessions
        async with self._turn_to_write(write), factory() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    @asynccontextmanager
    async def _turn_to_write(self, write: bool) -> AsyncIterator[None]:
        if not (write and self._queue_writers):
            yield
            return
        loop, task = asyncio.get_running_loop(), asyncio.current_task()
        lock = self._writer_locks.setdefault(loop, asyncio.Lock())
        if lock.locked() and self._writer_tasks.get(loop) is task:
            # A write session opened inside another of the same task (the outer may have
            # ended its transaction already): SQLite decides, as without this queue.
            yield
            return
        try:
            # Opened by a task the writer waits for, it would wait forever: after the busy
            # timeout it goes on and SQLite says "locked".
            await asyncio.wait_for(lock.acquire(), self.busy_timeout)
        except TimeoutError:
            yield
            return
        self._writer_tasks[loop] = task
        try:
            yield
        finally:
            self._writer_tasks.pop(loop, None)
            lock.release()

    def read_scope(self) -> AbstractAsyncContextManager[AsyncSession]:
        """Yield a session for reading only: on SQLite it takes no lock and waits for no writer
        (WAL), and a write in it fails ("attempt to write a readonly database")."""
        return self.session_scope(write=False)

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()
