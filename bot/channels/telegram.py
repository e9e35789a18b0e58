"""Telegram through python-telegram-bot's Bot, against any Bot API server root."""

from __future__ import annotations

import logging
import warnings

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    LinkPreviewOptions,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from bot.channels.ratelimit import RateLimiter
from bot.services.delivery.port import Button, Outgoing, SendResult

log = logging.getLogger("expertbot.telegram")


def make_bot(token: str, api_url: str, *, pool: int = 64, timeout: float = 20.0) -> Bot:
    """A PTB Bot talking to `api_url` (server root); PTB appends /bot<token>/<method>."""
    request = HTTPXRequest(
        connection_pool_size=pool, read_timeout=timeout, write_timeout=timeout, pool_timeout=30
    )
    return Bot(
        token,
        base_url=f"{api_url}/bot",
        base_file_url=f"{api_url}/file/bot",
        request=request,
        get_updates_request=HTTPXRequest(read_timeout=60),
    )


def keyboard(rows: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b.label, callback_data=b.data, url=b.url) for b in row]
            for row in rows
        ]
    )


class TelegramSender:
    channel = "telegram"

    def __init__(self, bot: Bot, limiter: RateLimiter) -> None:
        self.bot = bot
        self.limiter = limiter

    async def send(self, message: Outgoing) -> SendResult:
        chat = int(message.address)
        if message.edit_message_id is not None:
            return await self._edit_buttons(chat, message, int(message.edit_message_id))
        try:
            await self.limiter.acquire(chat)
            sent = await self.bot.send_message(
                chat,
                message.telegram,
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard(message.buttons),
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
            for item in message.attachments:
                await self.limiter.acquire(chat)
                await self.bot.send_document(chat, InputFile(item.content, filename=item.filename))
        except TelegramError as error:
            return self._classify(error)
        return SendResult("sent", provider_id=str(sent.message_id))

    async def _edit_buttons(self, chat: int, message: Outgoing, message_id: int) -> SendResult:
        """Show new buttons under an earlier message; already showing them is as good."""
        try:
            await self.limiter.acquire(chat)
            await self.bot.edit_message_reply_markup(
                chat, message_id, reply_markup=keyboard(message.buttons)
            )
        except BadRequest as error:
            text = str(error.message).lower()
            if "not modified" not in text and "message to edit not found" not in text:
                return self._classify(error)
            # The same buttons already show, or the person deleted the message: nothing to do.
        except TelegramError as error:
            return self._classify(error)
        return SendResult("sent", provider_id=str(message_id))

    def _classify(self, error: TelegramError) -> SendResult:
        text = str(error.message)
        if isinstance(error, RetryAfter):
            with warnings.catch_warnings():  # PTB 22 warns that this becomes a timedelta
                warnings.simplefilter("ignore")
                seconds = error.retry_after
            wait = seconds if isinstance(seconds, int | float) else seconds.total_seconds()
            self.limiter.pause(wait)
            return SendResult("rate_limited", retry_after=wait, reason=f"Telegram 429: {text}")
        if isinstance(error, Forbidden):
            state = "blocked" if "blocked" in text.lower() else "inactive"
            return SendResult("unreachable", reason=f"Telegram 403: {text}", state=state)
        if isinstance(error, BadRequest):
            if "chat not found" in text.lower():
                return SendResult("unreachable", reason=f"Telegram 400: {text}", state="inactive")
            if "can't parse entities" in text.lower():
                return SendResult("rejected", reason=f"template bug, Telegram 400: {text}")
            return SendResult("rejected", reason=f"Telegram 400: {text}")
        if isinstance(error, NetworkError):  # includes TimedOut and 5xx answers
            return SendResult("retry", reason=f"{type(error).__name__}: {text}")
        return SendResult("retry", reason=f"{type(error).__name__}: {text}")

    async def close(self) -> None:
        await self.bot.shutdown()
