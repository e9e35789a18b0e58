"""Save and restore what the emulated Telegram chats and the mail catcher hold, as JSON.

The playground keeps its phones and mailboxes across a restart this way; the bot's own state
is in the database anyway, so restored buttons keep working.
"""

from __future__ import annotations

import base64
from typing import Any

from bot.sandbox.mail_server import MailServer, Received
from bot.sandbox.telegram_state import ChatMessage, EmulatorState, StoredFile

VERSION = 1


def _file(stored: StoredFile) -> dict[str, Any]:
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_name": stored.file_name,
        "mime_type": stored.mime_type,
        "data": base64.b64encode(stored.data).decode(),
    }


def _message(message: ChatMessage) -> dict[str, Any]:
    return {
        "message_id": message.message_id,
        "from_bot": message.from_bot,
        "sender": message.sender,
        "date": message.date,
        "text": message.text,
        "entities": message.entities,
        "source": message.source,
        "parse_mode": message.parse_mode,
        "reply_markup": message.reply_markup,
        "document": _file(message.document) if message.document else None,
        "content": message.content,
        "edit_date": message.edit_date,
        "deleted": message.deleted,
    }


def dump(state: EmulatorState, mail: MailServer, chat_ids: set[int]) -> dict[str, Any]:
    """The messages of these private chats and every email, JSON-ready."""
    return {
        "version": VERSION,
        "chats": {
            str(chat_id): [_message(m) for m in state.chats[chat_id].messages]
            for chat_id in sorted(chat_ids)
            if chat_id in state.chats
        },
        "mail": [
            {
                "sender": received.sender,
                "recipients": received.recipients,
                "raw": base64.b64encode(received.raw).decode(),
                "at": received.at,
            }
            for received in mail.messages
        ],
    }


def restore(data: dict[str, Any], state: EmulatorState, mail: MailServer) -> list[int]:
    """Put saved messages back into chats that exist (and are still empty); return their ids."""
    if data.get("version") != VERSION:
        return []
    restored = []
    for key, messages in data.get("chats", {}).items():
        chat = state.chats.get(int(key))
        if chat is None or chat.messages:
            continue
        for saved in messages:
            document = None
            if saved.get("document"):
                stored = dict(saved["document"])
                stored["data"] = base64.b64decode(stored["data"])
                document = StoredFile(**stored)
                state.files[document.file_id] = document
            chat.messages.append(ChatMessage(chat_id=chat.id, **{**saved, "document": document}))
        restored.append(chat.id)
    if not mail.messages:
        for saved in data.get("mail", []):
            raw = base64.b64decode(saved["raw"])
            mail.messages.append(
                Received(saved["sender"], list(saved["recipients"]), raw, float(saved["at"]))
            )
    state.changed()
    return restored
