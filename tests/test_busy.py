"""A database another process holds locked (issue 17, item 6): pages answer a polite 503 in the
visitor's language, never a raw 500, and a Telegram update is handled again, not lost.

Another connection holds SQLite's write lock (BEGIN IMMEDIATE) while the service, with a
short busy timeout, works against the same file.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy import select

from bot.db.models import Contact
from bot.db.session import Database
from bot.sandbox.mail_server import MailServer
from bot.web.app import build_web
from tests.test_onboarding import ilze
from tests.test_rsvp import LINK, Scene, running
from tests.test_startup_retry import Gate

BUSY_MS = 200


@asynccontextmanager
async def write_lock(url: str) -> AsyncIterator[sqlite3.Connection]:
    """Hold the database's write lock from a connection of another "process".

    Taken from a thread: the service runs on this event loop, and a writer of its own may be
    halfway through a transaction; blocking the loop while waiting would keep it there.
    """
    holder = sqlite3.connect(
        url.removeprefix("sqlite:///"), isolation_level=None, timeout=30, check_same_thread=False
    )
    try:
        await asyncio.to_thread(holder.execute, "BEGIN IMMEDIATE")
        yield holder
        holder.execute("ROLLBACK")
    finally:
        holder.close()


@pytest.fixture
async def scene(sqlite_database: Database) -> AsyncIterator[Scene]:
    key = "busy-signing-key-for-tests-0123456789"
    async with running(sqlite_database, key, Scene, busy_timeout_ms=BUSY_MS) as net:
        net.gate = Gate()  # type: ignore[attr-defined]
        net.service.busy_pause = net.gate.sleep  # type: ignore[attr-defined]
        await net.start()
        yield net
        net.gate.opened.set()  # type: ignore[attr-defined]
        await net.close()


async def test_an_answer_sent_while_the_database_is_locked_gets_a_polite_503_page(
    scene: Scene, caplog: pytest.LogCaptureFixture
) -> None:
    event = await scene.event()
    await scene.invite(event, "kadri.tamm@valga.example")
    scene.service_wake()
    mail: MailServer = scene.mail  # type: ignore[attr-defined]
    (message,) = await mail.wait_for(1)
    body = message.message.get_body(("plain",))
    assert body is not None
    accept = LINK.findall(body.get_content())[0]
    estonian = {"Accept-Language": "et-EE,et;q=0.9"}
    async with httpx.AsyncClient(headers=estonian) as client:
        shown = await client.get(accept)
        confirm = re.search(r'name="confirm" value="(\w+)"', shown.text)
        assert confirm is not None
        async with write_lock(scene.database.url):
            with caplog.at_level(logging.WARNING):
                busy = await client.post(accept, data={"confirm": confirm.group(1)})
        assert busy.status_code == 503 and busy.headers["retry-after"] == "5"
        assert "Palun oodake hetk" in busy.text and "proovige hetke pärast uuesti" in busy.text
        assert "Teie vastust pole veel salvestatud" in busy.text
        assert "Traceback" not in busy.text and "OperationalError" not in busy.text
        assert busy.headers["content-security-policy"]  # still a page of ours
        assert await scene.status("kadri.tamm@valga.example") == "invited"
        assert "a page answered 503" in caplog.text and "/r/" not in caplog.text
        done = await client.post(accept, data={"confirm": confirm.group(1)})
    assert done.status_code == 200 and "Teie vastus on salvestatud" in done.text
    assert await scene.status("kadri.tamm@valga.example") == "accepted"


async def test_a_button_pressed_while_the_database_is_locked_is_handled_once_it_is_free(
    scene: Scene, caplog: pytest.LogCaptureFixture
) -> None:
    user = ilze(scene.emulator)
    await scene.joined(user, "ilze.kalnina@jelgava.example")
    await user.send("/language")
    offer = await user.wait_for_message(lambda m: bool(m.reply_markup))
    gate: Gate = scene.gate  # type: ignore[attr-defined]
    async with write_lock(scene.database.url):
        with caplog.at_level(logging.WARNING):
            await user.press(offer, "lang:et")
            await gate.waiting.wait()  # the handler met the lock and waits to try again
            assert await language_of(scene.database, "ilze.kalnina@jelgava.example") == "lv"
    gate.opened.set()  # the lock is gone: the same update is handled again
    await user.wait_for(lambda: offer.edit_date is not None)
    assert gate.asked == [0.5]
    [line] = [r.getMessage() for r in caplog.records if "database was busy" in r.getMessage()]
    assert re.fullmatch(
        r"the database was busy for update \d+ \(try 1\); trying again in 0.5 s", line
    )
    assert "handling an update failed" not in caplog.text
    assert await language_of(scene.database, "ilze.kalnina@jelgava.example") == "et"


async def language_of(database: Database, email: str) -> str | None:
    async with database.read_scope() as session:  # reads need no lock (WAL)
        return await session.scalar(select(Contact.language).where(Contact.email == email))


async def test_a_page_without_page_templates_still_answers_503_not_500(
    sqlite_database: Database,
) -> None:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    locked = Database(sqlite_database.url, busy_timeout_ms=BUSY_MS)

    async def writes(request: Request) -> Response:
        async with locked.session_scope() as session:
            await session.execute(select(Contact.id).limit(1))
        return Response("written")

    app = build_web(extra=[Route("/write", writes)])
    transport = httpx.ASGITransport(app=app)
    try:
        client = httpx.AsyncClient(transport=transport, base_url="http://web.test")
        async with client, write_lock(sqlite_database.url):
            answer = await client.get("/write")
    finally:
        await locked.dispose()
    assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
