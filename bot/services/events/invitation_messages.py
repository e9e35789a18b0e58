"""What an event invitation carries: values for its templates, RSVP buttons and links."""

from __future__ import annotations

from datetime import datetime
from email.utils import parseaddr
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.db.models import Contact, Event, Invitation, OutboxMessage
from bot.rendering import label
from bot.services.delivery import outbox
from bot.services.delivery.compose import ComposeEnv, Composition, builder
from bot.services.delivery.port import Attachment, Button
from bot.services.delivery.signed_links import Links
from bot.services.events import invitations
from bot.services.events.calendar import event_calendar

RSVP_PURPOSE = "rsvp"


def event_values(event: Event) -> dict[str, Any]:
    """The event as the templates see it (title per language, aware datetimes, agenda)."""
    venue = event.places[0] if event.places else None
    return {
        "title": event.title,
        "starts_at": event.starts_at,
        "ends_at": event.ends_at,
        "venue": {"name": venue.name, "address": venue.address} if venue else {"name": ""},
        "rsvp_by": event.rsvp_by,
        "capacity": event.capacity,
        "agenda": [
            {
                "day": item.day,
                "starts": item.starts,
                "ends": item.ends,
                "title": item.title,
                "place": item.place,
            }
            for item in event.agenda
        ],
    }


CHOSEN = "✓ "  # before the answer given, as the Telegram handler marks a pressed button
# The button each answer ticks: waiting for a place is a yes.
TICKED = {"accepted": "yes", "waitlisted": "yes", "declined": "no", "not_sure": "maybe"}
ANSWER_BUTTONS = (("accepted", "yes"), ("declined", "no"), ("not_sure", "maybe"))


def rsvp_buttons(
    invitation_id: int, language: str, answer: str | None = None
) -> tuple[tuple[Button, ...], ...]:
    """Will attend / Can't attend / Not sure yet, each carrying the invitation id; the button
    of the answer given (an invitation status) ticked."""
    ticked = TICKED.get(answer or "")
    return (
        tuple(
            Button(
                (CHOSEN if code == ticked else "") + label("answers", status, language),
                data=f"rsvp:{invitation_id}:{code}",
            )
            for status, code in ANSWER_BUTTONS
        ),
    )


async def queue_button_ticks(
    session: AsyncSession, invitation: Invitation, *, now: datetime, policy: outbox.DeliveryPolicy
) -> int:
    """After an answer given elsewhere (a web page), move the tick under the Telegram
    invitation too: an edit of its buttons, through the outbox like every message."""
    sent = await session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.contact_id == invitation.contact_id,
            OutboxMessage.event_id == invitation.event_id,
            OutboxMessage.kind == invitations.KIND,
            OutboxMessage.channel == "telegram",
            OutboxMessage.status == "sent",
            OutboxMessage.provider_id.is_not(None),
        )
    )
    queued = 0
    for row in sent:
        if row.params.get("edit"):
            continue  # an earlier edit, not an invitation
        contact = await session.get(Contact, invitation.contact_id)
        assert contact is not None
        result = await outbox.enqueue(
            session,
            contact=contact,
            channel="telegram",
            kind=invitations.KIND,
            dedupe_key=f"rsvp-tick:{row.id}:{now.isoformat()}:{invitation.status}",
            now=now,
            policy=policy,
            event_id=invitation.event_id,
            urgent=True,  # a silent edit: no reason to wait for the morning
            params={"edit": row.provider_id},
        )
        queued += result.status == "queued"
    return queued


def rsvp_links(links: Links, invitation: Invitation, event: Event) -> dict[str, str]:
    """Signed one-click links, bound to the invitation, valid until the event ends."""
    expires = int(event.ends_at.timestamp())
    return {
        name: links.url("r", RSVP_PURPOSE, {"i": invitation.id, "a": code, "x": expires})
        for name, code in (("accept", "yes"), ("decline", "no"), ("maybe", "maybe"))
    }


def read_rsvp(links: Links, token: str, now: datetime) -> tuple[int, str]:
    """Return (invitation id, answer code) from a link, or raise LinkError."""
    from bot.services.delivery.signed_links import LinkError

    payload = links.read(RSVP_PURPOSE, token, max_age_seconds=400 * 24 * 3600)
    if not isinstance(payload, dict):
        raise LinkError("invalid")
    invitation, answer, until = payload.get("i"), payload.get("a"), payload.get("x", 0)
    # A validly signed payload of another shape is as invalid as a forged one, never a crash.
    if not isinstance(answer, str) or answer not in invitations.ANSWERS:
        raise LinkError("invalid")
    if not isinstance(invitation, int) or isinstance(invitation, bool) or invitation <= 0:
        raise LinkError("invalid")
    if not isinstance(until, int | float) or isinstance(until, bool):
        raise LinkError("invalid")
    if now.timestamp() > float(until):
        raise LinkError("expired")
    return invitation, answer


async def load_event(session: AsyncSession, event_id: int) -> Event:
    event = await session.scalar(
        select(Event)
        .where(Event.id == event_id)
        .options(selectinload(Event.places), selectinload(Event.agenda))
    )
    if event is None:
        raise LookupError(f"event {event_id} is gone")
    return event


@builder(invitations.KIND)
async def invitation_message(
    session: AsyncSession, row: OutboxMessage, contact: Contact, env: ComposeEnv
) -> Composition:
    """The invitation as it goes out now: current venue, times and answers."""
    assert row.event_id is not None
    event = await load_event(session, row.event_id)
    invitation = await session.scalar(
        select(Invitation).where(
            Invitation.event_id == event.id, Invitation.contact_id == contact.id
        )
    )
    if invitation is None:
        raise LookupError(f"{contact.name} is not invited to {event.slug}")
    links = env.links
    if row.channel == "email" and links is None:
        raise ValueError("EXPERTBOT_SECRET_KEY is not set, so RSVP links cannot be signed")
    accepted = (await invitations.counts(session, event.id))["accepted"]
    values = {
        "contact_name": contact.name,
        "event": event_values(event),
        "accepted_count": accepted,
        "rsvp_links": rsvp_links(links, invitation, event)
        if links
        else {"accept": "", "decline": "", "maybe": ""},
    }
    buttons: tuple[tuple[Button, ...], ...] = ()
    if row.channel == "telegram":  # the answer given so far ticked, as a press would show it
        buttons = rsvp_buttons(invitation.id, contact.language, invitation.status)
    if buttons and row.params.get("edit"):
        return Composition(values, buttons=buttons, edit_message_id=str(row.params["edit"]))
    return Composition(
        values, buttons=buttons, attachments=(invitation_calendar(event, contact, env),)
    )


def invitation_calendar(event: Event, contact: Contact, env: ComposeEnv) -> Attachment:
    """The .ics file: METHOD:REQUEST, the event's stable UID and current SEQUENCE."""
    content = event_calendar(
        event,
        method="REQUEST",
        organizer_email=parseaddr(env.mail_from)[1] or "expertbot@localhost",
        language=contact.language if contact.language in event.title else "lv",
        attendee_email=contact.email,
        attendee_name=contact.name,
    )
    return Attachment(f"{event.slug}.ics", "text/calendar", content, {"method": "REQUEST"})


@builder("event_changed")
async def change_message(
    session: AsyncSession, row: OutboxMessage, contact: Contact, env: ComposeEnv
) -> Composition:
    """The new time and place, the answer buttons again, and the calendar with SEQUENCE + 1."""
    composition = await invitation_message(session, row, contact, env)
    composition.values.pop("accepted_count", None)
    return composition


@builder("event_cancelled")
async def cancel_message(
    session: AsyncSession, row: OutboxMessage, contact: Contact, env: ComposeEnv
) -> Composition:
    """The cancellation, its reason, and METHOD:CANCEL for the person's calendar."""
    assert row.event_id is not None
    event = await load_event(session, row.event_id)
    content = event_calendar(
        event,
        method="CANCEL",
        organizer_email=parseaddr(env.mail_from)[1] or "expertbot@localhost",
        language=contact.language if contact.language in event.title else "lv",
        attendee_email=contact.email,
        attendee_name=contact.name,
    )
    values = {
        "contact_name": contact.name,
        "event": event_values(event),
        "reason": event.cancel_reason or "",
    }
    calendar = Attachment(f"{event.slug}.ics", "text/calendar", content, {"method": "CANCEL"})
    return Composition(values, attachments=(calendar,))


@builder("event_nudge")
async def nudge_message(
    session: AsyncSession, row: OutboxMessage, contact: Contact, env: ComposeEnv
) -> Composition:
    """The invitation once more, briefly, with the answer buttons or links."""
    composition = await invitation_message(session, row, contact, env)
    composition.values.pop("accepted_count", None)
    return Composition(composition.values, buttons=composition.buttons)


@builder("event_place_freed")
async def place_freed_message(
    session: AsyncSession, row: OutboxMessage, contact: Contact, env: ComposeEnv
) -> Composition:
    """A place came free: it is now theirs, with a way to give it back."""
    composition = await invitation_message(session, row, contact, env)
    links = composition.values.pop("rsvp_links")
    composition.values.pop("accepted_count", None)
    composition.values["decline_url"] = links["decline"]
    buttons = composition.buttons[0][1:2] if composition.buttons else ()
    return Composition(composition.values, buttons=(buttons,) if buttons else ())
