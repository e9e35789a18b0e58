"""The coordinator's console under /console/: sign-in by emailed link, then the whole cycle."""

from __future__ import annotations

from starlette.routing import BaseRoute

ROUTES: list[BaseRoute] = []
