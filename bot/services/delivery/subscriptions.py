"""Stopping and resuming a person's email, as their unsubscribe link asks.

Only the email channel changes: Telegram, where the person has it, goes on. Stopping cancels
every email still queued for them; the coordinator sees the channel as "unsubscribed"
(`contacts show`, exports, the console's delivery problems).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Contact
from bot.services.delivery import outbox

log = logging.getLogger("expertbot.delivery")
UNSUBSCRIBED = "unsubscribed"


@dataclass(frozen=True)
class EmailChoice:
    contact: Contact
    subscribed: bool  # whether email goes to them now
    changed: bool
    cancelled: int = 0  # queued emails cancelled


async def known_contact(session: AsyncSession, contact_id: int) -> Contact | None:
    """The contact a link was made for, unless they are gone or erased."""
    contact = await session.get(Contact, contact_id)
    return contact if contact is not None and contact.erased_at is None else None


def receives_email(contact: Contact) -> bool:
    return contact.email_state != UNSUBSCRIBED


async def stop_email(
    session: AsyncSession, contact_id: int, *, now: datetime
) -> EmailChoice | None:
    """Mark the email channel unsubscribed and cancel the queued emails; None if unknown."""
    contact = await known_contact(session, contact_id)
    if contact is None:
        return None
    changed = contact.email_state != UNSUBSCRIBED
    contact.email_state = UNSUBSCRIBED
    cancelled = await outbox.cancel(session, now=now, contact_id=contact.id, channel="email")
    if changed or cancelled:
        log.info(
            "contact %s unsubscribed from email; %d queued email(s) cancelled",
            contact.id,
            cancelled,
        )
    return EmailChoice(contact, subscribed=False, changed=changed, cancelled=cancelled)


async def resume_email(
    session: AsyncSession, contact_id: int, *, now: datetime
) -> EmailChoice | None:
    """Undo an unsubscribe: email goes to them again from now on; None if unknown."""
    contact = await known_contact(session, contact_id)
    if contact is None:
        return None
    changed = contact.email_state == UNSUBSCRIBED
    if changed:
        contact.email_state = "active"
        log.info("contact %s receives email again", contact.id)
    return EmailChoice(contact, subscribed=receives_email(contact), changed=changed)
