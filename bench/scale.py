"""50,000 queued Telegram messages: enqueue rate, dispatch rate and the process's peak memory.

The queue is filled with the bulk path (bench.common.populate: contacts, Telegram links and
one queued broadcast each). The enqueue rate is measured separately through the real
service, `outbox.enqueue` (duplicate check, reachability, quiet hours, savepoint insert),
for 2,000 more rows to the same contacts' email, one transaction per 500 rows.

The messages then go through the dispatcher as the service runs it (`Dispatcher.run` with
its default batch and parallelism) and the real PTB client to the Bot API emulator with its
flood limits off and our limiter set far above what is sent. The emulator runs in a child
process, so the 50,000 chats it keeps do not count against this process's memory: the peak
RSS (ru_maxrss) is the dispatcher's, everything imported and the whole queue included.

Last line: scale queued=50000 enqueue_rate=<rows/s> dispatch_rate=<msg/s> peak_rss_mb=<n>
    limit_mb=200 ratio_to_limit=<r>
"""

# ruff: noqa: E402
from __future__ import annotations

import sys
from pathlib import Path

# bench/email.py would shadow the standard library's email package for every script in this
# folder: put the project root, not this folder, first on the path (as bench/email.py does).
sys.path[0] = str(Path(__file__).resolve().parents[1])

import asyncio
import multiprocessing
import time
import traceback
from datetime import UTC, datetime
from multiprocessing.connection import Connection

from sqlalchemy import func, select

from bench.common import POLICY, fresh_database, peak_rss_mb, populate
from bot.channels.ratelimit import RateLimiter
from bot.channels.telegram import TelegramSender, make_bot
from bot.db.models import Contact, OutboxMessage
from bot.db.session import Database
from bot.rendering import Renderer
from bot.sandbox import RateLimits, TelegramEmulator
from bot.services.clock import SystemClock
from bot.services.delivery import outbox
from bot.services.delivery.compose import Composer
from bot.services.delivery.dispatcher import Dispatcher

N = 50_000
SAMPLE = 2_000  # rows queued through outbox.enqueue
PER_TRANSACTION = 500
LIMIT_MB = 200
FIRST_CHAT = 10_000
TIMEOUT = 600  # seconds the dispatch may take before the bench gives up


def telegram_process(users: int, pipe: Connection) -> None:
    """Serve the emulator until told to stop; answer with what the chats received."""

    async def serve() -> None:
        async with TelegramEmulator(limits=RateLimits(enabled=False)) as telegram:
            for n in range(users):
                telegram.user(FIRST_CHAT + n, f"Dalībnieks {n}")
            pipe.send((telegram.token, telegram.base_url))
            await asyncio.to_thread(pipe.recv)
            counts = [len(telegram.chat(FIRST_CHAT + n).messages) for n in range(users)]
            pipe.send(
                {
                    "delivered": sum(1 for c in counts if c),
                    "duplicates": sum(1 for c in counts if c > 1),
                    "http429": telegram.stats.too_many_requests,
                }
            )

    asyncio.run(serve())


async def enqueue_sample(database: Database) -> float:
    """Queue SAMPLE email messages through the service's own enqueue; return rows a second."""
    async with database.session_scope() as session:
        contacts = list(await session.scalars(select(Contact).order_by(Contact.id).limit(SAMPLE)))
    started = time.perf_counter()
    queued = 0
    for first in range(0, SAMPLE, PER_TRANSACTION):
        async with database.session_scope() as session:
            for contact in contacts[first : first + PER_TRANSACTION]:
                result = await outbox.enqueue(
                    session,
                    contact=contact,
                    channel="email",
                    kind="broadcast",
                    dedupe_key=f"scale:{contact.id}:email",
                    now=datetime.now(UTC),
                    policy=POLICY,
                    params={"text": "Sanāksme Valgā 4. februārī.", "subject": "Sanāksme"},
                )
                queued += result.status == "queued"
    elapsed = time.perf_counter() - started
    if queued != SAMPLE:
        raise SystemExit(f"enqueue queued {queued} of {SAMPLE}")
    return SAMPLE / elapsed


async def count(database: Database, *statuses: str) -> int:
    async with database.read_scope() as session:
        found = await session.scalar(
            select(func.count()).where(
                OutboxMessage.channel == "telegram", OutboxMessage.status.in_(statuses)
            )
        )
    return int(found or 0)


async def main() -> None:
    try:
        await measure()
    except Exception as error:  # the last line is printed whatever happened
        traceback.print_exc()
        print(
            f"scale queued={N} enqueue_rate=nan dispatch_rate=nan peak_rss_mb={peak_rss_mb():.0f} "
            f"limit_mb={LIMIT_MB} ratio_to_limit=nan error={type(error).__name__}"
        )


async def measure() -> None:
    context = multiprocessing.get_context("spawn")
    pipe, child_end = context.Pipe()
    child = context.Process(target=telegram_process, args=(N, child_end), daemon=True)
    child.start()
    database = Database(await asyncio.to_thread(fresh_database))
    started = time.perf_counter()
    await populate(database, N, channel="telegram")
    bulk_rate = N / (time.perf_counter() - started)
    enqueue_rate = await enqueue_sample(database)
    print(
        f"enqueue: {enqueue_rate:.0f} rows/s through outbox.enqueue ({SAMPLE} rows), "
        f"bulk insert {bulk_rate:.0f} contacts+links+rows/s ({N} each); "
        f"peak RSS so far {peak_rss_mb():.0f} MB"
    )

    token, base_url = await asyncio.to_thread(pipe.recv)
    sender = TelegramSender(make_bot(token, base_url), RateLimiter(1_000_000, chat_interval=0))
    await sender.bot.initialize()
    # Only Telegram: the sample's email rows stay queued, measured above, not sent.
    dispatcher = Dispatcher(
        database, {"telegram": sender}, Composer(Renderer()), SystemClock(), POLICY
    )
    stop = asyncio.Event()
    started = time.perf_counter()
    work = asyncio.create_task(dispatcher.run(stop))
    deadline = started + TIMEOUT
    while await count(database, "queued", "sending") and time.perf_counter() < deadline:
        await asyncio.sleep(0.5)
    elapsed = time.perf_counter() - started
    stop.set()
    await work
    sent = await count(database, "sent")
    await sender.close()
    await database.dispose()
    pipe.send("done")
    received = await asyncio.to_thread(pipe.recv)
    child.join(10)

    rss = peak_rss_mb()
    lost = max(N - sent, N - received["delivered"])
    print(
        f"dispatch: {sent} sent in {elapsed:.1f} s, batch {dispatcher.batch} × parallel "
        f"{dispatcher.parallel}; {received['delivered']} chats got it, "
        f"{received['duplicates']} twice, {lost} lost, {received['http429']} × 429"
    )
    print(
        f"scale queued={N} enqueue_rate={enqueue_rate:.0f} dispatch_rate={sent / elapsed:.1f} "
        f"peak_rss_mb={rss:.0f} limit_mb={LIMIT_MB} ratio_to_limit={rss / LIMIT_MB:.2f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
