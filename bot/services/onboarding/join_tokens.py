"""One-time Telegram deep-link tokens: random, stored only as a hash, single use, expiring."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Contact, InviteToken

DEFAULT_LIFETIME = timedelta(days=30)
# 24 random bytes → 32 characters of A-Z a-z 0-9 _ -: 192 bits, within Telegram's 64.
TOKEN_BYTES = 24


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def deep_link(bot_username: str, token: str) -> str:
    return f"https://t.me/{bot_username}?start={token}"


@dataclass(frozen=True)
class Invite:
    contact_id: int
    token: str
    expires_at: datetime

    def link(self, bot_username: str) -> str:
        return deep_link(bot_username, self.token)


async def issue(
    session: AsyncSession,
    contact: Contact,
    *,
    now: datetime,
    lifetime: timedelta = DEFAULT_LIFETIME,
) -> Invite:
    """Make a new token for a contact; older unused ones stop working."""
    await session.execute(
        update(InviteToken)
        .where(InviteToken.contact_id == contact.id, InviteToken.used_at.is_(None))
        .values(expires_at=now)
    )
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(
        InviteToken(
            contact_id=contact.id,
            token_hash=hash_token(token),
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    await session.flush()
    return Invite(contact.id, token, now + lifetime)


Verdict = Literal["valid", "unknown", "used", "expired"]


async def check(
    session: AsyncSession, token: str, *, now: datetime
) -> tuple[Verdict, InviteToken | None]:
    """Say whether a token can be redeemed now, without redeeming it."""
    row = await session.scalar(
        select(InviteToken).where(InviteToken.token_hash == hash_token(token))
    )
    if row is None:
        return "unknown", None
    if row.used_at is not None:
        return "used", row
    if row.expires_at <= now:
        return "expired", row
    return "valid", row


async def consume(session: AsyncSession, row: InviteToken, *, now: datetime) -> bool:
    """Mark a token used; False when someone else used it first."""
    result = await session.execute(
        update(InviteToken)
        .where(InviteToken.id == row.id, InviteToken.used_at.is_(None))
        .values(used_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
