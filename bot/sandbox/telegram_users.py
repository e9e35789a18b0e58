"""A test's hands on the user side: type, press buttons, block the bot, wait for replies."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

from bot.sandbox.telegram_state import Chat, ChatMessage, EmulatorState, TelegramUser
from bot.sandbox.telegram_updates import UpdateQueue

T = TypeVar("T")
DEFAULT_TIMEOUT = 5.0
_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,64}(@[A-Za-z0-9_]{3,32})?(?![\w/<>])")


def command_entities(text: str) -> list[dict[str, Any]]:
    """Return the bot_command entity Telegram marks at the start of "/start TOKEN"."""
    match = _COMMAND.match(text)
    if match is None:
        return []
    return [{"type": "bot_command", "offset": 0, "length": len(match.group())}]


class EmulatedUser:
    """One Telegram user talking to the bot, in their private chat or in groups."""

    def __init__(self, state: EmulatorState, queue: UpdateQueue, user: TelegramUser) -> None:
        self.state = state
        self.queue = queue
        self.user = user
        self.chat = state.add_user(user)
        self._seen: dict[int, int] = {}  # chat id → messages already looked at

    @property
    def id(self) -> int:
        """Return the user id (also the private chat's id)."""
        return self.user.id

    @property
    def messages(self) -> list[ChatMessage]:
        """Return what the private chat shows, oldest first."""
        return self.chat.visible

    @property
    def bot_messages(self) -> list[ChatMessage]:
        """Return the bot's messages the private chat shows."""
        return [message for message in self.chat.visible if message.from_bot]

    @property
    def last_message(self) -> ChatMessage | None:
        """Return the newest message the private chat shows, from either side."""
        visible = self.chat.visible
        return visible[-1] if visible else None

    def seen_all(self) -> None:
        """Treat every message in the private chat as looked at (e.g. after a restore)."""
        self._seen[self.chat.id] = len(self.chat.messages)

    async def send(self, text: str, *, chat: Chat | None = None) -> ChatMessage:
        """Type a message; a leading "/command" is marked as a bot command."""
        return self._post(chat, text=text, entities=command_entities(text))

    async def send_sticker(self, emoji: str = "👍", *, chat: Chat | None = None) -> ChatMessage:
        """Send a sticker."""
        sticker = {
            **self._file_ids("sticker"),
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return self._post(chat, content={"sticker": sticker})

    async def send_photo(
        self, caption: str | None = None, *, chat: Chat | None = None
    ) -> ChatMessage:
        """Send a photo (in Telegram's usual sizes)."""
        sizes = [
            {**self._file_ids(f"photo{w}"), "width": w, "height": w * 3 // 4} for w in (90, 320)
        ]
        content: dict[str, Any] = {"photo": sizes}
        if caption:
            content["caption"] = caption
        return self._post(chat, content=content)

    async def send_document(
        self, data: bytes, file_name: str, mime_type: str = "application/octet-stream"
    ) -> ChatMessage:
        """Send a file the bot can fetch with getFile."""
        stored = self.state.store_file(data, file_name, mime_type)
        return self._post(None, content={"document": stored.to_api()})

    async def send_content(
        self, content: dict[str, Any], *, chat: Chat | None = None
    ) -> ChatMessage:
        """Send any other kind of message, e.g. {"location": {...}} or {"contact": {...}}."""
        return self._post(chat, content=content)

    async def edit(self, message: ChatMessage, text: str) -> ChatMessage:
        """Edit one of the user's own text messages (an edited_message update)."""
        if message.from_bot:
            raise ValueError("a user can only edit their own messages")
        message.history.append(message.text)
        message.text, message.entities = text, command_entities(text)
        message.edit_date = int(self.state.now())
        chat = self.state.chats[message.chat_id]
        self.queue.push("edited_message", message.to_api(chat.to_api()))
        self.state.changed()
        return message

    async def press(
        self, message: ChatMessage | int, button: str, *, chat: Chat | None = None
    ) -> str:
        """Press an inline button (by label or callback data); return the callback query id."""
        chat = chat or self.chat
        pressed = message if isinstance(message, ChatMessage) else chat.find(message)
        if pressed is None or pressed.deleted or not pressed.from_bot:
            raise LookupError(f"no bot message {message!r} in chat {chat.id}")
        data = pressed.button(button).get("callback_data")
        if data is None:
            raise LookupError(f"button {button!r} sends no callback data")
        return await self.press_data(pressed, data)

    async def press_data(self, pressed: ChatMessage, data: str) -> str:
        """Send callback data of one's own choosing from a bot message, as a modified client
        can; return the callback query id."""
        query_id = self.state.new_callback_query(self.user, pressed, data)
        owner = self.state.chats[pressed.chat_id]
        self.queue.push(
            "callback_query",
            {
                "id": query_id,
                "from": self.user.to_api(),
                "message": pressed.to_api(owner.to_api()),
                "chat_instance": str(owner.id * 7919),
                "data": data,
            },
        )
        self._seen[owner.id] = len(owner.messages)
        return query_id

    async def wait_for_message(
        self,
        predicate: Callable[[ChatMessage], bool] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        *,
        chat: Chat | None = None,
    ) -> ChatMessage:
        """Return the next bot message not seen yet (after the user's last action)."""
        chat = chat or self.chat

        def next_message() -> ChatMessage | None:
            for index in range(self._seen.get(chat.id, 0), len(chat.messages)):
                message = chat.messages[index]
                if (
                    message.from_bot
                    and not message.deleted
                    and (not predicate or predicate(message))
                ):
                    return message
            return None

        message = await self.wait_for(next_message, timeout, "a new message from the bot")
        self._seen[chat.id] = chat.messages.index(message) + 1
        return message

    async def wait_for_answer(
        self, query_id: str, timeout: float = DEFAULT_TIMEOUT
    ) -> dict[str, Any]:
        """Return the bot's answerCallbackQuery for a press, once it arrives."""
        query = self.state.callback_queries[query_id]
        return await self.wait_for(lambda: query.answer, timeout, f"an answer to query {query_id}")

    async def wait_for(
        self, predicate: Callable[[], T | None], timeout: float = DEFAULT_TIMEOUT, what: str = ""
    ) -> T:
        """Return the first truthy value of `predicate`, checked whenever the state changes."""
        try:
            return await self.state.signal.wait_for(predicate, timeout)
        except TimeoutError:
            shown = "\n".join(
                f"  {'bot' if m.from_bot else 'user'}: {m.text!r}" for m in self.messages
            )
            raise TimeoutError(
                f"waited {timeout}s for {what or predicate} in the chat of {self.id}:\n{shown}"
            ) from None

    def block(self) -> None:
        """Block the bot: sends get 403 and the bot gets a my_chat_member update."""
        self.user.blocked = True
        self._membership("member", "kicked")

    def unblock(self) -> None:
        """Unblock the bot again."""
        self.user.blocked = False
        self._membership("kicked", "member")

    def deactivate(self) -> None:
        """Delete the account: sends get 403 "user is deactivated"."""
        self.user.deactivated = True
        self.state.changed()

    def _membership(self, old: str, new: str) -> None:
        bot = self.state.bot
        self.queue.push(
            "my_chat_member",
            {
                "chat": self.chat.to_api(),
                "from": self.user.to_api(),
                "date": int(time.time()),
                "old_chat_member": _member(bot, old),
                "new_chat_member": _member(bot, new),
            },
        )
        self.state.changed()

    def _post(self, chat: Chat | None, **fields: Any) -> ChatMessage:
        chat = chat or self.chat
        if chat is self.chat:
            self.user.started = True
        message = chat.add(from_bot=False, sender=self.user.to_api(), **fields)
        self._seen[chat.id] = len(chat.messages)
        self.queue.push("message", message.to_api(chat.to_api()))
        self.state.changed()
        return message

    def _file_ids(self, kind: str) -> dict[str, str]:
        return {"file_id": f"{kind}-{self.id}-{time.monotonic_ns()}", "file_unique_id": kind}


def _member(bot: dict[str, Any], status: str) -> dict[str, Any]:
    member: dict[str, Any] = {"user": bot, "status": status}
    if status == "kicked":
        member["until_date"] = 0  # banned for good
    return member
