"""What meetings agreed, who owns it, and every status update."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.db.base import Base, Timestamps, check_in, utcnow
from bot.db.vocab import CHANNELS, REC_AREAS, REC_STATUSES


class Recommendation(Timestamps, Base):
    __tablename__ = "recommendations"
    __table_args__ = (
        CheckConstraint(check_in("area", REC_AREAS), name="area"),
        CheckConstraint(check_in("status", REC_STATUSES), name="status"),
        Index("ix_recommendations_status_next_reminder_at", "status", "next_reminder_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    source_event_id: Mapped[int | None] = mapped_column(
        ForeignKey("events.id", ondelete="SET NULL")
    )
    source_title: Mapped[dict[str, Any]] = mapped_column(default=dict)
    source_date: Mapped[date | None]
    area: Mapped[str] = mapped_column(String(20))
    text: Mapped[dict[str, Any]]
    due_on: Mapped[date | None]
    # "monthly", "quarterly", "every 60d" or a cron expression.
    cadence: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="not_started")
    next_reminder_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    owners: Mapped[list[RecommendationOwner]] = relationship(
        back_populates="recommendation", cascade="all, delete-orphan"
    )
    updates: Mapped[list[RecommendationUpdate]] = relationship(
        back_populates="recommendation",
        cascade="all, delete-orphan",
        order_by="RecommendationUpdate.recorded_at",
    )


class RecommendationOwner(Base):
    __tablename__ = "recommendation_owners"

    recommendation_id: Mapped[int] = mapped_column(
        ForeignKey("recommendations.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    unanswered_reminders: Mapped[int] = mapped_column(Integer, default=0)
    last_reminded_at: Mapped[datetime | None]

    recommendation: Mapped[Recommendation] = relationship(back_populates="owners")


class RecommendationUpdate(Base):
    __tablename__ = "recommendation_updates"
    __table_args__ = (
        CheckConstraint(check_in("status", REC_STATUSES), name="status"),
        CheckConstraint(
            "channel IS NULL OR " + check_in("channel", (*CHANNELS, "web", "coordinator")),
            name="channel",
        ),
        CheckConstraint("comment IS NULL OR length(comment) <= 2000", name="comment_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recommendation_id: Mapped[int] = mapped_column(
        ForeignKey("recommendations.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str | None] = mapped_column(String(20))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    recommendation: Mapped[Recommendation] = relationship(back_populates="updates")
