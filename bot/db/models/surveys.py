"""Surveys, their questions, who was asked, and the answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.db.base import Base, Timestamps, check_in, utcnow
from bot.db.vocab import QUESTION_TYPES, RESPONSE_STATUSES


class Survey(Timestamps, Base):
    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[dict[str, Any]]
    anonymous: Mapped[bool] = mapped_column(default=False)
    # Offsets from the end of the linked event, in seconds.
    send_after: Mapped[int] = mapped_column(Integer, default=0)
    remind_after: Mapped[int | None]
    closes_after: Mapped[int | None]
    source_digest: Mapped[str | None] = mapped_column(String(64))

    questions: Mapped[list[Question]] = relationship(
        back_populates="survey", cascade="all, delete-orphan", order_by="Question.position"
    )


class Question(Base):
    __tablename__ = "questions"
    __table_args__ = (
        UniqueConstraint("survey_id", "key"),
        UniqueConstraint("survey_id", "position"),
        CheckConstraint(check_in("type", QUESTION_TYPES), name="type"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(20))
    text: Mapped[dict[str, Any]]
    required: Mapped[bool] = mapped_column(default=True)
    scale: Mapped[int | None]
    max_length: Mapped[int | None]
    # [{"id": ..., "text": {"lv": ..., ...}}, ...] for choice questions.
    options: Mapped[list[Any]] = mapped_column(default=list)

    survey: Mapped[Survey] = relationship(back_populates="questions")


class SurveyRecipient(Base):
    """Who was sent a survey (for one event) and whether they finished; never their answers."""

    __tablename__ = "survey_recipients"
    __table_args__ = (
        UniqueConstraint("survey_id", "contact_id", "event_id"),
        Index("ix_survey_recipients_survey_id_finished_at", "survey_id", "finished_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    reminded_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    closes_at: Mapped[datetime | None]


class SurveyResponse(Base):
    """One person's answers; anonymous responses carry no contact."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        CheckConstraint(check_in("status", RESPONSE_STATUSES), name="status"),
        UniqueConstraint("survey_id", "contact_id", "event_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20), default="in_progress")
    channel: Mapped[str | None] = mapped_column(String(20))
    current_position: Mapped[int] = mapped_column(Integer, default=0)
    # Anonymous and unfinished only: a keyed hash that lets the person resume; cleared at the end.
    respondent_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    answers: Mapped[list[Answer]] = relationship(
        back_populates="response", cascade="all, delete-orphan"
    )


class Answer(Base):
    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("response_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("survey_responses.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), index=True
    )
    # {"value": 4} / {"value": "places"} / {"value": ["education", "social"]} / {"value": "text"}
    value: Mapped[dict[str, Any]]
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)

    response: Mapped[SurveyResponse] = relationship(back_populates="answers")
