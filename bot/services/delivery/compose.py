"""Render an outbox row at send time, in the contact's current language."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Contact, OutboxMessage
from bot.rendering import Renderer
from bot.services.delivery.outbox import telegram_chat
from bot.services.delivery.port import Attachment, Button, Outgoing
from bot.services.delivery.signed_links import Links


@dataclass
class Composition:
    """What a message kind adds to the template: values, buttons, files."""

    values: dict[str, Any]
    buttons: tuple[tuple[Button, ...], ...] = ()
    attachments: tuple[Attachment, ...] = ()
    # Values that must reach the person but never the database (a live one-time link).
    secrets: tuple[str, ...] = ()
    # Telegram: replace the buttons of this earlier message instead of sending a new one.
    edit_message_id: str | None = None


@dataclass(frozen=True)
class ComposeEnv:
    """What builders may need beyond the database: link signing (None without a key)."""

    links: Links | None
    mail_from: str


Builder = Callable[[AsyncSession, OutboxMessage, Contact, ComposeEnv], Awaitable[Composition]]
BUILDERS: dict[str, Builder] = {}
# Kinds whose builder writes (issues a one-time token): composed in a writing transaction,
# each in a savepoint. All others are composed in a read-only one, which takes no lock.
WRITING_KINDS: set[str] = set()


def builder(kind: str, *, writes: bool = False) -> Callable[[Builder], Builder]:
    """Register how to gather the values of one message kind (writes: it changes the database)."""

    def register(function: Builder) -> Builder:
        BUILDERS[kind] = function
        if writes:
            WRITING_KINDS.add(kind)
        return function

    return register


async def default_values(
    session: AsyncSession, row: OutboxMessage, contact: Contact, env: ComposeEnv
) -> Composition:
    """Kinds without a builder take their values from the row's params."""
    params = dict(row.params)
    rows = params.pop("buttons", [])
    buttons = tuple(tuple(Button(**b) for b in line) for line in rows)
    return Composition({"contact_name": contact.name, **params}, buttons)


class Unreachable(Exception):
    """The contact has no address on this channel any more."""


@dataclass
class Composer:
    renderer: Renderer
    links: Links | None = None
    mail_from: str = "expertbot@localhost"
    builders: dict[str, Builder] = field(default_factory=lambda: BUILDERS)
    writing_kinds: set[str] = field(default_factory=lambda: WRITING_KINDS)

    def writes(self, kind: str) -> bool:
        """Whether composing this kind changes the database."""
        return kind in self.writing_kinds

    async def compose(
        self,
        session: AsyncSession,
        row: OutboxMessage,
        *,
        contact: Contact | None = None,
        chat_id: int | None = None,
    ) -> Outgoing:
        """Build the message as it goes out now (current language, venue, answers).

        A caller that loaded the contact (and for Telegram the chat) passes them in;
        otherwise they are read here. Only the row's own channel is rendered.
        """
        if contact is None:
            contact = await session.get(Contact, row.contact_id)
        if contact is None or contact.erased_at is not None:
            raise Unreachable("contact erased")
        address = await self._address(session, row, contact, chat_id)
        build = self.builders.get(row.kind, default_values)
        env = ComposeEnv(self.links, self.mail_from)
        composition = await build(session, row, contact, env)
        unsubscribe = self.links.unsubscribe_url(contact.id) if self.links else None
        # Templates may name the link on either channel (a Telegram text may point at it too).
        values = {"unsubscribe_url": unsubscribe or "", **composition.values}
        rendered = self.renderer.render_channel(
            row.kind, row.channel, contact.language, values, timezone=contact.timezone
        )
        sender = self._sender_address
        return Outgoing(
            outbox_id=row.id,
            channel=row.channel,
            kind=row.kind,
            contact_id=contact.id,
            address=address,
            name=contact.name,
            language=rendered.language,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            telegram=rendered.telegram,
            buttons=composition.buttons,
            attachments=composition.attachments,
            unsubscribe_url=unsubscribe,
            unsubscribe_mailto=f"mailto:{sender}?subject=unsubscribe" if sender else None,
            secrets=composition.secrets,
            edit_message_id=composition.edit_message_id,
        )

    @functools.cached_property
    def _sender_address(self) -> str:
        return parseaddr(self.mail_from)[1]

    async def _address(
        self, session: AsyncSession, row: OutboxMessage, contact: Contact, chat_id: int | None
    ) -> str:
        if row.channel == "email":
            if not contact.email:
                raise Unreachable("no email address")
            return contact.email
        chat = chat_id if chat_id is not None else await telegram_chat(session, contact.id)
        if chat is None:
            raise Unreachable("telegram not linked")
        return str(chat)
