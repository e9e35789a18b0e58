"""What instances of the service on one database share: Telegram's rate budget, chat state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Double, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, utcnow


class RateBudget(Base):
    """The next free overall slot and any 429 pause, in seconds of the database's clock."""

    __tablename__ = "rate_budget"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    next_slot: Mapped[float] = mapped_column(Double, default=0.0)
    paused_until: Mapped[float] = mapped_column(Double, default=0.0)


class RateChatSlot(Base):
    """When one chat may have its next message (Telegram: about one a second per chat)."""

    __tablename__ = "rate_chat_slots"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    free_at: Mapped[float] = mapped_column(Double, index=True)


class ChatState(Base):
    """A chat's step in a multi-message exchange (a wizard), for whichever instance hears next."""

    __tablename__ = "telegram_chat_state"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
