"""Counting requests for console sign-in links, shared by every instance through the database."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import ConsoleAttempt


def _hash(key: str) -> str:
    # Keys hold an email address or an IP: store neither, only what recognises them again.
    return hashlib.sha256(key.encode()).hexdigest()


async def allow(
    session: AsyncSession, limits: list[tuple[str, int]], *, now: datetime, window: timedelta
) -> bool:
    """Count one attempt under each (key, limit) in turn; refuse at the first key at its limit.

    Attempts older than `window` are forgotten (and deleted) first.
    """
    await session.execute(delete(ConsoleAttempt).where(ConsoleAttempt.at <= now - window))
    for key, limit in limits:
        hashed = _hash(key)
        count = await session.scalar(
            select(func.count())
            .select_from(ConsoleAttempt)
            .where(ConsoleAttempt.key_hash == hashed)
        )
        if (count or 0) >= limit:
            return False
        session.add(ConsoleAttempt(key_hash=hashed, at=now))
        await session.flush()
    return True
