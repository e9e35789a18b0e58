"""People in the console: a searchable, filterable registry; one person's details and history;
add and edit with the import's checks; export the selection; erase with confirmation."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import segno
from markupsafe import Markup
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from bot.db.models import AuditEntry, Contact, Event, Invitation, OutboxMessage
from bot.db.vocab import LANGUAGES, ROLES, STAKEHOLDER_GROUPS
from bot.rendering import label
from bot.services.console import signin
from bot.services.contacts import registry
from bot.services.contacts.audience import Audience, select_contacts
from bot.services.contacts.rows import COLUMNS, parse_rows
from bot.services.onboarding import join_links
from bot.services.reporting.tables import write_xlsx
from bot.web.console.auth import Signed, signed_in
from bot.web.console.problems import Said, recognise
from bot.web.console.render import pages, see_other
from bot.web.console.reports import XLSX
from bot.web.pages import deps_of

FILTERS = ("role", "country", "language", "municipality")
HISTORY = 50


def _common(signed: Signed, here: str) -> dict[str, Any]:
    return {"me": signed.who.name, "csrf": signed.csrf, "here": here}


async def _selected(session: AsyncSession, request: Request) -> list[Contact]:
    """The people the filters and the search box choose, by name."""
    given = {name: request.query_params.get(name, "").strip() for name in FILTERS}
    audience = Audience.build(
        roles=[given["role"]] if given["role"] else None,
        countries=[given["country"]] if given["country"] else None,
        languages=[given["language"]] if given["language"] else None,
        municipalities=[given["municipality"]] if given["municipality"] else None,
    )
    people = await select_contacts(session, audience)
    wanted = request.query_params.get("q", "").strip().casefold()
    if wanted:
        people = [
            c
            for c in people
            if any(wanted in (v or "").casefold() for v in (c.name, c.email, c.organisation))
        ]
    return sorted(people, key=lambda c: c.name.casefold())


async def _list(request: Request, signed: Signed) -> Response:
    """Everyone in the registry, searchable and filtered like the CLI's audience options."""
    async with deps_of(request).database.read_scope() as session:
        people = await _selected(session, request)
    return pages(request).render(
        "contacts",
        signed.language,
        people=people,
        query=str(request.url.query),
        chosen={name: request.query_params.get(name, "") for name in (*FILTERS, "q")},
        imported=request.query_params.get("imported"),
        links_sent=request.query_params.get("links_sent"),
        can_link=bool(deps_of(request).bot_username),
        not_on_telegram=sum(1 for c in people if c.email and c.telegram_state != "active"),
        changed=request.query_params.get("changed"),
        roles=[(r, label("roles", r, signed.language)) for r in ROLES],
        countries=[
            ("LV", label("countries", "LV", signed.language)),
            ("EE", label("countries", "EE", signed.language)),
        ],
        languages_of=[(code, label("languages", code, signed.language)) for code in LANGUAGES],
        **_common(signed, "/contacts"),
    )


async def _export(request: Request, signed: Signed) -> Response:
    """The selection as a spreadsheet in the import's columns (it imports back unchanged)."""
    async with deps_of(request).database.session_scope() as session:
        people = await _selected(session, request)
        rows = [list(registry.as_row(c).values()) for c in people]
        await signed.log(session, "export", "contacts", after={"people": len(rows)})
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "contacts.xlsx"
        write_xlsx(path, [("contacts", list(COLUMNS), rows)])
        headers = {"Content-Disposition": 'attachment; filename="contacts.xlsx"'}
        return Response(path.read_bytes(), media_type=XLSX, headers=headers)


async def _person(request: Request, signed: Signed) -> Response:
    """One person: details, channels, the messages sent to them and their answers."""
    async with deps_of(request).database.read_scope() as session:
        contact = await registry.find(session, str(request.path_params["id"]))
        if contact is None:
            return see_other(request, "/contacts")
        messages = list(
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.contact_id == contact.id)
                .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
                .limit(HISTORY)
            )
        )
        answers = (
            await session.execute(
                select(Event.title, Event.starts_at, Invitation.status)
                .join(Invitation, Invitation.event_id == Event.id)
                .where(Invitation.contact_id == contact.id)
                .order_by(Event.starts_at.desc())
            )
        ).all()
    return pages(request).render(
        "contact",
        signed.language,
        person=contact,
        role_name=label("roles", contact.role, signed.language),
        messages=messages,
        answers=[{"title": t, "starts_at": s, "status": st} for t, s, st in answers],
        saved=request.query_params.get("saved"),
        link_sent=request.query_params.get("link_sent"),
        can_link=bool(deps_of(request).bot_username),
        **_common(signed, f"/contacts/{contact.id}"),
    )


def _form_values(form: Any) -> dict[str, str]:
    return {column: str(form.get(column, "")).strip() for column in COLUMNS}


def _form_page(
    request: Request,
    signed: Signed,
    values: dict[str, str],
    errors: dict[str, list[Said]],
    *,
    editing: int | None,
    status: int = 200,
) -> Response:
    return pages(request).render(
        "contact_form",
        signed.language,
        status,
        values=values,
        errors=errors,
        editing=editing,
        roles=[(r, label("roles", r, signed.language)) for r in ROLES],
        groups=STAKEHOLDER_GROUPS,
        languages_of=[(code, label("languages", code, signed.language)) for code in LANGUAGES],
        action=str(request.url.path),
        **_common(signed, "/contacts"),
    )


async def _form(request: Request, signed: Signed) -> Response:
    """The form to add a person, or to change one."""
    key = request.path_params.get("id")
    values = {column: "" for column in COLUMNS} | {"role": "regional_expert", "country": "LV"}
    values["language"] = "lv"
    if key is not None:
        async with deps_of(request).database.read_scope() as session:
            contact = await registry.find(session, str(key))
            if contact is None:
                return see_other(request, "/contacts")
            values = registry.as_row(contact)
    return _form_page(request, signed, values, {}, editing=key)


async def _save(request: Request, signed: Signed) -> Response:
    """Check the person like a row of a contacts file; save, or show the form with the errors."""
    key = request.path_params.get("id")
    values = _form_values(await request.form())
    parsed = parse_rows(iter([(1, values)]))
    if parsed.errors or not parsed.rows:
        errors: dict[str, list[Said]] = {}
        for problem in parsed.errors:
            errors.setdefault(problem.column, []).append(recognise(problem.reason))
        return _form_page(request, signed, values, errors, editing=key, status=422)
    async with deps_of(request).database.session_scope() as session:
        contact = await registry.find(session, str(key)) if key is not None else None
        if key is not None and contact is None:
            return see_other(request, "/contacts")
        before = registry.as_row(contact) if contact else None
        saved = await registry.save_one(session, parsed.rows[0], contact)
        if not isinstance(saved, Contact):
            await session.rollback()
            errors = {saved.column: [recognise(saved.reason)]}
            return _form_page(request, signed, values, errors, editing=key, status=422)
        after = registry.as_row(saved)
        await signed.log(
            session,
            "edit_contact" if contact else "add_contact",
            f"contact:{saved.id}",
            before={k: v for k, v in (before or {}).items() if v != after[k]} or None,
            after={k: v for k, v in after.items() if not before or v != before[k]},
        )
        if before and before["role"] == "coordinator" and after["role"] != "coordinator":
            await signin.end_sessions_of(session, saved.id, now=signed.now)
        saved_id = saved.id
    return see_other(request, f"/contacts/{saved_id}?saved=1")


async def _erase(request: Request, signed: Signed) -> Response:
    """Ask first (GET); then forget the person, keeping only anonymous counts (POST)."""
    write = request.method == "POST"  # the GET only asks
    async with deps_of(request).database.session_scope(write=write) as session:
        contact = await registry.find(session, str(request.path_params["id"]))
        if contact is None:
            return see_other(request, "/contacts")
        if request.method == "GET":
            return pages(request).render(
                "erase", signed.language, person=contact, **_common(signed, "/contacts")
            )
        subject = f"contact:{contact.id}"
        await signin.end_sessions_of(session, contact.id, now=signed.now)
        await registry.erase(session, contact, signed.now)
        # What the log said about the person goes too; the entry that they were erased stays.
        await session.execute(
            update(AuditEntry)
            .where(AuditEntry.subject == subject)
            .values(before=None, after=None, note=None)
        )
        await signed.log(session, "erase", subject)
    return see_other(request, "/contacts?erased=1")


contacts_page = signed_in(_list)
export = signed_in(_export)
person = signed_in(_person)
form_page = signed_in(_form)
save = signed_in(_save)
erase = signed_in(_erase)


async def _telegram_link(request: Request, signed: Signed) -> Response:
    """Make the person's one-time Telegram link and show it with a QR code to print."""
    deps = deps_of(request)
    if not deps.bot_username or deps.policy is None:
        return see_other(request, f"/contacts/{request.path_params['id']}")
    async with deps.database.session_scope() as session:
        contact = await registry.find(session, str(request.path_params["id"]))
        if contact is None:
            return see_other(request, "/contacts")
        issued = await join_links.issue_link(
            session,
            contact,
            bot_username=deps.bot_username,
            now=signed.now,
            days=deps.invite_days,
            zone=deps.policy.zone_of(contact),
        )
        await signed.log(session, "telegram_link", f"contact:{contact.id}")
    qr = segno.make(issued.link, error="m", micro=False).svg_inline(scale=5, title=contact.name)
    return pages(request).render(
        "telegram_link",
        signed.language,
        person=contact,
        link=issued.link,
        valid_until=issued.valid_until,
        qr=Markup(qr),
        **_common(signed, f"/contacts/{contact.id}"),
    )


async def _send_link(request: Request, signed: Signed) -> Response:
    """Email the person their own Telegram link, in their language."""
    deps = deps_of(request)
    if not deps.bot_username or deps.policy is None:
        return see_other(request, f"/contacts/{request.path_params['id']}")
    async with deps.database.session_scope() as session:
        contact = await registry.find(session, str(request.path_params["id"]))
        if contact is None:
            return see_other(request, "/contacts")
        report = await join_links.queue_links(
            session,
            [contact],
            now=signed.now,
            policy=deps.policy,
            bot_username=deps.bot_username,
            days=deps.invite_days,
            even_if_linked=True,
        )
        await signed.log(session, "send_telegram_link", f"contact:{contact.id}")
    return see_other(request, f"/contacts/{contact.id}?link_sent={report.queued}")


async def _send_links(request: Request, signed: Signed) -> Response:
    """Email everyone listed who is not on Telegram yet their own link, as `contacts send-links`."""
    deps = deps_of(request)
    chosen = {n: request.query_params[n] for n in (*FILTERS, "q") if request.query_params.get(n)}
    query = urlencode(chosen)
    if not deps.bot_username or deps.policy is None:
        return see_other(request, f"/contacts?{query}")
    async with deps.database.session_scope() as session:
        people = [c for c in await _selected(session, request) if c.email]
        report = await join_links.queue_links(
            session,
            people,
            now=signed.now,
            policy=deps.policy,
            bot_username=deps.bot_username,
            days=deps.invite_days,
        )
        await signed.log(
            session, "send_telegram_links", "contacts", after={"queued": report.queued}
        )
    return see_other(request, f"/contacts?{urlencode({**chosen, 'links_sent': report.queued})}")


telegram_link = signed_in(_telegram_link)
send_link = signed_in(_send_link)
send_links = signed_in(_send_links)
