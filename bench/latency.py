"""How long a pressed button waits for its ✓ while a 1,500-message broadcast is going out.

The service runs as `expertbot run` builds it (`bot.app.Service`: long polling, the reply bot
sharing the dispatcher's rate budget, 30 messages a second) against the Bot API emulator
(30 ms a request, Telegram's limits of 30 a second overall and about one a second per
chat). One person has an invitation with Will attend / Can't attend buttons. The bench
presses one of them a few times with nothing else going on (idle), then queues the
broadcast to 1,500 other people and keeps pressing, the other answer each time, a second
apart, until the broadcast is out. Each press is timed from the callback query to the
moment the message shows the pressed button ticked (the bot's editMessageReplyMarkup).

Last line: latency presses=<n> median=<s> max=<s> target=1.2 ratio_to_target=<median/1.2>
    idle_median=<s> sent=<n>
"""

# ruff: noqa: E402
from __future__ import annotations

import sys
from pathlib import Path

# bench/email.py would shadow the standard library's email package for every script in this
# folder: put the project root, not this folder, first on the path (as bench/email.py does).
sys.path[0] = str(Path(__file__).resolve().parents[1])

import asyncio
import logging
import socket
import statistics
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bench.common import POLICY, fresh_database, populate
from bot.app import Service
from bot.config import load_settings
from bot.db.models import Contact, Event, OutboxMessage, Place, TelegramLink
from bot.db.session import Database
from bot.sandbox import RateLimits, TelegramEmulator
from bot.sandbox.telegram_state import ChatMessage
from bot.sandbox.telegram_users import EmulatedUser
from bot.services.clock import SystemClock
from bot.services.contacts.audience import Audience
from bot.services.events import invitations

N = 1500
RATE = 30  # EXPERTBOT_TELEGRAM_RATE and the emulator's overall limit
LATENCY = 0.03
FIRST_CHAT = 10_000
PRESSER = 5_000  # the chat of the person pressing buttons
TARGET = 1.2  # seconds, the median issue 19 asks for
IDLE_PRESSES = 5
TIMEOUT = 180


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def invite_presser(database: Database) -> None:
    """A person linked to the presser's chat, an event, and their invitation queued."""
    now = datetime.now(UTC)
    async with database.session_scope() as session:
        person = Contact(
            id=N + 1,  # after the broadcast's contacts (bench.common.populate: 1..N)
            name="Ilze Bērziņa",
            email="ilze@bench.example",
            role="regional_expert",
            country="LV",
            language="lv",
            email_state="active",
            telegram_state="active",
            consent_on=now.date(),
            consent_source="import",
        )
        session.add(person)
        await session.flush()
        session.add(TelegramLink(contact_id=person.id, chat_id=PRESSER, user_id=PRESSER))
        starts = (now + timedelta(days=60)).replace(hour=8, minute=0, second=0, microsecond=0)
        event = Event(
            slug="bench-latency",
            kind="cross_border_meeting",
            status="draft",
            title={"lv": "Sanāksme Valgā", "et": "Kohtumine Valgas", "en": "Meeting in Valga"},
            timezone="Europe/Tallinn",
            starts_at=starts,
            ends_at=starts + timedelta(hours=5),
        )
        event.places = [Place(position=0, name="Valga Vallavalitsus", address="Puiestee 8")]
        session.add(event)
        await session.flush()
        found = await invitations.plan(session, event, Audience.build(emails=[person.email]))
        await invitations.invite(session, event, found, now=now, policy=POLICY)


async def unfinished(database: Database) -> int:
    """Broadcast messages not sent yet."""
    async with database.session_scope() as session:
        count = await session.scalar(
            select(func.count()).where(
                OutboxMessage.kind == "broadcast",
                OutboxMessage.status.in_(("queued", "sending")),
            )
        )
    return int(count or 0)


async def press_and_time(user: EmulatedUser, invitation: ChatMessage, data: str) -> float:
    """Press the button behind `data`; seconds until the message shows it ticked."""

    def ticked() -> bool:
        return any(
            b.get("callback_data") == data and b.get("text", "").startswith("✓")
            for b in invitation.buttons
        )

    started = time.perf_counter()
    await user.press(invitation, data)
    await user.wait_for(ticked, 30, "the pressed button ticked")
    return time.perf_counter() - started


async def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    url = await asyncio.to_thread(fresh_database)
    database = Database(url)
    await invite_presser(database)
    limits = RateLimits(per_second=RATE, burst=RATE)
    async with TelegramEmulator(limits=limits, latency=LATENCY) as telegram:
        user = telegram.user(PRESSER, "Ilze", language_code="lv")
        for n in range(N):
            telegram.user(FIRST_CHAT + n, f"Dalībnieks {n}", language_code="lv")
        settings = load_settings(
            database_url=url,
            telegram_token=telegram.token,
            telegram_api_url=telegram.base_url,
            telegram_rate=RATE,
            quiet_hours="",
            web_port=free_port(),
        )
        service = Service(settings, SystemClock())
        stop = asyncio.Event()
        running = asyncio.create_task(service.run(stop))
        await asyncio.wait_for(service.ready.wait(), 30)
        invitation = await user.wait_for_message(lambda m: bool(m.reply_markup), TIMEOUT)
        data = [str(b.get("callback_data", "")) for b in invitation.buttons]
        answers = [d for d in data if d.startswith("rsvp:") and d.endswith((":yes", ":no"))]
        presses = 0

        async def next_press() -> float:
            nonlocal presses
            presses += 1
            took = await press_and_time(user, invitation, answers[presses % 2])
            await asyncio.sleep(1.0)  # one message a second per chat: let the chat cool down
            return took

        idle = [await next_press() for _ in range(IDLE_PRESSES)]
        await populate(database, N, channel="telegram")
        assert service.dispatcher is not None
        service.dispatcher.wake.set()
        started = time.perf_counter()
        busy: list[float] = []
        while await unfinished(database) and time.perf_counter() - started < TIMEOUT:
            busy.append(await next_press())
        broadcast_wall = time.perf_counter() - started
        stop.set()
        await asyncio.wait_for(running, 30)
        sent = sum(1 for n in range(N) if telegram.chat(FIRST_CHAT + n).messages)
    await database.dispose()
    median = statistics.median(busy) if busy else float("nan")
    longest = max(busy) if busy else float("nan")
    print(
        f"idle: {len(idle)} presses, median {statistics.median(idle):.3f} s; during the "
        f"broadcast ({sent} of {N} sent in {broadcast_wall:.1f} s at {RATE}/s): {len(busy)} "
        f"presses, median {median:.3f} s, max {longest:.3f} s"
    )
    print(
        f"latency presses={len(busy)} median={median:.3f} max={longest:.3f} target={TARGET} "
        f"ratio_to_target={median / TARGET:.2f} idle_median={statistics.median(idle):.3f} "
        f"sent={sent}"
    )


if __name__ == "__main__":
    asyncio.run(main())
