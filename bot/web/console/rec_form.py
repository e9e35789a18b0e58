"""Add and edit a recommendation with a form, checked like a recommendations file (`recs load`):
the meeting it comes from (a known event, or a title and a date), its text per language, owners
by email, the due date and the reminder cadence."""

from __future__ import annotations

import re
from typing import Any

import yaml
from sqlalchemy import select
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from bot.db.models import Contact, Event, Recommendation
from bot.db.vocab import REC_AREAS
from bot.rendering import LANGUAGES
from bot.services.recommendations import registry as recs
from bot.services.recommendations.files import RecFileError, parse_recs
from bot.textformat import pick_language
from bot.web.console.auth import Signed, signed_in
from bot.web.console.problems import Said, recognise
from bot.web.console.render import pages, see_other
from bot.web.pages import deps_of

FIELDS = ("key", "area", "owners", "due", "remind", "event", "source_date")


def blank() -> dict[str, str]:
    values = {name: "" for name in FIELDS} | {"area": "mediation", "remind": "monthly"}
    values.update({f"text_{lang}": "" for lang in LANGUAGES})
    values.update({f"source_{lang}": "" for lang in LANGUAGES})
    return values


def from_form(form: FormData) -> dict[str, str]:
    names = [*FIELDS, *(f"{p}_{lang}" for p in ("text", "source") for lang in LANGUAGES)]
    return {name: str(form.get(name, "")).strip() for name in names}


async def from_rec(session: Any, rec: Recommendation) -> dict[str, str]:
    owners = await session.scalars(
        select(Contact.email).where(Contact.id.in_([o.contact_id for o in rec.owners]))
    )
    event = await session.get(Event, rec.source_event_id) if rec.source_event_id else None
    values = blank()
    values.update(
        key=rec.slug,
        area=rec.area,
        owners=", ".join(sorted(e for e in owners if e)),
        due=rec.due_on.isoformat() if rec.due_on else "",
        remind=rec.cadence,
        event=event.slug if event else "",
        source_date=rec.source_date.isoformat() if rec.source_date else "",
        **{f"text_{lang}": text for lang, text in rec.text.items()},
        **{f"source_{lang}": text for lang, text in (rec.source_title or {}).items()},
    )
    return values


def to_file(values: dict[str, str]) -> dict[str, Any]:
    item: dict[str, Any] = {"id": values["key"], "area": values["area"]}
    item["text"] = {lang: values[f"text_{lang}"] for lang in LANGUAGES if values[f"text_{lang}"]}
    item["owners"] = [e for e in re.split(r"[,;\s]+", values["owners"]) if e]
    if values["due"]:
        item["due"] = values["due"]
    if values["remind"]:
        item["remind"] = values["remind"]
    if values["event"]:
        source: dict[str, Any] = {"event": values["event"]}
    else:
        source = {
            "title": {
                lang: values[f"source_{lang}"] for lang in LANGUAGES if values[f"source_{lang}"]
            },
            "date": values["source_date"],
        }
    return {"source": source, "recommendations": [item]}


def field_of(path: str) -> str:
    """The form field a problem's path names: "recommendations[1].owners[2]" → owners."""
    found = re.match(r"recommendations\[\d+\]\.?([a-z_]+)?", path)
    if found:
        return {"id": "key", "text": "text"}.get(found.group(1) or "", found.group(1) or "form")
    return "source" if path.startswith("source") else "form"


async def _page(
    request: Request,
    signed: Signed,
    values: dict[str, str],
    errors: dict[str, list[Said | str]],
    *,
    editing: bool,
    status: int = 200,
) -> Response:
    async with deps_of(request).database.read_scope() as session:
        events = list(await session.scalars(select(Event).order_by(Event.starts_at.desc())))
    return pages(request).render(
        "rec_form",
        signed.language,
        status,
        me=signed.who.name,
        csrf=signed.csrf,
        here="/recommendations",
        values=values,
        errors=errors,
        editing=editing,
        areas=REC_AREAS,
        cadences="monthly, quarterly, every 60d, 0 9 * * 1",
        events=[(e.slug, pick_language(e.title, signed.language)) for e in events],
        action=str(request.url.path),
    )


async def _form(request: Request, signed: Signed) -> Response:
    """The form: empty for a new recommendation, filled in for an existing one."""
    key = request.path_params.get("key")
    values = blank()
    if key:
        async with deps_of(request).database.read_scope() as session:
            rec = await recs.find_recommendation(session, key)
            if rec is None:
                return see_other(request, "/recommendations")
            values = await from_rec(session, rec)
    return await _page(request, signed, values, {}, editing=bool(key))


async def _save(request: Request, signed: Signed) -> Response:
    """Check the form like a recommendations file; save, or show it again with the errors."""
    editing = "key" in request.path_params
    values = from_form(await request.form())
    if editing:
        values["key"] = request.path_params["key"]
    source = yaml.safe_dump(to_file(values), allow_unicode=True, sort_keys=False)
    errors: dict[str, list[Said | str]] = {}
    async with deps_of(request).database.session_scope() as session:
        if not editing and await recs.find_recommendation(session, values["key"]) is not None:
            errors["key"] = ["taken"]
        else:
            for problem in await _load(session, source, signed, request):
                errors.setdefault(field_of(problem.path), []).append(recognise(problem.reason))
        if errors:
            await session.rollback()
            return await _page(request, signed, values, errors, editing=editing, status=422)
        await signed.log(
            session,
            "edit_recommendation" if editing else "add_recommendation",
            f"recommendation:{values['key']}",
        )
    return see_other(request, f"/recommendations#r-{values['key']}")


async def _load(session: Any, source: str, signed: Signed, request: Request) -> list[Any]:
    """Load the one-item file; return its problems (the file's, then the database's)."""
    try:
        spec = parse_recs(source.encode("utf-8"), "form")
    except RecFileError as error:
        found = list(error.problems)
        if error.references is not None:
            found += await recs.check_references(session, error.references)
        return found
    try:
        await recs.load_recs(session, spec, now=signed.now, zone=pages(request).zone)
    except RecFileError as error:
        return list(error.problems)
    return []


form_page = signed_in(_form)
save = signed_in(_save)
