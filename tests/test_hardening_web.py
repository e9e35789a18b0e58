"""Security headers on every page of the web app (Starlette through httpx's ASGI transport)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from bot.db.session import Database
from bot.services.clock import ManualClock
from bot.services.delivery.signed_links import Links
from bot.web.app import build_web
from bot.web.pages import WebDeps
from tests.test_onboarding import NOW

OWN_CSP = "script-src 'self'; frame-ancestors 'self'"


async def own_policy(request: Request) -> Response:
    """A page that sets its own policy, as the playground's page does."""
    return HTMLResponse("<p>own</p>", headers={"Content-Security-Policy": OWN_CSP})


@pytest.fixture
async def web(sqlite_database: Database) -> AsyncIterator[httpx.AsyncClient]:
    links = Links("web-headers-tests-signing-key-0123456789", "http://web.test")
    deps = WebDeps(sqlite_database, links, ManualClock(NOW))
    app = build_web(pages=deps, extra=[Route("/own", own_policy)])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://web.test") as client:
        yield client


@pytest.mark.parametrize(
    "path", ["/health", "/r/forged", "/s/forged", "/t/forged", "/u/forged", "/no-such-page"]
)
async def test_every_page_carries_the_security_headers(web: httpx.AsyncClient, path: str) -> None:
    page = await web.get(path)
    policy = page.headers["content-security-policy"]
    for part in (
        "default-src 'self'",
        "script-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
        "object-src 'none'",
    ):
        assert part in policy
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";")[0]
    assert page.headers["x-frame-options"] == "SAMEORIGIN"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"


async def test_a_page_with_its_own_policy_keeps_it(web: httpx.AsyncClient) -> None:
    page = await web.get("/own")
    assert page.headers.get_list("content-security-policy") == [OWN_CSP]
    assert page.headers["x-content-type-options"] == "nosniff"
