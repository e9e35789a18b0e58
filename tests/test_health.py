"""/healthz: the database, each channel and the scheduler; 503 when one of them is down."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from bot.db.session import Database
from bot.scheduler import Ticker
from bot.services.clock import ManualClock
from bot.services.delivery.stats import STATS
from bot.web.app import build_web
from bot.web.health import Health, TelegramStatus
from tests.test_onboarding import NOW
from tests.test_outbox import POLICY


@pytest.fixture(autouse=True)
def fresh_counters() -> Iterator[None]:
    STATS.reset()
    yield
    STATS.reset()


async def healthz(health: Health | None) -> httpx.Response:
    transport = httpx.ASGITransport(app=build_web(health=health))
    async with httpx.AsyncClient(transport=transport, base_url="http://web.test") as client:
        return await client.get("/healthz")


@pytest.fixture
async def ticked(sqlite_database: Database) -> AsyncIterator[Database]:
    """A database the scheduler has just scanned."""
    await Ticker(sqlite_database, ManualClock(NOW), POLICY).tick()
    yield sqlite_database


async def test_a_service_whose_parts_all_work_answers_200_ok(ticked: Database) -> None:
    telegram = TelegramStatus(state="up", attempts=1)
    health = Health(ticked, ("telegram", "email"), telegram, scheduler_running=lambda: True)
    STATS.record("email", "sent")
    answer = await healthz(health)
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "ok" and "down" not in body
    assert body["database"] == {"status": "ok"}
    assert body["channels"]["telegram"] == {
        "status": "ok",
        "configured": True,
        "state": "up",
        "attempts": 1,
    }
    assert body["channels"]["email"] == {"status": "ok", "configured": True, "last_result": "sent"}
    assert body["scheduler"]["status"] == "ok" and body["scheduler"]["state"] == "running"
    assert 0 <= body["scheduler"]["last_tick_seconds_ago"] < 60
    assert answer.headers["cache-control"] == "no-store"


async def test_without_a_service_behind_it_health_still_answers_ok() -> None:
    answer = await healthz(None)
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}


async def test_an_unreachable_database_answers_503_in_one_line(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'no-such-dir' / 'x.db'}")
    try:
        answer = await healthz(Health(database, scheduler_running=lambda: True))
    finally:
        await database.dispose()
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "down" and body["down"] == ["database"]
    error = body["database"]["error"]
    assert error.startswith("OperationalError: ") and "\n" not in error and len(error) <= 200


async def test_telegram_retrying_its_start_up_answers_503_with_the_last_error(
    ticked: Database,
) -> None:
    telegram = TelegramStatus("retrying", "NetworkError: Bad Gateway", 3)
    answer = await healthz(Health(ticked, ("telegram",), telegram, lambda: True))
    assert answer.status_code == 503
    body = answer.json()
    assert body["down"] == ["channels.telegram"]
    assert body["channels"]["telegram"]["last_error"] == "NetworkError: Bad Gateway"
    assert body["channels"]["email"] == {"status": "ok", "configured": False}


async def test_a_mail_server_refusing_our_login_answers_503(ticked: Database) -> None:
    STATS.record("email", "misconfigured")
    answer = await healthz(Health(ticked, ("email",), scheduler_running=lambda: True))
    assert answer.status_code == 503
    assert answer.json()["channels"]["email"]["last_result"] == "misconfigured"


async def test_one_bounced_address_does_not_make_email_down(ticked: Database) -> None:
    STATS.record("email", "unreachable")
    answer = await healthz(Health(ticked, ("email",), scheduler_running=lambda: True))
    assert answer.status_code == 200


async def test_a_scheduler_that_has_not_ticked_for_three_minutes_answers_503(
    ticked: Database,
) -> None:
    later = time.monotonic() + 181
    health = Health(ticked, scheduler_running=lambda: True, monotonic=lambda: later)
    answer = await healthz(health)
    assert answer.status_code == 503
    assert answer.json()["scheduler"]["state"] == "late"


async def test_a_stopped_scheduler_answers_503_and_a_starting_one_200(
    sqlite_database: Database,
) -> None:
    stopped = await healthz(Health(sqlite_database, scheduler_running=lambda: False))
    assert stopped.status_code == 503 and stopped.json()["scheduler"]["state"] == "stopped"
    starting = await healthz(Health(sqlite_database, scheduler_running=lambda: True))
    assert starting.status_code == 200 and starting.json()["scheduler"]["state"] == "starting"


async def test_a_postgresql_server_that_is_down_answers_503_without_its_password() -> None:
    database = Database("postgresql://expertbot:hunter2secret@127.0.0.1:1/expertbot")
    try:
        answer = await healthz(Health(database, scheduler_running=lambda: True))
    finally:
        await database.dispose()
    assert answer.status_code == 503 and answer.json()["down"] == ["database"]
    error = answer.json()["database"]["error"]
    assert "\n" not in error and "hunter2secret" not in answer.text
