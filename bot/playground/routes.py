"""The playground's web routes: the page, its JSON API, mail bodies and files, and the way
into the coordinator's console.

Each endpoint finds the running `Playground` on `request.app.state.playground`, which
`Playground.run` puts there (through `Service.web_state`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from bot.playground import views
from bot.playground.jumps import jumps
from bot.playground.runtime import Playground, PlaygroundError
from bot.sandbox.mail_server import Received
from bot.services.console import signin
from bot.web.console import auth as console_auth

STATIC = Path(__file__).parent / "static"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")
MAX_MINUTES = 60 * 24 * 400
# An email is shown as sent, but in a sandbox: no scripts, no plugins, links open in the frame
# (or, for a Telegram link, the page), forms post only here.
MAIL_CSP = (
    "default-src 'self' data: 'unsafe-inline'; script-src 'none'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; "
    "sandbox allow-same-origin allow-forms allow-popups allow-top-navigation-by-user-activation"
)
PAGE_CSP = "script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'self'"
Handler = Callable[[Request], Awaitable[Response]]


def _local(request: Request) -> bool:
    """Only pages opened on this machine may drive the playground (no DNS rebinding)."""
    host = request.headers.get("host", "")
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
    return name in LOCAL_HOSTS


def guarded(handler: Handler, *, from_anywhere: bool = False) -> Handler:
    """Refuse other hosts and requests other sites start; turn playground errors into 4xx JSON.

    Only the page itself (`from_anywhere`) may be opened from a link elsewhere.
    """

    async def wrapped(request: Request) -> Response:
        if not _local(request):
            return JSONResponse({"error": "the playground answers on 127.0.0.1 only"}, 403)
        site = request.headers.get("sec-fetch-site", "none")
        if not from_anywhere and site not in ("same-origin", "none"):
            return JSONResponse({"error": "only the playground's own page may do this"}, 403)
        if request.method == "POST" and not request.headers.get("content-type", "").startswith(
            "application/json"
        ):
            return JSONResponse({"error": "send JSON (Content-Type: application/json)"}, 415)
        try:
            return await handler(request)
        except PlaygroundError as error:
            return JSONResponse({"error": str(error)}, 400)

    return wrapped


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, json.JSONDecodeError):
        raise PlaygroundError("the request body is not JSON") from None
    if not isinstance(body, dict):
        raise PlaygroundError("the request body must be a JSON object")
    return body


def _play(request: Request) -> Playground:
    """Return the playground the web server was built for (set on `app.state`)."""
    play: Playground = request.app.state.playground
    return play


def _received(play: Playground, index: int) -> Received:
    """Return the `index`th email the mail server received, or refuse."""
    assert play.mail is not None
    if not 0 <= index < len(play.mail.messages):
        raise PlaygroundError(f"no email {index}")
    return play.mail.messages[index]


async def page(request: Request) -> Response:
    """Serve the playground's page."""
    headers = {"Cache-Control": "no-store", "Content-Security-Policy": PAGE_CSP}
    return FileResponse(STATIC / "index.html", headers=headers)


async def state(request: Request) -> Response:
    """Return the whole network: people, clock and banner."""
    return JSONResponse(await views.state(_play(request)))


async def chat(request: Request) -> Response:
    """Return one person's Telegram chat with the bot."""
    return JSONResponse(await views.chat(_play(request), request.path_params["person"]))


async def send(request: Request) -> Response:
    """Send the bot a message as one person."""
    body = await _body(request)
    await _play(request).send(request.path_params["person"], str(body.get("text", "")))
    return JSONResponse({"ok": True})


async def press(request: Request) -> Response:
    """Press a button in one person's chat; return the bot's toast."""
    body = await _body(request)
    try:
        message_id, data = int(body["message_id"]), str(body["data"])
    except (KeyError, TypeError, ValueError):
        raise PlaygroundError("say which button: message_id and data") from None
    answer = await _play(request).press(request.path_params["person"], message_id, data)
    return JSONResponse({"ok": True, "answer": answer})


async def join(request: Request) -> Response:
    """Open the bot as one person, with a fresh personal link."""
    await _play(request).join(request.path_params["person"])
    return JSONResponse({"ok": True})


async def mail(request: Request) -> Response:
    """Return one person's mailbox."""
    return JSONResponse(await views.mail(_play(request), request.path_params["person"]))


async def mail_body(request: Request) -> Response:
    """Show one received email as its recipient sees it, sandboxed."""
    play = _play(request)
    index = request.path_params["index"]
    message = _received(play, index).message
    html = views.mail_page(index, message, play.inner.telegram_bot_username or "")
    return HTMLResponse(html, headers={"Content-Security-Policy": MAIL_CSP})


async def mail_part(request: Request) -> Response:
    """Download one attachment of a received email."""
    parts = views.attachments(_received(_play(request), request.path_params["index"]).message)
    number = request.path_params["part"]
    if not 0 <= number < len(parts):
        raise PlaygroundError(f"no attachment {number}")
    part = parts[number]
    name = part.get_filename() or f"part-{number}"
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    return Response(
        data,
        media_type=part.get_content_type(),
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def mail_start(request: Request) -> Response:
    """Open an email's Telegram invite link in the recipient's sandbox chat."""
    play = _play(request)
    received = _received(play, request.path_params["index"])
    person = await play.contact_by_email(received.recipients[0])
    await play.join(person, request.path_params["token"])
    return RedirectResponse(f"/#person={person}&tab=telegram", status_code=303)


async def file(request: Request) -> Response:
    """Download a file the bot sent in a chat."""
    play = _play(request)
    assert play.telegram is not None
    for stored in play.telegram.state.files.values():
        if stored.file_unique_id == request.path_params["unique"]:
            name = stored.file_name or "file"
            return Response(
                stored.data,
                media_type=stored.mime_type or "application/octet-stream",
                headers={"Content-Disposition": f'attachment; filename="{name}"'},
            )
    raise PlaygroundError("no such file")


async def console(request: Request) -> Response:
    """Open the coordinator's console, signed in as the demo network's coordinator.

    The playground's coordinator column is this console in a frame: one code path, not two.
    """
    play = _play(request)
    async with play.database.session_scope() as session:
        contact = await signin.first_coordinator(session)
        if contact is None:
            raise PlaygroundError("the network has no coordinator to sign in as")
        token = await signin.open_session(session, contact, now=play.clock.now())
    response = RedirectResponse("/console/", 303)
    response.set_cookie(
        console_auth.SESSION_COOKIE, token, httponly=True, samesite="lax", path="/console"
    )
    return response


async def _jump(play: Playground, jump: Any) -> int:
    """Move the clock to the offered moment `jump`; return how many messages were queued."""
    settings = play.inner
    async with play.database.session_scope() as session:
        found = await jumps(session, play.clock.now(), settings.zone, settings.quiet)
    target = next((j for j in found if j.id == jump), None)
    if target is None:
        raise PlaygroundError("that moment has passed; pick another jump")
    return await play.move_clock(to=target.at)


async def _advance(play: Playground, minutes: Any) -> int:
    """Move the clock forward by `minutes`; return how many messages were queued."""
    try:
        count = int(minutes)
    except (TypeError, ValueError):
        raise PlaygroundError("minutes must be a whole number") from None
    if not 0 < count <= MAX_MINUTES:
        raise PlaygroundError("move the clock forward by 1 minute to 400 days")
    return await play.move_clock(by=timedelta(minutes=count))


async def clock(request: Request) -> Response:
    """Move the playground's time: to an offered moment, or by some minutes."""
    body = await _body(request)
    play = _play(request)
    if "jump" in body:
        queued = await _jump(play, body["jump"])
    else:
        queued = await _advance(play, body.get("minutes", 0))
    current = (await views.state(play))["clock"]
    return JSONResponse({"ok": True, "clock": current, "queued": queued})


# The routes the service's web server adds in sandbox mode; they read `app.state.playground`.
ROUTES: list[BaseRoute] = [
    Route("/", guarded(page, from_anywhere=True)),
    Mount("/play/static", app=StaticFiles(directory=STATIC), name="play-static"),
    Route("/play/api/state", guarded(state)),
    Route("/play/api/chat/{person:int}", guarded(chat)),
    Route("/play/api/chat/{person:int}/send", guarded(send), methods=["POST"]),
    Route("/play/api/chat/{person:int}/press", guarded(press), methods=["POST"]),
    Route("/play/api/chat/{person:int}/join", guarded(join), methods=["POST"]),
    Route("/play/api/mail/{person:int}", guarded(mail)),
    Route("/play/mail/{index:int}", guarded(mail_body)),
    Route("/play/mail/{index:int}/part/{part:int}", guarded(mail_part)),
    Route("/play/mail/{index:int}/start/{token}", guarded(mail_start)),
    Route("/play/file/{unique}", guarded(file)),
    Route("/play/console", guarded(console)),
    Route("/play/api/clock", guarded(clock), methods=["POST"]),
]
