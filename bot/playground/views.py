"""What the playground page shows, as JSON-ready dicts: people, chats, mailboxes, the desk."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from email.message import EmailMessage
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import (
    Answer,
    Contact,
    Event,
    InvitationAnswer,
    OutboxMessage,
    Place,
    RecommendationUpdate,
)
from bot.playground.chat_html import to_html
from bot.playground.jumps import jumps, title
from bot.playground.runtime import BANNER, Playground
from bot.sandbox.mail_server import Received
from bot.sandbox.telegram_state import ChatMessage
from bot.services.contacts.audience import Audience
from bot.services.events import registry as event_registry
from bot.services.events.invitations import plan as invite_plan
from bot.services.recommendations import registry as rec_registry
from bot.services.surveys import registry as survey_results
from bot.textformat import pick_language

LOCALE = "en_GB"
ROLE_LABELS = {
    "regional_expert": "Regional expert",
    "mediator": "Roma mediator",
    "coordinator": "Coordinator",
    "partner": "Partner",
    "guest": "Guest",
}
ANSWER_LABELS = {
    "accepted": "Will attend",
    "attended": "Attended",
    "no_show": "Did not attend",
    "waitlisted": "Waiting list",
    "not_sure": "Not sure yet",
    "declined": "Can't attend",
    "invited": "No answer yet",
}
REC_LABELS = {
    "not_started": "Not started",
    "in_progress": "In progress",
    "done": "Done",
    "dropped": "Dropped",
}
KIND_LABELS = {
    "expert_meeting": "Expert meeting",
    "good_practice_visit": "Good-practice visit",
    "seminar": "Seminar",
    "workshop": "Workshop",
    "mediator_training": "Mediator training",
    "cross_border_meeting": "Cross-border meeting",
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

    def day(self, value: date | None) -> str:
        return format_date(value, "d MMM y", locale=LOCALE) if value else ""

    def span(self, starts: datetime, ends: datetime, zone: ZoneInfo) -> str:
        start, end = starts.astimezone(zone), ends.astimezone(zone)
        first = format_datetime(start, "EEE d MMM y, HH:mm", locale=LOCALE)
        if start.date() == end.date():
            return f"{first}–{format_time(end, 'HH:mm', locale=LOCALE)}"
        return f"{first} – {format_datetime(end, 'EEE d MMM, HH:mm', locale=LOCALE)}"

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
    shift = play.clock.offset.total_seconds()
    return {
        "version": (
            f"{play.telegram.state.version}-{len(play.mail.messages)}-{fingerprint}-{int(shift)}"
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
        "people": [_person(play, contact, mailboxes) for contact in people],
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


# --- The coordinator's desk -----------------------------------------------------------------


async def _event(
    session: AsyncSession, overview: Any, fmt: Formats, now: datetime
) -> dict[str, Any]:
    event: Event = overview.event
    rsvps = await event_registry.list_rsvps(session, event)
    counts = overview.counts.by_status
    plan = await invite_plan(session, event, Audience.from_mapping(event.audience or {}))
    channels: dict[str, int] = {}
    for (channel, _language), number in plan.channels.items():
        channels[channel] = channels.get(channel, 0) + number
    preview = ", ".join(
        f"{ch.capitalize()} {n}" for ch, n in sorted(channels.items(), reverse=True)
    )
    places = list(
        await session.scalars(
            select(Place).where(Place.event_id == event.id).order_by(Place.position)
        )
    )
    return {
        "key": event.slug,
        "title": pick_language(event.title, "lv"),
        "title_en": title(event),
        "kind_label": KIND_LABELS.get(event.kind, event.kind.replace("_", " ").capitalize()),
        "when_local": fmt.span(event.starts_at, event.ends_at, event_registry.zone_of(event)),
        "venue": " · ".join(", ".join(p for p in (pl.name, pl.address) if p) for pl in places),
        "status": event.status,
        "invited": sum(counts.values()),
        "counts": [
            {"status": status, "label": ANSWER_LABELS.get(status, status), "count": counts[status]}
            for status in event_registry.ANSWER_ORDER
            if counts.get(status)
        ],
        "answers": [
            {
                "name": rsvp.name,
                "status": rsvp.status,
                "label": ANSWER_LABELS.get(rsvp.status, rsvp.status),
                "channel": rsvp.channel or "",
                "time_local": fmt.short(rsvp.answered_at, now) if rsvp.answered_at else "",
            }
            for rsvp in rsvps
        ],
        "can_invite": bool(plan.new) and event.status != "cancelled" and event.ends_at > now,
        "invite_preview": (
            f"{len(plan.new)} {'person' if len(plan.new) == 1 else 'people'}: {preview}"
            if plan.new
            else ""
        ),
    }


def _question(result: survey_results.QuestionResult) -> dict[str, Any]:
    bars: list[dict[str, Any]] = []
    summary = f"{result.answered} answered"
    if result.type == "rating":
        total = sum(count for _, count in result.distribution) or 1
        bars = [
            {"label": str(value), "count": count, "share": count / total}
            for value, count in result.distribution
        ]
        if result.mean is not None:
            summary = f"mean {result.mean:.1f} · {summary}"
    elif result.shares:
        bars = [{"label": s.label, "count": s.count, "share": s.share} for s in result.shares]
    return {
        "text": result.text,
        "kind": result.type,
        "summary": summary,
        "bars": bars,
        "texts": [t.text for t in result.texts],
    }


async def coordinator(play: Playground) -> dict[str, Any]:
    fmt = Formats(play.inner.zone)
    now = play.clock.now()
    today = now.astimezone(play.inner.zone).date()
    async with play.database.session_scope() as session:
        overviews = await event_registry.list_events(session)
        shown_events = [await _event(session, o, fmt, now) for o in overviews]
        surveys = []
        for overview in await survey_results.list_surveys(session):
            # One card per event the survey followed: answers after Valga are not Sabile's.
            after: list[Event | None] = list(
                await survey_results.events_of(session, overview.survey)
            )
            for event in after or [None]:
                results = await survey_results.results(
                    session, overview.survey, "en", event_id=event.id if event else None
                )
                surveys.append(
                    {
                        "key": f"{results.slug}@{event.slug}" if event else results.slug,
                        "title": f"{results.title} · {title(event)}" if event else results.title,
                        "sent": results.sent,
                        "finished": results.finished,
                        "questions": [_question(q) for q in results.questions],
                    }
                )
        recs = []
        for row in await rec_registry.list_recs(session, today=today):
            last = row.last_update
            recs.append(
                {
                    "id": row.rec.id,
                    "title": pick_language(row.rec.text, "en"),
                    "owners": ", ".join(o.name for o in row.owners),
                    "status": row.rec.status,
                    "status_label": REC_LABELS.get(row.rec.status, row.rec.status),
                    "due_local": fmt.day(row.rec.due_on),
                    "overdue": row.overdue,
                    "last_update": _update(last, row.owners, fmt, now) if last else "",
                }
            )
        deliveries = dict(
            (
                await session.execute(
                    select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
                )
            ).all()
        )
    return {
        "events": shown_events,
        "surveys": surveys,
        "recommendations": recs,
        "deliveries": {
            "sent": int(deliveries.get("sent", 0)),
            "queued": int(deliveries.get("queued", 0) + deliveries.get("sending", 0)),
            "failed": int(deliveries.get("failed", 0)),
        },
    }


def _update(
    update: RecommendationUpdate, owners: tuple[Contact, ...], fmt: Formats, now: datetime
) -> str:
    who = next((o.name for o in owners if o.id == update.contact_id), "coordinator")
    said = REC_LABELS.get(update.status, update.status)
    comment = f": {update.comment}" if update.comment else ""
    return f"{who} — {said}{comment} ({fmt.short(update.recorded_at, now)})"
