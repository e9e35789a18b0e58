"""Offline stand-ins for the outside world (the Telegram Bot API emulator), for tests and demos."""

from bot.sandbox.loopback import LoopbackServer
from bot.sandbox.telegram_errors import ApiError
from bot.sandbox.telegram_limits import ApiCall, Fault, RateLimits
from bot.sandbox.telegram_server import TelegramEmulator
from bot.sandbox.telegram_state import Chat, ChatMessage, StoredFile, TelegramUser
from bot.sandbox.telegram_users import EmulatedUser

__all__ = [
    "ApiCall",
    "ApiError",
    "Chat",
    "ChatMessage",
    "EmulatedUser",
    "Fault",
    "LoopbackServer",
    "RateLimits",
    "StoredFile",
    "TelegramEmulator",
    "TelegramUser",
]
