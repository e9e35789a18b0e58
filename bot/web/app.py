"""The web side: health, the Telegram webhook, and the pages behind email links."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from bot.web import console, rsvp, survey_form, tasks_page
from bot.web.pages import Pages, WebDeps

log = logging.getLogger("expertbot.web")
WEBHOOK_PATH = "/telegram"
UpdateSink = Callable[[dict[str, Any]], Awaitable[None]]


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
) -> Starlette:
    """The Starlette app `run` serves on EXPERTBOT_WEB_HOST:EXPERTBOT_WEB_PORT."""

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def telegram(request: Request) -> Response:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if webhook is None or not webhook_token or not hmac.compare_digest(given, webhook_token):
            return PlainTextResponse("Forbidden", status_code=403)
        try:
            update = await request.json()
        except ValueError:
            return PlainTextResponse("Bad Request", status_code=400)
        await webhook(update)
        return PlainTextResponse("OK")

    routes: list[BaseRoute] = [
        Route("/health", health),
        Route("/healthz", health),
        Route(WEBHOOK_PATH, telegram, methods=["POST"]),
    ]
    if pages is not None:
        routes += rsvp.ROUTES + survey_form.ROUTES + tasks_page.ROUTES
        routes.append(Mount("/console", routes=console.ROUTES))
    app = Starlette(routes=[*routes, *extra])
    if pages is not None:
        app.state.web = pages
        app.state.pages = Pages(pages.timezone)
    for name, value in (state or {}).items():
        setattr(app.state, name, value)
    return app
