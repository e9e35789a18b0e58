"""Shared set-up for the benchmarks: a migrated SQLite file and a population of contacts."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import resource
import tempfile
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from bot.db import migrate
from bot.db.models import Contact, OutboxMessage, TelegramLink
from bot.db.session import Database
from bot.services.delivery.outbox import DeliveryPolicy

POLICY = DeliveryPolicy(ZoneInfo("Europe/Riga"), None)
CHUNK = 5000  # rows built and inserted at a time


def fresh_database(url: str | None = None) -> str:
    """A migrated database: EXPERTBOT_BENCH_DATABASE_URL, or a new SQLite file."""
    url = url or os.environ.get("EXPERTBOT_BENCH_DATABASE_URL")
    if not url:
        folder = Path(tempfile.mkdtemp(prefix="expertbot-bench-"))
        url = f"sqlite:///{folder / 'bench.db'}"
    migrate.upgrade(url)
    return url


async def populate(
    database: Database, count: int, *, channel: str, kind: str = "broadcast"
) -> None:
    """Insert `count` contacts (chat ids 10_000+n) and one queued message each.

    The rows are built and inserted 5,000 at a time, so that filling a large queue does
    not itself set the peak memory a benchmark reports.
    """
    now = datetime.now(UTC)
    async with database.session_scope() as session:
        for start in range(0, count, CHUNK):
            numbers = range(start, min(start + CHUNK, count))
            await session.execute(insert(Contact), [_contact(n, now) for n in numbers])
            if channel == "telegram":
                await session.execute(insert(TelegramLink), [_link(n, now) for n in numbers])
            await session.execute(
                insert(OutboxMessage), [_message(n, now, channel, kind) for n in numbers]
            )


def _contact(n: int, now: datetime) -> dict[str, Any]:
    return {
        "id": n + 1,
        "name": f"Dalībnieks Nr. {n}",
        "email": f"person{n}@bench.example",
        "role": "regional_expert",
        "country": "LV",
        "language": ("lv", "et", "en")[n % 3],
        "email_state": "active",
        "telegram_state": "active",
        # Telegram carries nothing but the consent question until the person agreed.
        "consent_on": now.date(),
        "consent_source": "import",
        "created_at": now,
        "updated_at": now,
    }


def _link(n: int, now: datetime) -> dict[str, Any]:
    return {"contact_id": n + 1, "chat_id": 10_000 + n, "user_id": 10_000 + n, "linked_at": now}


def _message(n: int, now: datetime, channel: str, kind: str) -> dict[str, Any]:
    return {
        "dedupe_key": f"bench:{n}:{channel}",
        "contact_id": n + 1,
        "channel": channel,
        "kind": kind,
        "params": {"text": f"Ziņa Nr. {n}: sanāksme Valgā 4. februārī.", "subject": ""},
        "urgent": False,
        "send_after": now,
        "status": "queued",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
    }


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def serve_telegram(
    users: int, first_chat: int, limits: Any, latency: float, pipe: Connection
) -> None:
    """Run the Bot API emulator in this (child) process until told to stop, then report.

    A benchmark that measures its own CPU keeps the emulator's out of it this way.
    """
    from bot.sandbox import TelegramEmulator

    async def serve() -> None:
        async with TelegramEmulator(limits=limits, latency=latency) as telegram:
            for n in range(users):
                language = ("lv", "et", "en")[n % 3]
                telegram.user(first_chat + n, f"Dalībnieks {n}", language_code=language)
            pipe.send((telegram.token, telegram.base_url))
            await asyncio.to_thread(pipe.recv)
            counts = [len(telegram.chat(first_chat + n).messages) for n in range(users)]
            stamps = sorted(call.at for call in telegram.calls_to("sendMessage") if call.ok)
            pipe.send(
                {"counts": counts, "stamps": stamps, "http429": telegram.stats.too_many_requests}
            )

    asyncio.run(serve())


class RemoteTelegram:
    """The emulator in a child process: `token` and `base_url` to talk to, `finish()` to tally."""

    def __init__(self, users: int, first_chat: int, limits: Any, latency: float = 0.0) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, child_end = context.Pipe()
        self._child = context.Process(
            target=serve_telegram,
            args=(users, first_chat, limits, latency, child_end),
            daemon=True,
        )
        self.token = ""
        self.base_url = ""

    async def start(self) -> RemoteTelegram:
        self._child.start()
        self.token, self.base_url = await asyncio.to_thread(self._pipe.recv)
        return self

    async def finish(self) -> dict[str, Any]:
        """Stop the emulator; return per-chat message counts, send times and 429s."""
        self._pipe.send("done")
        report: dict[str, Any] = await asyncio.to_thread(self._pipe.recv)
        await asyncio.to_thread(self._child.join, 10)
        return report

    def kill(self) -> None:
        if self._child.is_alive():
            self._child.kill()


def serve_mail(pipe: Connection) -> None:
    """Run the local mail server in this (child) process; answer "count" until "done"."""
    from bot.sandbox.mail_server import MailServer

    async def serve() -> None:
        async with MailServer() as server:
            pipe.send(server.port)
            while (await asyncio.to_thread(pipe.recv)) != "done":
                pipe.send((len(server.messages), server.connections))
            pipe.send((len(server.messages), server.connections))

    asyncio.run(serve())


class RemoteMail:
    """The mail server in a child process, so that its CPU is not the sender's."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, child_end = context.Pipe()
        self._child = context.Process(target=serve_mail, args=(child_end,), daemon=True)
        self.port = 0

    async def start(self) -> RemoteMail:
        self._child.start()
        self.port = await asyncio.to_thread(self._pipe.recv)
        return self

    async def received(self) -> tuple[int, int]:
        """Messages received and connections opened so far."""
        self._pipe.send("count")
        answer: tuple[int, int] = await asyncio.to_thread(self._pipe.recv)
        return answer

    async def finish(self) -> tuple[int, int]:
        self._pipe.send("done")
        answer: tuple[int, int] = await asyncio.to_thread(self._pipe.recv)
        await asyncio.to_thread(self._child.join, 10)
        return answer

    def kill(self) -> None:
        if self._child.is_alive():
            self._child.kill()
