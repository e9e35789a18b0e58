"""Sign-in attempts are counted in the database, so every instance refuses the same ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.db.models import ConsoleAttempt
from bot.db.session import Database
from bot.services.console import attempts

NOW = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=15)
ADDRESS = "sandra.jansone@km.example"


async def ask(database: Database, ip: str, at: datetime) -> bool:
    limits = [(f"ip:{ip}", 20), (f"address:{ADDRESS}", 5)]
    async with database.session_scope() as session:
        return await attempts.allow(session, limits, now=at, window=WINDOW)


async def test_two_instances_share_one_count_of_sign_in_attempts(db_url: str) -> None:
    first, second = Database(db_url), Database(db_url)  # two processes on one database
    try:
        answers = [await ask(first, "203.0.113.7", NOW) for _ in range(3)]
        answers += [await ask(second, "198.51.100.9", NOW) for _ in range(2)]
        assert answers == [True] * 5
        assert not await ask(first, "192.0.2.1", NOW + timedelta(minutes=1))
        assert not await ask(second, "192.0.2.1", NOW + timedelta(minutes=1))
        assert await ask(second, "192.0.2.1", NOW + WINDOW + timedelta(seconds=1))
        async with first.read_scope() as session:
            stored = list(await session.scalars(select(ConsoleAttempt.key_hash)))
        # Only hashes: neither the address nor an IP is kept; the first ten were deleted (the
        # two refused requests still counted against their IP, the last one twice).
        assert len(stored) == 4 and all(len(h) == 64 and "@" not in h for h in stored)
    finally:
        await first.dispose()
        await second.dispose()
