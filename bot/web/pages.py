"""What every page behind an email link shares: its dependencies and the page renderer.

Endpoints are module-level functions; they take their dependencies from the app's state
(`request.app.state.web`, `request.app.state.pages`), set once by `bot.web.app.build_web`.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import HTMLResponse

from bot.db.session import Database
from bot.rendering import LANGUAGES, build_environment, default_messages_dir
from bot.services.clock import Clock
from bot.services.delivery.outbox import DeliveryPolicy
from bot.services.delivery.signed_links import Links


@dataclass
class WebDeps:
    database: Database
    links: Links
    clock: Clock
    timezone: str = "Europe/Riga"
    policy: DeliveryPolicy | None = None
    public_url: str = ""  # base of links this service sends (EXPERTBOT_PUBLIC_URL)
    bot_username: str | None = None  # for Telegram join links; None without Telegram
    invite_days: int = 30
    trusted_proxies: str = "127.0.0.1,::1"  # EXPERTBOT_TRUSTED_PROXIES (console rate limits)


class Pages:
    """Render messages/<lang>/pages/<page>.html with the message filters."""

    def __init__(self, timezone: str) -> None:
        self.environment = build_environment(default_messages_dir())
        self.zone = ZoneInfo(timezone)

    def render(self, page: str, language: str, status: int = 200, **values: Any) -> HTMLResponse:
        language = language if language in LANGUAGES else "lv"
        template = self.environment.get_template(f"{language}/pages/{page}.html")
        html = template.render({**values, "lang": language, "tz": self.zone})
        headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
        return HTMLResponse(html, status_code=status, headers=headers)


def browser_language(request: Request) -> str:
    """The browser's language when it is one of ours, else Latvian."""
    accepted = request.headers.get("accept-language", "")[:2].lower()
    return accepted if accepted in LANGUAGES else "lv"


def link_number(request: Request, purpose: str, key: str) -> int | None:
    """The id a genuine link carries under `key`, however old (to pick a page's language)."""
    payload = deps_of(request).links.read_any_age(purpose, request.path_params["token"])
    value = payload.get(key) if isinstance(payload, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def deps_of(request: Request) -> WebDeps:
    """The database, signer and clock the app was built with."""
    deps: WebDeps = request.app.state.web
    return deps


def pages_of(request: Request) -> Pages:
    """The page renderer the app was built with."""
    pages: Pages = request.app.state.pages
    return pages


def confirm_code(links: Links, token: str) -> str:
    """Ties the form to the page that showed it (the token alone arrives by email)."""
    return hmac.new(links.secret.encode(), f"confirm:{token}".encode(), hashlib.sha256).hexdigest()
