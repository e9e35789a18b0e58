"""What instances of the service on one PostgreSQL share: Telegram's rate budget."""

from __future__ import annotations

from sqlalchemy import BigInteger, Double, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base


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
