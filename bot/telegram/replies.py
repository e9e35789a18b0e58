"""Keep the bot's direct replies inside the same Telegram limits as the dispatcher's sends."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.channels.ratelimit import RateLimiter

log = logging.getLogger("expertbot.telegram")
JSON = bool | dict[str, Any] | list[dict[str, Any]]


class SharedLimiter(BaseRateLimiter[None]):
    """PTB's rate-limiter hook over our RateLimiter: one budget for replies and broadcasts."""

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSON]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> JSON:
        chat = data.get("chat_id")
        for attempt in (1, 2):
            if isinstance(chat, int) and endpoint != "answerCallbackQuery":
                await self.limiter.acquire(chat, reply=True)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                if attempt == 2:
                    raise
                wait = error._retry_after  # PTB 22 warns on the public property
                seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
                log.warning("Telegram asked to wait %.0f s before replying", seconds)
                self.limiter.pause(seconds)
        raise AssertionError("unreachable")
