"""Attendance at the door: mark people present one tap at a time, and record walk-ins.

Anyone marked present counts as having attended (the funding report counts them, the survey
after the event goes to them), whether they were invited or walked in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Contact, Event, Invitation, InvitationAnswer
from bot.services.events.invitations import record_attendance

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


@dataclass(frozen=True)
class SheetPerson:
    """One line of a sign-in sheet: an address, a name, or both."""

    email: str = ""
    name: str = ""
    organisation: str = ""


@dataclass
class SheetReport:
    present: list[str]
    absent: list[str]
    walk_ins: list[str]  # came without an invitation: registered people and new guests
    unknown: list[str]  # addresses nobody has, given without a name to register them by


async def record_sheet(
    session: AsyncSession, event: Event, people: list[SheetPerson], *, now: datetime
) -> SheetReport:
    """Record a whole attendance list: the invited who came, walk-ins, new guests by name.

    Whoever had said yes and is not on the list becomes a no-show. The caller rolls back when
    `unknown` is not empty, so a list with a mistake changes nothing.
    """
    emails = [p.email for p in people if p.email]
    done = await record_attendance(session, event, emails, now=now)
    report = SheetReport(done.present, done.absent, [], [])
    named = {p.email.strip().lower(): p for p in people if p.email}
    for address in done.unknown:
        contact = await session.scalar(
            select(Contact).where(func.lower(Contact.email) == address, Contact.erased_at.is_(None))
        )
        given = named.get(address)
        if contact is not None:
            await set_present(session, event, contact.id, True, now=now)
            report.walk_ins.append(contact.name)
        elif given is not None and given.name.strip():
            guest = await add_walk_in(
                session, event, given.name, now=now, organisation=given.organisation
            )
            guest.email = _valid(address)
            report.walk_ins.append(guest.name)
        else:
            report.unknown.append(address)
    for person in people:
        if not person.email and person.name.strip():
            guest = await add_walk_in(
                session, event, person.name, now=now, organisation=person.organisation
            )
            report.walk_ins.append(guest.name)
    return report


def _valid(address: str) -> str | None:
    """The address, if it is one (a sign-in sheet is written by hand)."""
    try:
        return validate_email(address, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None
