"""What handlers share: the services' dependencies and small translators from Telegram types."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.db.session import Database
from bot.services.clock import Clock
from bot.services.delivery.outbox import DeliveryPolicy
from bot.services.onboarding.chats import Identity
from bot.telegram.texts import Texts


@dataclass
class Deps:
    database: Database
    texts: Texts
    clock: Clock
    default_language: str = "lv"
    policy: DeliveryPolicy | None = None
    # Keys anonymous survey responses to their (unfinished) respondents.
    secret: str = "expertbot"
    # Tells the dispatcher that rows were queued now (instead of waiting for its poll).
    wake: Callable[[], None] | None = None
    channels: tuple[str, ...] = ("telegram", "email")  # the ones this process sends on
    public_url: str = ""  # where the console is (EXPERTBOT_PUBLIC_URL)
    retention_days: int = 730  # shown in /privacy (EXPERTBOT_RETENTION_DAYS)


def deps(context: ContextTypes.DEFAULT_TYPE) -> Deps:
    found: Deps = context.application.bot_data["deps"]
    return found


def identity(update: Update) -> Identity:
    """Who is writing, as plain values."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    return Identity(
        chat_id=chat.id,
        user_id=user.id,
        first_name=user.first_name,
        last_name=user.last_name,
        username=user.username,
        language_code=user.language_code,
    )


def keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    """Inline buttons from rows of (label, callback data); data stays under 64 bytes."""
    for row in rows:
        for _, data in row:
            assert len(data.encode()) <= 64, data
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )
