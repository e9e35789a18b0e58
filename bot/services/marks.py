"""Marks a database carries about itself: made by the playground, and the playground's clock."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import DatabaseMark

SANDBOX = "sandbox"
SANDBOX_NOW = "sandbox_now"
SANDBOX_SNAPSHOT = "sandbox_snapshot"
SANDBOX_SECRET = "sandbox_secret"


async def _get(session: AsyncSession, key: str) -> str | None:
    return await session.scalar(select(DatabaseMark.value).where(DatabaseMark.key == key))


async def _set(session: AsyncSession, key: str, value: str) -> None:
    mark = await session.get(DatabaseMark, key)
    if mark is None:
        session.add(DatabaseMark(key=key, value=value))
    else:
        mark.value = value
    await session.flush()


async def is_sandbox(session: AsyncSession) -> bool:
    """Tell whether the playground made (or was allowed to use) this database."""
    return await _get(session, SANDBOX) is not None


async def mark_sandbox(session: AsyncSession, why: str) -> None:
    await _set(session, SANDBOX, why)


async def sandbox_now(session: AsyncSession) -> datetime | None:
    """The playground clock's last moment, so time never runs back after a restart."""
    value = await _get(session, SANDBOX_NOW)
    return datetime.fromisoformat(value) if value else None


async def save_sandbox_now(session: AsyncSession, moment: datetime) -> None:
    await _set(session, SANDBOX_NOW, moment.isoformat())


async def sandbox_snapshot(session: AsyncSession) -> dict[str, Any] | None:
    """The playground's chats and mailboxes as last saved."""
    value = await _get(session, SANDBOX_SNAPSHOT)
    return json.loads(value) if value else None


async def save_sandbox_snapshot(session: AsyncSession, snapshot: dict[str, Any]) -> None:
    await _set(session, SANDBOX_SNAPSHOT, json.dumps(snapshot, ensure_ascii=False))


async def sandbox_secret(session: AsyncSession, make: Callable[[], str]) -> str:
    """The playground's signing key when none is configured: made once, so links outlive a run."""
    value = await _get(session, SANDBOX_SECRET)
    if value is None:
        value = make()
        await _set(session, SANDBOX_SECRET, value)
    return value
