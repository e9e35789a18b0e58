"""Console pages: messages/<lang>/console/<page>.html, with the signed-in coordinator's values."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from bot.rendering import LANGUAGES, build_environment, default_messages_dir, labels
from bot.web.pages import deps_of

HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "same-origin"}


class ConsolePages:
    """Render console pages in one language, in the service's time zone."""

    def __init__(self, timezone: str) -> None:
        self.environment = build_environment(default_messages_dir())
        self.zone = ZoneInfo(timezone)

    def render(self, page: str, language: str, status: int = 200, **values: Any) -> HTMLResponse:
        language = language if language in LANGUAGES else "lv"
        template = self.environment.get_template(f"{language}/console/{page}.html")
        names = labels()["language_buttons"]
        shown = {"languages": [(code, names[code]) for code in LANGUAGES], **values}
        html = template.render({**shown, "lang": language, "tz": self.zone})
        return HTMLResponse(html, status_code=status, headers=HEADERS)


def pages(request: Request) -> ConsolePages:
    """The app's console renderer, made on first use."""
    found: ConsolePages | None = getattr(request.app.state, "console_pages", None)
    if found is None:
        found = ConsolePages(deps_of(request).timezone)
        request.app.state.console_pages = found
    return found


def url(request: Request, path: str = "/") -> str:
    """A path inside the console (whose mount point, with any proxy prefix, is the root path)."""
    return f"{request.scope.get('root_path', '')}{path}"


def see_other(request: Request, path: str = "/") -> Response:
    """Redirect after a POST (303), to a path inside the console."""
    return RedirectResponse(url(request, path), 303)
