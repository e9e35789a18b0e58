"""The console's first page: coming events, open surveys, follow-up and delivery problems."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from bot.rendering import labels
from bot.services.console import audit
from bot.services.console.overview import overview, resend
from bot.services.delivery.broadcasts import problem_kind
from bot.web.console.auth import Signed, signed_in
from bot.web.console.render import pages, see_other
from bot.web.pages import deps_of


async def _home(request: Request, signed: Signed) -> Response:
    """Show what needs the coordinator's eye today."""
    deps = deps_of(request)
    today = signed.now.astimezone(pages(request).zone).date()
    async with deps.database.read_scope() as session:  # answers while a writer works
        shown = await overview(session, now=signed.now, today=today)
    reasons = labels()["delivery_problems"]
    problems = [
        {**vars(p), "reason": reasons[problem_kind(p.reason)] if p.state == "failed" else ""}
        for p in shown.problems
    ]
    return pages(request).render(
        "overview",
        signed.language,
        me=signed.who.name,
        csrf=signed.csrf,
        here="/",
        overview=shown,
        problems=problems,
        resent=request.query_params.get("resent"),
    )


async def _resend_one(request: Request, signed: Signed) -> Response:
    """Give one failed message another round of attempts."""
    form = await request.form()
    deps = deps_of(request)
    try:
        outbox_id = int(str(form.get("outbox_id", "")))
    except ValueError:
        return see_other(request, "/")
    async with deps.database.session_scope() as session:
        again = await resend(session, outbox_id, now=signed.now)
        if again:
            await signed.log(session, "resend", f"outbox:{outbox_id}")
    return see_other(request, f"/?resent={int(again)}")


async def _audit(request: Request, signed: Signed) -> Response:
    """List who changed what in the console, newest first."""
    async with deps_of(request).database.read_scope() as session:
        entries = await audit.recent(session)
    return pages(request).render(
        "audit",
        signed.language,
        me=signed.who.name,
        csrf=signed.csrf,
        here="/audit",
        entries=entries,
    )


home = signed_in(_home)
resend_one = signed_in(_resend_one)
audit_page = signed_in(_audit)
