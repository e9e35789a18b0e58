"""What the playground page shows, as JSON-ready dicts: people, chats, mailboxes, the desk."""

from __future__ import annotations

import json
import re
import zlib
from datetime import UTC, datetime
from email.message import EmailMessage
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_time
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import (
    Answer,
    Contact,
    InvitationAnswer,
    OutboxMessage,
    RecommendationUpdate,
)
from bot.playground.chat_html import to_html
from bot.playground.jumps import jumps
from bot.playground.runtime import BANNER, Playground
from bot.sandbox.mail_server import Received
from bot.sandbox.telegram_state import ChatMessage

LOCALE = "en_GB"
ROLE_LABELS = {
    "regional_expert": "Regional expert",
    "mediator": "Roma mediator",
    "coordinator": "Coordinator",
    "partner": "Partner",
    "guest": "Guest",
}


class Formats:
    """Dates and times for the page, in the coordinator's zone."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone

    def moment(self, value: datetime | float | None) -> str:
        if value is None:
            return ""
        return format_datetime(self._local(value), "EEE d MMM y, HH:mm", locale=LOCALE)

    def short(self, value: datetime | float | None, now: datetime) -> str:
        """The time alone when it is today, else the day too."""
        if value is None:
            return ""
        local = self._local(value)
        if local.date() == now.astimezone(self.zone).date():
            return format_time(local, "HH:mm", locale=LOCALE)
        return format_datetime(local, "EEE d MMM, HH:mm", locale=LOCALE)

    def _local(self, value: datetime | float) -> datetime:
        if isinstance(value, (int, float)):
            value = datetime.fromtimestamp(value, UTC)
        return value.astimezone(self.zone)


def _shift_label(seconds: float) -> str:
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [
        f"{n} {unit}{'' if n == 1 else 's'}"
        for n, unit in ((days, "day"), (hours, "hour"), (minutes, "minute"))
        if n
    ]
    return "+" + " ".join(parts[:2]) if parts else ""


async def _fingerprint(session: AsyncSession) -> str:
    counts = [
        await session.scalar(select(func.count()).select_from(model))
        for model in (InvitationAnswer, Answer, RecommendationUpdate)
    ]
    sent = await session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "queued")
    )
    return "-".join(str(n or 0) for n in (*counts, sent))


async def state(play: Playground) -> dict[str, Any]:
    assert play.telegram is not None and play.mail is not None
    await play.forget_erased()  # one erased a moment ago leaves the phones and mailboxes now
    settings = play.inner
    fmt = Formats(settings.zone)
    now = play.clock.now()
    async with play.database.session_scope() as session:
        people = list(
            await session.scalars(
                select(Contact)
                .where(Contact.erased_at.is_(None))
                .order_by(Contact.country, Contact.role, Contact.name)
            )
        )
        people.sort(key=lambda c: c.country != "LV")  # the network's home first, order kept
        queued = list(
            await session.scalars(
                select(OutboxMessage.next_attempt_at).where(OutboxMessage.status == "queued")
            )
        )
        found = await jumps(session, now, settings.zone, settings.quiet)
        fingerprint = await _fingerprint(session)
    waiting = [moment for moment in queued if moment > now]
    note = ""
    if waiting:
        note = (
            f"{len(waiting)} message{'' if len(waiting) == 1 else 's'} wait"
            f"{'s' if len(waiting) == 1 else ''} until {fmt.short(min(waiting), now)} "
            "(quiet hours or a retry): jump ahead to see them arrive."
        )
    mailboxes = _mail_counts(play.mail.messages)
    shown = [_person(play, contact, mailboxes) for contact in people]
    # The people shown are part of the version: the page redraws when one is erased or edited.
    listed = zlib.crc32(json.dumps(shown, sort_keys=True).encode())
    shift = play.clock.offset.total_seconds()
    return {
        "version": (
            f"{play.telegram.state.version}-{len(play.mail.messages)}-{fingerprint}-{int(shift)}"
            f"-{listed:08x}"
        ),
        "banner": BANNER,
        "clock": {
            "now": now.isoformat(),
            "local": fmt.moment(now),
            "zone": settings.timezone,
            "shifted": shift > 0,
            "shift_label": _shift_label(shift),
        },
        "queue": {"queued": len(queued), "quiet": len(waiting), "note": note},
        "jumps": [
            {
                "id": jump.id,
                "label": jump.label,
                "detail": (f"{jump.what}, " if jump.what else "") + fmt.moment(jump.at),
            }
            for jump in found
        ],
        "people": shown,
    }


def _mail_counts(messages: list[Received]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for message in messages:
        for address in message.recipients:
            counts[address.lower()] = counts.get(address.lower(), 0) + 1
    return counts


def _person(play: Playground, contact: Contact, mailboxes: dict[str, int]) -> dict[str, Any]:
    user = play.users.get(contact.id)
    return {
        "id": contact.id,
        "name": contact.name,
        "email": contact.email,
        "role": contact.role,
        "role_label": ROLE_LABELS.get(contact.role, contact.role),
        "organization": contact.organisation,
        "municipality": contact.municipality,
        "country": contact.country,
        "language": contact.language,
        "telegram": contact.telegram_state,
        "has_email": bool(contact.email) and contact.email_state == "active",
        "coordinator": contact.role == "coordinator",
        "chat_count": len(user.messages) if user else 0,
        "mail_count": mailboxes.get((contact.email or "").lower(), 0),
    }


# --- Telegram -------------------------------------------------------------------------------


def _buttons(message: ChatMessage) -> list[list[dict[str, str]]]:
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    shown = []
    for row in rows:
        out = []
        for button in row:
            item = {"text": str(button.get("text", ""))}
            if "callback_data" in button:
                item["data"] = str(button["callback_data"])
            elif "url" in button:
                item["url"] = str(button["url"])
            out.append(item)
        shown.append(out)
    return shown


def _content(message: ChatMessage) -> str:
    if not message.from_bot and (message.text or "").startswith("/start "):
        return "/start"  # as Telegram shows a deep link: the token stays out of sight
    if message.text:
        return to_html(message.text, message.entities)
    if "sticker" in message.content:
        return escape(f"[sticker {message.content['sticker'].get('emoji', '')}]")
    if "photo" in message.content:
        return "[photo]"
    return ""


async def chat(play: Playground, contact_id: int) -> dict[str, Any]:
    contact = await play.contact(contact_id)
    user = play.users.get(contact_id)
    fmt = Formats(play.inner.zone)
    now = play.clock.now()
    messages = []
    for message in user.messages if user else []:
        document = None
        if message.document is not None:
            document = {
                "name": message.document.file_name or "file",
                "url": f"/play/file/{message.document.file_unique_id}",
            }
        messages.append(
            {
                "id": message.message_id,
                "from_bot": message.from_bot,
                "html": _content(message),
                "time_local": fmt.short(message.date, now),
                "edited": message.edited,
                "document": document,
                "buttons": _buttons(message),
            }
        )
    return {
        "person_id": contact_id,
        "joined": user is not None and contact.telegram_state != "unlinked",
        "can_join": contact.telegram_state == "unlinked",
        "messages": messages,
    }


# --- Mail -----------------------------------------------------------------------------------


def mailbox(play: Playground, address: str | None) -> list[tuple[int, Received]]:
    """The messages delivered to an address, with their index in the server's list."""
    assert play.mail is not None
    if not address:
        return []
    wanted = address.lower()
    return [
        (index, message)
        for index, message in enumerate(play.mail.messages)
        if wanted in (r.lower() for r in message.recipients)
    ]


def _preview(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    text = part.get_content() if part is not None else ""
    return " ".join(str(text).split())[:160]


def attachments(message: EmailMessage) -> list[EmailMessage]:
    return [part for part in message.iter_attachments() if isinstance(part, EmailMessage)]


async def mail(play: Playground, contact_id: int) -> dict[str, Any]:
    contact = await play.contact(contact_id)
    fmt = Formats(play.inner.zone)
    now = play.clock.now()
    items = []
    for index, received in reversed(mailbox(play, contact.email)):
        message = received.message
        items.append(
            {
                "id": index,
                "subject": str(message.get("Subject", "")),
                "from": str(message.get("From", "")),
                "time_local": fmt.short(received.at, now),
                "preview": _preview(message),
                "html_url": f"/play/mail/{index}",
                "attachments": [
                    {
                        "name": part.get_filename() or f"part-{number}",
                        "url": f"/play/mail/{index}/part/{number}",
                    }
                    for number, part in enumerate(attachments(message))
                ],
            }
        )
    return {"person_id": contact_id, "address": contact.email, "messages": items}


_TME = re.compile(r'href="https://t\.me/([A-Za-z0-9_]+)\?start=([A-Za-z0-9_-]+)"')


def mail_page(index: int, message: EmailMessage, bot_username: str) -> str:
    """The email's HTML part for the mailbox frame; Telegram links open the sandbox chat."""
    part = message.get_body(preferencelist=("html", "plain"))
    if part is None:
        return "<p>(empty message)</p>"
    content = str(part.get_content())
    if part.get_content_type() != "text/html":
        return f'<pre style="white-space: pre-wrap; font-family: inherit">{escape(content)}</pre>'

    def local(match: re.Match[str]) -> str:
        if match.group(1) != bot_username:
            return match.group(0)
        return f'href="/play/mail/{index}/start/{match.group(2)}" target="_top"'

    return _TME.sub(local, content)
