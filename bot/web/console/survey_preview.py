"""A survey as an expert gets it, before it is sent: on Telegram and by email, in each language.

Rendered from the templates the dispatcher and the bot use (outbound/survey_invitation, the
chat's replies/survey_question, the web form pages/survey), with the signed-in coordinator as
the reader, so what the page shows is what goes out.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from markupsafe import Markup
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from bot.db.models import Event, Question, Survey
from bot.rendering import LANGUAGES, Renderer, label
from bot.services.surveys import registry as surveys
from bot.services.surveys.sending import KIND
from bot.textformat import pick_language
from bot.web.console.auth import Signed, signed_in
from bot.web.console.render import pages, see_other, url
from bot.web.pages import deps_of, pages_of

# The email and the form as sent: no scripts, no form posts (a preview answers nothing).
FRAMED_CSP = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "script-src 'none'; object-src 'none'; base-uri 'none'; frame-ancestors 'self'; "
    "sandbox allow-same-origin"
)


def _renderer(request: Request) -> Renderer:
    found: Renderer | None = getattr(request.app.state, "console_renderer", None)
    if found is None:
        found = Renderer(default_timezone=deps_of(request).timezone)
        request.app.state.console_renderer = found
    return found


def _language(request: Request) -> str:
    wanted = request.query_params.get("language", "lv")
    return wanted if wanted in LANGUAGES else "lv"


async def _survey(request: Request) -> tuple[Survey, Event | None] | None:
    """The survey and the event it follows (the latest), or None when there is no survey."""
    async with deps_of(request).database.read_scope() as session:
        survey = await surveys.find_survey(session, request.path_params["key"])
        if survey is None:
            return None
        event = await session.scalar(
            select(Event)
            .where(Event.survey_slug == survey.slug)
            .order_by(Event.starts_at.desc())
            .limit(1)
        )
    return survey, event


def _invitation(
    request: Request, signed: Signed, survey: Survey, event: Event | None, language: str
) -> dict[str, Any]:
    """The invitation's values, as the dispatcher's builder gathers them."""
    closes = (
        (event.ends_at + timedelta(seconds=survey.closes_after)).date()
        if event is not None and survey.closes_after
        else None
    )
    form = url(request, f"/surveys/{survey.slug}/preview/form?language={language}")
    return {
        "contact_name": signed.who.name,
        "survey_title": survey.title,
        "event_title": event.title if event else None,
        "question_count": len(survey.questions),
        "anonymous": survey.anonymous,
        "reminder": False,
        "closes_on": closes,
        "form_url": form,
        "unsubscribe_url": "#",
    }


def _buttons(question: Question, position: int, language: str) -> list[list[str]]:
    """The buttons under a question in the chat, as the bot lays them out."""
    options = [pick_language(o["text"], language) for o in question.options]
    rows: list[list[str]] = []
    if question.type == "rating":
        rows.append([str(n) for n in range(1, (question.scale or 5) + 1)])
    elif question.type == "yes_no":
        rows.append([label("buttons", v, language) for v in ("yes", "no")])
    elif question.type in ("single_choice", "multiple_choice"):
        rows += [[text] for text in options]
        if question.type == "multiple_choice":
            rows.append([label("buttons", "done", language)])
    extra = [label("buttons", "back", language)] if position > 0 else []
    if not question.required:
        extra.append(label("buttons", "skip", language))
    return [*rows, extra] if extra else rows


def _chat(request: Request, survey: Survey, language: str) -> list[dict[str, Any]]:
    """Each question as the bot asks it on Telegram, with its buttons."""
    template = pages(request).environment.get_template(f"{language}/replies/survey_question.html")
    total = len(survey.questions)
    return [
        {
            "html": Markup(
                template.render(
                    position=n + 1,
                    total=total,
                    text=pick_language(q.text, language),
                    kind=q.type,
                    required=q.required,
                    scale=q.scale or 5,
                    lang=language,
                    tz=pages(request).zone,
                ).strip()
            ),
            "buttons": _buttons(q, n, language),
        }
        for n, q in enumerate(survey.questions)
    ]


async def _preview(request: Request, signed: Signed) -> Response:
    """The invitation on Telegram and by email, then the questions as the expert meets them."""
    found = await _survey(request)
    if found is None:
        return see_other(request, "/surveys")
    survey, event = found
    language = _language(request)
    values = _invitation(request, signed, survey, event, language)
    telegram = _renderer(request).render_channel(KIND, "telegram", language, values)
    email = _renderer(request).render_channel(KIND, "email", language, values)
    return pages(request).render(
        "survey_preview",
        signed.language,
        me=signed.who.name,
        csrf=signed.csrf,
        here=f"/surveys/{survey.slug}/preview?language={language}",
        survey=survey,
        shown=language,
        telegram=Markup(telegram.telegram or ""),
        start=label("buttons", "start_survey", language),
        questions=_chat(request, survey, language),
        subject=email.subject,
    )


async def _email(request: Request, signed: Signed) -> Response:
    """The invitation email's HTML part, as it arrives (shown in a frame, sandboxed)."""
    found = await _survey(request)
    if found is None:
        return see_other(request, "/surveys")
    survey, event = found
    language = _language(request)
    values = _invitation(request, signed, survey, event, language)
    email = _renderer(request).render_channel(KIND, "email", language, values)
    return HTMLResponse(email.html or "", headers={"Content-Security-Policy": FRAMED_CSP})


async def _form(request: Request, signed: Signed) -> Response:
    """The web form the email's link opens, empty, as the expert first sees it."""
    found = await _survey(request)
    if found is None:
        return see_other(request, "/surveys")
    survey, event = found
    page = pages_of(request).render(
        "survey",
        _language(request),
        survey_title=survey.title,
        event_title=event.title if event else None,
        anonymous=survey.anonymous,
        questions=[
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
        values={},
        errors={},
        editing=False,
        action="#",
        confirm="",
    )
    page.headers["Content-Security-Policy"] = FRAMED_CSP
    return page


preview = signed_in(_preview)
email = signed_in(_email)
form = signed_in(_form)
