"""Work one instance does for all on a shared PostgreSQL: advisory locks and days done.

On SQLite there is one process, so every lock is granted at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import DatabaseMark
from bot.db.session import Database


def lock_key(name: str) -> int:
    """A stable 64-bit advisory lock number for `name`."""
    digest = hashlib.sha256(f"expertbot:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def try_lock_for_transaction(session: AsyncSession, name: str) -> bool:
    """Take the lock `name` until the session's transaction ends; False if another has it."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(await session.scalar(select(func.pg_try_advisory_xact_lock(lock_key(name)))))


@asynccontextmanager
async def held(database: Database, name: str) -> AsyncIterator[bool]:
    """Hold the lock `name` while the block runs; yield False if another instance has it.

    The lock lives in a transaction of its own that does nothing else, so it ends with the
    block, or with the connection if the process dies.
    """
    if database.engine.dialect.name != "postgresql":
        yield True
        return
    async with database.engine.begin() as connection:
        taken = await connection.scalar(select(func.pg_try_advisory_xact_lock(lock_key(name))))
        yield bool(taken)


def _day_key(job: str) -> str:
    return f"done:{job}"


async def last_day(database: Database, job: str) -> date | None:
    """The last local day `job` was done on, by any instance."""
    async with database.session_scope() as session:
        value = await session.scalar(
            select(DatabaseMark.value).where(DatabaseMark.key == _day_key(job))
        )
    return date.fromisoformat(value) if value else None


async def record_day(database: Database, job: str, day: date) -> None:
    """Note that `job` is done for `day`."""
    async with database.session_scope() as session:
        mark = await session.get(DatabaseMark, _day_key(job))
        if mark is None:
            session.add(DatabaseMark(key=_day_key(job), value=day.isoformat()))
        else:
            mark.value = day.isoformat()
