"""What a running playground does after an erasure: show only what the erasure left.

An erasure (`bot.services.contacts.erasure`) rewrites the playground's saved chats in the
database, but it cannot reach the phones and mailboxes this process holds. Saving those as
they are would bring the person back, so the playground takes the saved version back instead
and drops the phones of the people erased. What arrived since the last save (a few seconds
at most) goes too: it may name them, and nothing is left to tell which does.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from bot.sandbox import EmulatedUser, snapshot
from bot.sandbox.mail_server import MailServer
from bot.sandbox.telegram_state import Chat, ChatMessage, EmulatorState

ERASED = "[erased]"  # the name an erased person's chat shows the bot


def parsed(stored: str | None) -> dict[str, Any]:
    """The saved chats as the database holds them (`bot.services.marks`), or none."""
    data = json.loads(stored) if stored else None
    return data if isinstance(data, dict) else {}


def take_back(
    state: EmulatorState,
    mail: MailServer,
    users: dict[int, EmulatedUser],
    erased: Iterable[int],
    stored: dict[str, Any],
) -> None:
    """Show the chats and mailboxes as `stored` has them; drop the phones of `erased` contacts.

    `users` (contact id -> emulated user) loses the erased ones. Their chats stay on the
    emulated Telegram's side, emptied, as a real one would: the bot may still be editing its
    last message there (/privacy's "deleted").
    """
    gone = [users.pop(contact_id) for contact_id in set(erased) if contact_id in users]
    dropped = {f for user in [*gone, *users.values()] for f in _files(user.chat.messages)}
    for user in gone:
        _empty(user)
    tops = {user.id: len(user.chat.messages) for user in users.values()}
    for user in users.values():
        user.chat.messages.clear()
    mail.messages.clear()
    snapshot.restore(stored, state, mail)
    shown = {f for chat in state.chats.values() for f in _files(chat.messages)}
    for file_id in dropped - shown:
        state.files.pop(file_id, None)
    for user in users.values():
        keep_ids(user.chat, tops[user.id])
        user.seen_all()
    state.changed()


def _empty(user: EmulatedUser) -> None:
    """Leave the chat's messages their ids and nothing else; leave its user no name."""
    user.user.first_name, user.user.last_name, user.user.username = ERASED, None, None
    nobody = user.user.to_api()
    user.chat.messages[:] = [
        ChatMessage(
            message_id=m.message_id,
            chat_id=m.chat_id,
            from_bot=m.from_bot,
            sender=m.sender if m.from_bot else nobody,
            date=m.date,
            deleted=m.deleted,
        )
        for m in user.chat.messages
    ]


def keep_ids(chat: Chat, top: int = 0) -> None:
    """Hold the ids of dropped messages (up to `top` at least) with deleted ones.

    The emulator numbers a chat's messages by their count, but the bot still knows the old
    ids: a new message must get a new one.
    """
    taken = {message.message_id for message in chat.messages}
    top = max(top, *taken) if taken else top
    if len(taken) == len(chat.messages) == top:
        return
    holes = [
        ChatMessage(message_id=n, chat_id=chat.id, from_bot=True, sender={}, date=0, deleted=True)
        for n in range(1, top + 1)
        if n not in taken
    ]
    chat.messages[:] = sorted([*chat.messages, *holes], key=lambda m: m.message_id)


def _files(messages: Iterable[ChatMessage]) -> set[str]:
    return {m.document.file_id for m in messages if m.document is not None}
