"""Telegram broadcast at Telegram's documented 30 messages a second: ours vs a plain PTB loop.

Both runs talk to a fresh Bot API emulator in a child process (30 ms latency, 30 messages a
second overall as a token bucket holding 30, Telegram's documented limit). Ours goes through
the outbox and the dispatcher as the service runs it (`Dispatcher.run`, default batch and
parallelism) with `RateLimiter(30)`; the baseline is ExtBot with PTB's `AIORateLimiter`
matched to the same bucket (30 per second, 30 at once) and every message started at once
with asyncio.gather, as it is usually used (given the same HTTP pool as ours), sending the
same text with the same options (Telegram HTML, no link preview).

Rates are delivered messages over the time from the first to the last delivered sendMessage
as the emulator saw them. CPU per message is this process's CPU time (all threads: the
database driver's too) over the run divided by the messages delivered; the emulator's CPU is
in its own process and not counted.

Last line (printed even when a run fails or misses a target):
    broadcast sent=<n> limit=30 rate=<msg/s> ratio_to_limit=<r> baseline_rate=<msg/s>
    ratio_to_baseline=<r> cpu_ms=<ms> baseline_cpu_ms=<ms> cpu_ratio_to_baseline=<r>
    http429=<n> baseline_http429=<n> lost=<n> duplicates=<n>
"""

# ruff: noqa: E402
from __future__ import annotations

import sys
from pathlib import Path

# bench/email.py would shadow the standard library's email package for every script in this
# folder: put the project root, not this folder, first on the path (as bench/email.py does).
sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import asyncio
import gc
import logging
import math
import time
import traceback
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from telegram import LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, ExtBot
from telegram.request import HTTPXRequest

from bench.common import POLICY, RemoteTelegram, fresh_database, populate
from bot.channels.ratelimit import RateLimiter
from bot.channels.telegram import TelegramSender, make_bot
from bot.db.models import OutboxMessage
from bot.db.session import Database
from bot.rendering import Renderer
from bot.sandbox import RateLimits
from bot.services.clock import SystemClock
from bot.services.delivery.compose import Composer
from bot.services.delivery.dispatcher import Dispatcher

LIMIT = 30  # messages a second overall: Telegram's documented limit
BURST = 30  # what the server's full bucket lets through at once
LATENCY = 0.03  # seconds the emulator adds to every request
FIRST_CHAT = 10_000
NAN = float("nan")


@dataclass
class Outcome:
    delivered: int = 0  # chats that got at least one message
    lost: int = 0
    duplicates: int = 0  # chats with more than one message
    http429: int = 0
    rate: float = NAN  # delivered / (last - first delivered sendMessage arrival)
    wall: float = NAN  # seconds for the whole run
    cpu_ms: float = NAN  # this process's CPU per delivered message
    failed: int = 0  # sends that gave up (baseline)
    error: str = ""


def limits() -> RateLimits:
    return RateLimits(per_second=LIMIT, burst=BURST)


def tally(n: int, report: dict[str, Any], wall: float, cpu: float, unsent: int = 0) -> Outcome:
    counts = report["counts"]
    delivered = sum(1 for c in counts if c > 0)
    stamps = report["stamps"]
    span = stamps[-1] - stamps[0] if len(stamps) > 1 else NAN
    return Outcome(
        delivered=delivered,
        lost=max(n - delivered, unsent),
        duplicates=sum(1 for c in counts if c > 1),
        http429=report["http429"],
        rate=len(stamps) / span,
        wall=wall,
        cpu_ms=cpu * 1000 / delivered if delivered else NAN,
    )


async def count(database: Database, *statuses: str) -> int:
    async with database.read_scope() as session:
        found = await session.scalar(select(func.count()).where(OutboxMessage.status.in_(statuses)))
    return int(found or 0)


async def ours(n: int, timeout: float) -> tuple[Outcome, Dispatcher | None]:
    database = Database(await asyncio.to_thread(fresh_database))
    await populate(database, n, channel="telegram")
    telegram = await RemoteTelegram(n, FIRST_CHAT, limits(), LATENCY).start()
    dispatcher = None
    try:
        sender = TelegramSender(make_bot(telegram.token, telegram.base_url), RateLimiter(LIMIT))
        await sender.bot.initialize()
        dispatcher = Dispatcher(
            database, {"telegram": sender}, Composer(Renderer()), SystemClock(), POLICY
        )
        stop = asyncio.Event()
        started, cpu_started = time.perf_counter(), time.process_time()
        work = asyncio.create_task(dispatcher.run(stop))
        deadline = started + timeout
        # Looking once a second costs this process little and takes no lock (a read).
        while await count(database, "queued", "sending") and time.perf_counter() < deadline:
            await asyncio.sleep(1.0)
        stop.set()
        await work
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        sent = await count(database, "sent")
        await sender.close()
        outcome = tally(n, await telegram.finish(), wall, cpu, n - sent)
    finally:
        telegram.kill()
        await database.dispose()
    return outcome, dispatcher


async def baseline(n: int, timeout: float) -> Outcome:
    telegram = await RemoteTelegram(n, FIRST_CHAT, limits(), LATENCY).start()
    try:
        request = HTTPXRequest(
            connection_pool_size=64, read_timeout=20, write_timeout=20, pool_timeout=30
        )
        # aiolimiter's bucket: BURST at once, refilled at LIMIT a second, as the server's.
        limiter = AIORateLimiter(
            overall_max_rate=BURST, overall_time_period=BURST / LIMIT, max_retries=3
        )
        bot = ExtBot(
            telegram.token,
            base_url=f"{telegram.base_url}/bot",
            request=request,
            rate_limiter=limiter,
        )
        await bot.initialize()

        async def one(k: int) -> bool:
            try:
                # The same text and options as ours sends (Telegram HTML, no link preview).
                await bot.send_message(
                    FIRST_CHAT + k,
                    f"Ziņa Nr. {k}: sanāksme Valgā 4. februārī.",
                    parse_mode=ParseMode.HTML,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
            except TelegramError:
                return False
            return True

        started, cpu_started = time.perf_counter(), time.process_time()
        results = await asyncio.wait_for(asyncio.gather(*(one(k) for k in range(n))), timeout)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        await bot.shutdown()
        outcome = tally(n, await telegram.finish(), wall, cpu)
        outcome.failed = results.count(False)
    finally:
        telegram.kill()
    return outcome


async def attempt(name: str, run: Any) -> Any:
    """Run one side; a failure is printed and becomes an empty outcome, not a crash."""
    try:
        return await run
    except BaseException as error:  # the last line must still be printed
        if isinstance(error, KeyboardInterrupt):
            raise
        traceback.print_exc()
        return Outcome(error=f"{name}: {type(error).__name__}: {error}")


def ratio(a: float, b: float) -> float:
    return a / b if b and not math.isnan(b) else NAN


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1200, help="messages (distinct chats)")
    args = parser.parse_args()
    n, timeout = args.n, args.n / LIMIT * 3 + 60
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)
    # Both runs share this process and everything it imported: keep the garbage collector
    # from scanning those modules' objects again and again in either run.
    gc.collect()
    gc.freeze()

    found = await attempt("ours", ours(n, timeout))
    mine, dispatcher = found if isinstance(found, tuple) else (found, None)
    base = await attempt("baseline", baseline(n, timeout))
    shape = f", batch {dispatcher.batch} × parallel {dispatcher.parallel}" if dispatcher else ""
    print(
        f"ours: {mine.delivered} delivered, {mine.rate:.1f} msg/s first to last send, "
        f"{mine.wall:.1f} s in all, {mine.cpu_ms:.2f} ms CPU a message, "
        f"{mine.http429} × 429{shape} {mine.error}"
    )
    print(
        f"baseline (PTB AIORateLimiter {BURST} per {BURST / LIMIT:.2f} s, max_retries=3): "
        f"{base.delivered} delivered, {base.rate:.1f} msg/s first to last send, "
        f"{base.wall:.1f} s in all, {base.cpu_ms:.2f} ms CPU a message, {base.http429} × 429, "
        f"{base.failed} send(s) gave up, {base.lost} lost, {base.duplicates} duplicate(s) "
        f"{base.error}"
    )
    targets = [
        ("ratio_to_limit ≥ 0.95", mine.rate / LIMIT >= 0.95),
        ("cpu_ratio_to_baseline ≤ 1.0", ratio(mine.cpu_ms, base.cpu_ms) <= 1.0),
        ("lost = 0", mine.lost == 0 and not mine.error),
        ("duplicates = 0", mine.duplicates == 0),
        ("http429 ≤ 1 %", mine.http429 <= n / 100),
    ]
    missed = [name for name, met in targets if not met]
    print("targets: " + ("all met" if not missed else "missed " + ", ".join(missed)))
    print(
        f"broadcast sent={mine.delivered} limit={LIMIT} rate={mine.rate:.1f} "
        f"ratio_to_limit={mine.rate / LIMIT:.3f} baseline_rate={base.rate:.1f} "
        f"ratio_to_baseline={ratio(mine.rate, base.rate):.2f} cpu_ms={mine.cpu_ms:.2f} "
        f"baseline_cpu_ms={base.cpu_ms:.2f} "
        f"cpu_ratio_to_baseline={ratio(mine.cpu_ms, base.cpu_ms):.2f} http429={mine.http429} "
        f"baseline_http429={base.http429} lost={mine.lost if not mine.error else n} "
        f"duplicates={mine.duplicates}"
    )


if __name__ == "__main__":
    asyncio.run(main())
