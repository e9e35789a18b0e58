"""The daily housekeeping (retention, backups) as the running service schedules it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.db.session import Database
from bot.sandbox import TelegramEmulator
from bot.scheduler import Housekeeper
from bot.services.clock import ManualClock
from tests.test_onboarding import Network

RIGA = ZoneInfo("Europe/Riga")


async def test_housekeeping_runs_once_a_local_day_from_three_in_the_morning() -> None:
    clock = ManualClock(datetime(2027, 3, 1, 2, 30, tzinfo=RIGA))
    ran: list[datetime] = []

    async def work(now: datetime) -> None:
        ran.append(now)

    keeper = Housekeeper(work, clock, RIGA)
    assert not await keeper.tick()  # 02:30 in Riga: not yet
    clock.advance(timedelta(minutes=31))
    assert await keeper.tick()  # 03:01
    clock.advance(timedelta(hours=20))
    assert not await keeper.tick()  # 23:01, the same day
    clock.advance(timedelta(hours=3))
    assert not await keeper.tick()  # 02:01 the next day
    clock.advance(timedelta(hours=1))
    assert await keeper.tick()  # 03:01 the next day
    assert [moment.astimezone(RIGA).date().day for moment in ran] == [1, 2]


async def test_a_started_service_writes_the_days_backup_into_the_backup_folder(
    sqlite_database: Database, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    async with TelegramEmulator() as emulator:
        net = Network(sqlite_database, emulator, backup_dir=str(folder), backup_keep=2)
        await net.start()
        try:
            expected = folder / "expertbot-2027-01-10.db"  # the network's clock: 10 Jan, 11:00
            for _ in range(200):  # the scheduler's first run starts with the service
                if expected.is_file():
                    break
                await asyncio.sleep(0.05)
            assert expected.read_bytes().startswith(b"SQLite format 3")
            assert net.service.housekeeper is not None
            assert net.service.housekeeper.done_on == datetime(2027, 1, 10, tzinfo=UTC).date()
        finally:
            await net.close()
