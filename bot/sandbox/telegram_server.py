"""A Telegram Bot API emulator: the real PTB client talks to it over HTTP on loopback.

    async with TelegramEmulator() as telegram:
        bot = Bot(telegram.token, base_url=f"{telegram.base_url}/bot",
                  base_file_url=f"{telegram.base_url}/file/bot")
        ilze = telegram.user(user_id=1001, first_name="Ilze", language_code="lv")
        await ilze.send("/start")

It checks every call against the Bot API description, answers with Telegram's shapes and
errors, enforces flood limits, and can be told to be slow or to fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.sandbox.loopback import LoopbackServer
from bot.sandbox.telegram_errors import ApiError, not_implemented
from bot.sandbox.telegram_http import DROP_KEY, Droppable, loggable, read_params
from bot.sandbox.telegram_limits import ApiCall, Fault, FaultQueue, RateLimiter, RateLimits, Stats
from bot.sandbox.telegram_methods import Handler, MessagingMethods
from bot.sandbox.telegram_settings import BotMethods, scope_key
from bot.sandbox.telegram_spec import load_spec
from bot.sandbox.telegram_state import Chat, EmulatorState, TelegramUser
from bot.sandbox.telegram_updates import UpdateQueue, Webhook
from bot.sandbox.telegram_users import DEFAULT_TIMEOUT, EmulatedUser

T = TypeVar("T")


class TelegramEmulator:
    """A fake Telegram: Bot API server, chats a test can read, users a test can act as."""

    def __init__(
        self,
        token: str | None = None,
        *,
        bot_username: str = "expertbot_test_bot",
        bot_name: str = "Expertbot (test)",
        limits: RateLimits | None = None,
        latency: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.token = token or f"7000000001:{secrets.token_urlsafe(26)}"
        self.bot_id = int(self.token.split(":", 1)[0])
        self.bot_username = bot_username
        self.latency = latency  # seconds added to every request
        self.spec = load_spec()
        self.state = EmulatorState(_bot_user(self.bot_id, bot_name, bot_username), now)
        self.updates = UpdateQueue(self.state.signal)
        self.webhook = Webhook(self.updates)
        self.limiter = RateLimiter(limits or RateLimits())
        self.faults = FaultQueue()
        self.calls: list[ApiCall] = []
        self.stats = Stats()
        self._handlers: dict[str, Handler] = {
            **MessagingMethods(self.state, self.limiter).handlers(),
            **BotMethods(self.state, self.updates, self.webhook).handlers(),
        }
        self._closing = asyncio.Event()
        self.app = Droppable(self._routes())
        self._server = LoopbackServer(self.app, host=host, port=port)

    def __repr__(self) -> str:
        return f"<TelegramEmulator @{self.bot_username} at {self.base_url}>"  # never the token

    # --- serving --------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """Return the server root; the bot appends /bot<token>/<method>."""
        return self._server.url

    @property
    def methods(self) -> list[str]:
        """Return the Bot API methods the emulator implements (others answer 501)."""
        return sorted(self._handlers)

    @property
    def limits(self) -> RateLimits:
        """Return the flood limits in force (change fields, then call reset_rate_limits)."""
        return self.limiter.limits

    async def start(self) -> None:
        """Start serving on a free loopback port."""
        self._closing = asyncio.Event()
        self.updates.open()
        await self._server.start()

    async def stop(self) -> None:
        """End long polls and webhook delivery, then stop the server."""
        self._closing.set()
        self.updates.close()
        await self.webhook.delete()
        await self._server.stop()

    async def __aenter__(self) -> TelegramEmulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # --- what a test sets up and reads ------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        *,
        started: bool = True,
    ) -> EmulatedUser:
        """Return a user to act as; `started=False` means they never opened the bot."""
        person = TelegramUser(user_id, first_name, last_name, username, language_code, started)
        return EmulatedUser(self.state, self.updates, person)

    def group(self, chat_id: int, title: str) -> Chat:
        """Return a group chat (negative id) the bot is in; users send there with chat=."""
        return self.state.add_group(chat_id, title)

    @property
    def chats(self) -> list[Chat]:
        """Return every chat the emulator knows, private ones and groups."""
        return list(self.state.chats.values())

    def chat(self, chat_id: int) -> Chat:
        """Return a chat with all its messages, deleted ones flagged."""
        return self.state.chats[chat_id]

    def commands(self, language_code: str = "", scope: dict[str, Any] | None = None) -> list[Any]:
        """Return the commands the bot set for exactly this language and scope."""
        return self.state.commands.get((scope_key(scope), language_code), [])

    @property
    def callback_answers(self) -> dict[str, dict[str, Any]]:
        """Return the bot's answers to button presses, by callback query id."""
        queries = self.state.callback_queries.values()
        return {query.id: query.answer for query in queries if query.answer is not None}

    def call_count(self, method: str | None = None) -> int:
        """Return how many calls (of one method) the bot made."""
        return sum(1 for call in self.calls if method in (None, call.method))

    def calls_to(self, method: str) -> list[ApiCall]:
        """Return the calls of one method, oldest first."""
        return [call for call in self.calls if call.method == method]

    def reset_rate_limits(self) -> None:
        """Refill all flood-limit buckets, e.g. after changing `limits`."""
        self.limiter.reset()

    def fail_next(
        self, fault: Fault, *, method: str | None = None, chat_id: int | None = None, times: int = 1
    ) -> None:
        """Make the next `times` calls (of `method`, to `chat_id`) fail with `fault`."""
        self.faults.add(fault, method=method, chat_id=chat_id, times=times)

    async def wait_for(
        self, predicate: Callable[[], T | None], timeout: float = DEFAULT_TIMEOUT
    ) -> T:
        """Return the first truthy value of `predicate`, re-checked after every change."""
        return await self.state.signal.wait_for(predicate, timeout)

    # --- HTTP -------------------------------------------------------------------------------

    def _routes(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"]),
                Route("/file/bot{token}/{path:path}", self._download, methods=["GET"]),
            ]
        )

    async def _endpoint(self, request: Request) -> Response:
        if not self._authorized(request):
            return _json(ApiError(401, "Unauthorized").payload(), 401)
        method = self.spec.resolve(request.path_params["method"])
        if method is None:
            return _json(ApiError(404, "Not Found").payload(), 404)
        try:
            raw = await read_params(request)
        except ApiError as error:
            return _json(error.payload(), error.status)
        call = ApiCall(method, loggable(raw), time.time())
        self.calls.append(call)
        status, body = await self._answer(method, raw)
        call.duration = time.time() - call.at
        call.status, call.description = status, body.get("description")
        self.stats.count(call)
        self.state.changed()
        if status == 0:
            if request.scope.get(DROP_KEY, lambda: False)():
                await asyncio.sleep(0)  # let the transport report the lost connection first
                return Response(status_code=204)
            status, body = 502, ApiError(502, "Bad Gateway").payload()
        return _json(body, status)

    def _authorized(self, request: Request) -> bool:
        given = request.path_params["token"].encode()
        return secrets.compare_digest(given, self.token.encode())

    async def _answer(self, method: str, raw: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Return status and body for one call; status 0 means drop the connection."""
        await self._pause(self.latency)
        fault = self.faults.take(method, raw.get("chat_id"))
        try:
            if fault is not None and fault.kind == "drop":
                return 0, {"ok": False, "error_code": 0, "description": "connection dropped"}
            if fault is not None and fault.error is not None:
                raise fault.error
            if fault is not None:
                await self._pause(fault.seconds)
            params = self.spec.check(method, raw)
            handler = self._handlers.get(method)
            if handler is None:
                raise not_implemented(f"method {method}")
            return 200, {"ok": True, "result": await handler(params)}
        except ApiError as error:
            return error.status, error.payload()

    async def _pause(self, seconds: float) -> None:
        """Wait, but not past stop(), so a slow request never holds up shutdown."""
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), seconds)

    async def _download(self, request: Request) -> Response:
        if not self._authorized(request):
            return Response("Unauthorized", status_code=401)
        for stored in self.state.files.values():
            if stored.file_path == request.path_params["path"]:
                return Response(stored.data, media_type=stored.mime_type)
        return Response("Not Found", status_code=404)


def _json(body: dict[str, Any], status: int) -> JSONResponse:
    return JSONResponse(body, status_code=status)


def _bot_user(bot_id: int, name: str, username: str) -> dict[str, Any]:
    return {
        "id": bot_id,
        "is_bot": True,
        "first_name": name,
        "username": username,
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }
