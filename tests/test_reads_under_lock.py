"""Pages and replies that only show something answer while another process writes (issue 17,
item 6): they read without taking SQLite's write lock (WAL), while what records an answer still
meets the lock and gets the polite "try again in a moment" page.

Another connection holds the write lock with an uncommitted insert (BEGIN IMMEDIATE), as a long
import in another process does, while the service works against the same file with a short
busy timeout.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from bot.db.models import ConsoleSession, Event
from bot.db.session import Database
from bot.sandbox.mail_server import MailServer
from tests.test_console import base, csrf_of, signed_in
from tests.test_onboarding import ilze
from tests.test_recs_followup import PAGE, TEXT, FollowUp
from tests.test_rsvp import LINK, Scene, running
from tests.test_survey_form import FORM
from tests.test_survey_telegram import Answering, make_survey

BUSY_MS = 200
UNSUBSCRIBE = re.compile(r"https?://\S+/u/[\w.\-]+")
ESTONIAN = {"Accept-Language": "et-EE,et;q=0.9"}


class Reading(Scene, Answering, FollowUp):
    """The service with events, surveys, recommendations and the console, over a database
    another process locks."""


@asynccontextmanager
async def import_running(url: str) -> AsyncIterator[None]:
    """Hold the write lock with an uncommitted row, as an import in another process does."""
    holder = sqlite3.connect(
        url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False
    )

    def begin() -> None:
        holder.execute("BEGIN IMMEDIATE")
        holder.execute(
            "INSERT INTO audit_log (at, action, subject) "
            "VALUES ('2027-01-10 09:00:00', 'import', 'contacts')"
        )

    try:
        # In a thread: the service may be in the middle of a write it must be able to finish.
        await asyncio.to_thread(begin)
        yield
        holder.execute("ROLLBACK")
    finally:
        holder.close()


@pytest.fixture
async def scene(sqlite_database: Database) -> AsyncIterator[Reading]:
    key = "reads-signing-key-for-tests-0123456789"
    async with running(sqlite_database, key, Reading, busy_timeout_ms=BUSY_MS) as net:
        await net.start()
        yield net
        await net.close()


async def mailed_links(scene: Reading, email: str) -> tuple[str, str, str]:
    """The invitation's accept link, the survey form's link and the "stop messages" link."""
    event = await scene.event()
    await scene.invite(event, email)
    await scene.send_survey(await make_survey(scene.database), email)
    mail: MailServer = scene.mail  # type: ignore[attr-defined]
    delivered = await mail.wait_for_address(email, 2)
    texts = []
    for message in delivered:
        body = message.get_body(("plain",))
        assert body is not None
        texts.append(body.get_content())
    (accept, *_) = [link for text in texts for link in LINK.findall(text)]
    (form,) = [link for text in texts for link in FORM.findall(text)]
    stop = UNSUBSCRIBE.findall(texts[0])[0]
    return accept, form, stop


async def test_an_invitation_page_a_survey_form_and_the_stop_page_answer_during_an_import(
    scene: Reading, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    accept, form, stop = await mailed_links(scene, "kadri.tamm@valga.example")
    async with httpx.AsyncClient(headers=ESTONIAN, timeout=10) as client:
        async with import_running(scene.database.url):
            invitation = await client.get(accept)
            survey = await client.get(form)
            unsubscribe = await client.get(stop)
            busy = await client.post(accept, data={"confirm": confirm_of(invitation)})
        assert invitation.status_code == 200, invitation.text
        assert "Läti ja Eesti ekspertide kohtumine Valgas" in invitation.text
        assert 'name="confirm"' in invitation.text and "Osalen" in invitation.text
        assert survey.status_code == 200, survey.text
        assert ">1. Cik noderīga bija vizīte?</legend>" in survey.text
        assert unsubscribe.status_code == 200 and 'name="confirm"' in unsubscribe.text
        # Recording an answer needs the lock: the polite page, and nothing recorded yet.
        assert busy.status_code == 503 and busy.headers["retry-after"] == "5"
        assert "Teie vastust pole veel salvestatud" in busy.text
        assert await scene.status("kadri.tamm@valga.example") == "invited"
        assert caplog.text.count("a page answered 503") == 1  # the POST, none of the GETs
        done = await client.post(accept, data={"confirm": confirm_of(invitation)})
    assert done.status_code == 200 and "Teie vastus on salvestatud" in done.text
    assert await scene.status("kadri.tamm@valga.example") == "accepted"
    assert await scene.answers() == {}  # looking at the form stored no response


async def test_the_console_overview_answers_during_an_import_and_the_visit_is_marked_after(
    scene: Reading, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    await scene.event()
    async with httpx.AsyncClient(timeout=10) as client:
        await signed_in(scene, client)
        signed_at = await seen_at(scene.database)
        async with import_running(scene.database.url):
            home = await client.get(f"{base(scene)}/")
            assert home.status_code == 200, home.text
            assert "Latvijas un Igaunijas ekspertu sanāksme Valgā" in home.text
            # Minutes later the visit is to be marked as activity: the page does not wait for it.
            scene.clock.advance(timedelta(minutes=5))
            later = await client.get(f"{base(scene)}/")
            assert later.status_code == 200 and "Pārskats" in later.text
            assert await seen_at(scene.database) == signed_at
            events = await client.get(f"{base(scene)}/events/valga-2027")
            assert events.status_code == 200 and "Valgā" in events.text
            switched = await client.post(
                f"{base(scene)}/language", data={"csrf": csrf_of(home), "language": "et"}
            )
            assert switched.status_code == 503 and "Mirkli, lūdzu" in switched.text
        assert "a console session's last visit is marked later" in caplog.text
        assert (await client.get(f"{base(scene)}/")).status_code == 200
    assert await seen_at(scene.database) == signed_at + timedelta(minutes=5)


async def test_the_page_of_ones_recommendations_answers_during_an_import(scene: Reading) -> None:
    await scene.rec("valga-2020-mediators", ["liga.saulite@jelgava.example"], "monthly", None)
    scene.clock.set(datetime(2027, 2, 1, 7, 0, tzinfo=UTC))  # 1 February 09:00 in Riga
    await scene.tick()  # queues the digest, unless the service's own first scan just did
    mail: MailServer = scene.mail  # type: ignore[attr-defined]
    (digest,) = await mail.wait_for_address("liga.saulite@jelgava.example")
    body = digest.get_body(("plain",))
    assert body is not None
    page_url = PAGE.findall(body.get_content())[0]
    async with httpx.AsyncClient(timeout=10) as client:
        async with import_running(scene.database.url):
            page = await client.get(page_url)
            saving = await client.post(page_url, data={"confirm": confirm_of(page)})
        assert page.status_code == 200 and TEXT["lv"] in page.text
        assert saving.status_code == 503  # saving needs the lock
        assert (await client.post(page_url, data={"confirm": confirm_of(page)})).status_code == 200


async def test_a_telegram_reply_that_only_reads_comes_during_an_import(scene: Reading) -> None:
    user = ilze(scene.emulator)
    await scene.joined(user, "ilze.kalnina@jelgava.example")
    async with scene.database.session_scope() as session:
        event = await session.get(Event, await scene.event())
        assert event is not None
    await scene.invite(event.id, "ilze.kalnina@jelgava.example")
    scene.service_wake()
    await user.wait_for_message(lambda m: bool(m.reply_markup))
    async with import_running(scene.database.url):
        await user.send("/events")
        shown = await user.wait_for_message(lambda m: "Mani pasākumi" in (m.text or ""))
    assert "Latvijas un Igaunijas ekspertu sanāksme Valgā" in (shown.text or "")
    assert "Mana atbilde: vēl nav atbildes" in (shown.text or "")


async def seen_at(database: Database) -> object:
    async with database.read_scope() as session:
        return await session.scalar(select(ConsoleSession.seen_at))


def confirm_of(page: httpx.Response) -> str:
    found = re.search(r'name="confirm" value="(\w+)"', page.text)
    assert found is not None, page.text
    return found.group(1)
