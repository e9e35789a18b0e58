"""The scheduler's ticks: idempotent scans for what is due, then a nudge to the dispatcher."""

from __future__ import annotations

import logging
import time as wallclock
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.db import locks
from bot.db.session import Database
from bot.services.clock import Clock
from bot.services.delivery.outbox import DeliveryPolicy
from bot.services.delivery.stats import STATS
from bot.services.events import answer_digest, reminders
from bot.services.recommendations import reminders as rec_reminders
from bot.services.reporting import coordinator_digest
from bot.services.surveys import sending as survey_sending

log = logging.getLogger("expertbot.scheduler")
JOB = "housekeeping"


@dataclass
class Ticker:
    database: Database
    clock: Clock
    policy: DeliveryPolicy
    queued: Callable[[], None] = lambda: None
    digest_time: time = time(8, 0)

    async def tick(self) -> int:
        """Queue whatever has come due; a process that was down catches up here."""
        started = wallclock.perf_counter()
        try:
            return await self._tick()
        finally:
            STATS.tick("due-scan", wallclock.perf_counter() - started)

    async def _tick(self) -> int:
        async with self.database.session_scope() as session:
            # Instances on one PostgreSQL: one scans at a time (the dedupe keys would also
            # keep a message from being queued twice, but two scans at once collide on them).
            if not await locks.try_lock_for_transaction(session, "due-scan"):
                return 0
            now = self.clock.now()
            count = await reminders.queue_due(session, now=now, policy=self.policy)
            count += await reminders.queue_nudges(session, now=now, policy=self.policy)
            count += await answer_digest.queue_due(session, now=now, policy=self.policy)
            count += await survey_sending.queue_due(session, now=now, policy=self.policy)
            count += await rec_reminders.queue_due(session, now=now, policy=self.policy)
            count += await coordinator_digest.queue_due(
                session, now=now, policy=self.policy, at=self.digest_time
            )
        if count:
            log.info("queued %d message(s): reminders, nudges, digests", count)
            self.queued()
        return count


@dataclass
class Housekeeper:
    """Runs the daily housekeeping (retention, backups) once a local day, from `at` on.

    A service started after `at` runs it at once. With a `database`, the day is noted there
    and one instance runs it for all (under a lock on PostgreSQL): a second instance, or a
    restart the same day, finds it done. Without one, a restart runs it again, which is
    harmless (each part is idempotent).
    """

    work: Callable[[datetime], Awaitable[None]]
    clock: Clock
    zone: ZoneInfo
    at: time = time(3, 0)
    done_on: date | None = None
    database: Database | None = None

    async def tick(self) -> bool:
        """Do the day's housekeeping if it is due; return whether it ran."""
        now = self.clock.now()
        day = now.astimezone(self.zone).date()
        if now.astimezone(self.zone).time() < self.at or self.done_on == day:
            return False
        if self.database is None:
            await self._run(now, day)
            return True
        async with locks.held(self.database, JOB) as mine:
            if not mine:
                return False  # another instance is doing it now
            if await locks.last_day(self.database, JOB) == day:
                self.done_on = day
                return False
            await self._run(now, day)
            await locks.record_day(self.database, JOB, day)
        return True

    async def _run(self, now: datetime, day: date) -> None:
        self.done_on = day
        started = wallclock.perf_counter()
        try:
            await self.work(now)
        finally:
            STATS.tick(JOB, wallclock.perf_counter() - started)


def start(
    ticker: Ticker, every_seconds: int = 60, housekeeper: Housekeeper | None = None
) -> AsyncIOScheduler:
    """Run the tick now and then every minute; overlapping runs are skipped."""
    scheduler = AsyncIOScheduler(timezone=UTC)
    if housekeeper is not None:
        scheduler.add_job(
            housekeeper.tick,
            "interval",
            seconds=every_seconds,
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
            id="housekeeping",
        )
    scheduler.add_job(
        ticker.tick,
        "interval",
        seconds=every_seconds,
        next_run_time=datetime.now(UTC),
        max_instances=1,
        coalesce=True,
        id="due-scan",
    )
    scheduler.start()
    return scheduler
