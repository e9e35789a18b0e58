"""The page behind a recommendation digest's email link: status and comment per open item."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.rendering import label
from bot.services.delivery.signed_links import LinkError
from bot.services.recommendations import followup as recommendations
from bot.services.recommendations import reminders as rec_reminders
from bot.services.surveys.answering import contact_by_id
from bot.web.pages import browser_language, confirm_code, deps_of, link_number, pages_of

LINK_DAYS = 60
CHOICES = ("done", "in_progress", "not_started")


async def _owner(request: Request) -> tuple[Any, str] | Response:
    """Read the link and find the owner it was sent to, or the page that says why not."""
    deps, pages = deps_of(request), pages_of(request)
    try:
        contact_id = deps.links.read_id(
            rec_reminders.TASKS_PURPOSE, request.path_params["token"], LINK_DAYS * 86400, "c"
        )
    except LinkError as error:
        behind = link_number(request, rec_reminders.TASKS_PURPOSE, "c")
        async with deps.database.read_scope() as session:
            owner = await contact_by_id(session, behind) if behind is not None else None
        language = owner.language if owner is not None else browser_language(request)
        return pages.render("problem", language, 410, reason=error.reason)
    async with deps.database.read_scope() as session:
        contact = await contact_by_id(session, contact_id)
    if contact is None:
        return pages.render("problem", browser_language(request), 404, reason="invalid")
    return contact, contact.language


async def _page(request: Request, errors: set[int] | None = None, status: int = 200) -> Response:
    """Render the open items of the link's owner, marking those with errors."""
    deps, pages = deps_of(request), pages_of(request)
    found = await _owner(request)
    if isinstance(found, Response):
        return found
    contact, language = found
    async with deps.database.read_scope() as session:
        items = [
            {
                "id": r.id,
                "text": r.text,
                "due_on": r.due_on,
                "status": r.status,
                "comment": "",
                "error": r.id in (errors or set()),
            }
            for r in await recommendations.open_items_of(session, contact.id)
        ]
    choices = [{"value": c, "label": label("statuses", c, language)} for c in CHOICES]
    return pages.render(
        "tasks",
        language,
        status,
        items=items,
        choices=choices,
        action=str(request.url.path),
        confirm=confirm_code(deps.links, request.path_params["token"]),
    )


async def show(request: Request) -> Response:
    """Show the person's open recommendations with a status and a comment box each."""
    return await _page(request)


async def save(request: Request) -> Response:
    """Record each changed status and comment; a too-long comment changes nothing."""
    deps, pages = deps_of(request), pages_of(request)
    found = await _owner(request)
    if isinstance(found, Response):
        return found
    contact, language = found
    form = await request.form()
    if str(form.get("confirm", "")) != confirm_code(deps.links, request.path_params["token"]):
        return pages.render("problem", language, 403, reason="invalid")
    too_long = set()
    async with deps.database.session_scope() as session:
        for rec in await recommendations.open_items_of(session, contact.id):
            status = str(form.get(f"status-{rec.id}") or rec.status)
            comment = str(form.get(f"comment-{rec.id}") or "").strip()
            if status == rec.status and not comment:
                continue
            outcome = await recommendations.record_update(
                session,
                rec.id,
                status,
                now=deps.clock.now(),
                channel="web",
                contact_id=contact.id,
                comment=comment or None,
            )
            if outcome.verdict == "too_long":
                too_long.add(rec.id)
            elif outcome.others and deps.policy is not None and outcome.recommendation:
                await rec_reminders.tell_done(
                    session,
                    outcome.recommendation,
                    outcome.others,
                    contact.name,
                    now=deps.clock.now(),
                    policy=deps.policy,
                )
        if too_long:
            await session.rollback()
    if too_long:
        return await _page(request, too_long, 422)
    return pages.render("tasks_done", language)


ROUTES = [
    Route("/t/{token}", show, methods=["GET"]),
    Route("/t/{token}", save, methods=["POST"]),
]
