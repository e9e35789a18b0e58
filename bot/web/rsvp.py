"""The page behind an invitation's email links: GET shows, only POST records.

Mail scanners open links to check them; a GET must never answer for the person.
"""

from __future__ import annotations

import hmac
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.db.models import Contact, Invitation
from bot.rendering import LANGUAGES, label
from bot.services.delivery.signed_links import LinkError
from bot.services.events import invitations
from bot.services.events.invitation_messages import (
    RSVP_PURPOSE,
    event_values,
    load_event,
    queue_button_ticks,
    read_rsvp,
    rsvp_links,
)
from bot.web.pages import confirm_code, deps_of, pages_of


def language_of(request: Request) -> str:
    accepted = request.headers.get("accept-language", "")[:2].lower()
    return accepted if accepted in LANGUAGES else "lv"


async def _language_behind(request: Request, token: str) -> str:
    """The language of the person a link was made for, even once it expired; else the browser's."""
    deps = deps_of(request)
    try:
        payload = deps.links.read(RSVP_PURPOSE, token, max_age_seconds=400 * 24 * 3600)
        invitation_id = int(payload["i"])
    except (LinkError, KeyError, TypeError, ValueError):
        return language_of(request)
    async with deps.database.read_scope() as session:
        found = await _invitation(session, invitation_id)
    return found[1].language if found is not None else language_of(request)


async def show(request: Request) -> Response:
    """Show the event and the chosen answer with a Confirm button; record nothing."""
    deps, pages = deps_of(request), pages_of(request)
    token = request.path_params["token"]
    try:
        invitation_id, code = read_rsvp(deps.links, token, deps.clock.now())
    except LinkError as error:
        language = await _language_behind(request, token)
        return pages.render("problem", language, 410, reason=error.reason)
    async with deps.database.read_scope() as session:  # answers while a writer works
        found = await _invitation(session, invitation_id)
        if found is None:
            return pages.render("problem", language_of(request), 404, reason="invalid")
        invitation, contact = found
        event = await load_event(session, invitation.event_id)
        links = rsvp_links(deps.links, invitation, event)
    language = contact.language
    names = {"yes": "accept", "no": "decline", "maybe": "maybe"}
    others = [
        {
            "url": links[names[other]],
            "label": label("answers", invitations.ANSWERS[other], language),
        }
        for other in ("yes", "no", "maybe")
        if other != code
    ]
    return pages.render(
        "rsvp",
        language,
        event=event_values(event),
        answer=label("answers", invitations.ANSWERS[code], language),
        # Reopened after confirming: the page says the answer is saved, not what it will be.
        saved=invitation.status == invitations.ANSWERS[code]
        or (code == "yes" and invitation.status == "waitlisted"),
        action=str(request.url.path),
        confirm=confirm_code(deps.links, token),
        others=others,
    )


async def record(request: Request) -> Response:
    """Record the answer behind a confirmed link."""
    deps, pages = deps_of(request), pages_of(request)
    token = request.path_params["token"]
    form = await request.form()
    try:
        invitation_id, code = read_rsvp(deps.links, token, deps.clock.now())
    except LinkError as error:
        language = await _language_behind(request, token)
        return pages.render("problem", language, 410, reason=error.reason)
    if not hmac.compare_digest(
        str(form.get("confirm", "")).encode(), confirm_code(deps.links, token).encode()
    ):
        return pages.render("problem", language_of(request), 403, reason="invalid")
    async with deps.database.session_scope() as session:
        outcome = await invitations.record_answer(
            session,
            invitation_id,
            code,
            channel="email",
            now=deps.clock.now(),
            policy=deps.policy,
        )
        event = await load_event(session, outcome.event.id) if outcome.event else None
        invitation = await session.get(Invitation, invitation_id)
        if outcome.verdict == "recorded" and invitation is not None and deps.policy is not None:
            await queue_button_ticks(session, invitation, now=deps.clock.now(), policy=deps.policy)
    language = outcome.contact.language if outcome.contact else language_of(request)
    if outcome.verdict in ("closed", "cancelled", "missing", "not_yours") or event is None:
        reason = outcome.verdict if outcome.verdict in ("closed", "cancelled") else "invalid"
        return pages.render("problem", language, 409, reason=reason)
    return pages.render(
        "rsvp_done",
        language,
        event=event_values(event),
        answer=label("answers", outcome.status or "invited", language),
        waitlisted=outcome.status == "waitlisted",
    )


ROUTES = [
    Route("/r/{token}", show, methods=["GET"]),
    Route("/r/{token}", record, methods=["POST"]),
]


async def _invitation(session: Any, invitation_id: int) -> tuple[Invitation, Contact] | None:
    invitation = await session.get(Invitation, invitation_id)
    if invitation is None:
        return None
    contact = await session.get(Contact, invitation.contact_id)
    if contact is None or contact.erased_at is not None:
        return None
    return invitation, contact
