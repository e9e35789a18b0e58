"""The page behind an invitation's email links: GET shows, only POST records.

Mail scanners open links to check them; a GET must never answer for the person.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from bot.db.models import Contact, Invitation
from bot.db.session import Database
from bot.rendering import build_environment, label
from bot.services import invitations
from bot.services.clock import Clock
from bot.services.invitation_messages import event_values, load_event, read_rsvp, rsvp_links
from bot.services.links import LinkError, Links
from bot.services.outbox import DeliveryPolicy

TEMPLATES = Path(__file__).resolve().parent / "templates"
LANGUAGES = ("lv", "et", "en")


@dataclass
class WebDeps:
    database: Database
    links: Links
    clock: Clock
    timezone: str = "Europe/Riga"
    policy: DeliveryPolicy | None = None


class Pages:
    """Render bot/web/templates/<lang>/<page>.html with the message filters."""

    def __init__(self, timezone: str) -> None:
        self.environment = build_environment(TEMPLATES)
        self.zone = ZoneInfo(timezone)

    def render(self, page: str, language: str, status: int = 200, **values: Any) -> HTMLResponse:
        language = language if language in LANGUAGES else "lv"
        template = self.environment.get_template(f"{language}/{page}.html")
        html = template.render({**values, "lang": language, "tz": self.zone})
        headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
        return HTMLResponse(html, status_code=status, headers=headers)


def confirm_code(links: Links, token: str) -> str:
    """Ties the form to the page that showed it (the token alone arrives by email)."""
    return hmac.new(links.secret.encode(), f"confirm:{token}".encode(), hashlib.sha256).hexdigest()


def rsvp_routes(deps: WebDeps) -> list[Route]:
    pages = Pages(deps.timezone)

    def language_of(request: Request) -> str:
        accepted = request.headers.get("accept-language", "")[:2].lower()
        return accepted if accepted in LANGUAGES else "lv"

    async def show(request: Request) -> Response:
        token = request.path_params["token"]
        try:
            invitation_id, code = read_rsvp(deps.links, token, deps.clock.now())
        except LinkError as error:
            return pages.render("web_problem", language_of(request), 410, reason=error.reason)
        async with deps.database.session_scope() as session:
            found = await _invitation(session, invitation_id)
            if found is None:
                return pages.render("web_problem", language_of(request), 404, reason="invalid")
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
            "web_rsvp",
            language,
            event=event_values(event),
            answer=label("answers", invitations.ANSWERS[code], language),
            action=str(request.url.path),
            confirm=confirm_code(deps.links, token),
            others=others,
        )

    async def record(request: Request) -> Response:
        token = request.path_params["token"]
        form = await request.form()
        try:
            invitation_id, code = read_rsvp(deps.links, token, deps.clock.now())
        except LinkError as error:
            return pages.render("web_problem", language_of(request), 410, reason=error.reason)
        if not hmac.compare_digest(str(form.get("confirm", "")), confirm_code(deps.links, token)):
            return pages.render("web_problem", language_of(request), 403, reason="invalid")
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
        language = outcome.contact.language if outcome.contact else language_of(request)
        if outcome.verdict in ("closed", "cancelled", "missing", "not_yours") or event is None:
            reason = outcome.verdict if outcome.verdict in ("closed", "cancelled") else "invalid"
            return pages.render("web_problem", language, 409, reason=reason)
        return pages.render(
            "web_rsvp_done",
            language,
            event=event_values(event),
            answer=label("answers", outcome.status or "invited", language),
            waitlisted=outcome.status == "waitlisted",
        )

    return [
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
