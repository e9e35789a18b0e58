"""kill -9 the service mid-broadcast, start it again: nothing lost, duplicates within the bound.

`expertbot run` (python -m bot run, live mode) is started as its own process against the Bot
API emulator, which runs in this process, and a SQLite file holding 1,000 queued Telegram
messages. Once 30 % of them arrived the process is killed with SIGKILL: rows it had claimed
stay `sending`, leased for the dispatcher's 5 minutes. Rather than wait for that, the bench
moves those leases into the past in the database (what 5 minutes would do; the clock is
untouched), then starts the service again, which requeues them on start (recover) and
finishes the broadcast; a SIGTERM then stops it. A chat gets a second copy only when its
message reached Telegram but the killed process had not yet recorded it, so duplicates can
be at most what the dispatcher has in flight (batch × parallel).

Last line: crash sent=<n> lost=0 duplicates=<n> in_flight_bound=<n>
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
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from bench.common import POLICY, fresh_database, populate
from bot.db.models import OutboxMessage
from bot.db.session import Database
from bot.rendering import Renderer
from bot.sandbox import RateLimits, TelegramEmulator
from bot.services.clock import SystemClock
from bot.services.delivery.compose import Composer
from bot.services.delivery.dispatcher import Dispatcher

N = 1000
KILL_AT = 0.30  # share of the messages delivered when the first process is killed
RATE = 30  # EXPERTBOT_TELEGRAM_RATE, the most the settings allow
LATENCY = 0.03
FIRST_CHAT = 10_000
TIMEOUT = 90  # seconds either process may take before the bench gives up


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(url: str, telegram: TelegramEmulator) -> dict[str, str]:
    """The service's settings; nothing of this shell's EXPERTBOT_* or .env leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXPERTBOT_")}
    env.update(
        EXPERTBOT_DATABASE_URL=url,
        EXPERTBOT_TELEGRAM_TOKEN=telegram.token,
        EXPERTBOT_TELEGRAM_API_URL=telegram.base_url,
        EXPERTBOT_TELEGRAM_RATE=str(RATE),
        EXPERTBOT_QUIET_HOURS="",
        EXPERTBOT_WEB_PORT=str(free_port()),
    )
    return env


def delivered(telegram: TelegramEmulator) -> Counter[int]:
    """Messages from the bot in each of the broadcast's chats."""
    return Counter(
        {
            FIRST_CHAT + n: sum(1 for m in telegram.chat(FIRST_CHAT + n).messages if m.from_bot)
            for n in range(N)
        }
    )


async def statuses(database: Database) -> dict[str, int]:
    async with database.session_scope() as session:
        rows = await session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        )
        return {status: int(count) for status, count in rows.all()}


async def start(env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=log.parent,  # no .env of the developer's
            env=env,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )


async def wait_until(
    condition: Callable[[], Awaitable[bool]],
    what: str,
    process: asyncio.subprocess.Process,
    log: Path,
) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not await condition():
        if process.returncode is not None:
            raise SystemExit(f"the service stopped before {what}:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            process.kill()
            raise SystemExit(f"timed out waiting for {what}:\n{log.read_text()[-3000:]}")
        await asyncio.sleep(0.01)


async def main() -> None:
    url = await asyncio.to_thread(fresh_database)
    database = Database(url)
    await populate(database, N, channel="telegram")
    bound = Dispatcher(
        database, {}, Composer(Renderer()), SystemClock(), POLICY
    ).in_flight_bound  # what app.Service builds: the dispatcher's defaults
    log = Path(tempfile.mkdtemp(prefix="expertbot-crash-")) / "service.log"
    limits = RateLimits(per_second=1000, burst=100, per_chat_per_second=1000, per_chat_burst=100)
    async with TelegramEmulator(limits=limits, latency=LATENCY) as telegram:
        for n in range(N):
            telegram.user(FIRST_CHAT + n, f"Dalībnieks {n}", language_code="lv")
        env = environment(url, telegram)

        async def arrived_enough() -> bool:
            return len(telegram.calls_to("sendMessage")) >= KILL_AT * N

        started = time.perf_counter()
        first = await start(env, log)
        await wait_until(arrived_enough, f"{KILL_AT:.0%} arrived", first, log)
        first.send_signal(signal.SIGKILL)
        await first.wait()
        at_kill = sum(1 for c in delivered(telegram).values() if c)
        left = await statuses(database)
        # What the lease running out would do: the rows the dead process held come due.
        async with database.session_scope() as session:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.status == "sending")
                .values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
            )
        print(
            f"killed after {time.perf_counter() - started:.1f} s: {at_kill} chats had their "
            f"message; rows sent {left.get('sent', 0)}, sending {left.get('sending', 0)}, "
            f"queued {left.get('queued', 0)}"
        )

        async def finished() -> bool:
            counts = await statuses(database)
            return not counts.get("queued") and not counts.get("sending")

        second = await start(env, log)
        await wait_until(finished, "the queue was empty", second, log)
        second.send_signal(signal.SIGTERM)
        await asyncio.wait_for(second.wait(), 30)
        elapsed = time.perf_counter() - started
        copies = delivered(telegram)
    final = await statuses(database)
    await database.dispose()
    if "requeued" not in log.read_text():
        print("warning: the second process logged no recovery")
    sent = sum(1 for c in copies.values() if c)
    lost = max(N - sent, N - final.get("sent", 0))
    duplicates = sum(1 for c in copies.values() if c > 1)
    print(
        f"{N} messages in {elapsed:.1f} s over two processes; final rows {final}; "
        f"second process exit code {second.returncode}; service log: {log}"
    )
    print(f"crash sent={sent} lost={lost} duplicates={duplicates} in_flight_bound={bound}")


if __name__ == "__main__":
    asyncio.run(main())
