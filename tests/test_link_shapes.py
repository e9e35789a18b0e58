"""Validly signed links of the wrong shape are refused like forged ones (never a 500), and live
email without a signing key stops `run` with one line, not a traceback."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.services.delivery.signed_links import LinkError, Links
from bot.services.events.invitation_messages import RSVP_PURPOSE, read_rsvp
from tests.conftest import Cli

KEY = "k" * 48
NOW = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "payload",
    [
        {"i": "x", "a": "yes", "x": 1e12},
        {"i": True, "a": "yes", "x": 1e12},
        {"i": 1, "a": ["yes"], "x": 1e12},
        {"i": 1, "a": "yes", "x": "tomorrow"},
        {"i": -1, "a": "yes", "x": 1e12},
        ["i", 1],
        "yes",
    ],
)
def test_a_signed_rsvp_link_of_another_shape_is_invalid(payload: object) -> None:
    links = Links(KEY, "https://tikls.km.example")
    with pytest.raises(LinkError, match="invalid"):
        read_rsvp(links, links.token(RSVP_PURPOSE, payload), NOW)


def test_a_well_formed_rsvp_link_still_reads() -> None:
    links = Links(KEY, "https://tikls.km.example")
    token = links.token(RSVP_PURPOSE, {"i": 7, "a": "maybe", "x": NOW.timestamp() + 60})
    assert read_rsvp(links, token, NOW) == (7, "maybe")


def test_live_email_without_a_signing_key_stops_run_with_one_line(cli: Cli) -> None:
    refused = cli("run", EXPERTBOT_SMTP_HOST="127.0.0.1", EXPERTBOT_SMTP_PORT="1")
    assert refused.exit_code == 1
    assert "EXPERTBOT_SECRET_KEY" in refused.output and "Traceback" not in refused.output
