"""Time as a dependency, so tests and the playground can move it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The real time, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment.astimezone(UTC)


class ShiftedClock:
    """The real time moved forward by an offset that only grows (the playground's time control)."""

    def __init__(self, base: Clock | None = None) -> None:
        self._base = base or SystemClock()
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return self._base.now() + self.offset

    def timestamp(self) -> float:
        """Return now as seconds since the epoch (what Telegram and mail dates use)."""
        return self.now().timestamp()

    def jump_to(self, moment: datetime) -> timedelta:
        """Move to `moment` if it lies ahead; return how far the clock moved."""
        step = max(moment.astimezone(UTC) - self.now(), timedelta(0))
        self.offset += step
        return step

    def advance(self, delta: timedelta) -> timedelta:
        """Move forward by `delta` (a negative one is ignored)."""
        step = max(delta, timedelta(0))
        self.offset += step
        return step
