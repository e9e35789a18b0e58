"""People in the network, how to reach them, and their Telegram links."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.db.base import Base, Timestamps, check_in, utcnow
from bot.db.vocab import (
    ACCESS_REQUEST_STATUSES,
    CHANNEL_STATES,
    CONSENT_SOURCES,
    LANGUAGES,
    ROLES,
    STAKEHOLDER_GROUPS,
)


class Contact(Timestamps, Base):
    """An expert, mediator, partner, guest or coordinator."""

    __tablename__ = "contacts"
    __table_args__ = (
        CheckConstraint(check_in("role", ROLES), name="role"),
        CheckConstraint(check_in("language", LANGUAGES), name="language"),
        CheckConstraint(
            "stakeholder_group IS NULL OR " + check_in("stakeholder_group", STAKEHOLDER_GROUPS),
            name="stakeholder_group",
        ),
        CheckConstraint(check_in("email_state", CHANNEL_STATES), name="email_state"),
        CheckConstraint(check_in("telegram_state", CHANNEL_STATES), name="telegram_state"),
        CheckConstraint(
            "consent_source IS NULL OR " + check_in("consent_source", CONSENT_SOURCES),
            name="consent_source",
        ),
        # Ethnic-origin data only with explicit consent (GDPR art. 9).
        CheckConstraint(
            "stakeholder_group IS NULL OR stakeholder_group <> 'roma_representative' "
            "OR consent_on IS NOT NULL",
            name="special_category_consent",
        ),
        Index("ix_contacts_name_organisation", "name", "organisation"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    telegram_username: Mapped[str | None] = mapped_column(String(32), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    role: Mapped[str] = mapped_column(String(30), index=True)
    organisation: Mapped[str | None] = mapped_column(String(300))
    municipality: Mapped[str | None] = mapped_column(String(100), index=True)
    country: Mapped[str] = mapped_column(String(2), default="LV")
    language: Mapped[str] = mapped_column(String(2), default="lv")
    timezone: Mapped[str | None] = mapped_column(String(64))
    stakeholder_group: Mapped[str | None] = mapped_column(String(30))
    consent_on: Mapped[date | None]
    consent_source: Mapped[str | None] = mapped_column(String(20))
    email_state: Mapped[str] = mapped_column(String(20), default="active")
    telegram_state: Mapped[str] = mapped_column(String(20), default="unlinked")
    # Set when the person asked to be forgotten: the row stays only as an anonymous count.
    erased_at: Mapped[datetime | None]

    tags: Mapped[list[ContactTag]] = relationship(
        back_populates="contact", cascade="all, delete-orphan", order_by="ContactTag.tag"
    )
    telegram_links: Mapped[list[TelegramLink]] = relationship(
        back_populates="contact", cascade="all, delete-orphan"
    )

    @property
    def tag_names(self) -> list[str]:
        return [t.tag for t in self.tags]


class ContactTag(Base):
    __tablename__ = "contact_tags"

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(50), primary_key=True, index=True)

    contact: Mapped[Contact] = relationship(back_populates="tags")


class TelegramLink(Base):
    """A Telegram chat that belongs to a contact; one chat, one contact."""

    __tablename__ = "telegram_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    chat_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    username: Mapped[str | None] = mapped_column(String(32))
    language_code: Mapped[str | None] = mapped_column(String(10))
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)

    contact: Mapped[Contact] = relationship(back_populates="telegram_links")


class InviteToken(Base):
    """A one-time Telegram deep-link token; only its hash is kept."""

    __tablename__ = "invite_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class AccessRequest(Base):
    """Someone without an invite link asked to join through the bot."""

    __tablename__ = "access_requests"
    __table_args__ = (CheckConstraint(check_in("status", ACCESS_REQUEST_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    display_name: Mapped[str] = mapped_column(String(200))
    username: Mapped[str | None] = mapped_column(String(32))
    language_code: Mapped[str | None] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL")
    )
    decided_at: Mapped[datetime | None]
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))


class ConsentRecord(Base):
    """Each consent given or withdrawn, with when and through which channel."""

    __tablename__ = "consent_records"
    __table_args__ = (
        CheckConstraint(check_in("source", CONSENT_SOURCES), name="source"),
        UniqueConstraint("contact_id", "recorded_at", "source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    granted: Mapped[bool]
    source: Mapped[str] = mapped_column(String(20))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)
