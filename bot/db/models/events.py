"""Events, their places, agendas, documents and invitations."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.db.base import Base, Timestamps, check_in, utcnow
from bot.db.vocab import CHANNELS, EVENT_KINDS, EVENT_STATUSES, INVITATION_STATUSES


class Event(Timestamps, Base):
    """A meeting, visit, seminar or workshop; texts are kept per language."""

    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint(check_in("kind", EVENT_KINDS), name="kind"),
        CheckConstraint(check_in("status", EVENT_STATUSES), name="status"),
        CheckConstraint("ends_at >= starts_at", name="ends_after_start"),
        CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity_positive"),
        Index("ix_events_status_starts_at", "status", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20), default="draft")
    title: Mapped[dict[str, Any]]
    description: Mapped[dict[str, Any]] = mapped_column(default=dict)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Riga")
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    capacity: Mapped[int | None]
    rsvp_by: Mapped[date | None]
    # Offsets before the start, in seconds, at which reminders go out.
    reminder_offsets: Mapped[list[Any]] = mapped_column(default=list)
    audience: Mapped[dict[str, Any]] = mapped_column(default=dict)
    survey_slug: Mapped[str | None] = mapped_column(String(100))
    # iCalendar SEQUENCE: raised on every change people are told about.
    sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    # Fingerprint of the loaded file, to tell "unchanged" from "changed" on reload.
    source_digest: Mapped[str | None] = mapped_column(String(64))

    places: Mapped[list[Place]] = relationship(
        back_populates="event", cascade="all, delete-orphan", order_by="Place.position"
    )
    agenda: Mapped[list[AgendaItem]] = relationship(
        back_populates="event", cascade="all, delete-orphan", order_by="AgendaItem.position"
    )
    invitations: Mapped[list[Invitation]] = relationship(
        back_populates="event", cascade="all, delete-orphan"
    )


class Place(Base):
    __tablename__ = "places"
    __table_args__ = (UniqueConstraint("event_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(300))
    address: Mapped[str | None] = mapped_column(String(300))
    country: Mapped[str | None] = mapped_column(String(2))

    event: Mapped[Event] = relationship(back_populates="places")


class AgendaItem(Base):
    __tablename__ = "agenda_items"
    __table_args__ = (UniqueConstraint("event_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    day: Mapped[date]
    starts: Mapped[time | None]
    ends: Mapped[time | None]
    title: Mapped[dict[str, Any]]
    place: Mapped[str | None] = mapped_column(String(300))
    method: Mapped[str | None] = mapped_column(String(100))
    presenter: Mapped[str | None] = mapped_column(String(200))

    event: Mapped[Event] = relationship(back_populates="agenda")


class EventDocument(Base):
    """A file attached to an event: the agenda, the participant list."""

    __tablename__ = "event_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Invitation(Timestamps, Base):
    """One contact invited to one event, with the latest answer."""

    __tablename__ = "invitations"
    __table_args__ = (
        UniqueConstraint("event_id", "contact_id"),
        CheckConstraint(check_in("status", INVITATION_STATUSES), name="status"),
        Index("ix_invitations_event_id_status", "event_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default="invited")
    invited_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]

    event: Mapped[Event] = relationship(back_populates="invitations")
    history: Mapped[list[InvitationAnswer]] = relationship(
        back_populates="invitation",
        cascade="all, delete-orphan",
        order_by="InvitationAnswer.recorded_at",
    )


class InvitationAnswer(Base):
    """Every change of an invitation's answer, with the channel it came through."""

    __tablename__ = "invitation_answers"
    __table_args__ = (
        CheckConstraint(check_in("status", INVITATION_STATUSES), name="status"),
        CheckConstraint(
            "channel IS NULL OR " + check_in("channel", (*CHANNELS, "web", "coordinator")),
            name="channel",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(
        ForeignKey("invitations.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str | None] = mapped_column(String(20))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)

    invitation: Mapped[Invitation] = relationship(back_populates="history")
