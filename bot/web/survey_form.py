"""The survey as one web form behind a signed email link: all questions on one page.

Invalid input is shown next to its field with everything typed kept; one response per person,
editable until the survey closes (anonymous ones cannot be edited: nothing links them back).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.db.models import Event, SurveyRecipient
from bot.services.delivery.signed_links import LinkError, Links
from bot.services.surveys import answering as surveys
from bot.services.surveys.sending import FORM_PURPOSE
from bot.web.pages import browser_language, confirm_code, deps_of, link_number, pages_of

FORM_LINK_DAYS = 120


def _recipient_id(links: Links, token: str) -> int:
    return links.read_id(FORM_PURPOSE, token, FORM_LINK_DAYS * 86400, "r")


async def _language_behind(request: Request) -> str:
    """The language of the person an expired link was sent to; else the browser's."""
    recipient_id = link_number(request, FORM_PURPOSE, "r")
    if recipient_id is None:
        return browser_language(request)
    async with deps_of(request).database.read_scope() as session:
        recipient = await session.get(SurveyRecipient, recipient_id)
        contact = await surveys.contact_by_id(session, recipient.contact_id) if recipient else None
    return contact.language if contact is not None else browser_language(request)


async def _context(session: Any, recipient: SurveyRecipient) -> dict[str, Any]:
    survey = await surveys.load_survey(session, recipient.survey_id)
    event = await session.get(Event, recipient.event_id) if recipient.event_id else None
    return {
        "survey_title": survey.title,
        "event_title": event.title if event else None,
        "anonymous": survey.anonymous,
        "questions": [
            {
                "key": q.key,
                "type": q.type,
                "text": q.text,
                "required": q.required,
                "scale": q.scale,
                "max_length": q.max_length,
                "options": q.options,
            }
            for q in survey.questions
        ],
    }


async def _opened(request: Request) -> tuple[SurveyRecipient, str] | Response:
    """Read the link and find whom it was sent to, or the page that says why not."""
    deps, pages = deps_of(request), pages_of(request)
    token = request.path_params["token"]
    try:
        found = _recipient_id(deps.links, token)
    except LinkError as error:
        language = await _language_behind(request)
        return pages.render("problem", language, 410, reason=error.reason)
    async with deps.database.read_scope() as session:
        recipient = await session.get(SurveyRecipient, found)
        contact = await surveys.contact_by_id(session, recipient.contact_id) if recipient else None
    if recipient is None or contact is None:
        return pages.render("problem", browser_language(request), 404, reason="invalid")
    return recipient, contact.language


async def show(request: Request) -> Response:
    """Show the whole survey as one form, with any answers already given."""
    deps, pages = deps_of(request), pages_of(request)
    found = await _opened(request)
    if isinstance(found, Response):
        return found
    recipient, language = found
    token = request.path_params["token"]
    # A look writes nothing (a new response is not stored), so it answers while a writer works.
    async with deps.database.read_scope() as session:
        recipient = await session.merge(recipient, load=False)
        state, response = await surveys.open_response(
            session, recipient, now=deps.clock.now(), secret=deps.links.secret, save=False
        )
        if state != "open" or response is None:
            return pages.render("problem", language, 409, reason=_reason(state))
        values = {q.key: v for q, v in await surveys.summary(session, response)}
        shown = await _context(session, recipient)
        editing = response.status == "finished"
    return pages.render(
        "survey",
        language,
        **shown,
        values=values,
        errors={},
        editing=editing,
        action=str(request.url.path),
        confirm=confirm_code(deps.links, token),
    )


async def submit(request: Request) -> Response:
    """Check and save the form, or show it again with errors at their fields."""
    deps, pages = deps_of(request), pages_of(request)
    found = await _opened(request)
    if isinstance(found, Response):
        return found
    recipient, language = found
    token = request.path_params["token"]
    form = await request.form()
    if str(form.get("confirm", "")) != confirm_code(deps.links, token):
        return pages.render("problem", language, 403, reason="invalid")
    raw: dict[str, Any] = {}
    async with deps.database.session_scope() as session:
        recipient = await session.merge(recipient)
        shown = await _context(session, recipient)
        for question in shown["questions"]:
            key = question["key"]
            raw[key] = form.getlist(key) if question["type"] == "multiple_choice" else form.get(key)
        state, result = await surveys.submit_form(
            session, recipient, raw, now=deps.clock.now(), secret=deps.links.secret
        )
        if state == "invalid":
            await session.rollback()
    if state in ("closed", "finished"):
        return pages.render("problem", language, 409, reason=_reason(state))
    if state == "invalid":
        return pages.render(
            "survey",
            language,
            422,
            **shown,
            values=result.values,
            errors=result.errors,
            editing=False,
            action=str(request.url.path),
            confirm=confirm_code(deps.links, token),
        )
    return pages.render("survey_done", language, **shown, editable=not shown["anonymous"])


ROUTES = [
    Route("/s/{token}", show, methods=["GET"]),
    Route("/s/{token}", submit, methods=["POST"]),
]


def _reason(state: str) -> str:
    """A closed survey is not a closed invitation: the page says which."""
    return "survey_closed" if state == "closed" else state
