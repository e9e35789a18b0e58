"""/healthz: the database, each channel and the scheduler, as JSON; 503 when a part is down."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot.db.session import Database
from bot.services.delivery.stats import STATS

DATABASE_TIMEOUT = 5.0  # seconds a health check waits for SELECT 1
TICK_EVERY = 60.0  # the scheduler's interval (bot.scheduler.start)
# An email outcome that means no message can go until someone fixes the settings.
EMAIL_DOWN = frozenset({"misconfigured"})


@dataclass
class TelegramStatus:
    """Telegram's start-up as /healthz reports it: starting, up, retrying or refused."""

    state: str = "starting"
    last_error: str | None = None
    attempts: int = 0
    joined: asyncio.Event = field(default_factory=asyncio.Event)  # set once it is up

    @property
    def down(self) -> bool:
        return self.state in ("retrying", "refused")


@dataclass
class Health:
    """What the running service knows of its parts; `report` asks the database each time."""

    database: Database
    channels: Sequence[str] = ()
    telegram: TelegramStatus | None = None
    scheduler_running: Callable[[], bool] | None = None  # None until the scheduler starts
    tick_every: float = TICK_EVERY
    monotonic: Callable[[], float] = time.monotonic
    started: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.started = self.started or self.monotonic()

    async def report(self) -> tuple[int, dict[str, Any]]:
        """The status code and the JSON body of /healthz."""
        parts = {
            "database": await self._database(),
            "channels": {name: self._channel(name) for name in ("telegram", "email")},
            "scheduler": self._scheduler(),
        }
        down = [
            name
            for name, part in (
                ("database", parts["database"]),
                *((f"channels.{n}", p) for n, p in parts["channels"].items()),
                ("scheduler", parts["scheduler"]),
            )
            if part["status"] == "down"
        ]
        body = {"status": "down" if down else "ok", **({"down": down} if down else {}), **parts}
        return (503 if down else 200), body

    async def _database(self) -> dict[str, Any]:
        try:
            async with asyncio.timeout(DATABASE_TIMEOUT):
                async with self.database.read_scope() as session:
                    await session.execute(text("SELECT 1"))
        except Exception as error:  # any failure is the answer here, not a crash
            return {"status": "down", "error": one_line(error)}
        return {"status": "ok"}

    def _channel(self, name: str) -> dict[str, Any]:
        if name not in self.channels:
            return {"status": "ok", "configured": False}
        if name == "telegram" and self.telegram is not None:
            state = self.telegram
            found: dict[str, Any] = {
                "status": "down" if state.down else "ok",
                "configured": True,
                "state": state.state,
                "attempts": state.attempts,
            }
            if state.last_error:
                found["last_error"] = state.last_error
            return found
        last = STATS.last_outcome.get(name)
        return {
            "status": "down" if last in EMAIL_DOWN else "ok",
            "configured": True,
            "last_result": last,
        }

    def _scheduler(self) -> dict[str, Any]:
        now = self.monotonic()
        if self.scheduler_running is None:
            return {"status": "ok", "state": "starting"}
        if not self.scheduler_running():
            return {"status": "down", "state": "stopped"}
        ended = STATS.tick_ended.get("due-scan")
        late = 3 * self.tick_every
        if ended is None:
            waited = now - self.started
            state = "starting" if waited < late else "stuck"
            return {"status": "down" if state == "stuck" else "ok", "state": state}
        age = round(now - ended, 1)
        stale = age > late
        return {
            "status": "down" if stale else "ok",
            "state": "late" if stale else "running",
            "last_tick_seconds_ago": age,
        }


# PostgreSQL: lock timeout, serialization failure, deadlock: worth another try.
RETRYABLE_SQLSTATES = frozenset({"55P03", "40001", "40P01"})


def database_busy(error: BaseException) -> bool:
    """The database was locked past its busy timeout (SQLite) or a lock gave way
    (PostgreSQL): the same work may well succeed in a moment."""
    if not isinstance(error, DBAPIError):
        return False
    original = error.orig
    code = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if code in RETRYABLE_SQLSTATES:
        return True
    text = str(original).lower()
    return "database is locked" in text or "database table is locked" in text


def one_line(error: BaseException, limit: int = 200) -> str:
    """An error as one short line: its type and the first line of its text."""
    first = (str(error).strip().splitlines() or [""])[0]
    described = f"{type(error).__name__}: {first}" if first else type(error).__name__
    return described if len(described) <= limit else described[: limit - 1] + "…"
