"""Several instances on one PostgreSQL: one Telegram budget, and each tick's work done once.

Two `Database` objects on one database stand for two processes here (each has its own
connections); the end-to-end test starts two real `expertbot run` processes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.db import locks
from bot.db.models import OutboxMessage
from bot.db.rate_budget import DatabaseBudget, shared_budget
from bot.db.session import Database
from bot.scheduler import Housekeeper, Ticker
from bot.services.clock import ManualClock
from tests.test_outbox import POLICY
from tests.test_reminders import VALGA_START, invite, make_event

RIGA = ZoneInfo("Europe/Riga")


@pytest.fixture
async def two(postgres_url: str) -> AsyncIterator[tuple[Database, Database]]:
    first, second = Database(postgres_url), Database(postgres_url)
    yield first, second
    await first.dispose()
    await second.dispose()


async def test_two_processes_book_their_slots_one_after_the_other(
    two: tuple[Database, Database],
) -> None:
    budgets = [DatabaseBudget(database) for database in two]
    waits = []
    for n in range(8):  # a slot a second, alternately booked by each process
        wait, blocked = await budgets[n % 2].book(
            1000 + n, spacing=1.0, slack=0.0, chat_interval=1.0
        )
        assert blocked is None
        waits.append(wait)
    # Booking takes milliseconds: each slot is one second after the other's.
    assert all(abs(wait - n) < 0.5 for n, wait in enumerate(waits)), waits


async def test_a_chat_one_process_just_wrote_to_waits_in_the_other(
    two: tuple[Database, Database],
) -> None:
    first, second = (DatabaseBudget(database) for database in two)
    assert (await first.book(7, spacing=0.01, slack=0.0, chat_interval=1.0))[1] is None
    wait, blocked = await second.book(7, spacing=0.01, slack=0.0, chat_interval=1.0)
    assert blocked == "chat" and 0.5 < wait <= 1.0
    assert (await second.book(8, spacing=0.01, slack=0.0, chat_interval=1.0))[1] is None


async def test_a_429_pause_in_one_process_holds_the_other(two: tuple[Database, Database]) -> None:
    first, second = (DatabaseBudget(database) for database in two)
    await first.book(1, spacing=0.01, slack=0.0, chat_interval=1.0)
    first.pause(30)
    await asyncio.gather(*first._pauses)
    wait, blocked = await second.book(2, spacing=0.01, slack=0.0, chat_interval=1.0)
    assert blocked == "paused" and 25 < wait <= 30


async def test_sqlite_keeps_the_budget_in_the_process(sqlite_database: Database) -> None:
    assert shared_budget(sqlite_database) is None


async def test_an_advisory_lock_is_held_by_one_process_at_a_time(
    two: tuple[Database, Database],
) -> None:
    first, second = two
    async with first.session_scope() as one:
        assert await locks.try_lock_for_transaction(one, "due-scan")
        async with second.session_scope() as other:
            assert not await locks.try_lock_for_transaction(other, "due-scan")
            assert await locks.try_lock_for_transaction(other, "something-else")
        async with locks.held(second, "due-scan") as mine:
            assert not mine
    async with locks.held(second, "due-scan") as mine:  # the first transaction ended
        assert mine


async def test_a_due_scan_is_skipped_while_another_instance_runs_one(
    two: tuple[Database, Database],
) -> None:
    first, second = two
    event = await make_event(first)
    await invite(first, event, ilze="accepted")
    clock = ManualClock(VALGA_START - timedelta(hours=23))
    async with first.session_scope() as session:  # another instance in the middle of a scan
        assert await locks.try_lock_for_transaction(session, "due-scan")
        assert await Ticker(second, clock, POLICY).tick() == 0
    assert await Ticker(second, clock, POLICY).tick() == 1
    assert await Ticker(first, clock, POLICY).tick() == 0
    async with first.session_scope() as session:
        keys = list(await session.scalars(select(OutboxMessage.dedupe_key)))
    assert len(keys) == 1


async def test_two_instances_do_the_days_housekeeping_once(db_url: str) -> None:
    clock = ManualClock(datetime(2027, 3, 1, 1, 30, tzinfo=UTC))  # 03:30 in Riga
    ran: list[str] = []
    databases = [Database(db_url), Database(db_url)]

    def keeper(name: str, database: Database) -> Housekeeper:
        async def work(now: datetime) -> None:
            ran.append(name)

        return Housekeeper(work, clock, RIGA, database=database)

    try:
        first, second = (keeper(n, d) for n, d in zip("AB", databases, strict=True))
        results = await asyncio.gather(first.tick(), second.tick())
        assert sorted(results) == [False, True] and len(ran) == 1
        assert not await keeper("C", databases[1]).tick()  # a restart the same day
        clock.advance(timedelta(days=1))
        assert await second.tick() and not await first.tick()
        assert len(ran) == 2
        assert await locks.last_day(databases[0], "housekeeping") == date(2027, 3, 2)
    finally:
        for database in databases:
            await database.dispose()
