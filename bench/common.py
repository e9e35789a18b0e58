"""Shared set-up for the benchmarks: a migrated SQLite file and a population of contacts."""

from __future__ import annotations

import os
import resource
import tempfile
from datetime import UTC, datetime
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
