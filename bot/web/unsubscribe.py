"""The page behind every email's "stop messages" link and its List-Unsubscribe header.

GET shows a Confirm button and records nothing (mail scanners open links). POST with the
page's confirm code stops (or, as the undo, resumes) the person's email; an RFC 8058
one-click POST (body `List-Unsubscribe=One-Click`, sent by the mail client itself) stops it
at once and answers without a page.
"""

from __future__ import annotations

import hmac
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.rendering import LANGUAGES
from bot.services.delivery import subscriptions
from bot.services.delivery.signed_links import LinkError
from bot.web.pages import confirm_code, deps_of, pages_of

ONE_CLICK = ("List-Unsubscribe", "One-Click")


def _language(request: Request) -> str:
    accepted = request.headers.get("accept-language", "")[:2].lower()
    return accepted if accepted in LANGUAGES else "lv"


def _values(request: Request, contact: Any, subscribed: bool) -> dict[str, Any]:
    deps = deps_of(request)
    return {
        "email": contact.email or "",
        "subscribed": subscribed,
        "action": str(request.url.path),
        "confirm": confirm_code(deps.links, request.path_params["token"]),
    }


async def show(request: Request) -> Response:
    """Ask to confirm (or, when already stopped, offer to resume); change nothing."""
    deps, pages = deps_of(request), pages_of(request)
    try:
        contact_id = deps.links.read_unsubscribe(request.path_params["token"])
    except LinkError as error:
        return pages.render("problem", _language(request), 410, reason=error.reason)
    async with deps.database.read_scope() as session:
        contact = await subscriptions.known_contact(session, contact_id)
    if contact is None:
        return pages.render("problem", _language(request), 404, reason="invalid")
    values = _values(request, contact, subscriptions.receives_email(contact))
    return pages.render("unsubscribe", contact.language, **values)


async def _form(request: Request) -> FormData:
    try:
        return await request.form()
    except Exception:  # a malformed body is an empty form, refused below like any other
        return FormData()


async def record(request: Request) -> Response:
    """Stop (or resume) the email of the link's contact."""
    deps, pages = deps_of(request), pages_of(request)
    token = request.path_params["token"]
    form = await _form(request)
    one_click = form.get(ONE_CLICK[0]) == ONE_CLICK[1]
    try:
        contact_id = deps.links.read_unsubscribe(token)
    except LinkError as error:
        return pages.render("problem", _language(request), 410, reason=error.reason)
    given = str(form.get("confirm", ""))
    if not one_click and not hmac.compare_digest(
        given.encode(), confirm_code(deps.links, token).encode()
    ):
        return pages.render("problem", _language(request), 403, reason="invalid")
    resume = not one_click and form.get("choice") == "resume"
    async with deps.database.session_scope() as session:
        change = subscriptions.resume_email if resume else subscriptions.stop_email
        outcome = await change(session, contact_id, now=deps.clock.now())
    if outcome is None:
        return pages.render("problem", _language(request), 404, reason="invalid")
    if one_click:
        return PlainTextResponse("OK", headers={"Cache-Control": "no-store"})
    values = _values(request, outcome.contact, outcome.subscribed)
    return pages.render("unsubscribe_done", outcome.contact.language, **values)


ROUTES = [
    Route("/u/{token}", show, methods=["GET"]),
    Route("/u/{token}", record, methods=["POST"]),
]
