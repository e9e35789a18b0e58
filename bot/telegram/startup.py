"""Telegram's start-up, tried again with backoff: an outage at start leaves the rest running."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from telegram.error import InvalidToken

from bot.web.health import TelegramStatus, one_line

log = logging.getLogger("expertbot.telegram")
FIRST_DELAY = 1.0
LONGEST_DELAY = 60.0
Sleep = Callable[[float], Awaitable[None]]


def backoff(attempt: int) -> float:
    """Seconds to wait after the `attempt`-th failure: 1, 2, 4, … up to a minute."""
    return min(LONGEST_DELAY, FIRST_DELAY * 2 ** (attempt - 1))


async def keep_trying(
    start: Callable[[], Awaitable[None]],
    status: TelegramStatus,
    stop: asyncio.Event,
    *,
    mask: Callable[[str], str] = lambda text: text,
    sleep: Sleep = asyncio.sleep,
) -> bool:
    """Run `start` until it succeeds (True), the token is refused or `stop` is set (False)."""
    while not stop.is_set():
        status.attempts += 1
        try:
            await start()
        except InvalidToken:
            status.state, status.last_error = "refused", "Telegram refused the bot token"
            log.error(
                "Telegram refused the bot token; Telegram stays off (email and the web pages "
                "go on). Check EXPERTBOT_TELEGRAM_TOKEN with `expertbot doctor` and restart."
            )
            return False
        except Exception as error:  # 5xx, timeouts, dropped connections: all worth a retry
            delay = backoff(status.attempts)
            status.state, status.last_error = "retrying", mask(one_line(error))
            log.warning(
                "Telegram not reachable (%s); retrying in %s s", status.last_error, f"{delay:g}"
            )
            await _pause(sleep(delay), stop)
            continue
        if status.attempts > 1:
            log.info("Telegram answered on attempt %d; the bot is up", status.attempts)
        status.state, status.last_error = "up", None
        status.joined.set()
        return True
    return False


async def _pause(sleeping: Awaitable[None], stop: asyncio.Event) -> None:
    """Wait out `sleeping`, or less when `stop` is set meanwhile."""
    waits = {asyncio.ensure_future(sleeping), asyncio.ensure_future(stop.wait())}
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()
