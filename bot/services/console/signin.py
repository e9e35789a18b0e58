"""Sign-in without passwords: a one-time link by email (or in the Telegram chat), then a session.

Links work once, for 15 minutes, and only their hash is stored; the link itself is made when
the message goes out (the outbox keeps it masked). Anyone who is not a coordinator gets the
same answer and no message, so the form tells nobody who has an account.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import ConsoleLogin, ConsoleSession, Contact, OutboxMessage
from bot.rendering import LANGUAGES
from bot.services.delivery import outbox
from bot.services.delivery.compose import ComposeEnv, Composition, Unreachable, builder

KIND = "console_signin"
COORDINATOR = "coordinator"
LINK_LIFETIME = timedelta(minutes=15)
IDLE_TIMEOUT = timedelta(hours=8)
TOKEN_BYTES = 32
SIGNIN_PATH = "/console/signin/"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


async def coordinator_by_email(session: AsyncSession, address: str) -> Contact | None:
    """The coordinator with this address, or None (also for anyone else)."""
    address = address.strip().lower()
    if not address or "@" not in address:
        return None
    contact = await session.scalar(select(Contact).where(func.lower(Contact.email) == address))
    if contact is None or not is_coordinator(contact):
        return None
    return contact


def is_coordinator(contact: Contact | None) -> bool:
    return contact is not None and contact.erased_at is None and contact.role == COORDINATOR


async def request_link(
    session: AsyncSession,
    contact: Contact,
    *,
    channel: str,
    now: datetime,
    policy: outbox.DeliveryPolicy,
    public_url: str,
) -> bool:
    """Queue a sign-in link to a coordinator on one channel; False when it cannot go there."""
    result = await outbox.enqueue(
        session,
        contact=contact,
        channel=channel,
        kind=KIND,
        dedupe_key=f"{KIND}:{contact.id}:{channel}:{secrets.token_hex(8)}",
        now=now,
        policy=policy,
        urgent=True,  # the coordinator is waiting for it at the screen
        params={"public_url": public_url.rstrip("/")},
    )
    return result.status == "queued"


async def issue(session: AsyncSession, contact: Contact, *, channel: str, now: datetime) -> str:
    """Make a one-time sign-in token; older unused ones stop working."""
    await session.execute(
        update(ConsoleLogin)
        .where(ConsoleLogin.contact_id == contact.id, ConsoleLogin.used_at.is_(None))
        .values(expires_at=now)
    )
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(
        ConsoleLogin(
            contact_id=contact.id,
            token_hash=hash_token(token),
            channel=channel,
            created_at=now,
            expires_at=now + LINK_LIFETIME,
        )
    )
    await session.flush()
    return token


@builder(KIND, writes=True)
async def compose_signin(
    session: AsyncSession, row: OutboxMessage, contact: Contact, env: ComposeEnv
) -> Composition:
    """Issue the token as the message goes out, so no usable link waits in the outbox."""
    if not is_coordinator(contact):
        raise Unreachable("no longer a coordinator")
    now = row.updated_at  # the dispatcher's clock when it claimed the row
    token = await issue(session, contact, channel=row.channel, now=now)
    url = f"{row.params['public_url']}{SIGNIN_PATH}{token}"
    minutes = int(LINK_LIFETIME.total_seconds() // 60)
    return Composition(
        {"contact_name": contact.name, "signin_url": url, "minutes": minutes}, secrets=(url,)
    )


LinkVerdict = Literal["valid", "unknown", "used", "expired", "not_coordinator"]


@dataclass(frozen=True)
class SignedIn:
    contact: Contact
    token: str  # goes into the cookie; the database keeps only its hash


async def check_link(
    session: AsyncSession, token: str, *, now: datetime
) -> tuple[LinkVerdict, Contact | None]:
    """Say whether a sign-in link works now, without using it."""
    row = await session.scalar(
        select(ConsoleLogin).where(ConsoleLogin.token_hash == hash_token(token))
    )
    if row is None:
        return "unknown", None
    if row.used_at is not None:
        return "used", None
    if row.expires_at <= now:
        return "expired", None
    contact = await session.get(Contact, row.contact_id)
    if not is_coordinator(contact):
        return "not_coordinator", None
    return "valid", contact


async def sign_in(session: AsyncSession, token: str, *, now: datetime) -> SignedIn | LinkVerdict:
    """Use a sign-in link once and open a session; or say why not."""
    verdict, contact = await check_link(session, token, now=now)
    if verdict != "valid" or contact is None:
        return verdict
    used = await session.execute(
        update(ConsoleLogin)
        .where(ConsoleLogin.token_hash == hash_token(token), ConsoleLogin.used_at.is_(None))
        .values(used_at=now)
    )
    if not used.rowcount:  # type: ignore[attr-defined]
        return "used"  # someone else (a second tab) was a moment faster
    return SignedIn(contact, await open_session(session, contact, now=now))


async def open_session(session: AsyncSession, contact: Contact, *, now: datetime) -> str:
    """Start a browser session for a coordinator; return the token its cookie carries."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    language = contact.language if contact.language in LANGUAGES else "lv"
    session.add(
        ConsoleSession(
            contact_id=contact.id,
            token_hash=hash_token(token),
            language=language,
            created_at=now,
            seen_at=now,
        )
    )
    await session.flush()
    return token


async def first_coordinator(session: AsyncSession) -> Contact | None:
    """The coordinator the playground signs in as: the first one in the registry."""
    return await session.scalar(
        select(Contact)
        .where(Contact.role == COORDINATOR, Contact.erased_at.is_(None))
        .order_by(Contact.id)
        .limit(1)
    )


@dataclass(frozen=True)
class Current:
    """The signed-in coordinator of a request."""

    session_id: int
    contact_id: int
    name: str
    language: str


async def current(
    session: AsyncSession, token: str, *, now: datetime, touch: bool = True
) -> Current | None:
    """The live session behind a cookie; ends it when idle too long or no longer a coordinator.

    A request the page makes by itself (a live table's refresh) passes `touch=False`: it does
    not count as the coordinator being active."""
    if not token:
        return None
    row = await session.scalar(
        select(ConsoleSession).where(
            ConsoleSession.token_hash == hash_token(token), ConsoleSession.ended_at.is_(None)
        )
    )
    if row is None:
        return None
    contact = await session.get(Contact, row.contact_id)
    if not is_coordinator(contact) or now - row.seen_at > IDLE_TIMEOUT:
        row.ended_at = now
        return None
    assert contact is not None
    if touch and now - row.seen_at > timedelta(minutes=1):  # a write a minute is enough
        row.seen_at = now
    return Current(row.id, contact.id, contact.name, row.language)


async def sign_out(session: AsyncSession, session_id: int, *, now: datetime) -> None:
    await session.execute(
        update(ConsoleSession).where(ConsoleSession.id == session_id).values(ended_at=now)
    )


async def set_language(session: AsyncSession, session_id: int, language: str) -> None:
    if language in LANGUAGES:
        await session.execute(
            update(ConsoleSession).where(ConsoleSession.id == session_id).values(language=language)
        )


async def end_sessions_of(session: AsyncSession, contact_id: int, *, now: datetime) -> int:
    """End every open session of a contact (their role was taken away, or they were erased)."""
    result = await session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.contact_id == contact_id, ConsoleSession.ended_at.is_(None))
        .values(ended_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
