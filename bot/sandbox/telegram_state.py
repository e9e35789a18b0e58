"""What the emulated Telegram knows: users, chats and their messages, files, button presses.

Tests and the playground read this state directly; every change fires `Signal`, so a waiter
wakes up when something happens instead of polling.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


class Signal:
    """Wake everyone waiting for a condition whenever the state changes."""

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None

    def fire(self) -> None:
        """Tell waiters that something changed."""
        if self._event is not None:
            self._event.set()
            self._event = None

    async def wait_for(self, predicate: Callable[[], T | None], timeout: float | None) -> T:
        """Return the first truthy value of `predicate`, re-checked after every change."""
        async with asyncio.timeout(timeout):
            while True:
                result = predicate()
                if result:
                    return result
                if self._event is None:
                    self._event = asyncio.Event()
                await self._event.wait()


@dataclass
class TelegramUser:
    """A person on the other side of the bot."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    started: bool = True  # has talked to the bot, so the bot may write first
    blocked: bool = False
    deactivated: bool = False

    def to_api(self) -> dict[str, Any]:
        """Return the Bot API User object."""
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for name in ("last_name", "username", "language_code"):
            if getattr(self, name):
                data[name] = getattr(self, name)
        return data


@dataclass
class StoredFile:
    """A file that passed through the emulator, bytes included."""

    file_id: str
    file_unique_id: str
    file_name: str | None
    mime_type: str | None
    data: bytes

    @property
    def file_path(self) -> str:
        """Return the path under which getFile offers it for download."""
        return f"documents/{self.file_unique_id}_{self.file_name or 'file'}"

    def to_api(self) -> dict[str, Any]:
        """Return the Bot API Document object."""
        data: dict[str, Any] = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
        }
        if self.file_name:
            data["file_name"] = self.file_name
        if self.mime_type:
            data["mime_type"] = self.mime_type
        return data


@dataclass
class ChatMessage:
    """One message as the chat shows it, with what the bot sent to produce it."""

    message_id: int
    chat_id: int
    from_bot: bool
    sender: dict[str, Any] = field(repr=False)
    date: int
    text: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    source: str | None = None  # the text as sent, HTML tags and all
    parse_mode: str | None = None
    reply_markup: dict[str, Any] | None = None
    document: StoredFile | None = None
    content: dict[str, Any] = field(default_factory=dict)  # sticker, photo and the like
    link_preview_options: dict[str, Any] | None = None
    reply_to_message_id: int | None = None
    edit_date: int | None = None
    history: list[str | None] = field(default_factory=list)  # earlier texts, oldest first
    deleted: bool = False

    @property
    def edited(self) -> bool:
        """Tell whether the message was edited after it was sent."""
        return self.edit_date is not None

    @property
    def caption(self) -> str | None:
        """Return the caption of a document (kept in `text`)."""
        return self.text if self.document is not None else None

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """Return the inline keyboard's buttons, row by row, flattened."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]

    def button(self, text_or_data: str) -> dict[str, Any]:
        """Return the button with this label or callback data."""
        for button in self.buttons:
            if text_or_data in (button.get("text"), button.get("callback_data")):
                return button
        labels = [button.get("text") for button in self.buttons]
        raise LookupError(f"no button {text_or_data!r} in message {self.message_id}: {labels}")

    def to_api(self, chat: dict[str, Any]) -> dict[str, Any]:
        """Return the Bot API Message object."""
        data: dict[str, Any] = {
            "message_id": self.message_id,
            "date": self.date,
            "chat": chat,
            "from": self.sender,
        }
        text_key, entities_key = (
            ("caption", "caption_entities") if self.document else ("text", "entities")
        )
        if self.text is not None:
            data[text_key] = self.text
        if self.entities:
            data[entities_key] = self.entities
        if self.document is not None:
            data["document"] = self.document.to_api()
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            data["reply_markup"] = self.reply_markup  # only inline keyboards come back
        if self.link_preview_options:
            data["link_preview_options"] = self.link_preview_options
        if self.edit_date is not None:
            data["edit_date"] = self.edit_date
        return {**data, **self.content}


@dataclass
class Chat:
    """A private chat with one user, or a group."""

    id: int
    type: str
    user: TelegramUser | None = None
    title: str | None = None
    messages: list[ChatMessage] = field(default_factory=list)
    menu_button: dict[str, Any] | None = None
    now: Callable[[], float] = field(default=time.time, repr=False)  # the date new messages get

    def to_api(self) -> dict[str, Any]:
        """Return the Bot API Chat object."""
        if self.user is None:
            return {"id": self.id, "type": self.type, "title": self.title or str(self.id)}
        data = self.user.to_api()
        data.pop("is_bot")
        data.pop("language_code", None)
        return {**data, "type": self.type}

    @property
    def visible(self) -> list[ChatMessage]:
        """Return the messages the chat shows (not deleted)."""
        return [message for message in self.messages if not message.deleted]

    def find(self, message_id: int) -> ChatMessage | None:
        """Return a message that was not deleted, by id."""
        for message in self.messages:
            if message.message_id == message_id and not message.deleted:
                return message
        return None

    def add(self, **fields: Any) -> ChatMessage:
        """Append a new message with the next message id."""
        message = ChatMessage(
            message_id=len(self.messages) + 1, chat_id=self.id, date=int(self.now()), **fields
        )
        self.messages.append(message)
        return message


@dataclass
class CallbackQuery:
    """A button press and, once the bot answered, its answer."""

    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str | None
    answer: dict[str, Any] | None = None


class EmulatorState:
    """The world the emulated Bot API acts on."""

    def __init__(self, bot: dict[str, Any], now: Callable[[], float] = time.time) -> None:
        self.bot = bot
        self.now = now
        self.version = 0  # grows with every change, for pollers
        self.signal = Signal()
        self.users: dict[int, TelegramUser] = {}
        self.chats: dict[int, Chat] = {}
        self.files: dict[str, StoredFile] = {}
        self.callback_queries: dict[str, CallbackQuery] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.default_menu_button: dict[str, Any] = {"type": "commands"}
        self._ids = itertools.count(1)

    def changed(self) -> None:
        """Record that the state changed, waking waiters."""
        self.version += 1
        self.signal.fire()

    def add_user(self, user: TelegramUser) -> Chat:
        """Register a user and their private chat with the bot."""
        self.users[user.id] = user
        chat = self.chats.setdefault(
            user.id, Chat(id=user.id, type="private", user=user, now=self.now)
        )
        chat.user = user
        return chat

    def add_group(self, chat_id: int, title: str) -> Chat:
        """Register a group chat the bot is a member of."""
        group = Chat(id=chat_id, type="group", title=title, now=self.now)
        return self.chats.setdefault(chat_id, group)

    def store_file(self, data: bytes, file_name: str | None, mime_type: str | None) -> StoredFile:
        """Keep a file and give it Telegram-like identifiers."""
        unique = f"AgAD{next(self._ids):04d}"
        stored = StoredFile(
            f"BQACAgI{secrets.token_urlsafe(24)}", unique, file_name, mime_type, data
        )
        self.files[stored.file_id] = stored
        return stored

    def new_callback_query(self, user: TelegramUser, message: ChatMessage, data: str | None) -> str:
        """Record a button press and return its query id."""
        query_id = str(next(self._ids) * 1_000_003 + user.id)
        query = CallbackQuery(query_id, user.id, message.chat_id, message.message_id, data)
        self.callback_queries[query_id] = query
        return query_id
