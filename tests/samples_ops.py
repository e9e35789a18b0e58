"""Sample values for the set-up check's test mail, `expertbot doctor --send-test` (see
tests/samples.py)."""

from __future__ import annotations

from typing import Any

SAMPLES: dict[str, list[dict[str, Any]]] = {
    "test_mail": [
        {"contact_name": "Sandra Jansone", "public_url": "https://ekspertu-tikls.km.example.lv"},
        {"contact_name": "kadri.tamm@valga.example", "public_url": "https://expertbot.example.ee"},
    ],
    "pages/busy": [{"sending": False}, {"sending": True}],  # a busy database (bot/web/app.py)
}
