"""A coordinator's message to a chosen group, as written, through the outbox."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Contact, Invitation, OutboxMessage
from bot.rendering import labels
from bot.services.contacts.audience import Audience, select_contacts
from bot.services.delivery import outbox

KIND = "broadcast"
# How the channels word the errors they store (bot/channels/), most particular first, and the
# delivery_problems label (messages/labels.yaml) each means to a coordinator.
PROBLEMS = (
    ("telegram 403", "blocked", "blocked"),
    ("telegram 403", "", "chat_gone"),
    ("telegram 400", "chat not found", "chat_gone"),
    ("template bug", "", "message_fault"),
    ("telegram 400", "", "message_fault"),
    ("address refused", "", "address_refused"),
    ("mail server refused the message", "", "message_refused"),
    ("gave up after", "", "unreachable"),
)


def problem_kind(error: str) -> str:
    """Sort a stored delivery error into a delivery_problems label key ("blocked", ...)."""
    lowered = error.casefold()
    for start, inside, kind in PROBLEMS:
        if start in lowered and inside in lowered:
            return kind
    return "other"


def failure(name: str, channel: str, error: str) -> dict[str, Any]:
    """Describe a failed delivery for coordinators: who, by which channel, why, in lv/et/en."""
    words = labels()
    return {
        "name": name,
        "channel": words["channels"].get(channel, {"lv": channel}),
        "reason": words["delivery_problems"][problem_kind(error)],
    }


async def recipients(session: AsyncSession, choice: str) -> list[Contact]:
    """Contacts for a choice: all, role:<r>, country:<CC>, lang:<l> or event:<id>."""
    kind, _, value = choice.partition(":")
    if kind == "event":
        found = await session.scalars(
            select(Contact)
            .join(Invitation, Invitation.contact_id == Contact.id)
            .where(Invitation.event_id == int(value), Contact.erased_at.is_(None))
            .order_by(Contact.name)
        )
        return list(found)
    fields = {"role": "roles", "country": "countries", "lang": "languages"}
    audience = Audience.build(**{fields[kind]: [value]}) if kind in fields else Audience()
    return await select_contacts(session, audience)


@dataclass
class Preview:
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (channel, language)
    unreachable: list[tuple[str, str]] = field(default_factory=list)  # (name, why)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


async def preview(
    session: AsyncSession, people: list[Contact], channels: tuple[str, ...] = outbox.CHANNEL_ORDER
) -> Preview:
    """Who would get it on which channel (only the channels this service runs)."""
    result = Preview()
    for contact in people:
        open_channels = [
            ch for ch in channels if await outbox.unavailable(session, contact, ch) is None
        ]
        if not open_channels:
            why = await outbox.unavailable(session, contact, "telegram") or ""
            result.unreachable.append((contact.name, why))
        for channel in open_channels:
            result.counts[(channel, contact.language)] += 1
    return result


async def send(
    session: AsyncSession,
    people: list[Contact],
    text: str | dict[str, str],
    *,
    key: str,
    now: datetime,
    policy: outbox.DeliveryPolicy,
    channels: tuple[str, ...] = outbox.CHANNEL_ORDER,
) -> int:
    """Queue the message on every open channel of each person; returns how many rows.

    `text` is one text for everyone, or one per language ({"lv": ..., "et": ...}): each person
    gets theirs, else the Latvian one, else the first given.
    """
    queued = 0
    for contact in people:
        for channel in channels:
            result = await outbox.enqueue(
                session,
                contact=contact,
                channel=channel,
                kind=KIND,
                dedupe_key=f"{key}:{contact.id}:{channel}",
                now=now,
                policy=policy,
                urgent=True,  # the coordinator is sending it now, on purpose
                params={"text": text, "subject": ""},
            )
            queued += result.status == "queued"
    return queued


@dataclass
class Progress:
    counts: Counter[str]
    failures: list[dict[str, Any]]  # failure(): name, channel and reason in lv/et/en

    @property
    def pending(self) -> int:
        return self.counts["queued"] + self.counts["sending"]


async def progress(session: AsyncSession, key: str) -> Progress:
    rows = await session.execute(
        select(OutboxMessage.status, func.count())
        .where(OutboxMessage.dedupe_key.like(f"{key}:%"))
        .group_by(OutboxMessage.status)
    )
    failed = await session.execute(
        select(Contact.name, OutboxMessage.channel, OutboxMessage.last_error)
        .join(Contact, Contact.id == OutboxMessage.contact_id)
        .where(OutboxMessage.dedupe_key.like(f"{key}:%"), OutboxMessage.status == "failed")
    )
    return Progress(
        Counter({s: int(n) for s, n in rows.all()}),
        [failure(name, channel, error or "") for name, channel, error in failed.all()],
    )
