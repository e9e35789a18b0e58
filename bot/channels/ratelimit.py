"""Telegram's limits, kept by the sender: N messages a second overall, one a second per chat.

Two lanes share those limits. A reply (what a person is waiting for: a button's tick, a
command's answer, the next survey question) takes the next free slot ahead of queued bulk
messages (broadcasts, reminders), so a pressed button never waits behind a broadcast.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Awaitable, Callable
from typing import Literal, Protocol

# Why a booking failed: the chat had a message too recently, or everything is paused (429).
Blocked = Literal["chat", "paused"] | None


class Budget(Protocol):
    """Slots shared with other processes (the same bot on one database)."""

    async def book(
        self, chat_id: int, *, spacing: float, chat_interval: float
    ) -> tuple[float, Blocked]:
        """Book the next slot: (seconds until it, None), or (seconds to wait, why not)."""
        ...

    def pause(self, seconds: float) -> None: ...


class RateLimiter:
    """Space sends evenly at `rate` per second, keep each chat to one per `chat_interval`,
    and hold everything while Telegram has asked us to wait (429 retry_after).

    One caller at a time holds the turn: it books the next slot and sleeps until it, then
    hands the turn on, replies first. Slots are booked one at a time, not as callers arrive,
    so nobody is ever booked behind a queue of reserved slots. A caller that comes late to
    its slot by at most `burst` - 1 slots (a slow wake-up, a garbage collection) keeps the
    schedule, so the next ones catch up in a burst Telegram's bucket holds; a longer stall
    starts the schedule afresh: it costs its own length, not a 429 pause.

    With a `budget` (PostgreSQL), the slots are booked there, shared by every process
    sending as this bot (without the catching up); this process still decides who of its
    own callers goes next.
    """

    def __init__(
        self,
        rate: float,
        chat_interval: float = 1.0,
        *,
        burst: int = 3,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        budget: Budget | None = None,
    ) -> None:
        self.spacing = 1.0 / rate
        self.chat_interval = chat_interval
        self.slack = (max(burst, 1) - 1) * self.spacing
        self.budget = budget
        self._clock = clock
        self._sleep = sleep
        self._next_slot = 0.0
        self._chat_free: dict[int, float] = {}
        self.paused_until = 0.0
        self._turn_taken = False
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def pause(self, seconds: float) -> None:
        """Stop all sending for `seconds` (Telegram said retry_after)."""
        self.paused_until = max(self.paused_until, self._clock() + seconds)
        if self.budget is not None:
            self.budget.pause(seconds)

    async def acquire(self, chat_id: int, *, reply: bool = False) -> None:
        """Wait until one more message to `chat_id` is within every limit.

        `reply`: a person is waiting for this one; it goes ahead of bulk messages.
        """
        while True:
            await self._until_free(chat_id)
            await self._take_turn(reply)
            try:
                wait = await self._book(chat_id)
                if wait is not None and wait > 0:
                    await self._sleep(wait)
            finally:
                self._pass_turn()
            if wait is not None and self._clock() >= self.paused_until:
                self._forget_old()
                return

    async def _until_free(self, chat_id: int) -> None:
        while True:
            now = self._clock()
            blocked_until = max(self._chat_free.get(chat_id, 0.0), self.paused_until)
            if blocked_until <= now:
                return
            await self._sleep(blocked_until - now)

    async def _take_turn(self, reply: bool) -> None:
        if not self._turn_taken and not self._waiting:
            self._turn_taken = True
            return
        entry = (0 if reply else 1, next(self._order), asyncio.get_running_loop().create_future())
        heapq.heappush(self._waiting, entry)
        try:
            await entry[2]
        except asyncio.CancelledError:
            if entry[2].done() and not entry[2].cancelled():
                self._pass_turn()  # the turn came just as this caller was cancelled
            elif entry in self._waiting:
                self._waiting.remove(entry)
                heapq.heapify(self._waiting)
            raise

    def _pass_turn(self) -> None:
        while self._waiting:
            *_, future = heapq.heappop(self._waiting)
            if not future.done():
                future.set_result(None)  # the turn stays taken: it is theirs now
                return
        self._turn_taken = False

    async def _book(self, chat_id: int) -> float | None:
        """Book the next slot for `chat_id`: seconds until it, or None if it must wait again."""
        now = self._clock()
        if max(self._chat_free.get(chat_id, 0.0), self.paused_until) > now:
            return None  # another message to this chat took its turn meanwhile
        if self.budget is None:
            late = now - self._next_slot
            start = self._next_slot if late <= self.slack else now
            self._next_slot = start + self.spacing
            wait = max(start - now, 0.0)
        else:
            wait, blocked = await self.budget.book(
                chat_id, spacing=self.spacing, chat_interval=self.chat_interval
            )
            now = self._clock()
            if blocked == "paused":
                self.paused_until = max(self.paused_until, now + wait)
                return None
            if blocked == "chat":
                self._chat_free[chat_id] = max(self._chat_free.get(chat_id, 0.0), now + wait)
                return None
        self._chat_free[chat_id] = now + wait + self.chat_interval
        return wait

    def _forget_old(self) -> None:
        if len(self._chat_free) > 10_000:
            now = self._clock()
            self._chat_free = {c: t for c, t in self._chat_free.items() if t > now}
