"""Invite links for Telegram: issue them for print, queue them by email, compose them at send time.

A link is valid through the whole local day it expires on, so the date a person reads
("valid until 19 February") is true until that day's midnight in their time zone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Contact, OutboxMessage, TelegramLink
from bot.services.delivery import outbox
from bot.services.delivery.compose import ComposeEnv, Composition, Unreachable, builder
from bot.services.delivery.outbox import DeliveryPolicy
from bot.services.onboarding import join_tokens

KIND = "telegram_invite_link"
ALREADY_LINKED = "already on Telegram"


@dataclass(frozen=True)
class IssuedLink:
    contact: Contact
    link: str
    valid_until: date  # the last local day on which the link works

    @property
    def token(self) -> str:
        return self.link.rpartition("?start=")[2]


def last_valid_day(now: datetime, days: int, zone: ZoneInfo) -> date:
    return (now.astimezone(zone) + timedelta(days=days)).date()


def end_of_day(day: date, zone: ZoneInfo) -> datetime:
    """Return the UTC moment the local day ends (the next midnight)."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)


async def issue_link(
    session: AsyncSession,
    contact: Contact,
    *,
    bot_username: str,
    now: datetime,
    days: int,
    zone: ZoneInfo,
) -> IssuedLink:
    """Make a new deep link for a contact, valid for `days` and to the end of that local day."""
    day = last_valid_day(now, days, zone)
    invite = await join_tokens.issue(
        session, contact, now=now, lifetime=end_of_day(day, zone) - now
    )
    return IssuedLink(contact, invite.link(bot_username), day)


async def linked_contact_ids(session: AsyncSession, ids: Iterable[int]) -> set[int]:
    """Return which of these contacts already have a Telegram chat linked."""
    wanted = list(ids)
    if not wanted:
        return set()
    found = await session.scalars(
        select(TelegramLink.contact_id).where(TelegramLink.contact_id.in_(wanted))
    )
    return set(found)


def dedupe_key(contact_id: int, day: date) -> str:
    """One invite email per contact per day: a second run the same day queues nothing."""
    return f"invite-link:{contact_id}:{day.isoformat()}"


@dataclass
class QueueReport:
    queued: int = 0
    already_queued: int = 0
    skipped: Counter[str] = field(default_factory=Counter)


async def queue_links(
    session: AsyncSession,
    people: Sequence[Contact],
    *,
    now: datetime,
    policy: DeliveryPolicy,
    bot_username: str,
    days: int,
    even_if_linked: bool = False,
) -> QueueReport:
    """Queue an invite-link email per contact; the token itself is made when it is sent."""
    report = QueueReport()
    linked = set() if even_if_linked else await linked_contact_ids(session, (c.id for c in people))
    # The day is the coordinator's (the default zone), so "today" means the same for everyone.
    day = now.astimezone(policy.zone).date()
    for contact in people:
        if contact.id in linked:
            report.skipped[ALREADY_LINKED] += 1
            continue
        key = dedupe_key(contact.id, day)
        result = await outbox.enqueue(
            session,
            contact=contact,
            channel="email",
            kind=KIND,
            dedupe_key=key,
            now=now,
            policy=policy,
            params={
                "bot_username": bot_username,
                "lifetime_days": days,
                "timezone": policy.zone.key,
                "even_if_linked": even_if_linked,
            },
        )
        if result.status == "queued":
            report.queued += 1
            await _cancel_older(session, contact.id, key, now)
        elif result.status == "duplicate":
            report.already_queued += 1
        else:
            report.skipped[result.reason or "unreachable"] += 1
    return report


async def _cancel_older(session: AsyncSession, contact_id: int, key: str, now: datetime) -> None:
    # An older invite still waiting would be sent too, and its fresh token would revoke
    # this one's (or the other way round): only the newest may go out.
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.contact_id == contact_id,
            OutboxMessage.kind == KIND,
            OutboxMessage.status == "queued",
            OutboxMessage.dedupe_key != key,
        )
        .values(status="cancelled", last_error="replaced by a newer invite link", updated_at=now)
        .execution_options(synchronize_session=False)
    )


@builder(KIND, writes=True)
async def compose_invite(
    session: AsyncSession, row: OutboxMessage, contact: Contact, env: ComposeEnv
) -> Composition:
    """Issue the token as the message goes out, so no usable link waits in the outbox."""
    params = row.params
    if not params.get("even_if_linked") and await linked_contact_ids(session, [contact.id]):
        raise Unreachable(ALREADY_LINKED)
    # The dispatcher stamps updated_at when it claims the row: that is its clock's "now".
    now = row.updated_at
    zone = ZoneInfo(contact.timezone or params.get("timezone") or "Europe/Riga")
    issued = await issue_link(
        session,
        contact,
        bot_username=params["bot_username"],
        now=now,
        days=int(params.get("lifetime_days", join_tokens.DEFAULT_LIFETIME.days)),
        zone=zone,
    )
    return Composition(
        {"contact_name": contact.name, "link": issued.link, "expires_on": issued.valid_until},
        secrets=(issued.token,),
    )
