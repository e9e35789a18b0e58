"""/metrics in Prometheus text format, read from the database and this process's counters.

A fresh registry per scrape (nothing registered globally): the database is read first, then
a collector turns that reading and `STATS` into metric families. Served to loopback clients,
or to anyone with `Authorization: Bearer <EXPERTBOT_METRICS_TOKEN>`.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bot.db.models import Contact, OutboxMessage
from bot.db.session import Database
from bot.db.vocab import CHANNELS, OUTBOX_STATUSES
from bot.services.clock import Clock
from bot.services.delivery.stats import STATS, DeliveryStats

# How dispatcher outcomes count: sent; tried again later; given up on this channel.
RETRIED = ("retry", "rate_limited")
FAILED = ("unreachable", "rejected", "misconfigured")
FORWARDING = ("x-forwarded-for", "forwarded", "x-real-ip")
# What generate_latest writes (the library's own constant now names a newer version).
TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"


@dataclass
class Reading:
    """What the database says at scrape time."""

    depth: dict[tuple[str, str], int] = field(default_factory=dict)  # (channel, status)
    oldest_due: dict[str, float] = field(default_factory=dict)  # channel -> seconds waiting
    last_sent: dict[str, float] = field(default_factory=dict)  # channel -> Unix time
    states: dict[tuple[str, str], int] = field(default_factory=dict)  # (channel, state)


async def read(database: Database, now: datetime) -> Reading:
    """Count the outbox and the contacts' channel states, in one read-only session."""
    reading = Reading()
    box = OutboxMessage
    async with database.read_scope() as session:
        for channel, status, count in await session.execute(
            select(box.channel, box.status, func.count()).group_by(box.channel, box.status)
        ):
            reading.depth[(channel, status)] = count
        due = (box.status == "queued") & (box.send_after <= now)
        for channel, since in await session.execute(
            select(box.channel, func.min(box.send_after)).where(due).group_by(box.channel)
        ):
            reading.oldest_due[channel] = max(0.0, (now - _utc(since)).total_seconds())
        for channel, at in await session.execute(
            select(box.channel, func.max(box.sent_at))
            .where(box.status == "sent")
            .group_by(box.channel)
        ):
            if at is not None:
                reading.last_sent[channel] = _utc(at).timestamp()
        for channel, column in (
            ("telegram", Contact.telegram_state),
            ("email", Contact.email_state),
        ):
            for state, count in await session.execute(
                select(column, func.count()).where(Contact.erased_at.is_(None)).group_by(column)
            ):
                reading.states[(channel, state)] = count
    return reading


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Snapshot(Collector):
    """Metric families from one database reading and the process's delivery counters."""

    def __init__(self, reading: Reading, stats: DeliveryStats) -> None:
        self.reading, self.stats = reading, stats

    def collect(self) -> Iterator[Metric]:
        reading, stats = self.reading, self.stats
        depth = GaugeMetricFamily(
            "expertbot_outbox_messages",
            "Messages in the outbox, by channel and status.",
            labels=["channel", "status"],
        )
        for channel in CHANNELS:
            for status in OUTBOX_STATUSES:
                depth.add_metric([channel, status], reading.depth.get((channel, status), 0))
        yield depth
        oldest = GaugeMetricFamily(
            "expertbot_outbox_oldest_queued_seconds",
            "How long the longest-waiting queued message has been due (0 when none is).",
            labels=["channel"],
        )
        for channel in CHANNELS:
            oldest.add_metric([channel], reading.oldest_due.get(channel, 0.0))
        yield oldest
        last = GaugeMetricFamily(
            "expertbot_last_sent_timestamp_seconds",
            "When a message last went out on a channel (Unix time; absent: never).",
            labels=["channel"],
        )
        for channel, at in sorted(reading.last_sent.items()):
            last.add_metric([channel], at)
        yield last
        states = GaugeMetricFamily(
            "expertbot_contact_channels",
            "Contacts by channel and its state (blocked: the bot was blocked; bounced: mail).",
            labels=["channel", "state"],
        )
        for (channel, state), count in sorted(reading.states.items()):
            states.add_metric([channel, state], count)
        yield states
        yield from self._counters(stats)

    def _counters(self, stats: DeliveryStats) -> Iterator[Metric]:
        attempts = CounterMetricFamily(
            "expertbot_delivery_attempts",
            "Send attempts by this process, by channel and outcome.",
            labels=["channel", "outcome"],
        )
        for (channel, outcome), count in sorted(stats.outcomes.items()):
            attempts.add_metric([channel, outcome], count)
        yield attempts
        for name, outcomes, text in (
            ("sent", ("sent",), "Messages this process sent."),
            ("retried", RETRIED, "Attempts put off to try again (temporary error, rate limit)."),
            ("failed", FAILED, "Attempts given up on this channel (blocked, bounced, refused)."),
        ):
            family = CounterMetricFamily(f"expertbot_{name}", text, labels=["channel"])
            for channel in CHANNELS:
                family.add_metric([channel], sum(stats.outcomes[(channel, o)] for o in outcomes))
            yield family
        yield CounterMetricFamily(
            "expertbot_telegram_rate_limited",
            "Telegram's 429 Too Many Requests answers.",
            value=stats.rate_limited,
        )
        ticks = CounterMetricFamily(
            "expertbot_scheduler_ticks", "Scheduler runs, by job.", labels=["job"]
        )
        took = GaugeMetricFamily(
            "expertbot_scheduler_tick_seconds", "How long a job's last run took.", labels=["job"]
        )
        for job in sorted(stats.tick_total):
            ticks.add_metric([job], stats.tick_total[job])
            took.add_metric([job], stats.tick_seconds.get(job, 0.0))
        yield ticks
        yield took


@dataclass
class Metrics:
    """The /metrics endpoint and who may read it."""

    database: Database
    clock: Clock
    token: str | None = None  # EXPERTBOT_METRICS_TOKEN
    trusted_proxies: str = "127.0.0.1,::1"
    stats: DeliveryStats = field(default_factory=lambda: STATS)

    async def endpoint(self, request: Request) -> Response:
        refused = self.refusal(request)
        if refused is not None:
            return refused
        registry = CollectorRegistry(auto_describe=False)
        registry.register(Snapshot(await read(self.database, self.clock.now()), self.stats))
        return Response(generate_latest(registry), media_type=TEXT_FORMAT)

    def refusal(self, request: Request) -> Response | None:
        """None when the request may read the metrics, else the answer that refuses it."""
        given = request.headers.get("authorization", "")
        if given:
            scheme, _, value = given.partition(" ")
            if (
                self.token
                and scheme.lower() == "bearer"
                and hmac.compare_digest(value.strip().encode(), self.token.encode())
            ):
                return None
            return _unauthorized()
        if self.from_loopback(request):
            return None
        if self.token:
            return _unauthorized()
        return PlainTextResponse("Forbidden: /metrics answers loopback clients only", 403)

    def from_loopback(self, request: Request) -> bool:
        """The client is this machine: a loopback peer, not forwarding someone else's request
        (through a trusted proxy, the client is the right-most hop it did not add itself)."""
        peer = request.client.host if request.client else ""
        forwarded = [name for name in FORWARDING if name in request.headers]
        if not forwarded:
            return _loopback(peer)
        networks = _networks(self.trusted_proxies)
        if forwarded != ["x-forwarded-for"] or not _within(peer, networks):
            return False
        chain = [
            hop.strip()
            for header in request.headers.getlist("x-forwarded-for")
            for hop in header.split(",")
            if hop.strip()
        ]
        client = next((hop for hop in reversed(chain) if not _within(hop, networks)), None)
        return client is None and bool(chain) and all(_loopback(hop) for hop in chain)


def _unauthorized() -> Response:
    return PlainTextResponse(
        "Unauthorized: send Authorization: Bearer <EXPERTBOT_METRICS_TOKEN>",
        401,
        headers={"WWW-Authenticate": "Bearer"},
    )


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def _loopback(text: str) -> bool:
    address = _address(text)
    return address is not None and address.is_loopback


def _networks(listed: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    found = []
    for item in listed.split(","):
        try:
            found.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            continue
    return found


def _within(text: str, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    address = _address(text)
    return address is not None and any(address in network for network in networks)
