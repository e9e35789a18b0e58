"""In-process delivery counters, read by /metrics (bot/web/metrics.py).

Plain Python on purpose: services know nothing of Prometheus; the web layer turns these
into counters and gauges when it is scraped. One instance per process (`STATS`).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class DeliveryStats:
    """What this process has sent since it started, by channel and outcome."""

    # (channel, outcome) -> count; outcomes are SendResult outcomes ("sent", "retry",
    # "rate_limited", "unreachable", "misconfigured", "rejected") plus "skipped".
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)
    # Telegram answered 429 Too Many Requests (also counted in outcomes as rate_limited).
    rate_limited: int = 0
    # The scheduler's last tick: seconds it took and when it ended, by job name.
    tick_seconds: dict[str, float] = field(default_factory=dict)
    tick_total: Counter[str] = field(default_factory=Counter)
    last_sent_at: dict[str, datetime] = field(default_factory=dict)
    last_outcome: dict[str, str] = field(default_factory=dict)  # for /healthz
    tick_ended: dict[str, float] = field(default_factory=dict)  # time.monotonic(), by job

    def record(self, channel: str, outcome: str, *, at: datetime | None = None) -> None:
        self.outcomes[(channel, outcome)] += 1
        self.last_outcome[channel] = outcome
        if outcome == "rate_limited":
            self.rate_limited += 1
        if outcome == "sent" and at is not None:
            self.last_sent_at[channel] = at

    def tick(self, job: str, seconds: float) -> None:
        self.tick_seconds[job] = seconds
        self.tick_total[job] += 1
        self.tick_ended[job] = time.monotonic()

    def reset(self) -> None:
        self.outcomes.clear()
        self.rate_limited = 0
        self.tick_seconds.clear()
        self.tick_total.clear()
        self.last_sent_at.clear()
        self.last_outcome.clear()
        self.tick_ended.clear()


STATS = DeliveryStats()
