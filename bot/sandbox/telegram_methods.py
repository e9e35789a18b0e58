"""Bot API methods that put messages into chats: send, edit, delete, documents, button answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.sandbox.telegram_errors import bad_request, forbidden, not_implemented
from bot.sandbox.telegram_limits import RateLimiter
from bot.sandbox.telegram_spec import Upload
from bot.sandbox.telegram_state import Chat, ChatMessage, EmulatorState, StoredFile
from bot.sandbox.telegram_text import FormattedText, format_text

Handler = Callable[[dict[str, Any]], Awaitable[Any]]

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_BYTES = 64
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
CHAT_ACTIONS = {
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
}  # fmt: skip
BUTTON_ACTIONS = {
    "url", "callback_data", "web_app", "login_url", "switch_inline_query", "pay", "callback_game",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
}  # fmt: skip


def find_chat(state: EmulatorState, chat_id: Any) -> Chat:
    """Return the chat, or raise Telegram's "chat not found"."""
    chat = state.chats.get(chat_id) if isinstance(chat_id, int) else None
    if chat is None:
        raise bad_request("chat not found")
    return chat


def reachable_chat(state: EmulatorState, chat_id: Any) -> Chat:
    """Return a chat the bot may write to, or raise the 403 Telegram gives for this user."""
    chat = find_chat(state, chat_id)
    user = chat.user
    if user is not None:
        if user.deactivated:
            raise forbidden("user is deactivated")
        if user.blocked:
            raise forbidden("bot was blocked by the user")
        if not user.started:
            raise forbidden("bot can't initiate conversation with a user")
    return chat


def check_markup(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    """Apply Telegram's checks to the buttons of an inline keyboard."""
    for row in (markup or {}).get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode("utf-8")) <= CALLBACK_DATA_BYTES:
                raise bad_request("BUTTON_DATA_INVALID")
            if not BUTTON_ACTIONS & set(button):
                raise bad_request("text buttons are unallowed in the inline keyboard")
            url = button.get("url")
            if url is not None and not url.startswith(("http://", "https://", "tg://")):
                raise bad_request(f"inline keyboard button URL '{url}' is invalid")
    return markup


class MessagingMethods:
    """sendMessage, editMessageText and friends, acting on the emulator's chats."""

    def __init__(self, state: EmulatorState, limiter: RateLimiter) -> None:
        self.state = state
        self.limiter = limiter

    def handlers(self) -> dict[str, Handler]:
        """Return the implemented methods by Bot API name."""
        return {
            "sendMessage": self.send_message,
            "sendDocument": self.send_document,
            "sendChatAction": self.send_chat_action,
            "editMessageText": self.edit_message_text,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "deleteMessage": self.delete_message,
            "answerCallbackQuery": self.answer_callback_query,
        }

    async def send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        """Post a text message from the bot."""
        chat = reachable_chat(self.state, params["chat_id"])
        text = _text(params, "text", "entities", TEXT_LIMIT)
        markup = check_markup(params.get("reply_markup"))
        reply_to = self._reply_to(chat, params)
        self.limiter.check(chat.id, group=chat.type != "private")
        message = chat.add(
            from_bot=True,
            sender=self.state.bot,
            reply_markup=markup,
            link_preview_options=_preview(params),
            reply_to_message_id=reply_to,
            **_text_fields(text),
        )
        return self._posted(chat, message)

    async def send_document(self, params: dict[str, Any]) -> dict[str, Any]:
        """Post a file from the bot, keeping its bytes."""
        chat = reachable_chat(self.state, params["chat_id"])
        stored = self._document(params["document"])
        caption = _text(params, "caption", "caption_entities", CAPTION_LIMIT, optional=True)
        markup = check_markup(params.get("reply_markup"))
        reply_to = self._reply_to(chat, params)
        self.limiter.check(chat.id, group=chat.type != "private")
        message = chat.add(
            from_bot=True,
            sender=self.state.bot,
            document=stored,
            reply_markup=markup,
            reply_to_message_id=reply_to,
            **(_text_fields(caption) if caption.text else {}),
        )
        return self._posted(chat, message)

    async def send_chat_action(self, params: dict[str, Any]) -> bool:
        """Accept a "typing…" status."""
        reachable_chat(self.state, params["chat_id"])
        if params["action"] not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    async def edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        """Replace the text (and keyboard) of a bot message."""
        chat, message = self._editable(params)
        if message.document is not None:
            raise bad_request("there is no text in the message to edit")
        text = _text(params, "text", "entities", TEXT_LIMIT)
        markup = check_markup(params.get("reply_markup"))
        if (text.text, text.entities, markup) == (
            message.text,
            message.entities,
            message.reply_markup,
        ):
            raise bad_request(NOT_MODIFIED)
        message.history.append(message.text)
        for name, value in _text_fields(text).items():
            setattr(message, name, value)
        message.reply_markup = markup  # no reply_markup means the keyboard goes away
        message.link_preview_options = _preview(params)
        return self._edited(chat, message)

    async def edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        """Replace (or remove) the inline keyboard of a bot message."""
        chat, message = self._editable(params)
        markup = check_markup(params.get("reply_markup"))
        if markup == message.reply_markup or (not markup and not message.reply_markup):
            raise bad_request(NOT_MODIFIED)
        message.reply_markup = markup
        return self._edited(chat, message)

    async def delete_message(self, params: dict[str, Any]) -> bool:
        """Remove a message from the chat."""
        chat = find_chat(self.state, params["chat_id"])
        message = chat.find(params["message_id"])
        if message is None:
            raise bad_request("message to delete not found")
        message.deleted = True
        self.state.changed()
        return True

    async def answer_callback_query(self, params: dict[str, Any]) -> bool:
        """Record the bot's answer to a button press."""
        query = self.state.callback_queries.get(params["callback_query_id"])
        if query is None or query.answer is not None:
            raise bad_request(QUERY_INVALID)
        query.answer = {
            "text": params.get("text"),
            "show_alert": params.get("show_alert", False),
            "url": params.get("url"),
            "cache_time": params.get("cache_time", 0),
        }
        self.state.changed()
        return True

    def _posted(self, chat: Chat, message: ChatMessage) -> dict[str, Any]:
        self.state.changed()
        return message.to_api(chat.to_api())

    def _edited(self, chat: Chat, message: ChatMessage) -> dict[str, Any]:
        message.edit_date = int(self.state.now())
        return self._posted(chat, message)

    def _editable(self, params: dict[str, Any]) -> tuple[Chat, ChatMessage]:
        """Return the bot message an edit* call points at."""
        if "inline_message_id" in params:
            raise not_implemented("editing inline messages")
        if "chat_id" not in params:
            raise bad_request("chat_id is empty")
        if "message_id" not in params:
            raise bad_request("message identifier is not specified")
        chat = reachable_chat(self.state, params["chat_id"])
        message = chat.find(params["message_id"])
        if message is None:
            raise bad_request("message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        return chat, message

    def _reply_to(self, chat: Chat, params: dict[str, Any]) -> int | None:
        reply = params.get("reply_parameters") or {}
        message_id = reply.get("message_id", params.get("reply_to_message_id"))
        if message_id is None or chat.find(message_id) is not None:
            return message_id
        if reply.get("allow_sending_without_reply"):
            return None
        raise bad_request("message to be replied not found")

    def _document(self, document: Upload | str) -> StoredFile:
        """Return the file to send: a new upload or a file_id Telegram already has."""
        if isinstance(document, Upload):
            if not document.data:
                raise bad_request("file must be non-empty")
            return self.state.store_file(document.data, document.filename, document.content_type)
        if document in self.state.files:
            return self.state.files[document]
        if document.startswith(("http://", "https://")):
            raise bad_request("failed to get HTTP URL content")  # the emulator is offline
        raise bad_request("wrong file identifier/HTTP URL specified")


def _text(
    params: dict[str, Any], key: str, entities_key: str, limit: int, optional: bool = False
) -> FormattedText:
    if optional and not params.get(key):
        return FormattedText("", [], "", None)
    what = "caption" if optional else "message"
    return format_text(
        params.get(key, ""),
        params.get("parse_mode"),
        params.get(entities_key),
        limit=limit,
        what=what,
    )


def _text_fields(text: FormattedText) -> dict[str, Any]:
    return {
        "text": text.text,
        "entities": text.entities,
        "source": text.source,
        "parse_mode": text.parse_mode,
    }


def _preview(params: dict[str, Any]) -> dict[str, Any] | None:
    if params.get("disable_web_page_preview"):
        return {"is_disabled": True}
    return params.get("link_preview_options")
