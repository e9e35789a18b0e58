"""/metrics: Prometheus text from the outbox, the contacts and this process's counters, to
loopback clients or a holder of EXPERTBOT_METRICS_TOKEN only."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import httpx
import prometheus_client
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app import secrets
from bot.config import load_settings
from bot.db.session import Database
from bot.sandbox import Fault, TelegramEmulator
from bot.sandbox.mail_server import MailServer
from bot.scheduler import Ticker
from bot.services.clock import ManualClock
from bot.services.delivery.stats import STATS
from bot.web.app import build_web
from bot.web.metrics import Metrics
from tests.test_dispatcher_telegram import CHAT, NOON, Harness
from tests.test_outbox import POLICY, add_contact, queue

TOKEN = "metrics-token-for-tests-0123456789abcdef"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(autouse=True)
def fresh_counters() -> Iterator[None]:
    STATS.reset()
    yield
    STATS.reset()


@pytest.fixture
async def harness(database: Database) -> AsyncIterator[Harness]:
    """SQLite and PostgreSQL: the queries behind the metrics run on both."""
    async with TelegramEmulator() as emulator, MailServer() as mail:
        found = Harness(database, emulator, mail)
        yield found
        await found.close()


async def scrape(metrics: Metrics, client: str = "127.0.0.1", **headers: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=build_web(metrics=metrics), client=(client, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://web.test") as web:
        return await web.get("/metrics", headers=headers)


def samples(text: str) -> Samples:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_show_the_outbox_the_counters_and_the_channel_states(
    harness: Harness,
) -> None:
    ilze = await harness.person()
    blocked = await add_contact(harness.database, "Jānis Ozols", "janis@valka.example", 2002)
    harness.emulator.user(2002, "Jānis")
    harness.emulator.fail_next(Fault.too_many_requests(7), method="sendMessage", chat_id=CHAT)
    harness.emulator.fail_next(Fault.blocked(), method="sendMessage", chat_id=2002)
    await harness.send(ilze, "m:1")
    await harness.send(blocked, "m:2")
    await harness.dispatcher.run_until_idle()
    harness.limiter.paused_until = 0  # the real lane would wait 7 s; this test does not
    harness.clock.advance(timedelta(seconds=7))
    await harness.dispatcher.run_until_idle()
    waiting = harness.clock.now() - timedelta(minutes=30)
    await queue(harness.database, ilze, "m:3", now=waiting, params={"subject": "s", "text": "t"})

    answer = await scrape(Metrics(harness.database, harness.clock))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    found = samples(answer.text)

    def value(name: str, **labels: str) -> float:
        return found[(name, tuple(sorted(labels.items())))]

    assert value("expertbot_outbox_messages", channel="telegram", status="sent") == 1
    assert value("expertbot_outbox_messages", channel="email", status="queued") == 1
    assert value("expertbot_outbox_messages", channel="email", status="failed") == 0
    assert value("expertbot_outbox_oldest_queued_seconds", channel="email") == 1800
    assert value("expertbot_outbox_oldest_queued_seconds", channel="telegram") == 0
    sent_at = value("expertbot_last_sent_timestamp_seconds", channel="telegram")
    assert NOON.timestamp() <= sent_at <= harness.clock.now().timestamp()
    assert value("expertbot_sent_total", channel="telegram") == 1
    assert value("expertbot_retried_total", channel="telegram") == 1
    assert value("expertbot_failed_total", channel="telegram") == 1
    assert value("expertbot_telegram_rate_limited_total") == 1
    assert value("expertbot_delivery_attempts_total", channel="telegram", outcome="sent") == 1
    assert value("expertbot_contact_channels", channel="telegram", state="blocked") == 1
    assert value("expertbot_contact_channels", channel="email", state="active") == 2
    # Nothing of ours lands in the library's global registry.
    assert not any(
        metric.name.startswith("expertbot") for metric in prometheus_client.REGISTRY.collect()
    )


async def test_scheduler_ticks_are_counted(harness: Harness) -> None:
    await Ticker(harness.database, harness.clock, POLICY).tick()
    found = samples((await scrape(Metrics(harness.database, harness.clock))).text)
    assert found[("expertbot_scheduler_ticks_total", (("job", "due-scan"),))] == 1
    assert found[("expertbot_scheduler_tick_seconds", (("job", "due-scan"),))] > 0


@pytest.mark.parametrize("client", ["127.0.0.1", "::1"])
async def test_loopback_clients_need_no_token(sqlite_database: Database, client: str) -> None:
    answer = await scrape(Metrics(sqlite_database, ManualClock(NOON), TOKEN), client)
    assert answer.status_code == 200


async def test_others_are_refused_without_the_token(sqlite_database: Database) -> None:
    metrics = Metrics(sqlite_database, ManualClock(NOON))
    answer = await scrape(metrics, "203.0.113.5")
    assert answer.status_code == 403 and "expertbot_" not in answer.text
    with_token = Metrics(sqlite_database, ManualClock(NOON), TOKEN)
    answer = await scrape(with_token, "203.0.113.5")
    assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"
    wrong = await scrape(with_token, "203.0.113.5", authorization=f"Bearer {TOKEN[:-1]}x")
    assert wrong.status_code == 401 and "expertbot_" not in wrong.text
    right = await scrape(with_token, "203.0.113.5", authorization=f"Bearer {TOKEN}")
    assert right.status_code == 200 and "expertbot_outbox_messages" in right.text


@pytest.mark.parametrize(
    ("trusted", "forwarded", "status"),
    [
        ("127.0.0.1", "203.0.113.5", 403),  # Caddy on this machine passing a visitor on
        ("127.0.0.1", "127.0.0.1, 203.0.113.5", 403),  # a visitor claiming to be loopback
        ("10.0.0.1", "203.0.113.5", 403),  # a proxy not listed: its peer address is not enough
        ("127.0.0.1", "127.0.0.1", 200),  # a request from this machine through the proxy
    ],
)
async def test_a_request_forwarded_by_a_proxy_is_not_loopback(
    sqlite_database: Database, trusted: str, forwarded: str, status: int
) -> None:
    metrics = Metrics(sqlite_database, ManualClock(NOON), trusted_proxies=trusted)
    answer = await scrape(metrics, "127.0.0.1", **{"x-forwarded-for": forwarded})
    assert answer.status_code == status


def test_the_metrics_token_is_masked_in_the_log_like_every_secret() -> None:
    assert TOKEN in secrets(load_settings(metrics_token=TOKEN))


def test_the_database_password_is_masked_in_logs_too() -> None:
    url = "postgresql://expertbot:S3cret-Parole@127.0.0.1/expertbot"
    assert "S3cret-Parole" in secrets(load_settings(database_url=url))
