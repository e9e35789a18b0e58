"""Sample values for the console's pages and its sign-in message (see tests/samples.py)."""

from __future__ import annotations

from typing import Any

SAMPLES: dict[str, list[dict[str, Any]]] = {}
