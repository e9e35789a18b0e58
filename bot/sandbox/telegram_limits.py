"""Telegram's flood limits (token buckets), injected faults, and counters for benchmarks."""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.telegram_errors import ApiError, forbidden, too_many_requests


@dataclass
class RateLimits:
    """How many messages Telegram lets through; a burst is what a full bucket holds."""

    per_second: float = 30.0  # all chats together
    burst: float = 30.0
    per_chat_per_second: float = 1.0  # one private chat
    per_chat_burst: float = 3.0
    group_per_minute: float = 20.0  # one group chat
    group_burst: float = 5.0
    enabled: bool = True


class TokenBucket:
    """Refill `rate` tokens a second up to `capacity`; a message takes one."""

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = max(capacity, 1.0)
        self.tokens = self.capacity
        self.updated = now

    def wait(self, now: float) -> float:
        """Return how long until a token is available (0 if one is there now)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        """Use one token."""
        self.tokens -= 1


class RateLimiter:
    """Apply the overall and per-chat limits to messages the bot sends."""

    def __init__(self, limits: RateLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self.rejected = 0
        self.rejected_by_chat: Counter[int] = Counter()
        self._global: TokenBucket | None = None
        self._chats: dict[int, TokenBucket] = {}

    def reset(self) -> None:
        """Refill every bucket (and pick up changed limits)."""
        self._global = None
        self._chats.clear()

    def check(self, chat_id: int, group: bool) -> None:
        """Take a token for one message to `chat_id`, or raise 429 with retry_after."""
        if not self.limits.enabled:
            return
        now = self.clock()
        buckets = [self._overall(now), self._chat(chat_id, group, now)]
        wait = max(bucket.wait(now) for bucket in buckets)
        if wait > 0:
            self.rejected += 1
            self.rejected_by_chat[chat_id] += 1
            raise too_many_requests(math.ceil(wait))
        for bucket in buckets:
            bucket.take()

    def _overall(self, now: float) -> TokenBucket:
        if self._global is None:
            self._global = TokenBucket(self.limits.per_second, self.limits.burst, now)
        return self._global

    def _chat(self, chat_id: int, group: bool, now: float) -> TokenBucket:
        if chat_id not in self._chats:
            limits = self.limits
            rate, burst = (
                (limits.group_per_minute / 60, limits.group_burst)
                if group
                else (limits.per_chat_per_second, limits.per_chat_burst)
            )
            self._chats[chat_id] = TokenBucket(rate, burst, now)
        return self._chats[chat_id]


@dataclass(frozen=True)
class Fault:
    """Something that goes wrong with one request instead of (or before) the real answer."""

    kind: str  # "error", "drop" or "delay"
    error: ApiError | None = None
    seconds: float = 0.0

    @classmethod
    def http_error(cls, status: int, description: str, **parameters: Any) -> Fault:
        """Answer with this HTTP status and description."""
        return cls("error", ApiError(status, description, **parameters))

    @classmethod
    def bad_gateway(cls) -> Fault:
        """Answer 502 Bad Gateway, as Telegram's front end does when overloaded."""
        return cls.http_error(502, "Bad Gateway")

    @classmethod
    def server_error(cls) -> Fault:
        """Answer 500 Internal Server Error."""
        return cls.http_error(500, "Internal Server Error")

    @classmethod
    def too_many_requests(cls, retry_after: int = 1) -> Fault:
        """Answer 429 with this retry_after, whatever the rate limiter thinks."""
        return cls("error", too_many_requests(retry_after))

    @classmethod
    def blocked(cls) -> Fault:
        """Answer 403 as if the user had blocked the bot."""
        return cls("error", forbidden("bot was blocked by the user"))

    @classmethod
    def drop(cls) -> Fault:
        """Close the connection without answering."""
        return cls("drop")

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        """Wait this long before handling the request (longer than the client's read timeout)."""
        return cls("delay", seconds=seconds)


@dataclass
class _Planned:
    fault: Fault
    method: str | None
    chat_id: str | None
    remaining: int


@dataclass
class FaultQueue:
    """Faults planned for the next calls of a method, to a chat, or of anything."""

    planned: list[_Planned] = field(default_factory=list)
    injected: int = 0

    def add(
        self,
        fault: Fault,
        *,
        method: str | None = None,
        chat_id: int | str | None = None,
        times: int = 1,
    ) -> None:
        """Make the next `times` matching calls fail with `fault`."""
        chat = None if chat_id is None else str(chat_id)
        self.planned.append(_Planned(fault, method, chat, times))

    def take(self, method: str, chat_id: Any) -> Fault | None:
        """Return the fault for this call, if one is planned, and count it down."""
        for planned in self.planned:
            if planned.method not in (None, method):
                continue
            if planned.chat_id is not None and planned.chat_id != str(chat_id):
                continue
            planned.remaining -= 1
            if planned.remaining <= 0:
                self.planned.remove(planned)
            self.injected += 1
            return planned.fault
        return None

    def clear(self) -> None:
        """Forget every planned fault."""
        self.planned.clear()

    @property
    def pending(self) -> int:
        """Return how many faulty calls are still planned."""
        return sum(planned.remaining for planned in self.planned)


@dataclass
class ApiCall:
    """One request the bot made, as the emulator saw it."""

    method: str
    params: dict[str, Any]
    at: float  # time.time() when it arrived
    status: int = 0
    description: str | None = None
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        """Tell whether Telegram answered ok."""
        return self.status == 200


@dataclass
class Stats:
    """Counters for benchmarks."""

    by_method: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)

    def count(self, call: ApiCall) -> None:
        """Count a finished call."""
        self.by_method[call.method] += 1
        self.by_status[call.status] += 1

    @property
    def calls(self) -> int:
        """Return how many calls finished."""
        return sum(self.by_status.values())

    @property
    def too_many_requests(self) -> int:
        """Return how many calls got 429 (from the limiter or an injected fault)."""
        return self.by_status[429]
