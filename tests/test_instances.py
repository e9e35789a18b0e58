"""Several instances on one PostgreSQL: one Telegram budget, and each tick's work done once.

Two `Database` objects on one database stand for two processes here (each has its own
connections); the end-to-end test starts two real `expertbot run` processes.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import locks
from bot.db.models import (
    ChatState,
    Contact,
    Event,
    Invitation,
    OutboxMessage,
    Place,
    TelegramLink,
)
from bot.db.rate_budget import DatabaseBudget, shared_budget
from bot.db.session import Database
from bot.sandbox import RateLimits, TelegramEmulator
from bot.scheduler import Housekeeper, Ticker
from bot.services.clock import ManualClock
from bot.services.contacts import registry
from bot.services.contacts.rows import parse_rows, read_table
from bot.web.app import WEBHOOK_PATH, webhook_secret
from tests.conftest import DATA
from tests.test_onboarding import Network, free_port
from tests.test_outbox import POLICY
from tests.test_reminders import VALGA_START, invite, make_event

RIGA = ZoneInfo("Europe/Riga")


@pytest.fixture
async def two(postgres_url: str) -> AsyncIterator[tuple[Database, Database]]:
    first, second = Database(postgres_url), Database(postgres_url)
    yield first, second
    await first.dispose()
    await second.dispose()


async def test_two_processes_book_their_slots_one_after_the_other(
    two: tuple[Database, Database],
) -> None:
    budgets = [DatabaseBudget(database) for database in two]
    waits = []
    for n in range(8):  # a slot a second, alternately booked by each process
        wait, blocked = await budgets[n % 2].book(1000 + n, spacing=1.0, chat_interval=1.0)
        assert blocked is None
        waits.append(wait)
    # Booking takes milliseconds: each slot is one second after the other's.
    assert all(abs(wait - n) < 0.5 for n, wait in enumerate(waits)), waits


async def test_a_chat_one_process_just_wrote_to_waits_in_the_other(
    two: tuple[Database, Database],
) -> None:
    first, second = (DatabaseBudget(database) for database in two)
    assert (await first.book(7, spacing=0.01, chat_interval=1.0))[1] is None
    wait, blocked = await second.book(7, spacing=0.01, chat_interval=1.0)
    assert blocked == "chat" and 0.5 < wait <= 1.0
    assert (await second.book(8, spacing=0.01, chat_interval=1.0))[1] is None


async def test_a_429_pause_in_one_process_holds_the_other(two: tuple[Database, Database]) -> None:
    first, second = (DatabaseBudget(database) for database in two)
    await first.book(1, spacing=0.01, chat_interval=1.0)
    first.pause(30)
    await asyncio.gather(*first._pauses)
    wait, blocked = await second.book(2, spacing=0.01, chat_interval=1.0)
    assert blocked == "paused" and 25 < wait <= 30


async def test_sqlite_keeps_the_budget_in_the_process(sqlite_database: Database) -> None:
    assert shared_budget(sqlite_database) is None


async def test_an_advisory_lock_is_held_by_one_process_at_a_time(
    two: tuple[Database, Database],
) -> None:
    first, second = two
    async with first.session_scope() as one:
        assert await locks.try_lock_for_transaction(one, "due-scan")
        async with second.session_scope() as other:
            assert not await locks.try_lock_for_transaction(other, "due-scan")
            assert await locks.try_lock_for_transaction(other, "something-else")
        async with locks.held(second, "due-scan") as mine:
            assert not mine
    async with locks.held(second, "due-scan") as mine:  # the first transaction ended
        assert mine


async def test_a_due_scan_is_skipped_while_another_instance_runs_one(
    two: tuple[Database, Database],
) -> None:
    first, second = two
    event = await make_event(first)
    await invite(first, event, ilze="accepted")
    clock = ManualClock(VALGA_START - timedelta(hours=23))
    async with first.session_scope() as session:  # another instance in the middle of a scan
        assert await locks.try_lock_for_transaction(session, "due-scan")
        assert await Ticker(second, clock, POLICY).tick() == 0
    assert await Ticker(second, clock, POLICY).tick() == 1
    assert await Ticker(first, clock, POLICY).tick() == 0
    async with first.session_scope() as session:
        keys = list(await session.scalars(select(OutboxMessage.dedupe_key)))
    assert len(keys) == 1


async def test_two_instances_do_the_days_housekeeping_once(db_url: str) -> None:
    clock = ManualClock(datetime(2027, 3, 1, 1, 30, tzinfo=UTC))  # 03:30 in Riga
    ran: list[str] = []
    databases = [Database(db_url), Database(db_url)]

    def keeper(name: str, database: Database) -> Housekeeper:
        async def work(now: datetime) -> None:
            ran.append(name)

        return Housekeeper(work, clock, RIGA, database=database)

    try:
        first, second = (keeper(n, d) for n, d in zip("AB", databases, strict=True))
        if db_url.startswith("postgres"):  # at the same moment: the lock decides
            results = list(await asyncio.gather(first.tick(), second.tick()))
        else:  # SQLite serves one process; a second one after it finds the day done
            results = [await first.tick(), await second.tick()]
        assert sorted(results) == [False, True] and len(ran) == 1
        assert not await keeper("C", databases[1]).tick()  # a restart the same day
        clock.advance(timedelta(days=1))
        assert await second.tick() and not await first.tick()
        assert len(ran) == 2
        assert await locks.last_day(databases[0], "housekeeping") == date(2027, 3, 2)
    finally:
        for database in databases:
            await database.dispose()


# --- two `expertbot run` processes on one PostgreSQL ---------------------------------------

N = 1000
RATE = 30  # EXPERTBOT_TELEGRAM_RATE: the most the settings allow, so the test stays short
FIRST_CHAT = 20_000
REMINDED = (30_001, 30_002, 30_003)  # chats of three people whose event reminder is due
ROOT = Path(__file__).resolve().parents[1]
KEY = "two-instances-signing-key-0123456789abcdef"
SECRET = webhook_secret(KEY)  # what both instances expect in Telegram's webhook header


async def queue_broadcast_and_a_due_reminder(database: Database) -> None:
    """N people with a broadcast queued for each, and an event tomorrow with 3 coming."""
    now = datetime.now(UTC)
    people = [(FIRST_CHAT + n, f"Dalībnieks {n}") for n in range(N)]
    people += [(chat, f"Nākošais {chat}") for chat in REMINDED]
    async with database.session_scope() as session:
        contacts = [
            Contact(
                name=name,
                role="regional_expert",
                language="lv",
                telegram_state="active",
                consent_on=now.date(),
                consent_source="import",
                telegram_links=[TelegramLink(chat_id=chat, user_id=chat)],
            )
            for chat, name in people
        ]
        session.add_all(contacts)
        await session.flush()
        session.add_all(
            OutboxMessage(
                dedupe_key=f"broadcast:e2e:{contact.id}",
                contact_id=contact.id,
                channel="telegram",
                kind="broadcast",
                params={"text": f"Ziņa Nr. {n}: sanāksme Valgā.", "subject": ""},
            )
            for n, contact in enumerate(contacts[:N])
        )
        event = Event(
            slug="e2e-tomorrow",
            kind="expert_meeting",
            status="published",
            title={"lv": "Ekspertu sanāksme", "et": "Ekspertide kohtumine", "en": "Meeting"},
            timezone="Europe/Riga",
            starts_at=now + timedelta(hours=23),
            ends_at=now + timedelta(hours=27),
            reminder_offsets=[86400],  # a day before: due as the instances start
        )
        event.places = [Place(position=0, name="Valga Vallavalitsus")]
        session.add(event)
        await session.flush()
        session.add_all(
            Invitation(event_id=event.id, contact_id=contact.id, status="accepted")
            for contact in contacts[N:]
        )


def environment(
    url: str, telegram: TelegramEmulator, port: int, public_port: int
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXPERTBOT_")}
    return {
        **env,
        "PYTHONPATH": str(ROOT),
        "EXPERTBOT_DATABASE_URL": url,
        "EXPERTBOT_TELEGRAM_TOKEN": telegram.token,
        "EXPERTBOT_TELEGRAM_API_URL": telegram.base_url,
        "EXPERTBOT_TELEGRAM_RATE": str(RATE),
        # Webhook mode behind a load balancer: both give Telegram the same public address.
        "EXPERTBOT_TELEGRAM_WEBHOOK": "true",
        "EXPERTBOT_PUBLIC_URL": f"http://127.0.0.1:{public_port}",
        "EXPERTBOT_SECRET_KEY": KEY,
        "EXPERTBOT_QUIET_HOURS": "",
        "EXPERTBOT_WEB_PORT": str(port),
    }


async def sent_everything(url: str) -> bool:
    async def unsent(session: AsyncSession) -> int:
        return int(
            await session.scalar(
                select(func.count()).where(
                    OutboxMessage.channel == "telegram", OutboxMessage.status != "sent"
                )
            )
            or 0
        )

    database = Database(url)
    try:
        async with database.session_scope() as session:
            return await unsent(session) == 0 and await session.scalar(
                select(func.count()).where(OutboxMessage.kind == "event_reminder")
            ) == len(REMINDED)
    finally:
        await database.dispose()


async def test_two_processes_on_one_postgresql_keep_one_rate_and_send_each_message_once(
    postgres_url: str, tmp_path: Path
) -> None:
    database = Database(postgres_url)
    await queue_broadcast_and_a_due_reminder(database)
    await database.dispose()
    # Telegram's limit as a token bucket holding a burst of only 5: two instances each
    # keeping the limit on its own would earn hundreds of 429s.
    limits = RateLimits(per_second=RATE, burst=5)
    async with TelegramEmulator(limits=limits, latency=0.03) as telegram:
        for chat in [FIRST_CHAT + n for n in range(N)] + list(REMINDED):
            telegram.user(chat, f"Lietotājs {chat}", language_code="lv")
        ports = [free_port(), free_port()]
        logs = [tmp_path / "first.log", tmp_path / "second.log"]
        processes = []
        for port, log in zip(ports, logs, strict=True):
            with log.open("wb") as out:
                processes.append(
                    await asyncio.create_subprocess_exec(
                        sys.executable,
                        "-m",
                        "bot",
                        "run",
                        cwd=tmp_path,
                        env=environment(postgres_url, telegram, port, ports[0]),
                        stdout=out,
                        stderr=asyncio.subprocess.STDOUT,
                    )
                )
        try:
            async with asyncio.timeout(120):
                while not await sent_everything(postgres_url):
                    for process, log in zip(processes, logs, strict=True):
                        assert process.returncode is None, log.read_text()[-3000:]
                    await asyncio.sleep(0.2)  # polling the database, not waiting for time
            # Behind a load balancer either instance may receive an update: send one to each.
            helper = telegram.user(40_000, "Kadri", language_code="et")
            for port in ports:
                await telegram.webhook.set(
                    {"url": f"http://127.0.0.1:{port}{WEBHOOK_PATH}", "secret_token": SECRET}
                )
                await helper.send("/help")
                await helper.wait_for_message(timeout=20)
        except TimeoutError:
            sent = len(telegram.calls_to("sendMessage"))
            tails = "\n---\n".join(log.read_text()[-3000:] for log in logs)
            raise AssertionError(f"not done in 120 s; {sent} sendMessage calls\n{tails}") from None
        finally:
            for process in processes:
                if process.returncode is None:
                    process.send_signal(signal.SIGTERM)
            codes = [await asyncio.wait_for(p.wait(), 30) for p in processes]
        output = [log.read_text() for log in logs]
        assert codes == [0, 0], output
        assert all("dispatching on: telegram" in text for text in output), output
        copies = [
            sum(1 for m in telegram.chat(FIRST_CHAT + n).messages if m.from_bot) for n in range(N)
        ]
        reminders = [
            sum(1 for m in telegram.chat(chat).messages if m.from_bot) for chat in REMINDED
        ]
        stamps = sorted(c.at for c in telegram.calls_to("sendMessage") if c.ok)
    assert copies.count(0) == 0, "lost"
    assert max(copies) == 1, "duplicates"
    assert reminders == [1, 1, 1]
    assert sum(text.count("queued 3 message(s)") for text in output) == 1, output
    rate = (len(stamps) - 1) / (stamps[-1] - stamps[0])
    assert rate <= RATE * 1.02, f"{rate:.1f} messages a second over a limit of {RATE}"
    assert telegram.stats.too_many_requests <= N // 100, telegram.stats.too_many_requests


# --- a wizard across instances behind a load balancer --------------------------------------


async def wizard_step(url: str, chat: int) -> str | None:
    """The broadcast wizard's step as the database holds it for `chat`."""

    async def step(session: AsyncSession) -> str | None:
        data = await session.scalar(select(ChatState.data).where(ChatState.chat_id == chat))
        return ((data or {}).get("broadcast") or {}).get("step")

    database = Database(url)
    try:
        async with database.session_scope() as session:
            return await step(session)
    finally:
        await database.dispose()


async def test_a_broadcast_wizard_goes_on_whichever_instance_hears_the_next_step(
    postgres_url: str,
) -> None:
    database = Database(postgres_url)
    async with database.session_scope() as session:
        rows = parse_rows(read_table(DATA / "contacts.csv")).rows
        await registry.apply_import(session, await registry.plan_import(session, rows))
    async with TelegramEmulator() as emulator:
        ports = [free_port(), free_port()]
        settings = {
            "telegram_webhook": True,
            "secret_key": KEY,
            "public_url": f"http://127.0.0.1:{ports[0]}",
        }
        instances = [Network(database, emulator, **settings) for _ in ports]
        for instance, port in zip(instances, ports, strict=True):
            instance.settings = instance.settings.model_copy(update={"web_port": port})
            instance.service.settings = instance.settings
            await instance.start()

        async def to(number: int) -> None:
            """The load balancer sends the next update to this instance."""
            url = f"http://127.0.0.1:{ports[number]}{WEBHOOK_PATH}"
            await emulator.webhook.set({"url": url, "secret_token": SECRET})

        async def handed_over(step: str | None) -> None:
            async with asyncio.timeout(10):
                while await wizard_step(postgres_url, 900) != step:
                    await asyncio.sleep(0.05)  # the instance hands its chat data over

        try:
            sandra = emulator.user(900, "Sandra", "Jansone", "sandraj", "lv")
            await instances[0].joined(sandra, "sandra.jansone@km.example")
            kadri = emulator.user(810, "Kadri", "Tamm", "kadrit", "et")
            await instances[0].joined(kadri, "kadri.tamm@valga.example")
            await to(1)
            await sandra.send("/broadcast")
            assert "Uzrakstiet ziņu" in ((await sandra.wait_for_message()).text or "")
            await handed_over("text")
            await to(0)
            await sandra.send("Tikšanās Valgā sāksies 10:00.")
            choice = await sandra.wait_for_message()
            await handed_over("audience")
            await to(1)
            await sandra.press(choice, "Visiem")
            await sandra.wait_for(lambda: "Priekšskatījums" in (choice.text or ""))
            await handed_over("confirm")
            await to(0)
            await sandra.press(choice, "Sūtīt")
            received = await kadri.wait_for_message(lambda m: "Valgā" in (m.text or ""))
            assert received.text == "Tikšanās Valgā sāksies 10:00."
            await handed_over(None)  # the wizard is over on every instance
        finally:
            for instance in instances:
                await instance.close()
    await database.dispose()
