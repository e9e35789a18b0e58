"""A Telegram chat's wizard step, kept in the database so any instance can take the next one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from bot.db.models import ChatState
from bot.db.session import Database


async def load(database: Database, chat_id: int) -> dict[str, Any]:
    """The chat's state as last saved by any instance ({} if none)."""
    async with database.read_scope() as session:  # before every update: it must not wait
        data = await session.scalar(select(ChatState.data).where(ChatState.chat_id == chat_id))
    return dict(data or {})


async def save(database: Database, chat_id: int, data: dict[str, Any]) -> None:
    """Keep `data` as the chat's state; an empty one removes the row."""
    async with database.session_scope() as session:
        row = await session.get(ChatState, chat_id)
        if not data:
            if row is not None:
                await session.delete(row)
        elif row is None:
            session.add(ChatState(chat_id=chat_id, data=data))
        else:
            row.data = data


async def drop(database: Database, chat_id: int) -> None:
    async with database.session_scope() as session:
        await session.execute(delete(ChatState).where(ChatState.chat_id == chat_id))
