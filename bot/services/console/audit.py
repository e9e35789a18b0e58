"""The audit log: every change made in the console, with who, when, and before/after."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import AuditEntry, Contact


async def record(
    session: AsyncSession,
    *,
    actor_id: int | None,
    action: str,
    subject: str,
    now: datetime,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str | None = None,
) -> None:
    """Write one entry in the same transaction as the change it describes."""
    session.add(
        AuditEntry(
            at=now,
            actor_id=actor_id,
            action=action,
            subject=subject,
            before=before,
            after=after,
            note=note,
        )
    )


@dataclass(frozen=True)
class Shown:
    at: datetime
    actor: str
    action: str
    subject: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    note: str | None


async def recent(session: AsyncSession, limit: int = 200) -> list[Shown]:
    """The newest entries first, with the actor's name (or "—" once erased)."""
    rows = await session.execute(
        select(AuditEntry, Contact.name)
        .outerjoin(Contact, Contact.id == AuditEntry.actor_id)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    return [
        Shown(e.at, name or "—", e.action, e.subject, e.before, e.after, e.note)
        for e, name in rows.all()
    ]
