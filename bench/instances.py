"""Two `expertbot run` processes on one PostgreSQL: one Telegram budget between them.

Both processes are started as a user starts them (python -m bot run, live mode, webhook,
30 messages a second, quiet hours off) on one PostgreSQL database holding 1,500 queued
Telegram messages, against the Bot API emulator in this process (30 ms a request, 30
messages a second overall as a token bucket holding a burst of only 5, like Telegram).
Each process books its slots in the database, so together they keep the one limit; two
processes each keeping it alone would send at twice the limit and earn 429s.

The database: EXPERTBOT_BENCH_DATABASE_URL (a postgresql:// URL; the bench adds its rows to
it), or a throwaway server started with the PostgreSQL binaries the tests use.

Last line: instances processes=2 sent=<n> limit=30 rate=<msg/s> ratio_to_limit=<r>
    http429=<n> lost=<n> duplicates=<n>
"""

# ruff: noqa: E402
from __future__ import annotations

import sys
from pathlib import Path

# bench/email.py would shadow the standard library's email package for every script in this
# folder: put the project root, not this folder, first on the path (as bench/email.py does).
sys.path[0] = str(Path(__file__).resolve().parents[1])

import asyncio
import os
import signal
import socket
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import func, select

from bench.common import fresh_database, populate
from bot.db.models import OutboxMessage
from bot.db.session import Database
from bot.sandbox import RateLimits, TelegramEmulator

N = 1500
RATE = 30  # EXPERTBOT_TELEGRAM_RATE and the emulator's limit
LATENCY = 0.03
FIRST_CHAT = 10_000
TIMEOUT = 180


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def postgresql() -> Iterator[str]:
    """EXPERTBOT_BENCH_DATABASE_URL, or a temporary server of the tests' kind."""
    given = os.environ.get("EXPERTBOT_BENCH_DATABASE_URL")
    if given:
        if not given.startswith("postgres"):
            raise SystemExit("EXPERTBOT_BENCH_DATABASE_URL: this bench needs PostgreSQL")
        yield given
        return
    from tests import pgserver

    server = pgserver.TempPostgres()
    try:
        url = server.start()
    except pgserver.Unavailable as reason:
        raise SystemExit(f"no PostgreSQL for this bench: {reason}") from None
    try:
        yield url
    finally:
        server.stop()


def environment(url: str, telegram: TelegramEmulator, port: int, public: int) -> dict[str, str]:
    """The service's settings; nothing of this shell's EXPERTBOT_* or .env leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXPERTBOT_")}
    env.update(
        EXPERTBOT_DATABASE_URL=url,
        EXPERTBOT_TELEGRAM_TOKEN=telegram.token,
        EXPERTBOT_TELEGRAM_API_URL=telegram.base_url,
        EXPERTBOT_TELEGRAM_RATE=str(RATE),
        EXPERTBOT_TELEGRAM_WEBHOOK="true",
        EXPERTBOT_PUBLIC_URL=f"http://127.0.0.1:{public}",  # the same for both, as behind a proxy
        EXPERTBOT_SECRET_KEY="bench-instances-signing-key-0123456789abcdef",
        EXPERTBOT_QUIET_HOURS="",
        EXPERTBOT_WEB_PORT=str(port),
    )
    return env


async def unsent(database: Database) -> int:
    async with database.session_scope() as session:
        count = await session.scalar(
            select(func.count()).where(OutboxMessage.status.in_(("queued", "sending")))
        )
    return int(count or 0)


async def main(url: str) -> None:
    await asyncio.to_thread(fresh_database, url)
    database = Database(url)
    await populate(database, N, channel="telegram")
    folder = Path(tempfile.mkdtemp(prefix="expertbot-instances-"))
    limits = RateLimits(per_second=RATE, burst=5)
    async with TelegramEmulator(limits=limits, latency=LATENCY) as telegram:
        for n in range(N):
            telegram.user(FIRST_CHAT + n, f"Dalībnieks {n}", language_code="lv")
        ports = [free_port(), free_port()]
        processes = []
        started = time.perf_counter()
        for number, port in enumerate(ports):
            with (folder / f"instance{number}.log").open("wb") as out:
                processes.append(
                    await asyncio.create_subprocess_exec(
                        sys.executable,
                        "-m",
                        "bot",
                        "run",
                        cwd=folder,  # no .env of the developer's
                        env=environment(url, telegram, port, ports[0]),
                        stdout=out,
                        stderr=asyncio.subprocess.STDOUT,
                    )
                )
        while await unsent(database) and time.perf_counter() - started < TIMEOUT:
            if any(p.returncode is not None for p in processes):
                print(f"an instance stopped early; logs in {folder}")
                break
            await asyncio.sleep(0.1)
        wall = time.perf_counter() - started
        for process in processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        codes = [await asyncio.wait_for(p.wait(), 30) for p in processes]
        copies = Counter(
            {
                FIRST_CHAT + n: sum(1 for m in telegram.chat(FIRST_CHAT + n).messages if m.from_bot)
                for n in range(N)
            }
        )
        stamps = sorted(c.at for c in telegram.calls_to("sendMessage") if c.ok)
        http429 = telegram.stats.too_many_requests
    left = await unsent(database)
    await database.dispose()
    sent = sum(1 for c in copies.values() if c)
    lost = max(N - sent, left)
    duplicates = sum(1 for c in copies.values() if c > 1)
    rate = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else float("nan")
    print(
        f"{N} messages over two processes in {wall:.1f} s (start-up included); exit codes "
        f"{codes}; {rate:.1f} msg/s from the first to the last send; logs in {folder}"
    )
    print(
        f"instances processes=2 sent={sent} limit={RATE} rate={rate:.1f} "
        f"ratio_to_limit={rate / RATE:.3f} http429={http429} lost={lost} duplicates={duplicates}"
    )


if __name__ == "__main__":
    with postgresql() as server_url:
        asyncio.run(main(server_url))
