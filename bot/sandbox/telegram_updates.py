"""The update queue behind getUpdates long polling, and webhook delivery of the same queue."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import httpx

from bot.sandbox.telegram_errors import ApiError, bad_request, conflict
from bot.sandbox.telegram_state import Signal

# Telegram leaves these out unless they are asked for by name.
OPT_IN_UPDATES = {"chat_member", "message_reaction", "message_reaction_count"}
WEBHOOK_RETRY_SECONDS = 0.5


def update_kind(update: dict[str, Any]) -> str:
    """Return the type of an update: message, callback_query, ..."""
    return next(key for key in update if key != "update_id")


class UpdateQueue:
    """Updates waiting to be confirmed by the bot, in order, with long polling."""

    def __init__(self, signal: Signal | None = None) -> None:
        self.pending: list[dict[str, Any]] = []
        self.delivered: list[dict[str, Any]] = []  # every update handed out, for tests
        self._handed_out: set[int] = set()
        self.allowed: set[str] | None = None
        self.signal = signal or Signal()  # shared with the chats, so tests can wait on polling
        self.polling = 0  # getUpdates requests waiting right now
        self._next_id = 1
        self._generation = 0
        self._closed = False

    def push(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue an update of this kind and wake a waiting getUpdates or webhook."""
        update = {"update_id": self._next_id, kind: payload}
        self._next_id += 1
        self.pending.append(update)
        self.signal.fire()
        return update

    def set_allowed(self, allowed: list[str] | None) -> None:
        """Remember which update types the bot wants; None keeps the previous choice."""
        if allowed is not None:
            self.allowed = set(allowed) or None

    def wanted(self, update: dict[str, Any]) -> bool:
        """Tell whether the bot's allowed_updates let this update through."""
        kind = update_kind(update)
        return kind not in OPT_IN_UPDATES if self.allowed is None else kind in self.allowed

    def confirm(self, offset: int) -> None:
        """Forget updates below `offset`; a negative offset keeps only the last -offset."""
        if offset < 0:
            self.pending = self.pending[offset:]
        else:
            self.pending = [u for u in self.pending if u["update_id"] >= offset]

    def available(self, limit: int) -> list[dict[str, Any]]:
        """Return up to `limit` pending updates, dropping ones the bot does not want."""
        self.pending = [u for u in self.pending if self.wanted(u)]
        return self.pending[:limit]

    def drop_pending(self) -> None:
        """Forget all pending updates (drop_pending_updates)."""
        self.pending.clear()

    async def poll(self, offset: int | None, limit: int, timeout: float) -> list[dict[str, Any]]:
        """Answer getUpdates: confirm, then wait up to `timeout` seconds for something new."""
        if offset is not None:
            self.confirm(offset)
        self._generation += 1
        generation = self._generation
        self.polling += 1
        self.signal.fire()  # an older request still waiting ends with a conflict
        try:
            result = await self.signal.wait_for(
                lambda: self._closed or generation != self._generation or self.available(limit),
                timeout,
            )
        except TimeoutError:
            return []
        finally:
            self.polling -= 1
        if generation != self._generation and not self._closed:
            raise conflict(
                "terminated by other getUpdates request; "
                "make sure that only one bot instance is running"
            )
        updates = self.available(limit) if result is not True else []
        self.hand_out(updates)
        return updates

    def hand_out(self, updates: list[dict[str, Any]]) -> None:
        """Remember updates given to the bot (a repeated getUpdates may give them again)."""
        for update in updates:
            if update["update_id"] not in self._handed_out:
                self._handed_out.add(update["update_id"])
                self.delivered.append(update)

    def open(self) -> None:
        """Let long polls wait again (the server is starting)."""
        self._closed = False

    def close(self) -> None:
        """End every waiting long poll (the server is stopping)."""
        self._closed = True
        self.signal.fire()


class Webhook:
    """Deliver queued updates by POSTing them to the bot's webhook URL."""

    def __init__(self, queue: UpdateQueue) -> None:
        self.queue = queue
        self.url = ""
        self.secret_token: str | None = None
        self.last_error_date: int | None = None
        self.last_error_message: str | None = None
        self.max_connections = 40
        self._task: asyncio.Task[None] | None = None

    async def set(self, params: dict[str, Any]) -> bool:
        """Apply setWebhook: start delivering to the URL, or stop for an empty one."""
        url = params["url"]
        if url and not url.startswith(("https://", "http://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not _valid_secret(secret):
            raise bad_request("secret token contains unallowed characters")
        await self.delete(params.get("drop_pending_updates", False))
        self.queue.set_allowed(params.get("allowed_updates"))
        self.url, self.secret_token = url, secret
        self.max_connections = params.get("max_connections", 40)
        if url:
            self._task = asyncio.create_task(self._deliver(url))
        return True

    async def delete(self, drop_pending_updates: bool = False) -> bool:
        """Apply deleteWebhook: stop delivering, optionally forget pending updates."""
        self.url = ""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if drop_pending_updates:
            self.queue.drop_pending()
        return True

    def info(self) -> dict[str, Any]:
        """Return the Bot API WebhookInfo object."""
        data: dict[str, Any] = {
            "url": self.url,
            "has_custom_certificate": False,
            "pending_update_count": len(self.queue.pending),
        }
        if self.url:
            data["max_connections"] = self.max_connections
            if self.queue.allowed is not None:
                data["allowed_updates"] = sorted(self.queue.allowed)
        if self.last_error_date is not None:
            data["last_error_date"] = self.last_error_date
            data["last_error_message"] = self.last_error_message
        return data

    async def _deliver(self, url: str) -> None:
        headers = (
            {"X-Telegram-Bot-Api-Secret-Token": self.secret_token} if self.secret_token else {}
        )
        async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
            while True:
                batch = await self.queue.signal.wait_for(lambda: self.queue.available(1), None)
                update = batch[0]
                error = await _post(client, url, update, headers)
                if error is None:
                    self.queue.hand_out([update])
                    self.queue.confirm(update["update_id"] + 1)
                    continue
                self.last_error_date, self.last_error_message = int(time.time()), error
                await asyncio.sleep(WEBHOOK_RETRY_SECONDS)  # Telegram also backs off


async def _post(
    client: httpx.AsyncClient, url: str, update: dict[str, Any], headers: dict[str, str]
) -> str | None:
    """POST one update; return Telegram's wording of the failure, or None."""
    try:
        response = await client.post(url, json=update, headers=headers)
    except httpx.HTTPError as error:
        return f"Connection failed: {type(error).__name__}"
    if 200 <= response.status_code < 300:
        return None
    return f"Wrong response from the webhook: {response.status_code} {response.reason_phrase}"


def _valid_secret(secret: str) -> bool:
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
    return 1 <= len(secret) <= 256 and set(secret) <= allowed


def check_poll(params: dict[str, Any]) -> tuple[int | None, int, float]:
    """Return offset, limit and timeout of a getUpdates call within Telegram's bounds."""
    limit = min(max(params.get("limit", 100), 1), 100)
    timeout = max(params.get("timeout", 0), 0)
    return params.get("offset"), limit, float(timeout)


def reject_while_webhook(webhook: Webhook) -> None:
    """Refuse getUpdates while a webhook is set, as Telegram does."""
    if webhook.url:
        raise ApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first",
        )
