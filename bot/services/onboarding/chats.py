"""A person's first minute on Telegram and their self-service after: link, consent, language,
stop, and requests to join from people without a link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import AccessRequest, ConsentRecord, Contact, TelegramLink
from bot.db.vocab import LANGUAGES
from bot.services.onboarding import join_tokens


@dataclass(frozen=True)
class Identity:
    """Who is writing, as Telegram tells it (no Telegram types cross into services)."""

    chat_id: int
    user_id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)

    @property
    def language(self) -> str:
        """The language to answer a stranger in: theirs when lv or et, else English."""
        code = (self.language_code or "").split("-")[0].lower()
        return code if code in ("lv", "et") else "en"


StartStatus = Literal["linked", "welcome_back", "unknown", "used", "expired", "taken", "no_token"]


@dataclass(frozen=True)
class StartOutcome:
    status: StartStatus
    language: str
    contact_id: int | None = None
    name: str | None = None
    needs_consent: bool = False


async def contact_of_chat(session: AsyncSession, chat_id: int) -> Contact | None:
    """The contact this private chat belongs to, if any."""
    return await session.scalar(
        select(Contact)
        .join(TelegramLink, TelegramLink.contact_id == Contact.id)
        .where(TelegramLink.chat_id == chat_id, Contact.erased_at.is_(None))
    )


async def start(
    session: AsyncSession, who: Identity, token: str | None, *, now: datetime
) -> StartOutcome:
    """Handle /start with or without an invite token."""
    known = await contact_of_chat(session, who.chat_id)
    if not token:
        if known is None:
            return StartOutcome("no_token", who.language)
        if known.telegram_state != "active":
            known.telegram_state = "active"
        return _outcome("welcome_back", known)
    verdict, row = await join_tokens.check(session, token, now=now)
    if verdict != "valid" or row is None:
        return StartOutcome(verdict if verdict != "valid" else "unknown", who.language)
    if known is not None and known.id != row.contact_id:
        return StartOutcome("taken", who.language)
    contact = await session.get(Contact, row.contact_id)
    if contact is None or contact.erased_at is not None:
        return StartOutcome("unknown", who.language)
    if not await join_tokens.consume(session, row, now=now):
        return StartOutcome("used", who.language)
    await _link(session, contact, who, now)
    return _outcome("linked", contact)


def _outcome(status: StartStatus, contact: Contact) -> StartOutcome:
    return StartOutcome(
        status, contact.language, contact.id, contact.name, contact.consent_on is None
    )


async def _link(session: AsyncSession, contact: Contact, who: Identity, now: datetime) -> None:
    """Tie the chat to the contact; a new phone replaces the contact's old chat."""
    old = await session.scalars(select(TelegramLink).where(TelegramLink.contact_id == contact.id))
    for link in old:
        await session.delete(link)
    await session.flush()
    session.add(
        TelegramLink(
            contact_id=contact.id,
            chat_id=who.chat_id,
            user_id=who.user_id,
            username=who.username,
            language_code=who.language_code,
            linked_at=now,
        )
    )
    contact.telegram_state = "active"
    if who.username and not contact.telegram_username:
        clash = await session.scalar(
            select(Contact.id).where(Contact.telegram_username == who.username)
        )
        if clash is None:
            contact.telegram_username = who.username
    await session.flush()


async def record_consent(
    session: AsyncSession, chat_id: int, granted: bool, *, now: datetime
) -> Contact | None:
    """Store the answer to the consent question, with time and channel."""
    contact = await contact_of_chat(session, chat_id)
    if contact is None:
        return None
    session.add(
        ConsentRecord(contact_id=contact.id, granted=granted, source="telegram", recorded_at=now)
    )
    if granted:
        contact.consent_on = now.date()
        contact.consent_source = "telegram"
    await session.flush()
    return contact


async def set_language(session: AsyncSession, chat_id: int, language: str) -> Contact | None:
    """Change the language of every future message, on every channel."""
    if language not in LANGUAGES:
        raise ValueError(f"{language!r} is not lv, et or en")
    contact = await contact_of_chat(session, chat_id)
    if contact is not None:
        contact.language = language
    return contact


async def stop_telegram(session: AsyncSession, chat_id: int) -> Contact | None:
    """No more Telegram messages; email goes on where the person has it."""
    contact = await contact_of_chat(session, chat_id)
    if contact is not None:
        contact.telegram_state = "unsubscribed"
    return contact


async def chat_blocked(session: AsyncSession, chat_id: int, blocked: bool) -> None:
    """Follow Telegram's word that the person blocked (or unblocked) the bot."""
    contact = await contact_of_chat(session, chat_id)
    if contact is None:
        return
    if blocked:
        contact.telegram_state = "blocked"
    elif contact.telegram_state == "blocked":
        contact.telegram_state = "active"


# --- requests to join -------------------------------------------------------------------


async def coordinator_chats(session: AsyncSession) -> list[tuple[Contact, int]]:
    """Coordinators reachable on Telegram, with their chats (checked now, in the database)."""
    rows = await session.execute(
        select(Contact, TelegramLink.chat_id)
        .join(TelegramLink, TelegramLink.contact_id == Contact.id)
        .where(
            Contact.role == "coordinator",
            Contact.erased_at.is_(None),
            Contact.telegram_state == "active",
        )
    )
    return [(contact, chat) for contact, chat in rows.all()]


async def is_coordinator(session: AsyncSession, chat_id: int) -> Contact | None:
    contact = await contact_of_chat(session, chat_id)
    return contact if contact is not None and contact.role == "coordinator" else None


async def _unlinked(session: AsyncSession, contact_id: int) -> Contact | None:
    """A contact that exists, is not erased and has no Telegram chat yet."""
    return await session.scalar(
        select(Contact).where(
            Contact.id == contact_id,
            Contact.erased_at.is_(None),
            ~Contact.id.in_(select(TelegramLink.contact_id)),
        )
    )


async def candidates(
    session: AsyncSession, request: AccessRequest, limit: int = 5
) -> list[Contact]:
    """Contacts without Telegram whose name shares a word with the requester's."""
    words = {w.lower() for w in request.display_name.split() if len(w) > 2}
    found = await session.scalars(
        select(Contact)
        .where(Contact.erased_at.is_(None), ~Contact.id.in_(select(TelegramLink.contact_id)))
        .order_by(Contact.name)
    )
    return [c for c in found if words & {w.lower() for w in c.name.split()}][:limit]


async def request_access(
    session: AsyncSession, who: Identity, *, now: datetime
) -> tuple[AccessRequest, bool]:
    """File a request to join; returns (request, is_new). One pending request per person."""
    pending = await session.scalar(
        select(AccessRequest).where(
            AccessRequest.user_id == who.user_id, AccessRequest.status == "pending"
        )
    )
    if pending is not None:
        return pending, False
    request = AccessRequest(
        chat_id=who.chat_id,
        user_id=who.user_id,
        display_name=who.display_name[:200],
        username=who.username,
        language_code=who.language_code,
        created_at=now,
    )
    session.add(request)
    await session.flush()
    return request, True


Decision = Literal["approved", "declined", "not_coordinator", "already_decided", "missing"]


@dataclass(frozen=True)
class DecisionOutcome:
    status: Decision
    request: AccessRequest | None = None
    contact: Contact | None = None


async def decide_access(
    session: AsyncSession,
    request_id: int,
    coordinator_chat: int,
    approve: bool,
    *,
    now: datetime,
    default_language: str = "lv",
    link_to: int | None = None,
) -> DecisionOutcome:
    """A coordinator declines, or approves: links the person to a contact the coordinator
    picked (`link_to`), or makes a new guest contact."""
    coordinator = await is_coordinator(session, coordinator_chat)
    if coordinator is None:
        return DecisionOutcome("not_coordinator")
    request = await session.get(AccessRequest, request_id)
    if request is None:
        return DecisionOutcome("missing")
    if request.status != "pending":
        return DecisionOutcome("already_decided", request)
    request.decided_by_id, request.decided_at = coordinator.id, now
    if not approve:
        request.status = "declined"
        return DecisionOutcome("declined", request)
    who = Identity(
        request.chat_id,
        request.user_id,
        request.display_name,
        username=request.username,
        language_code=request.language_code,
    )
    contact = await _unlinked(session, link_to) if link_to is not None else None
    if link_to is not None and contact is None:
        return DecisionOutcome("missing", request)
    if contact is None:
        language = who.language if request.language_code else default_language
        contact = Contact(name=request.display_name, role="guest", language=language)
        session.add(contact)
        await session.flush()
    await _link(session, contact, who, now)
    request.status, request.contact_id = "approved", contact.id
    return DecisionOutcome("approved", request, contact)
