"""The survey's web form behind an email link: validation, editing, anonymity, a real browser."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select

from bot.db.models import SurveyRecipient, SurveyResponse
from bot.db.session import Database
from bot.sandbox import TelegramEmulator
from bot.sandbox.mail_server import MailServer
from bot.services.contacts import registry
from bot.services.contacts.rows import parse_rows, read_table
from tests.conftest import DATA
from tests.test_browser import browser  # noqa: F401  (the fixture)
from tests.test_survey_telegram import Answering, make_survey

FORM = re.compile(r"https?://\S+/s/[\w.\-]+")


class Mailed(Answering):
    async def form_link(self, email: str, anonymous: bool = False) -> str:
        survey = await make_survey(self.database, anonymous)
        await self.send_survey(survey, email)
        mail: MailServer = self.mail  # type: ignore[attr-defined]
        await mail.wait_for(1)
        (message,) = mail.mailbox(email)
        body = message.get_body(("plain",))
        assert body is not None
        return FORM.findall(body.get_content())[0]


@pytest.fixture
async def net(sqlite_database: Database) -> AsyncIterator[Mailed]:
    async with sqlite_database.session_scope() as session:
        rows = parse_rows(read_table(DATA / "contacts.csv")).rows
        await registry.apply_import(session, await registry.plan_import(session, rows))
    async with TelegramEmulator() as emulator, MailServer() as mail:
        network = Mailed(
            sqlite_database,
            emulator,
            secret_key="survey-form-secret-1-0123456789abcdef",
            smtp_host="127.0.0.1",
            smtp_port=mail.port,
            smtp_security="none",
        )
        network.mail = mail  # type: ignore[attr-defined]
        network.settings = network.settings.model_copy(
            update={"public_url": f"http://127.0.0.1:{network.settings.web_port}"}
        )
        network.service.settings = network.settings
        await network.start()
        yield network
        await network.close()


def confirm(page: str) -> str:
    found = re.search(r'name="confirm" value="(\w+)"', page)
    assert found is not None
    return found.group(1)


async def test_invalid_input_is_shown_at_the_field_and_what_was_typed_stays(net: Mailed) -> None:
    link = await net.form_link("kadri.tamm@valga.example")
    async with httpx.AsyncClient() as client:
        page = await client.get(link)
        assert page.status_code == 200 and 'lang="et"' in page.text
        assert ">1. Cik noderīga bija vizīte?</legend>" in page.text
        sent = await client.post(
            link,
            data={
                "confirm": confirm(page.text),
                "useful": "4",
                "topics": ["education"],
                "next_time": "x" * 41,
            },
        )
    assert sent.status_code == 422
    assert 'id="e-need_mediator"' in sent.text and "Palun vastake sellele küsimusele." in sent.text
    assert "kõige rohkem 40 märki" in sent.text
    assert 'value="4" checked' in sent.text and 'value="education" checked' in sent.text
    assert "x" * 41 in sent.text
    assert await net.answers() == {}


async def test_a_named_response_can_be_edited_until_the_survey_closes(net: Mailed) -> None:
    link = await net.form_link("kadri.tamm@valga.example")
    async with httpx.AsyncClient() as client:
        page = await client.get(link)
        done = await client.post(
            link, data={"confirm": confirm(page.text), "useful": "3", "need_mediator": "no"}
        )
        assert done.status_code == 200 and "Teie vastused on salvestatud" in done.text
        again = await client.get(link)
        assert 'value="3" checked' in again.text and "Salvesta muudatused" in again.text
        await client.post(
            link, data={"confirm": confirm(again.text), "useful": "5", "need_mediator": "no"}
        )
    assert await net.answers() == {"useful": 5, "need_mediator": "no"}
    async with net.database.session_scope() as session:
        assert len(list(await session.scalars(select(SurveyResponse)))) == 1


async def test_an_anonymous_form_stores_no_link_and_stops_a_second_submission(
    net: Mailed,
) -> None:
    link = await net.form_link("kadri.tamm@valga.example", anonymous=True)
    async with httpx.AsyncClient() as client:
        page = await client.get(link)
        fields = {"confirm": confirm(page.text), "useful": "2", "need_mediator": "yes"}
        assert (await client.post(link, data=fields)).status_code == 200
        second = await client.post(link, data=fields)
        assert second.status_code == 409 and "juba vastanud" in second.text
    async with net.database.session_scope() as session:
        response = await session.scalar(select(SurveyResponse))
        recipient = await session.scalar(select(SurveyRecipient))
        assert response is not None and recipient is not None
        assert response.contact_id is None and response.respondent_key is None
        assert recipient.finished_at is not None


async def test_a_forged_form_is_refused(net: Mailed) -> None:
    link = await net.form_link("kadri.tamm@valga.example")
    async with httpx.AsyncClient() as client:
        forged = await client.post(link, data={"confirm": "0" * 64, "useful": "1"})
    assert forged.status_code == 403 and await net.answers() == {}


async def test_a_browser_fills_the_form_from_the_email_link(
    net: Mailed,
    browser: object,  # noqa: F811
) -> None:
    link = await net.form_link("kadri.tamm@valga.example")
    context = await browser.new_context(viewport={"width": 375, "height": 667})  # type: ignore[attr-defined]
    page = await context.new_page()
    await page.goto(link)
    await page.get_by_label("4", exact=True).check()
    await page.get_by_role("button", name="Saada vastused").click()
    await page.wait_for_selector("[role=alert]")
    assert "Palun vastake sellele küsimusele." in await page.inner_text("#q-need_mediator")
    assert await page.get_by_label("4", exact=True).is_checked()
    await page.get_by_label("Jah").check()
    await page.get_by_label("Ko ieteiktu?").fill("Rohkem aega aruteluks")
    await page.get_by_role("button", name="Saada vastused").click()
    await page.wait_for_selector("[role=status]")
    assert "Aitäh! Teie vastused on salvestatud." in await page.inner_text("main")
    await context.close()
    assert await net.answers() == {
        "useful": 4,
        "need_mediator": "yes",
        "next_time": "Rohkem aega aruteluks",
    }


async def test_a_rating_scale_on_the_form_says_what_its_ends_mean(net: Mailed) -> None:
    link = await net.form_link("kadri.tamm@valga.example")
    async with httpx.AsyncClient() as client:
        page = await client.get(link)
    assert '<p id="h-useful" class="hint">1 — väga halb, 5 — väga hea</p>' in page.text
    assert 'aria-describedby="h-useful" value="1"' in page.text
