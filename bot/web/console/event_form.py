"""Create and edit an event with a form, checked exactly like an event file (`events load`).

The form's fields become the mapping an event file holds; the same reader checks it, and each
problem is shown at the field its path names, with everything typed kept.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response

from bot.db.models import Event
from bot.db.vocab import EVENT_KINDS, ROLES
from bot.rendering import LANGUAGES, label
from bot.services.events import invitations
from bot.services.events import registry as events
from bot.services.events.as_file import dump
from bot.services.events.files import MAX_FILE_BYTES as MAX_FILE
from bot.services.events.files import EventFileError, format_offset, parse_event
from bot.services.events.invitation_messages import load_event
from bot.web.console.auth import Signed, signed_in
from bot.web.console.problems import Said, in_file, recognise
from bot.web.console.render import pages, see_other
from bot.web.pages import deps_of

AGENDA_ROWS = 8
ZONES = ("Europe/Riga", "Europe/Tallinn")
FIELDS: tuple[str, ...] = (
    *("key", "kind", "timezone", "day", "start", "end", "venue", "address", "capacity"),
    *("rsvp_by", "reminders", "survey"),
)


def blank() -> dict[str, Any]:
    """The values of an empty form: a Riga meeting with the usual reminders."""
    values: dict[str, Any] = {name: "" for name in FIELDS}
    values.update(kind="expert_meeting", timezone="Europe/Riga", reminders="7d, 1d, 2h")
    values.update({f"title_{lang}": "" for lang in LANGUAGES})
    values["roles"] = ["regional_expert", "mediator"]
    values["agenda"] = [_row() for _ in range(AGENDA_ROWS)]
    return values


def _row(**given: str) -> dict[str, str]:
    return {"at": "", "until": "", **{f"title_{lang}": "" for lang in LANGUAGES}, **given}


def from_form(form: FormData) -> dict[str, Any]:
    """The typed values, as they are, to show again."""
    values: dict[str, Any] = {name: str(form.get(name, "")).strip() for name in FIELDS}
    for lang in LANGUAGES:
        values[f"title_{lang}"] = str(form.get(f"title_{lang}", "")).strip()
    values["roles"] = [r for r in form.getlist("roles") if r in ROLES]
    values["agenda"] = [
        _row(**{part: str(form.get(f"agenda-{i}-{part}", "")).strip() for part in _row()})
        for i in range(AGENDA_ROWS)
    ]
    return values


def from_event(event: Event) -> dict[str, Any]:
    """The form's values for a stored event, in its own time zone."""
    zone = events.zone_of(event)
    starts, ends = event.starts_at.astimezone(zone), event.ends_at.astimezone(zone)
    venue = event.places[0] if event.places else None
    rows = [
        _row(
            at=item.starts.strftime("%H:%M") if item.starts else "",
            until=item.ends.strftime("%H:%M") if item.ends else "",
            **{f"title_{lang}": text for lang, text in item.title.items()},
        )
        for item in event.agenda[:AGENDA_ROWS]
    ]
    values = blank()
    values.update(
        key=event.slug,
        kind=event.kind,
        timezone=zone.key,
        day=starts.date().isoformat(),
        start=starts.strftime("%H:%M"),
        end=ends.strftime("%H:%M"),
        venue=venue.name if venue else "",
        address=(venue.address or "") if venue else "",
        capacity=str(event.capacity or ""),
        rsvp_by=event.rsvp_by.isoformat() if event.rsvp_by else "",
        reminders=", ".join(format_offset(s) for s in event.reminder_offsets or []),
        survey=event.survey_slug or "",
        roles=list(event.audience.get("roles", [])),
        agenda=rows + [_row() for _ in range(AGENDA_ROWS - len(rows))],
        **{f"title_{lang}": text for lang, text in event.title.items()},
    )
    return values


def to_file(values: dict[str, Any]) -> dict[str, Any]:
    """The event file the form stands for (empty fields left out, as a person would)."""
    day = values["day"]
    document: dict[str, Any] = {
        "id": values["key"],
        "kind": values["kind"],
        "title": _texts(values, "title_"),
        "timezone": values["timezone"],
        "starts": f"{day}T{values['start']}",
        "ends": f"{day}T{values['end']}",
        "venue": {"name": values["venue"], "address": values["address"] or None},
    }
    if not values["address"]:
        del document["venue"]["address"]
    optional = {
        "capacity": int(values["capacity"]) if values["capacity"].isdigit() else values["capacity"],
        "rsvp_by": values["rsvp_by"],
        "reminders": [r for r in re.split(r"[,\s]+", values["reminders"]) if r],
        "survey": values["survey"],
    }
    document.update({name: value for name, value in optional.items() if value})
    if values["roles"]:
        document["audience"] = {"roles": values["roles"]}
    agenda = [
        {"at": row["at"], "until": row["until"], "title": _texts(row, "title_")}
        for row in values["agenda"]
        if any(row.values())
    ]
    for item in agenda:
        for part in ("at", "until"):
            if not item[part]:
                del item[part]
    if agenda:
        document["agenda"] = agenda
    return document


def _texts(values: dict[str, Any], prefix: str) -> dict[str, str]:
    return {lang: values[prefix + lang] for lang in LANGUAGES if values.get(prefix + lang)}


def field_of(path: str) -> str:
    """The form field a problem's path names: "title.et" → title, "agenda[2].until" → agenda."""
    head = re.split(r"[.\[]", path, maxsplit=1)[0]
    return (
        {
            "id": "key",
            "starts": "start",
            "ends": "end",
            "audience": "roles",
        }.get(head, head)
        if head
        else "form"
    )


async def _form(request: Request, signed: Signed) -> Response:
    """The event form: empty for a new event, filled in for an existing one."""
    key = request.path_params.get("key")
    values = blank()
    if key:
        async with deps_of(request).database.read_scope() as session:
            found = await events.find_event(session, key)
            if found is None:
                return see_other(request, "/events")
            values = from_event(await load_event(session, found.id))
    return _page(request, signed, values, {}, editing=bool(key))


def _page(
    request: Request,
    signed: Signed,
    values: dict[str, Any],
    errors: dict[str, list[Said | str]],
    *,
    editing: bool,
    status: int = 200,
) -> Response:
    return pages(request).render(
        "event_form",
        signed.language,
        status,
        me=signed.who.name,
        csrf=signed.csrf,
        here="/events",
        values=values,
        errors=errors,
        editing=editing,
        kinds=EVENT_KINDS,
        roles=[(r, label("roles", r, signed.language)) for r in ROLES if r != "guest"],
        zones=ZONES,
        action=str(request.url.path),
    )


async def _save(request: Request, signed: Signed) -> Response:
    """Check the form like an event file; save it, or show it again with errors at the fields."""
    editing = "key" in request.path_params
    values = from_form(await request.form())
    if editing:
        values["key"] = request.path_params["key"]
    source = yaml.safe_dump(to_file(values), allow_unicode=True, sort_keys=False)
    try:
        spec = parse_event(source.encode("utf-8"), "form")
    except EventFileError as error:
        errors: dict[str, list[Said | str]] = {}
        for problem in error.problems:
            errors.setdefault(field_of(problem.path), []).append(recognise(problem.reason))
        return _page(request, signed, values, errors, editing=editing, status=422)
    deps = deps_of(request)
    async with deps.database.session_scope() as session:
        if not editing and await events.find_event(session, spec.slug) is not None:
            return _page(request, signed, values, {"key": ["taken"]}, editing=False, status=422)
        result = await events.load_event(session, spec, now=signed.now)
        event = await session.get(Event, result.event_id)
        told = result.needs_notice and event is not None and event.status != "cancelled"
        if told and event is not None and deps.policy is not None:
            await invitations.notify_change(session, event, now=signed.now, policy=deps.policy)
        await signed.log(
            session,
            "edit_event" if editing else "create_event",
            f"event:{spec.slug}",
            after={"changes": [str(c) for c in result.changes]} if editing else {"id": spec.slug},
        )
    return see_other(request, f"/events/{spec.slug}")


async def _list(request: Request, signed: Signed) -> Response:
    """Every event, newest first, with its answers counted."""
    return await _list_with(request, signed, [])


async def _list_with(
    request: Request, signed: Signed, problems: list[Said | str], status: int = 200
) -> Response:
    async with deps_of(request).database.read_scope() as session:
        found = await events.list_events(session)
    return pages(request).render(
        "events",
        signed.language,
        status,
        problems=problems,
        me=signed.who.name,
        csrf=signed.csrf,
        here="/events",
        events=[
            {
                "key": o.event.slug,
                "title": o.event.title,
                "starts_at": o.event.starts_at,
                "status": o.event.status,
                "accepted": o.counts.accepted,
                "invited": o.counts.invited,
                "past": o.event.ends_at < signed.now,
            }
            for o in reversed(found)
        ],
    )


form_page = signed_in(_form)
save = signed_in(_save)
events_page = signed_in(_list)


async def _download(request: Request, signed: Signed) -> Response:
    """The event as its YAML file, to keep, edit by hand or load elsewhere."""
    async with deps_of(request).database.read_scope() as session:
        found = await events.find_event(session, request.path_params["key"])
        if found is None:
            return see_other(request, "/events")
        text = dump(await load_event(session, found.id))
    headers = {"Content-Disposition": f'attachment; filename="{found.slug}.yaml"'}
    return Response(text.encode("utf-8"), media_type="application/yaml", headers=headers)


async def _upload(request: Request, signed: Signed) -> Response:
    """Load an event file: every problem listed with its line, or the event created/updated."""
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await _list_with(request, signed, ["no_file"], 422)
    content = await upload.read(MAX_FILE + 1)
    if len(content) > MAX_FILE:
        return await _list_with(request, signed, ["too_big"], 422)
    try:
        spec = parse_event(content, upload.filename)
    except EventFileError as error:
        return await _list_with(request, signed, [in_file(p) for p in error.problems], 422)
    deps = deps_of(request)
    async with deps.database.session_scope() as session:
        result = await events.load_event(session, spec, now=signed.now)
        event = await session.get(Event, result.event_id)
        told = result.needs_notice and event is not None and event.status != "cancelled"
        if told and event is not None and deps.policy is not None:
            await invitations.notify_change(session, event, now=signed.now, policy=deps.policy)
        await signed.log(
            session,
            "load_event",
            f"event:{spec.slug}",
            after={"outcome": result.outcome, "changes": [str(c) for c in result.changes]},
        )
    return see_other(request, f"/events/{spec.slug}")


download = signed_in(_download)
upload = signed_in(_upload)
