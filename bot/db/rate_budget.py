"""Telegram's rate budget in PostgreSQL, so that every instance on one database shares it.

Each booking is one short transaction: lock the budget row (every booking queues up on that
lock, so two instances never take the same slot), read the chat's next free moment, and, if
the chat and the bot are free, move the budget's next slot on and the chat's free moment
with it. All times are seconds of the database server's clock, so instances on machines
whose clocks differ still space their messages correctly: a booking answers "in how many
seconds", never "at what time".

Unlike one process's own limiter, a booking that comes late does not catch up on the slots
it missed: with several instances one of them has nearly always booked ahead, and a stalled
instance sending its late message next to the others' on-time ones would be a burst.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Literal

from sqlalchemy import Double, cast, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.db.models import RateBudget, RateChatSlot
from bot.db.session import Database

log = logging.getLogger("expertbot.telegram")
NAME = "telegram"
PRUNE_EVERY = 500  # bookings between two clean-ups of chats that are long free again
_NOW = cast(func.extract("epoch", func.clock_timestamp()), Double)  # the database's clock


class DatabaseBudget:
    """Book overall and per-chat slots in the database (PostgreSQL only)."""

    def __init__(self, database: Database, name: str = NAME) -> None:
        self.database = database
        self.name = name
        self._bookings = 0
        self._pauses: set[asyncio.Task[None]] = set()

    async def book(
        self, chat_id: int, *, spacing: float, chat_interval: float
    ) -> tuple[float, Literal["chat", "paused"] | None]:
        """Book the next slot: (seconds until it, None), or (seconds to wait, why not)."""
        async with self.database.engine.begin() as connection:
            next_slot, paused_until = await self._lock(connection)
            # A statement of its own, after the lock: it sees what the last holder committed.
            now, free_at = (
                await connection.execute(
                    select(
                        _NOW,
                        select(RateChatSlot.free_at)
                        .where(RateChatSlot.chat_id == chat_id)
                        .scalar_subquery(),
                    )
                )
            ).one()
            if paused_until > now:
                return paused_until - now, "paused"
            if free_at is not None and free_at > now:
                return free_at - now, "chat"
            start = max(next_slot, now)
            await connection.execute(
                update(RateBudget)
                .where(RateBudget.name == self.name)
                .values(next_slot=start + spacing)
            )
            chat = insert(RateChatSlot).values(chat_id=chat_id, free_at=start + chat_interval)
            await connection.execute(
                chat.on_conflict_do_update(
                    index_elements=[RateChatSlot.chat_id], set_={"free_at": chat.excluded.free_at}
                )
            )
            self._bookings += 1
            if self._bookings % PRUNE_EVERY == 0:
                await connection.execute(delete(RateChatSlot).where(RateChatSlot.free_at < now))
        return max(start - now, 0.0), None

    async def _lock(self, connection: AsyncConnection) -> tuple[float, float]:
        query = (
            select(RateBudget.next_slot, RateBudget.paused_until)
            .where(RateBudget.name == self.name)
            .with_for_update()
        )
        row = (await connection.execute(query)).one_or_none()
        if row is None:  # the first booking ever: make the row, then take its lock
            await connection.execute(
                insert(RateBudget)
                .values(name=self.name, next_slot=0.0, paused_until=0.0)
                .on_conflict_do_nothing()
            )
            row = (await connection.execute(query)).one()
        return float(row[0]), float(row[1])

    def pause(self, seconds: float) -> None:
        """Hold every instance for `seconds` (Telegram said retry_after to one of them)."""
        task = asyncio.get_running_loop().create_task(self._pause(seconds))
        self._pauses.add(task)
        task.add_done_callback(self._pauses.discard)

    async def _pause(self, seconds: float) -> None:
        try:
            async with self.database.engine.begin() as connection:
                await connection.execute(
                    update(RateBudget)
                    .where(RateBudget.name == self.name)
                    .values(paused_until=func.greatest(RateBudget.paused_until, _NOW + seconds))
                )
        except Exception:  # this process still pauses itself; the others will hear a 429
            log.exception("could not share a Telegram pause with the other instances")


def shared_budget(database: Database) -> DatabaseBudget | None:
    """The database's budget on PostgreSQL; None on SQLite (one process: its own limiter)."""
    if database.engine.dialect.name != "postgresql":
        return None
    return DatabaseBudget(database)
