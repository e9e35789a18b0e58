"""Small facts about the database itself, e.g. that it belongs to the offline playground."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, utcnow


class DatabaseMark(Base):
    """One named value: `sandbox` marks a playground database, `sandbox_now` its clock."""

    __tablename__ = "database_marks"

    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
