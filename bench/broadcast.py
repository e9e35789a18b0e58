"""3,000 Telegram messages at a 100/s limit: our dispatcher vs a plain PTB AIORateLimiter loop.

Both runs talk to a fresh Bot API emulator with 30 ms latency that enforces 100 messages a
second overall as a token bucket holding only a small burst, like Telegram does. Our run
goes through the outbox and the dispatcher as the service runs it (`Dispatcher.run`, its
default batch and parallelism) with `RateLimiter(100)`; the baseline is ExtBot with
`AIORateLimiter(overall_max_rate=100, overall_time_period=1)` and every message started at
once with asyncio.gather, the way it is usually used (given the same HTTP pool as ours).

The rates are delivered messages over the time from the first to the last delivered
sendMessage as the emulator saw them arrive; the wall time of each run is printed too.

Last line: broadcast sent=3000 limit=100 rate=<msg/s> ratio_to_limit=<r>
    baseline_rate=<msg/s> ratio_to_baseline=<r> http429=<n> lost=<n> duplicates=<n>
"""

# ruff: noqa: E402
from __future__ import annotations

import sys
from pathlib import Path

# bench/email.py would shadow the standard library's email package for every script in this
# folder: put the project root, not this folder, first on the path (as bench/email.py does).
sys.path[0] = str(Path(__file__).resolve().parents[1])

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, ExtBot
from telegram.request import HTTPXRequest

from bench.common import POLICY, fresh_database, populate
from bot.channels.ratelimit import RateLimiter
from bot.channels.telegram import TelegramSender, make_bot
from bot.db.models import OutboxMessage
from bot.db.session import Database
from bot.rendering import Renderer
from bot.sandbox import RateLimits, TelegramEmulator
from bot.services.clock import SystemClock
from bot.services.delivery.compose import Composer
from bot.services.delivery.dispatcher import Dispatcher

N = 3000
LIMIT = 100  # messages a second, overall
BURST = 5  # what the emulator's full bucket lets through at once
LATENCY = 0.03  # seconds the emulator adds to every request
FIRST_CHAT = 10_000
TIMEOUT = 180  # seconds a run may take before the bench gives up on it


@dataclass
class Outcome:
    delivered: int  # chats that got at least one message
    lost: int
    duplicates: int  # chats with more than one message
    http429: int
    rate: float  # delivered / (last - first delivered sendMessage arrival)
    wall: float  # seconds for the whole run


def emulator() -> TelegramEmulator:
    limits = RateLimits(per_second=LIMIT, burst=BURST)
    telegram = TelegramEmulator(limits=limits, latency=LATENCY)
    for n in range(N):
        telegram.user(FIRST_CHAT + n, f"Dalībnieks {n}", language_code=("lv", "et", "en")[n % 3])
    return telegram


def tally(telegram: TelegramEmulator, wall: float, unsent_rows: int = 0) -> Outcome:
    counts = Counter(
        {FIRST_CHAT + n: len(telegram.chat(FIRST_CHAT + n).messages) for n in range(N)}
    )
    delivered = sum(1 for c in counts.values() if c > 0)
    stamps = sorted(call.at for call in telegram.calls_to("sendMessage") if call.ok)
    span = stamps[-1] - stamps[0] if len(stamps) > 1 else float("nan")
    return Outcome(
        delivered=delivered,
        lost=max(N - delivered, unsent_rows),
        duplicates=sum(1 for c in counts.values() if c > 1),
        http429=telegram.stats.too_many_requests,
        rate=len(stamps) / span,
        wall=wall,
    )


async def unfinished(database: Database) -> int:
    async with database.session_scope() as session:
        count = await session.scalar(
            select(func.count()).where(OutboxMessage.status.in_(("queued", "sending")))
        )
    return int(count or 0)


async def ours() -> tuple[Outcome, Dispatcher]:
    database = Database(await asyncio.to_thread(fresh_database))
    await populate(database, N, channel="telegram")
    async with emulator() as telegram:
        sender = TelegramSender(make_bot(telegram.token, telegram.base_url), RateLimiter(LIMIT))
        await sender.bot.initialize()
        dispatcher = Dispatcher(
            database, {"telegram": sender}, Composer(Renderer()), SystemClock(), POLICY
        )
        stop = asyncio.Event()
        started = time.perf_counter()
        work = asyncio.create_task(dispatcher.run(stop))
        deadline = started + TIMEOUT
        while await unfinished(database) and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        wall = time.perf_counter() - started
        stop.set()
        await work
        async with database.session_scope() as session:
            sent_rows = await session.scalar(
                select(func.count()).where(OutboxMessage.status == "sent")
            )
        await sender.close()
        outcome = tally(telegram, wall, N - int(sent_rows or 0))
    await database.dispose()
    return outcome, dispatcher


async def baseline() -> tuple[Outcome, int]:
    async with emulator() as telegram:
        request = HTTPXRequest(
            connection_pool_size=64, read_timeout=20, write_timeout=20, pool_timeout=30
        )
        bot = ExtBot(
            telegram.token,
            base_url=f"{telegram.base_url}/bot",
            request=request,
            rate_limiter=AIORateLimiter(
                overall_max_rate=LIMIT, overall_time_period=1, max_retries=3
            ),
        )
        await bot.initialize()

        async def one(n: int) -> bool:
            try:
                await bot.send_message(FIRST_CHAT + n, f"Ziņa Nr. {n}: sanāksme Valgā.")
            except TelegramError:
                return False
            return True

        started = time.perf_counter()
        results = await asyncio.wait_for(asyncio.gather(*(one(n) for n in range(N))), TIMEOUT)
        wall = time.perf_counter() - started
        await bot.shutdown()
        return tally(telegram, wall), results.count(False)


async def main() -> None:
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)
    mine, dispatcher = await ours()
    base, failed = await baseline()
    print(
        f"ours: {mine.delivered} delivered, {mine.rate:.1f} msg/s first to last send, "
        f"{N / mine.wall:.1f} msg/s over the whole run ({mine.wall:.1f} s), "
        f"{mine.http429} × 429, batch {dispatcher.batch} × parallel {dispatcher.parallel}"
    )
    print(
        f"baseline (AIORateLimiter, max_retries=3): {base.delivered} delivered, "
        f"{base.rate:.1f} msg/s first to last send, {N / base.wall:.1f} msg/s over the whole run "
        f"({base.wall:.1f} s), {base.http429} × 429, {failed} send(s) gave up, "
        f"{base.lost} lost, {base.duplicates} duplicate(s)"
    )
    print(
        f"broadcast sent={mine.delivered} limit={LIMIT} rate={mine.rate:.1f} "
        f"ratio_to_limit={mine.rate / LIMIT:.3f} baseline_rate={base.rate:.1f} "
        f"ratio_to_baseline={mine.rate / base.rate:.2f} http429={mine.http429} "
        f"lost={mine.lost} duplicates={mine.duplicates}"
    )


if __name__ == "__main__":
    asyncio.run(main())
