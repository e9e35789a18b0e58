"""The web side: health, the Telegram webhook, and the pages behind email links."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.exc import DBAPIError
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.web import console, rsvp, survey_form, tasks_page, unsubscribe
from bot.web.health import Health, database_busy
from bot.web.metrics import Metrics
from bot.web.pages import Pages, WebDeps, browser_language

log = logging.getLogger("expertbot.web")
WEBHOOK_PATH = "/telegram"
UpdateSink = Callable[[dict[str, Any]], Awaitable[None]]


class NotReady(Exception):
    """The sink cannot take updates yet: Telegram is told to send them again later."""


# Every page: scripts, styles and forms of this site only (the pages' own <style> blocks
# are inline); framed only by this site (the playground shows the pages in its frames).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'self'"
)
NO_STORE = {"Cache-Control": "no-store"}
BUSY_RETRY_AFTER = 5  # seconds a visitor is asked to wait when the database is busy
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "SAMEORIGIN",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # links carry signed tokens
}


class SecurityHeaders:
    """Add the security headers to every response that does not set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers.append(name, value)
            await send(message)

        await self.app(scope, receive, with_headers)


async def database_busy_page(request: Request, error: Exception) -> Response:
    """A database locked past its busy timeout: "try again in a moment", never a raw 500."""
    if not database_busy(error):
        raise error
    log.warning("the database was busy; a page answered 503 (try again in a moment)")
    headers = {"Retry-After": str(BUSY_RETRY_AFTER)}
    pages: Pages | None = getattr(request.app.state, "pages", None)
    if pages is None:
        return PlainTextResponse("Busy; try again in a moment", 503, headers=headers)
    answer = pages.render("busy", browser_language(request), 503, sending=request.method == "POST")
    answer.headers.update(headers)
    return answer


def webhook_secret(secret_key: str) -> str:
    """The X-Telegram-Bot-Api-Secret-Token value, derived from the signing key (A-Za-z0-9)."""
    return hmac.new(secret_key.encode(), b"telegram-webhook", hashlib.sha256).hexdigest()


def build_web(
    *,
    webhook: UpdateSink | None = None,
    webhook_token: str | None = None,
    pages: WebDeps | None = None,
    extra: Sequence[BaseRoute] = (),
    state: Mapping[str, Any] | None = None,
    health: Health | None = None,
    metrics: Metrics | None = None,
) -> Starlette:
    """The Starlette app `run` serves on EXPERTBOT_WEB_HOST:EXPERTBOT_WEB_PORT."""

    async def healthz(request: Request) -> Response:
        if health is None:
            return JSONResponse({"status": "ok"}, headers=NO_STORE)
        status, body = await health.report()
        return JSONResponse(body, status_code=status, headers=NO_STORE)

    async def telegram(request: Request) -> Response:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if (
            webhook is None
            or not webhook_token
            or not hmac.compare_digest(given.encode(), webhook_token.encode())
        ):
            return PlainTextResponse("Forbidden", status_code=403)
        try:
            update = await request.json()
        except ValueError:
            return PlainTextResponse("Bad Request", status_code=400)
        try:
            await webhook(update)
        except NotReady:  # Telegram delivers it again later
            return PlainTextResponse("Starting", status_code=503, headers={"Retry-After": "5"})
        return PlainTextResponse("OK")

    routes: list[BaseRoute] = [
        Route("/health", healthz),
        Route("/healthz", healthz),
        Route(WEBHOOK_PATH, telegram, methods=["POST"]),
    ]
    if metrics is not None:
        routes.append(Route("/metrics", metrics.endpoint))
    if pages is not None:
        routes += rsvp.ROUTES + survey_form.ROUTES + tasks_page.ROUTES + unsubscribe.ROUTES
        routes.append(Mount("/console", routes=console.ROUTES))
    app = Starlette(
        routes=[*routes, *extra],
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={DBAPIError: database_busy_page},
    )
    if pages is not None:
        app.state.web = pages
        app.state.pages = Pages(pages.timezone)
    for name, value in (state or {}).items():
        setattr(app.state, name, value)
    return app
