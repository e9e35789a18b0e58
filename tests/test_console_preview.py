# ruff: noqa: F811  (the `scene` fixture is imported from tests.test_rsvp)
"""The console's survey preview: the invitation on Telegram and by email and the questions, from
the templates the dispatcher and the bot use, in the language chosen."""

from __future__ import annotations

import re

import httpx

from bot.rendering import label
from bot.services.surveys import registry as surveys
from bot.services.surveys.files import read_survey_file
from tests.conftest import DATA
from tests.test_console import base, signed_in
from tests.test_rsvp import Scene, scene  # noqa: F401  (the fixture)


async def test_a_survey_is_previewed_as_an_expert_gets_it_in_each_language(scene: Scene) -> None:
    async with scene.database.session_scope() as session:
        await surveys.load_survey(
            session, read_survey_file(DATA / "surveys" / "visit-feedback.yaml")
        )
    preview = f"{base(scene)}/surveys/visit-feedback/preview"
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"{preview}?language=et")).status_code == 303  # no session
        await signed_in(scene, client)
        results = await client.get(f"{base(scene)}/surveys/visit-feedback")
        assert "/console/surveys/visit-feedback/preview?language=lv" in results.text

        estonian = await client.get(f"{preview}?language=et")
        assert estonian.status_code == 200
        page = estonian.text
        assert "Kuidas ekspert küsitluse saab" not in page  # the console speaks Latvian
        assert "Kā eksperts saņem aptauju" in page
        chat = page.split('id="telegram"', 1)[1].split("</div>\n<h2>", 1)[0]
        assert "<b>Tagasiside õppevisiidi kohta</b>" in chat  # outbound/survey_invitation
        assert "Sandra Jansone" in chat and "Alustamiseks vajutage nuppu." in chat
        assert f"<span>{label('buttons', 'start_survey', 'et')}</span>" in chat
        assert "<i>1/" in chat and "Kui kasulik oli see visiit teie töö jaoks?" in chat
        assert "<span>1</span><span>2</span><span>3</span><span>4</span><span>5</span>" in chat
        assert "<span>Asutuste külastused</span>" in chat  # a choice's own button
        assert "Cik noderīga" not in chat
        subject = re.search(r'<strong id="subject">([^<]+)</strong>', page)
        assert subject is not None and "Tagasiside" in subject.group(1)

        email = await client.get(f"{preview}/email?language=et")
        assert email.status_code == 200 and "sandbox" in email.headers["content-security-policy"]
        assert "Sandra Jansone" in email.text and "Tagasiside õppevisiidi kohta" in email.text
        assert "/console/surveys/visit-feedback/preview/form?language=et" in email.text

        form = await client.get(f"{preview}/form?language=et")
        assert form.status_code == 200 and "sandbox" in form.headers["content-security-policy"]
        assert 'lang="et"' in form.text and "Mis oli kõige kasulikum?" in form.text

        latvian = await client.get(f"{preview}?language=lv")
        assert "Cik noderīga jūsu darbam bija šī vizīte?" in latvian.text
        assert "Nospiediet pogu, lai sāktu." in latvian.text
        missing = await client.get(f"{base(scene)}/surveys/no-such-survey/preview")
        assert missing.status_code == 303
