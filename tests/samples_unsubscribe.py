"""Sample values for the unsubscribe pages (see tests/samples.py)."""

from __future__ import annotations

from typing import Any

_FORM = {"action": "/u/eyJjIjo3fQ.Z3x9Qg.s1gn4tur3", "confirm": "9f2c" * 16}

SAMPLES: dict[str, list[dict[str, Any]]] = {
    "pages/unsubscribe": [
        {**_FORM, "email": "kadri.tamm@valga.example", "subscribed": True},
        {**_FORM, "email": "ilze.kalnina@jelgava.example", "subscribed": False},
    ],
    "pages/unsubscribe_done": [
        {**_FORM, "email": "kadri.tamm@valga.example", "subscribed": False},
        {**_FORM, "email": "ilze.kalnina@jelgava.example", "subscribed": True},
    ],
}
