"""iCalendar files (RFC 5545/5546) for invitations, updates and cancellations."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import groupby
from typing import Literal

from icalendar import Calendar, vCalAddress, vText
from icalendar import Event as CalendarEvent

from bot.db.base import utcnow
from bot.db.models import Event
from bot.services.events.registry import zone_of
from bot.textformat import format_date, format_time, pick_language

PRODID = "-//expertbot//Roma integration expert network//EN"
UID_DOMAIN = "expertbot"

Method = Literal["REQUEST", "CANCEL"]


def event_uid(event: Event) -> str:
    """Return the UID that stays the same for an event through every update."""
    return f"event-{event.slug}@{UID_DOMAIN}"


def event_calendar(
    event: Event,
    *,
    method: Method = "REQUEST",
    organizer_email: str,
    language: str,
    organizer_name: str | None = None,
    attendee_email: str | None = None,
    attendee_name: str | None = None,
    stamp: datetime | None = None,
) -> bytes:
    """Build a calendar with one VEVENT for the event, as UTF-8 bytes.

    The event needs its places and agenda loaded (`events.find_event` does). REQUEST is for
    invitations and updates (SEQUENCE is the event's), CANCEL for a cancellation. Texts are
    in `language`, falling back to Latvian.
    """
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError(f"method must be REQUEST or CANCEL, not {method!r}")
    if method == "REQUEST" and event.status == "cancelled":
        raise ValueError(f"event {event.slug} is cancelled: send a CANCEL")
    zone = zone_of(event)
    starts, ends = event.starts_at.astimezone(zone), event.ends_at.astimezone(zone)
    entry = CalendarEvent()
    entry.add("uid", event_uid(event))
    entry.add("dtstamp", stamp or utcnow())
    entry.add("sequence", event.sequence)
    entry.add("dtstart", starts)
    entry.add("dtend", ends)
    entry.add("summary", pick_language(event.title, language), parameters={"LANGUAGE": language})
    if event.places:
        entry.add("location", location(event))
    description = describe(event, language)
    if description:
        entry.add("description", description, parameters={"LANGUAGE": language})
    entry.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    entry.add("organizer", _address(organizer_email, organizer_name))
    if attendee_email:
        attendee = _address(attendee_email, attendee_name)
        attendee.params["ROLE"] = "REQ-PARTICIPANT"
        if method == "REQUEST":
            attendee.params["PARTSTAT"] = "NEEDS-ACTION"
            attendee.params["RSVP"] = "TRUE"
        entry.add("attendee", attendee)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method)
    calendar.add_component(entry)
    # Only the rules around the event: the whole history of a zone would be kilobytes.
    calendar.add_missing_timezones(
        first_date=starts.date() - timedelta(days=366), last_date=ends.date() + timedelta(days=366)
    )
    return calendar.to_ical()


def location(event: Event) -> str:
    """Return the venue as one line: name and address."""
    venue = event.places[0]
    return ", ".join(part for part in (venue.name, venue.address) if part)


def describe(event: Event, language: str) -> str:
    """Write the description and the agenda as plain text, grouped by day when several."""
    zone = zone_of(event)
    parts = []
    if event.description:
        parts.append(pick_language(event.description, language))
    several_days = len({item.day for item in event.agenda}) > 1
    agenda = sorted(event.agenda, key=lambda item: item.day)
    for day, items in groupby(agenda, key=lambda item: item.day):
        lines = [format_date(day, language, zone, "full")] if several_days else []
        for item in items:
            times = "–".join(
                format_time(t, language, zone) for t in (item.starts, item.ends) if t is not None
            )
            # The method is free text in one language (often English): the email leaves it out too.
            details = " · ".join(p for p in (item.place, item.presenter) if p)
            line = f"{times} {pick_language(item.title, language)}".strip()
            lines.append(f"{line} ({details})" if details else line)
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def _address(email: str, name: str | None) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    if name:
        address.params["CN"] = vText(name)
    return address
