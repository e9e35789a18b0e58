"""The whole cycle from the console in headless Chromium on a 375×667 phone, in live mode:
sign in from the emailed link, create an event by the form, invite, see the answers that came by
Telegram and by email, take attendance at the door with a walk-in, and the survey follows."""

# ruff: noqa: F811  (the `scene` and `browser` fixtures are imported)

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx

from bot.sandbox.mail_server import MailServer
from bot.services.surveys import registry as surveys
from bot.services.surveys.files import read_survey_file
from tests.conftest import DATA
from tests.test_browser import browser  # noqa: F401
from tests.test_console import COORDINATOR, SIGNIN, base
from tests.test_onboarding import ilze
from tests.test_rsvp import LINK, Scene, scene  # noqa: F401

KADRI = "kadri.tamm@valga.example"


async def text_of(message: Any) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


async def test_a_coordinator_runs_an_event_from_the_phone(scene: Scene, browser: Any) -> None:
    async with scene.database.session_scope() as session:
        await surveys.load_survey(
            session, read_survey_file(DATA / "surveys" / "visit-feedback.yaml")
        )
    expert = ilze(scene.emulator)
    await scene.joined(expert, "ilze.kalnina@jelgava.example")
    mail: MailServer = scene.mail  # type: ignore[attr-defined]
    context = await browser.new_context(viewport={"width": 375, "height": 667}, locale="lv-LV")
    page = await context.new_page()
    refused: list[str] = []  # what the Content-Security-Policy blocked (htmx must not need it)
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)

    # Sign in from the emailed link.
    await page.goto(f"{base(scene)}/")
    await page.fill("input[name=email]", COORDINATOR)
    await page.get_by_role("button", name="Sūtīt man pieteikšanās saiti").click()
    await page.wait_for_selector("text=pieteikšanās saite jau ir ceļā")
    scene.service_wake()
    (signin,) = await mail.wait_for_address(COORDINATOR)
    await page.goto(SIGNIN.findall(await text_of(signin))[0])
    await page.get_by_role("button", name="Pieteikties").click()
    await page.wait_for_selector("h1:has-text('Pārskats')")

    # Create the event by the form, in Latvian with an Estonian title.
    await page.goto(f"{base(scene)}/events/new")
    await page.fill("#key", "valga-2027")
    await page.select_option("#kind", "cross_border_meeting")
    await page.fill("#title_lv", "Latvijas un Igaunijas ekspertu sanāksme Valgā")
    await page.fill("#title_et", "Läti ja Eesti ekspertide kohtumine Valgas")
    await page.fill("#day", "2027-02-04")
    await page.fill("#start", "10:00")
    await page.fill("#end", "15:30")
    await page.select_option("#timezone", "Europe/Tallinn")
    await page.fill("#venue", "Valga Vallavalitsus")
    await page.fill("#survey", "visit-feedback")
    await page.uncheck("input[name=roles][value=mediator]")
    await page.get_by_role("button", name="Saglabāt").click()
    await page.wait_for_selector("h1:has-text('Latvijas un Igaunijas ekspertu sanāksme Valgā')")

    # Invite: the preview first, then send.
    await page.get_by_role("link", name="Uzaicināt").click()
    assert "Tiks uzaicināti 11 jauni dalībnieki" in await page.inner_text("main")
    await page.get_by_role("button", name="Nosūtīt uzaicinājumus").click()
    await page.wait_for_selector("text=Nosūtīšanas rindā ievietoti uzaicinājumi: 11.")

    # One expert answers by a Telegram button, another by the email link.
    scene.service_wake()
    invitation = await expert.wait_for_message(lambda m: bool(m.reply_markup))
    await expert.press(invitation, "Piedalīšos")
    await expert.wait_for(lambda: "✓ Piedalīšos" in str(invitation.reply_markup))
    (email,) = await mail.wait_for_address(KADRI)
    accept = LINK.findall(await text_of(email))[0]
    async with httpx.AsyncClient() as client:
        shown = await client.get(accept)
        confirm = re.search(r'name="confirm" value="(\w+)"', shown.text)
        assert confirm is not None
        await client.post(accept, data={"confirm": confirm.group(1)})
    # No reload: the answers table refreshes by itself (htmx, served by the console).
    for name in ("Ilze Kalniņa", "Kadri Tamm"):
        row = page.locator("#answers tr", has_text=name).filter(has_text="piedalīsies")
        await row.wait_for(timeout=15_000)
    answers = await page.inner_text("#answers table")
    assert refused == []
    assert re.search(r"Ilze Kalniņa.*piedalīsies\s+Telegram", answers)
    assert re.search(r"Kadri Tamm.*piedalīsies\s+e-pasts", answers)

    # Attendance at the door, on the phone: two taps and a walk-in.
    await page.get_by_role("link", name="Klātbūtne").click()
    await page.get_by_role("button", name=re.compile("Ilze Kalniņa")).click()
    await page.wait_for_selector("#c1 button.present, li button.present")
    await page.get_by_role("button", name=re.compile("Kadri Tamm")).click()
    await page.fill("#who", "Olga Petrova")
    await page.fill("#organisation", "Biedrība Ezerzeme")
    await page.get_by_role("button", name="Pievienot kā klātesošu").click()
    door = await page.inner_text("main")
    assert "Klātesošie: 3 no 12" in door and "Olga Petrova" in door
    assert await page.evaluate("document.documentElement.scrollWidth") <= 375

    # After the event the survey reaches the two present experts (the walk-in has no address).
    scene.clock.advance(timedelta(days=26))
    assert scene.service.ticker is not None
    await scene.service.ticker.tick()
    scene.service_wake()
    survey = await expert.wait_for_message(lambda m: "Atgriezeniskā saite" in (m.text or ""))
    assert survey is not None
    kadri_mail = await mail.wait_for_address(KADRI, 2)
    assert "Tagasiside" in str(kadri_mail[-1]["Subject"])
    await context.close()
