"""An event written back as its file: what `events load` reads, so a download loads again as
the same event (times in the event's own zone, empty fields left out)."""

from __future__ import annotations

from typing import Any

import yaml

from bot.db.models import Event
from bot.services.events.files import format_offset
from bot.services.events.registry import zone_of


def event_file(event: Event) -> dict[str, Any]:
    """The mapping an event file holds for a stored event (places and agenda loaded)."""
    zone = zone_of(event)
    starts, ends = event.starts_at.astimezone(zone), event.ends_at.astimezone(zone)
    one_day = starts.date() == ends.date()
    places = [_place(p.name, p.address, p.country) for p in event.places]
    document: dict[str, Any] = {
        "id": event.slug,
        "kind": event.kind,
        "title": dict(event.title),
        "description": dict(event.description or {}),
        "timezone": zone.key,
        "starts": f"{starts:%Y-%m-%dT%H:%M}",
        "ends": f"{ends:%Y-%m-%dT%H:%M}",
        "venue": places[0] if places else None,
        "places": places[1:],
        "capacity": event.capacity,
        "rsvp_by": event.rsvp_by.isoformat() if event.rsvp_by else None,
        "reminders": [format_offset(s) for s in event.reminder_offsets or []],
        "audience": dict(event.audience or {}),
        "survey": event.survey_slug,
        "agenda": [
            {
                "day": None if one_day else item.day.isoformat(),
                "at": item.starts.strftime("%H:%M") if item.starts else None,
                "until": item.ends.strftime("%H:%M") if item.ends else None,
                "title": dict(item.title),
                "place": item.place,
                "method": item.method,
                "presenter": item.presenter,
            }
            for item in event.agenda
        ],
    }
    document["agenda"] = [_given(item) for item in document["agenda"]]
    return _given(document)


def dump(event: Event) -> str:
    """The event file as YAML text, in UTF-8 with the letters as they are."""
    header = f"# {event.slug}: load it again with `expertbot events load` or in the console\n"
    body = yaml.safe_dump(event_file(event), allow_unicode=True, sort_keys=False, width=100)
    return header + body


def _place(name: str, address: str | None, country: str | None) -> dict[str, Any]:
    return _given({"name": name, "address": address, "country": country})


def _given(mapping: dict[str, Any]) -> dict[str, Any]:
    """Leave out what a person would not write: empty texts, lists and mappings."""
    return {k: v for k, v in mapping.items() if v not in (None, "", [], {})}
