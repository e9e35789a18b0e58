"""Surveys in the console: every survey with its response rate, and one survey's results with
bars, in the coordinator's language, with the answers downloadable."""

from __future__ import annotations

import tempfile
from pathlib import Path

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response

from bot.db.models import Event
from bot.services.events import registry as events
from bot.services.reporting.tables import write_xlsx
from bot.services.surveys import registry as surveys
from bot.services.surveys import sending
from bot.web.console.auth import Signed, signed_in
from bot.web.console.render import pages, see_other
from bot.web.console.reports import XLSX
from bot.web.pages import deps_of


async def _list(request: Request, signed: Signed) -> Response:
    """Every survey: questions, how many it was sent to, how many finished."""
    async with deps_of(request).database.read_scope() as session:
        found = await surveys.list_surveys(session)
    return pages(request).render(
        "surveys",
        signed.language,
        me=signed.who.name,
        csrf=signed.csrf,
        here="/surveys",
        surveys=[
            {
                "key": o.survey.slug,
                "title": o.survey.title,
                "questions": o.questions,
                "sent": o.sent,
                "finished": o.finished,
                "rate": o.finished / o.sent if o.sent else None,
            }
            for o in found
        ],
    )


async def _results(request: Request, signed: Signed) -> Response:
    """One survey's results: rate, averages and bars, and the free-text answers."""
    async with deps_of(request).database.read_scope() as session:
        survey = await surveys.find_survey(session, request.path_params["key"])
        if survey is None:
            return see_other(request, "/surveys")
        shown = await surveys.results(session, survey, signed.language)
        scales = {q.key: q.scale for q in survey.questions}
        linked = [
            {
                "key": e.slug,
                "title": e.title,
                "people": len(await sending.participants(session, e)),
                "over": e.ends_at <= signed.now,
            }
            for e in await session.scalars(
                select(Event).where(Event.survey_slug == survey.slug).order_by(Event.starts_at)
            )
        ]
    return pages(request).render(
        "survey",
        signed.language,
        me=signed.who.name,
        csrf=signed.csrf,
        here=f"/surveys/{shown.slug}",
        results=shown,
        scales=scales,
        linked=linked,
        sent=request.query_params.get("sent"),
    )


async def _export(request: Request, signed: Signed) -> Response:
    """One row per finished response (names only where the survey is not anonymous)."""
    async with deps_of(request).database.session_scope() as session:
        survey = await surveys.find_survey(session, request.path_params["key"])
        if survey is None:
            return see_other(request, "/surveys")
        header, rows = await surveys.export_table(session, survey)
        await signed.log(session, "export", f"survey:{survey.slug}")
        name = f"{survey.slug}.xlsx"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        write_xlsx(path, [(name[:31].removesuffix(".xlsx"), header, rows)])
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        return Response(path.read_bytes(), media_type=XLSX, headers=headers)


async def _send(request: Request, signed: Signed) -> Response:
    """Send the survey now to the people who came to one of its events (once each)."""
    form = await request.form()
    deps = deps_of(request)
    async with deps.database.session_scope() as session:
        survey = await surveys.find_survey(session, request.path_params["key"])
        event = await events.find_event(session, str(form.get("event", "")))
        if survey is None or event is None or deps.policy is None:
            return see_other(request, "/surveys")
        people = await sending.participants(session, event)
        sent = await sending.send(
            session, survey, people, event=event, now=signed.now, policy=deps.policy
        )
        await signed.log(
            session,
            "send_survey",
            f"survey:{survey.slug}",
            after={"event": event.slug, "sent": sent},
        )
        slug = survey.slug
    return see_other(request, f"/surveys/{slug}?sent={sent}")


surveys_page = signed_in(_list)
results_page = signed_in(_results)
export = signed_in(_export)
send = signed_in(_send)
