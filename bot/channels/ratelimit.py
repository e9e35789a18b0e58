"""Telegram's limits, kept by the sender: N messages a second overall, one a second per chat."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class RateLimiter:
    """Space sends evenly at `rate` per second, keep each chat to one per `chat_interval`,
    and hold everything while Telegram has asked us to wait (429 retry_after).

    Telegram counts with a token bucket that holds only a small burst. When the event loop
    is held up (a garbage collection, a long render), the callers whose slots passed in the
    meantime all wake at once; letting them all go would overflow that bucket and earn a
    429, whose retry_after stops every chat for a second or more. So a message also passes
    a gate that lets at most `burst` out at once and the rest at `rate` again: a stall
    costs its own length, not a pause.
    """

    def __init__(
        self,
        rate: float,
        chat_interval: float = 1.0,
        *,
        burst: int = 3,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.spacing = 1.0 / rate
        self.chat_interval = chat_interval
        self.slack = (max(burst, 1) - 1) * self.spacing
        self._clock = clock
        self._sleep = sleep
        self._next_slot = 0.0
        self._next_release = 0.0  # when the gate is back to an even pace
        self._chat_free: dict[int, float] = {}
        self.paused_until = 0.0

    def pause(self, seconds: float) -> None:
        """Stop all sending for `seconds` (Telegram said retry_after)."""
        self.paused_until = max(self.paused_until, self._clock() + seconds)

    async def acquire(self, chat_id: int) -> None:
        """Wait until one more message to `chat_id` is within every limit."""
        while True:
            now = self._clock()
            blocked_until = max(self._chat_free.get(chat_id, 0.0), self.paused_until)
            if blocked_until > now:
                await self._sleep(blocked_until - now)
                continue
            # Reserve both slots before any await, so concurrent callers never share one.
            start = max(now, self._next_slot)
            self._next_slot = start + self.spacing
            self._chat_free[chat_id] = start + self.chat_interval
            if start > now:
                await self._sleep(start - now)
            if self._clock() < self.paused_until:
                continue
            await self._gate()
            if self._clock() >= self.paused_until:
                self._forget_old(now)
                return

    async def _gate(self) -> None:
        """Let at most `burst` callers through at once, then one per `spacing` again."""
        while True:
            now = self._clock()
            wait = self._next_release - self.slack - now
            if wait <= 0:
                self._next_release = max(self._next_release, now) + self.spacing
                return
            await self._sleep(wait)

    def _forget_old(self, now: float) -> None:
        if len(self._chat_free) > 10_000:
            self._chat_free = {c: t for c, t in self._chat_free.items() if t > now}
