"""A person answers an invitation from the email link in a real browser (headless Chromium)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator

import pytest

from bot.sandbox.mail_server import MailServer
from tests.test_rsvp import LINK, Scene, scene  # noqa: F401  (the fixture)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    reason = "Chromium (Debian: apt-get install chromium) and playwright are needed"
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        await chromium.close()


async def test_an_estonian_expert_confirms_from_the_email_link_on_a_phone(
    scene: Scene,  # noqa: F811
    browser: object,
) -> None:
    event = await scene.event()
    await scene.invite(event, "kadri.tamm@valga.example")
    scene.service_wake()
    mail: MailServer = scene.mail  # type: ignore[attr-defined]
    (message,) = await mail.wait_for(1)
    body = message.message.get_body(("plain",))
    assert body is not None
    accept = LINK.findall(body.get_content())[0]
    context = await browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": 375, "height": 667}, locale="et-EE"
    )
    page = await context.new_page()
    await page.goto(accept)
    assert await page.get_attribute("html", "lang") == "et"
    assert "Läti ja Eesti ekspertide kohtumine Valgas" in await page.inner_text("h1")
    assert await page.inner_text(".choice") == "Osalen"
    assert await scene.status("kadri.tamm@valga.example") == "invited"  # a look answers nothing
    await page.get_by_role("button", name="Kinnita vastus").click()
    await page.wait_for_selector("[role=status]")
    assert re.search(r"Teie vastus on salvestatud: Osalen", await page.inner_text("main"))
    assert await scene.status("kadri.tamm@valga.example") == "accepted"
    await context.close()
