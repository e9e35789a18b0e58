"""Recommendations in the console: a board by status, owner, area and overdue, and setting an
item's status with a comment (the owners are told when it is done, as from anywhere else)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from bot.db.vocab import REC_AREAS, REC_STATUSES
from bot.rendering import label
from bot.services.recommendations import registry as recs
from bot.services.recommendations.reminders import tell_done
from bot.web.console.auth import Signed, signed_in
from bot.web.console.render import pages, see_other
from bot.web.pages import deps_of

COMMENT_LIMIT = 1000


async def _board(request: Request, signed: Signed) -> Response:
    """The board: every recommendation matching the filters, soonest due first."""
    status = request.query_params.get("status") or None
    area = request.query_params.get("area") or None
    overdue = request.query_params.get("overdue") == "1"
    today = signed.now.astimezone(pages(request).zone).date()
    async with deps_of(request).database.read_scope() as session:
        rows = await recs.list_recs(
            session,
            today=today,
            status=status if status in REC_STATUSES else None,
            area=area if area in REC_AREAS else None,
            overdue=overdue,
        )
    return pages(request).render(
        "recommendations",
        signed.language,
        me=signed.who.name,
        csrf=signed.csrf,
        here="/recommendations",
        rows=rows,
        statuses=[(s, label("statuses", s, signed.language)) for s in REC_STATUSES],
        areas=REC_AREAS,
        chosen={"status": status or "", "area": area or "", "overdue": overdue},
        saved=request.query_params.get("saved"),
    )


async def _set(request: Request, signed: Signed) -> Response:
    """Set one item's status, with an optional comment."""
    form = await request.form()
    status = str(form.get("status", ""))
    comment = str(form.get("comment", "")).strip()[:COMMENT_LIMIT] or None
    deps = deps_of(request)
    key = request.path_params["key"]
    async with deps.database.session_scope() as session:
        result = await recs.set_status(
            session, key, status, comment=comment, now=signed.now, zone=pages(request).zone
        )
        if result.verdict == "recorded" and result.rec is not None:
            if result.others and deps.policy is not None:
                await tell_done(
                    session,
                    result.rec,
                    result.others,
                    signed.who.name,
                    now=signed.now,
                    policy=deps.policy,
                )
            await signed.log(
                session,
                "set_status",
                f"recommendation:{key}",
                before={"status": result.before},
                after={"status": status, "comment": comment},
            )
    return see_other(request, f"/recommendations?saved={result.verdict}#r-{key}")


board = signed_in(_board)
set_status = signed_in(_set)
