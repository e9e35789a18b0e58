"""The playground in headless Chromium: answer in a chat, then from a mailbox, and watch the
answers arrive in the coordinator's console beside them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.db.session import Database
from bot.playground.runtime import Playground
from tests.test_browser import browser  # noqa: F401  (the fixture)
from tests.test_playground import ILZE, MARGUS, invitation, start


@pytest.fixture
async def playground(sqlite_database: Database) -> AsyncIterator[Playground]:
    play, stop, task = await start(sqlite_database)
    assert play.mail is not None
    # The first event's invitations are out before the visitor looks.
    ilze = next(u for u in play.users.values() if u.user.username == "ilzek")
    await ilze.wait_for_message(invitation, timeout=10)
    await play.mail.wait_for_address(MARGUS, timeout=10)
    yield play
    stop.set()
    await asyncio.wait_for(task, 15)


async def test_will_attend_in_a_latvian_chat_then_the_rsvp_link_in_an_estonian_mailbox(
    playground: Playground,
    browser: Any,  # noqa: F811
) -> None:
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    page = await context.new_page()
    await page.goto(f"{playground.url}/")
    assert "nothing leaves this machine" in await page.inner_text("#sandbox-banner")

    # A Latvian expert presses Piedalīšos (Will attend) under the Valga invitation.
    await page.click(f'[data-person="{ILZE}"]')
    await page.click('[data-tab="telegram"]')
    invite = page.locator(".tg-message.from-bot", has=page.locator("button.tg-button"))
    await invite.filter(has_text="Valg").last.get_by_role("button", name="Piedalīšos").click()
    # The coordinator's column is the console itself, signed in as the demo coordinator.
    console = page.frame_locator("iframe#console-frame")
    await console.locator("h1", has_text="Pārskats").wait_for(timeout=10_000)
    assert "Sandra Jansone" in await console.locator("header").inner_text()
    valga = "Latvijas un Igaunijas ekspertu sanāksme par romu integrāciju Valgā"
    await console.get_by_role("link", name=valga).click()
    answers = console.locator("#answers")
    ilze = answers.locator("tr", has_text="Ilze Kalniņa").filter(has_text="piedalīsies")
    await ilze.wait_for(timeout=15_000)  # the table refreshes by itself
    assert "Telegram" in await ilze.inner_text()

    # An Estonian expert opens the invitation email and follows its RSVP link.
    await page.click(f'[data-person="{MARGUS}"]')
    await page.click('[data-tab="email"]')
    await page.locator(".mail-item", has_text="Valga").first.click()
    mail = page.frame_locator("iframe#mail-frame")
    await mail.get_by_role("link", name="Osalen").first.click()
    await mail.get_by_role("button", name="Kinnita vastus").click()
    await mail.locator("[role=status]").wait_for(timeout=10_000)
    assert "Osalen" in await mail.locator("main").inner_text()
    margus = answers.locator("tr", has_text="Margus Kask").filter(has_text="piedalīsies")
    await margus.wait_for(timeout=15_000)
    assert "e-pasts" in await margus.inner_text()
    assert "Piedalīsies: 2" in await answers.locator("p").first.inner_text()
    await context.close()
