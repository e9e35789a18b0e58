"""Build the playground with its web pages: the one place that joins runtime and routes."""

from __future__ import annotations

from collections.abc import Callable

from bot.config import Settings
from bot.playground.routes import ROUTES
from bot.playground.runtime import Playground
from bot.services.clock import ShiftedClock


def playground(
    settings: Settings,
    clock: ShiftedClock | None = None,
    *,
    on_ready: Callable[[Playground], None] | None = None,
) -> Playground:
    """Return a playground serving the playground's page and API; start it with `run`."""
    clock = ShiftedClock() if clock is None else clock
    return Playground(settings, clock, on_ready=on_ready, routes=ROUTES)
