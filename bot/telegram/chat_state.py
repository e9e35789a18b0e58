"""PTB's chat_data kept in the database: a wizard's next step may reach any instance.

Behind a load balancer, the coordinator's /broadcast text or a recommendation comment can
arrive at another instance than the step before it. PTB asks its persistence to refresh a
chat's data before each update's handlers run, and hands changed data back a moment after.
Updates are handled one at a time, so at a refresh the chat's data differs from what was
last saved or loaded only if this instance changed it since: then it is saved (it is the
newest), otherwise it is loaded (another instance may have changed it).
"""

from __future__ import annotations

import json
from typing import Any

from telegram.ext import BasePersistence, PersistenceInput

from bot.db import chat_state
from bot.db.session import Database

Data = dict[Any, Any]
# Seconds between PTB's hand-overs of changed chat data; a person types slower than this.
HAND_OVER = 0.2


def _fingerprint(data: Data) -> str:
    return json.dumps(data, sort_keys=True, default=str)


class SharedChatData(BasePersistence[Data, Data, Data]):
    """Only chat_data, in the database; nothing else of PTB's is kept."""

    def __init__(self, database: Database) -> None:
        super().__init__(
            PersistenceInput(bot_data=False, chat_data=True, user_data=False, callback_data=False),
            update_interval=HAND_OVER,
        )
        self.database = database
        self._known: dict[int, str] = {}  # what this instance last saved or loaded, per chat

    async def refresh_chat_data(self, chat_id: int, chat_data: Data) -> None:
        here = _fingerprint(chat_data)
        if chat_id in self._known and here != self._known[chat_id]:
            await self.update_chat_data(chat_id, chat_data)
            return
        stored = await chat_state.load(self.database, chat_id)
        chat_data.clear()
        chat_data.update(stored)
        self._known[chat_id] = _fingerprint(stored)

    async def update_chat_data(self, chat_id: int, data: Data) -> None:
        here = _fingerprint(data)
        if self._known.get(chat_id) != here:
            await chat_state.save(self.database, chat_id, json.loads(here))
            self._known[chat_id] = here

    async def drop_chat_data(self, chat_id: int) -> None:
        await chat_state.drop(self.database, chat_id)
        self._known.pop(chat_id, None)

    async def get_chat_data(self) -> dict[int, Data]:
        return {}  # loaded chat by chat, as updates come

    async def get_user_data(self) -> dict[int, Data]:
        return {}

    async def get_bot_data(self) -> Data:
        return {}

    async def get_callback_data(self) -> None:
        return None

    async def get_conversations(self, name: str) -> dict[Any, Any]:
        return {}

    async def update_conversation(self, name: str, key: Any, new_state: object | None) -> None:
        return None

    async def update_user_data(self, user_id: int, data: Data) -> None:
        return None

    async def update_bot_data(self, data: Data) -> None:
        return None

    async def update_callback_data(self, data: Any) -> None:
        return None

    async def drop_user_data(self, user_id: int) -> None:
        return None

    async def refresh_user_data(self, user_id: int, user_data: Data) -> None:
        return None

    async def refresh_bot_data(self, bot_data: Data) -> None:
        return None

    async def flush(self) -> None:
        return None  # PTB hands every changed chat over before it calls this
