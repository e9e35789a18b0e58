"""Signing in and out of the console, the session cookie, CSRF tokens and attempt limits.

The session cookie holds a random token (the database keeps its hash); every request looks the
session up and checks the coordinator role again, so taking the role away ends the session.
Forms carry a CSRF token derived from the session (or, before sign-in, from a cookie of its
own); a POST without the right one is refused with 403.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bot.db.session import Database
from bot.services.console import attempts, audit, signin
from bot.services.console.signin import Current
from bot.web.console.render import pages, see_other, url
from bot.web.health import database_busy
from bot.web.pages import deps_of

log = logging.getLogger("expertbot.web")

SESSION_COOKIE = "expertbot_console"
FORM_COOKIE = "expertbot_console_form"
WINDOW = timedelta(minutes=15)
PER_ADDRESS = 5
PER_ADDRESS_IP = 20
# EXPERTBOT_TRUSTED_PROXIES' default; the service may put its setting on app.state.
TRUSTED_PROXIES = "127.0.0.1,::1"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MARK_WAIT = 1.0  # seconds a page waits for its session's mark before it answers anyway
_marking: set[asyncio.Task[None]] = set()  # marks still waiting for the write lock


def _networks(listed: str) -> list[Network]:
    found = []
    for item in listed.split(","):
        try:
            found.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            continue
    return found


def _trusted(address: str, networks: list[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_ip(request: Request) -> str:
    """The address a request came from: the peer, or, when the peer is a trusted proxy, the
    right-most address in X-Forwarded-For that is not a trusted proxy (left ones are forgeable)."""
    peer = request.client.host if request.client else "?"
    listed = (
        getattr(deps_of(request), "trusted_proxies", None)
        or getattr(request.app.state, "trusted_proxies", None)
        or TRUSTED_PROXIES
    )
    networks = _networks(str(listed))
    if not _trusted(peer, networks):
        return peer
    chain = [
        hop.strip()
        for header in request.headers.getlist("x-forwarded-for")
        for hop in header.split(",")
        if hop.strip()
    ]
    for hop in reversed(chain):
        if not _trusted(hop, networks):
            return hop
    return chain[0] if chain else peer


def csrf_for(request: Request, seed: str) -> str:
    """The CSRF token that belongs to a session token (or a pre-sign-in form cookie)."""
    secret = deps_of(request).links.secret.encode()
    return hmac.new(secret, f"console-csrf:{seed}".encode(), hashlib.sha256).hexdigest()


async def csrf_ok(request: Request, seed: str) -> bool:
    form = await request.form()
    given = str(form.get("csrf", ""))
    return bool(seed) and hmac.compare_digest(given.encode(), csrf_for(request, seed).encode())


def _secure(request: Request) -> bool:
    return deps_of(request).public_url.startswith("https://")


def set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path=url(request, "/").rstrip("/") or "/",
    )


def forbidden() -> Response:
    return PlainTextResponse("Forbidden: the form has expired; reload the page.", status_code=403)


# --- the signed-in coordinator ------------------------------------------------------------


@dataclass(frozen=True)
class Signed:
    """A request of a signed-in coordinator: who, and the CSRF token their forms carry."""

    who: Current
    csrf: str
    now: datetime

    @property
    def language(self) -> str:
        return self.who.language

    async def log(self, session: AsyncSession, action: str, subject: str, **details: Any) -> None:
        """Write this coordinator's change to the audit log, in the change's transaction."""
        await audit.record(
            session,
            actor_id=self.who.contact_id,
            action=action,
            subject=subject,
            now=self.now,
            **details,
        )


Page = Callable[[Request, Signed], Awaitable[Response]]


def signed_in(page: Page) -> Callable[[Request], Awaitable[Response]]:
    """Run a page for a signed-in coordinator (POSTs with a valid CSRF token); else sign in."""

    async def endpoint(request: Request) -> Response:
        deps = deps_of(request)
        token = request.cookies.get(SESSION_COOKIE, "")
        now = deps.clock.now()
        refresh = request.headers.get("hx-request") == "true"  # htmx refreshing a live table
        who = await _who(request, token, now=now, touch=not refresh)
        if who is None:
            if request.method == "POST":
                return forbidden()
            if refresh:  # the whole page goes to sign-in, not the sign-in form into a table
                return Response(status_code=204, headers={"HX-Redirect": url(request, "/login")})
            return see_other(request, "/login")
        if request.method == "POST" and not await csrf_ok(request, token):
            return forbidden()
        return await page(request, Signed(who, csrf_for(request, token), now))

    endpoint.__name__ = page.__name__
    endpoint.__doc__ = page.__doc__
    return endpoint


async def _who(request: Request, token: str, *, now: datetime, touch: bool) -> Current | None:
    """The coordinator behind the cookie, looked up without the write lock on a GET.

    Marking the session (seen again, at most once a minute, or ended) is written in a short
    session of its own that the page waits for only briefly: a busy database (a long import)
    delays the mark, not the page. A POST writes anyway, so it marks in its own turn."""
    database = deps_of(request).database
    if request.method != "GET":
        async with database.session_scope() as session:
            return await signin.current(session, token, now=now, touch=touch)
    async with database.read_scope() as session:
        who = await signin.current(session, token, now=now, touch=touch)
        to_mark = bool(session.dirty)
        if to_mark:
            await session.rollback()  # a read session writes nothing; _mark does it
    if to_mark:
        task = asyncio.create_task(_mark(database, token, now=now, touch=touch))
        _marking.add(task)
        task.add_done_callback(_marking.discard)
        await asyncio.wait({task}, timeout=MARK_WAIT)
    return who


async def _mark(database: Database, token: str, *, now: datetime, touch: bool) -> None:
    """Write what looking the session up found: seen again, or ended."""
    try:
        async with database.session_scope() as session:
            await signin.current(session, token, now=now, touch=touch)
    except DBAPIError as error:
        if not database_busy(error):
            log.exception("marking a console session failed")
            return
        log.warning("the database was busy; a console session's last visit is marked later")


# --- pages --------------------------------------------------------------------------------


def _form_seed(request: Request) -> tuple[str, bool]:
    seed = request.cookies.get(FORM_COOKIE, "")
    return (seed, False) if len(seed) >= 32 else (secrets.token_urlsafe(32), True)


def _login_page(request: Request, page: str, status: int = 200, **values: Any) -> Response:
    seed, new = _form_seed(request)
    language = _browser_language(request)
    response = pages(request).render(
        page,
        language,
        status,
        csrf=csrf_for(request, seed),
        action=str(request.url.path),
        minutes=int(signin.LINK_LIFETIME.total_seconds() // 60),
        **values,
    )
    if new:
        set_cookie(request, response, FORM_COOKIE, seed)
    return response


def _browser_language(request: Request) -> str:
    wanted = request.query_params.get("lang") or request.headers.get("accept-language", "")[:2]
    return wanted.lower() if wanted.lower() in ("lv", "et", "en") else "lv"


async def login(request: Request) -> Response:
    """Ask for an email address; coordinators get a one-time sign-in link there."""
    if request.method == "GET":
        return _login_page(request, "login", email="")
    if not await csrf_ok(request, request.cookies.get(FORM_COOKIE, "")):
        return forbidden()
    form = await request.form()
    address = str(form.get("email", "")).strip()[:320]
    deps = deps_of(request)
    now = deps.clock.now()
    ip = client_ip(request)
    limits = [(f"ip:{ip}", PER_ADDRESS_IP), (f"address:{address.lower()}", PER_ADDRESS)]
    async with deps.database.session_scope() as session:
        allowed = await attempts.allow(session, limits, now=now, window=WINDOW)
    if not allowed:
        return _login_page(request, "login", 429, email=address, limited=True)
    if deps.policy is not None:
        async with deps.database.session_scope() as session:
            contact = await signin.coordinator_by_email(session, address)
            if contact is not None:
                await signin.request_link(
                    session,
                    contact,
                    channel="email",
                    now=now,
                    policy=deps.policy,
                    public_url=deps.public_url,
                )
    return _login_page(request, "login_sent", email=address)


async def signin_link(request: Request) -> Response:
    """Show the sign-in button behind an emailed link (GET uses nothing: mail scanners open it)."""
    deps = deps_of(request)
    token = request.path_params["token"]
    now = deps.clock.now()
    if request.method == "GET":
        async with deps.database.read_scope() as session:
            verdict, contact = await signin.check_link(session, token, now=now)
        if verdict != "valid" or contact is None:
            return _login_page(request, "link_problem", 410, reason=verdict)
        return _login_page(request, "signin", name=contact.name)
    if not await csrf_ok(request, request.cookies.get(FORM_COOKIE, "")):
        return forbidden()
    async with deps.database.session_scope() as session:
        result = await signin.sign_in(session, token, now=now)
        if isinstance(result, signin.SignedIn):
            await audit.record(
                session, actor_id=result.contact.id, action="sign_in", subject="console", now=now
            )
    if not isinstance(result, signin.SignedIn):
        return _login_page(request, "link_problem", 410, reason=result)
    response = see_other(request, "/")
    set_cookie(request, response, SESSION_COOKIE, result.token)
    return response


async def _sign_out(request: Request, signed: Signed) -> Response:
    """End this browser's session."""
    deps = deps_of(request)
    async with deps.database.session_scope() as session:
        await signin.sign_out(session, signed.who.session_id, now=signed.now)
    response = see_other(request, "/login")
    response.delete_cookie(SESSION_COOKIE, path=url(request, "/").rstrip("/") or "/")
    return response


async def _language(request: Request, signed: Signed) -> Response:
    """Switch the console's language for this session."""
    form = await request.form()
    async with deps_of(request).database.session_scope() as session:
        await signin.set_language(session, signed.who.session_id, str(form.get("language", "")))
    back = str(form.get("back", "/"))
    return see_other(request, back if back.startswith("/") and not back.startswith("//") else "/")


sign_out = signed_in(_sign_out)
language = signed_in(_language)
