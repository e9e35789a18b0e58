"""Attendance at the door: mark people present one tap at a time, and record walk-ins.

Anyone marked present counts as having attended (the funding report counts them, the survey
after the event goes to them), whether they were invited or walked in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Contact, Event, Invitation, InvitationAnswer

PRESENT = "attended"
COORDINATOR = "coordinator"  # the channel an answer recorded by the coordinator carries


@dataclass(frozen=True)
class Person:
    contact_id: int
    name: str
    organisation: str | None
    status: str

    @property
    def present(self) -> bool:
        return self.status == PRESENT


async def people(session: AsyncSession, event: Event) -> list[Person]:
    """Everyone invited or present, by name: the list to tap at the door."""
    rows = await session.execute(
        select(Invitation, Contact)
        .join(Contact, Contact.id == Invitation.contact_id)
        .where(Invitation.event_id == event.id, Contact.erased_at.is_(None))
        .order_by(Contact.name, Contact.id)
    )
    return [Person(c.id, c.name, c.organisation, i.status) for i, c in rows.all()]


async def set_present(
    session: AsyncSession, event: Event, contact_id: int, present: bool, *, now: datetime
) -> bool:
    """Mark one person present (a walk-in if not invited) or take the mark back."""
    invitation = await session.scalar(
        select(Invitation).where(
            Invitation.event_id == event.id, Invitation.contact_id == contact_id
        )
    )
    if invitation is None:
        if not present or await session.get(Contact, contact_id) is None:
            return False
        invitation = Invitation(event_id=event.id, contact_id=contact_id, status=PRESENT)
        invitation.invited_at = invitation.answered_at = now
        invitation.history = [
            InvitationAnswer(status=PRESENT, channel=COORDINATOR, recorded_at=now)
        ]
        session.add(invitation)
        return True
    if present == (invitation.status == PRESENT):
        return False
    status = PRESENT if present else await _before_present(session, invitation)
    invitation.status, invitation.answered_at, invitation.updated_at = status, now, now
    session.add(
        InvitationAnswer(
            invitation_id=invitation.id, status=status, channel=COORDINATOR, recorded_at=now
        )
    )
    return True


async def _before_present(session: AsyncSession, invitation: Invitation) -> str:
    """The answer a person had given before they were marked present."""
    history = await session.scalars(
        select(InvitationAnswer.status)
        .where(InvitationAnswer.invitation_id == invitation.id)
        .order_by(InvitationAnswer.recorded_at.desc(), InvitationAnswer.id.desc())
    )
    return next((s for s in history if s not in (PRESENT, "no_show")), "accepted")


async def add_walk_in(
    session: AsyncSession, event: Event, name: str, *, now: datetime, organisation: str = ""
) -> Contact:
    """Record someone who came without an invitation and is not in the registry, as a guest."""
    contact = Contact(
        name=name.strip(),
        organisation=organisation.strip() or None,
        role="guest",
        country="LV",
        language="lv",
    )
    session.add(contact)
    await session.flush()
    await set_present(session, event, contact.id, True, now=now)
    return contact
