# ruff: noqa: F811  (the `scene` fixture is imported)
"""Validly signed links of the wrong shape are refused like forged ones (never a 500), and live
email without a signing key stops `run` with one line, not a traceback."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from bot.services.delivery.signed_links import LinkError, Links
from bot.services.events.invitation_messages import RSVP_PURPOSE, read_rsvp
from tests.conftest import Cli
from tests.test_rsvp import Scene, scene  # noqa: F401  (the fixture)

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


def old_token(secret: str, purpose: str, payload: object, days: int) -> str:
    """A genuine token signed `days` ago (itsdangerous reads the signing time from the token)."""
    import time

    from itsdangerous import TimestampSigner, URLSafeTimedSerializer

    class Earlier(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - days * 86400

    serializer = URLSafeTimedSerializer(secret, salt=f"expertbot:{purpose}", signer=Earlier)
    return str(serializer.dumps(payload))


async def test_an_expired_survey_or_tasks_link_speaks_its_persons_language(scene: Scene) -> None:
    from bot.db.models import Survey, SurveyRecipient
    from bot.services.contacts import registry
    from bot.services.recommendations.reminders import TASKS_PURPOSE
    from bot.services.surveys.sending import FORM_PURPOSE

    async with scene.database.session_scope() as session:
        kadri = await registry.find(session, "kadri.tamm@valga.example")
        assert kadri is not None
        survey = Survey(slug="s", title={"et": "Tagasiside"}, send_after=0)
        session.add(survey)
        await session.flush()
        recipient = SurveyRecipient(survey_id=survey.id, contact_id=kadri.id)
        session.add(recipient)
        await session.flush()
        recipient_id, kadri_id = recipient.id, kadri.id
    secret = scene.settings.secret_key.get_secret_value()  # type: ignore[union-attr]
    site = f"http://127.0.0.1:{scene.settings.web_port}"
    form = old_token(secret, FORM_PURPOSE, {"r": recipient_id}, 200)
    tasks = old_token(secret, TASKS_PURPOSE, {"c": kadri_id}, 200)
    async with httpx.AsyncClient(headers={"accept-language": "en"}) as client:
        for path in (f"/s/{form}", f"/t/{tasks}"):
            page = await client.get(site + path)
            assert page.status_code == 410 and 'lang="et"' in page.text, path
        forged = await client.get(f"{site}/s/{form[:-3]}xyz")
        assert 'lang="en"' in forged.text  # nobody behind it: the browser's language
