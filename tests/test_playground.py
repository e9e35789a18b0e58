"""The offline playground over HTTP: chats, mailboxes, the coordinator's console and time jumps."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.config import load_settings
from bot.db.models import Event, SurveyRecipient
from bot.db.session import Database
from bot.playground.app import playground
from bot.playground.runtime import BANNER, Playground
from bot.rendering import label
from bot.sandbox import ChatMessage, EmulatedUser
from bot.services import demo
from bot.services.clock import ManualClock, ShiftedClock
from bot.web.console.auth import SESSION_COOKIE as CONSOLE_COOKIE
from tests.test_onboarding import free_port

NOW = datetime(2027, 1, 11, 9, 30, tzinfo=UTC)  # a Monday, 11:30 in Riga
ILZE = "ilze.kalnina@jelgava.example"
MARGUS = "margus.kask@valga.example"
RSVP = re.compile(r'href="(http://127\.0\.0\.1:\d+/r/[^"]+)"')
CSRF = re.compile(r'name="csrf" value="(\w+)"')


@dataclass
class Running:
    play: Playground
    http: httpx.AsyncClient

    async def get(self, path: str) -> Any:
        response = await self.http.get(path)
        assert response.status_code == 200, response.text
        return response.json()

    async def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = await self.http.post(path, json=body or {})
        assert response.status_code == 200, response.text
        return response.json()

    async def person(self, email: str) -> dict[str, Any]:
        people = (await self.get("/play/api/state"))["people"]
        return next(p for p in people if p["email"] == email)

    async def user(self, email: str) -> EmulatedUser:
        return self.play.users[(await self.person(email))["id"]]

    async def accept(self, email: str, where: str = "Valg") -> ChatMessage:
        """Press Piedalīšos under the invitation to an event, as that person; return it."""
        person, user = await self.person(email), await self.user(email)
        message = await user.wait_for_message(
            lambda m: invitation(m) and where in (m.text or ""), timeout=10
        )
        await self.post(
            f"/play/api/chat/{person['id']}/press",
            {
                "message_id": message.message_id,
                "data": message.button("Piedalīšos")["callback_data"],
            },
        )
        return message

    async def console(self, path: str = "/") -> str:
        """A console page, signed in as the demo coordinator as the playground's frame is."""
        if CONSOLE_COOKIE not in self.http.cookies:
            opened = await self.http.get("/play/console")
            assert opened.status_code == 303
        page = await self.http.get(f"/console{path}")
        assert page.status_code == 200, page.text
        return page.text

    async def press_in_console(self, path: str, form: dict[str, str] | None = None) -> str:
        """Submit a console form as the coordinator; return the page it leads to."""
        token = CSRF.search(await self.console())
        assert token is not None
        done = await self.http.post(
            f"/console{path}", data={"csrf": token.group(1), **(form or {})}
        )
        assert done.status_code == 303, done.text
        return await self.console(done.headers["location"].removeprefix("/console"))

    async def answers(self, key: str) -> str:
        """The answers table on an event's page in the console."""
        page = await self.console(f"/events/{key}")
        found = re.search(r'<div id="answers".*?</table>', page, re.S)
        assert found, page
        return found.group(0)


async def start(database: Database, **settings: Any) -> tuple[Playground, asyncio.Event, Any]:
    async with database.session_scope() as session:
        if await demo.is_empty(session):
            await demo.load_demo(session, now=NOW)
    clock = ShiftedClock(ManualClock(NOW))
    play = playground(
        load_settings(database_url=database.url, web_port=free_port(), **settings), clock
    )
    stop = asyncio.Event()
    task = asyncio.create_task(play.run(stop))
    ready = asyncio.create_task(play.ready.wait())
    await asyncio.wait({task, ready}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()
    assert play.ready.is_set(), "the playground did not start in 30 s"
    return play, stop, task


@pytest.fixture
async def running(sqlite_database: Database) -> AsyncIterator[Running]:
    play, stop, task = await start(sqlite_database)
    async with httpx.AsyncClient(base_url=play.url, timeout=60) as http:
        yield Running(play, http)
    stop.set()
    await asyncio.wait_for(task, 15)


def invitation(message: ChatMessage) -> bool:
    return any(b.get("text") == "Piedalīšos" for b in message.buttons)


async def test_people_are_connected_and_the_first_event_is_invited(running: Running) -> None:
    state = await running.get("/play/api/state")
    assert state["banner"] == BANNER and "nothing leaves this machine" in state["banner"]
    ilze = await running.person(ILZE)
    assert ilze["telegram"] == "active" and ilze["language"] == "lv"
    margus = await running.person(MARGUS)
    assert margus["telegram"] == "unlinked" and margus["has_email"]
    user = await running.user(ILZE)
    await user.wait_for_message(invitation, timeout=10)
    await user.wait_for_message(lambda m: m.document is not None, timeout=10)
    chat = await running.get(f"/play/api/chat/{ilze['id']}")
    assert chat["joined"] and chat["messages"][0]["html"] == "/start"  # the token is not shown
    assert "Ilze" in chat["messages"][1]["html"]  # the greeting
    buttons = [b["text"] for m in chat["messages"] for row in m["buttons"] for b in row]
    assert {"Piedalīšos", "Nevarēšu piedalīties", "Vēl nezinu"} <= set(buttons)
    assert any(m["document"] and m["document"]["name"].endswith(".ics") for m in chat["messages"])
    assert running.play.mail is not None
    await running.play.mail.wait_for_address(MARGUS, timeout=10)
    mailbox = await running.get(f"/play/api/mail/{margus['id']}")
    (item,) = mailbox["messages"]
    assert "Valga" in item["subject"] and item["attachments"][0]["name"].endswith(".ics")
    table = await running.answers("valga-2027")
    assert "Ilze Kalniņa" in table and "Margus Kask" in table
    assert "jau ir uzaicināti" in await running.console("/events/valga-2027/invite")


async def test_will_attend_in_a_chat_shows_in_the_coordinators_console(running: Running) -> None:
    ilze = await running.person(ILZE)
    message = await (await running.user(ILZE)).wait_for_message(invitation, timeout=10)
    data = message.button("Piedalīšos")["callback_data"]
    pressed = await running.post(
        f"/play/api/chat/{ilze['id']}/press", {"message_id": message.message_id, "data": data}
    )
    assert pressed["answer"]
    table = await running.answers("valga-2027")
    assert re.search(r"Ilze Kalniņa.*?piedalīsies</td><td>Telegram", table, re.S), table
    assert "Piedalīsies: <strong>1</strong>" in table


async def test_an_rsvp_link_in_a_mailbox_opens_the_real_page(running: Running) -> None:
    margus = await running.person(MARGUS)
    assert running.play.mail is not None
    await running.play.mail.wait_for_address(MARGUS, timeout=10)
    (item,) = (await running.get(f"/play/api/mail/{margus['id']}"))["messages"]
    page = await running.http.get(item["html_url"])
    assert (
        page.status_code == 200 and "script-src 'none'" in page.headers["content-security-policy"]
    )
    links = RSVP.findall(page.text)
    assert links, page.text
    answer = await running.http.get(links[0].replace("&amp;", "&"))
    assert answer.status_code == 200 and 'lang="et"' in answer.text


async def test_a_jump_to_the_day_before_brings_the_reminder(running: Running) -> None:
    user = await running.user(ILZE)
    await running.accept(ILZE)
    state = await running.get("/play/api/state")
    ids = [j["id"] for j in state["jumps"]]
    assert "event:valga-2027:day-before" in ids and "event:valga-2027:after" in ids
    moved = await running.post("/play/api/clock", {"jump": "event:valga-2027:day-before"})
    assert moved["clock"]["shifted"] and moved["clock"]["shift_label"].startswith("+")
    reminder = await user.wait_for_message(lambda m: "Valg" in (m.text or ""), timeout=10)
    assert reminder.from_bot
    state = await running.get("/play/api/state")
    assert "event:valga-2027:day-before" not in [j["id"] for j in state["jumps"]]
    gone = await running.http.post("/play/api/clock", json={"jump": "event:valga-2027:day-before"})
    assert gone.status_code == 400 and "passed" in gone.json()["error"]


async def test_a_long_jump_walks_through_every_scheduled_moment_on_the_way(
    running: Running,
) -> None:
    user = await running.user(ILZE)
    message = await running.accept(ILZE)
    await running.press_in_console("/events/sabile-talsi-2027/invite")
    await user.wait_for_message(lambda m: "Sabil" in (m.text or ""), timeout=10)
    # Sabile/Talsi is two weeks after Valga: the jump passes the Valga meeting on its way.
    await running.post("/play/api/clock", {"jump": "event:sabile-talsi-2027:day-before"})
    texts = [m.text or "" for m in user.bot_messages]
    after_invitation = texts[texts.index(message.text or "") + 1 :]
    assert any("Valg" in t for t in after_invitation), after_invitation  # Valga's reminder
    assert any(
        b.get("text") == "Sākt aptauju" for m in user.bot_messages for b in m.buttons
    )  # and the survey after Valga, both sent at their own moments
    async with running.play.database.session_scope() as session:
        after = set(await session.scalars(select(Event.slug).join(SurveyRecipient)))
    assert after == {"valga-2027"}  # sent after the event it followed, not after Sabile yet


async def test_past_the_visit_the_survey_arrives(running: Running) -> None:
    user = await running.user(ILZE)
    assert "Tiks uzaicināt" in await running.console("/events/sabile-talsi-2027/invite")
    shown = await running.press_in_console("/events/sabile-talsi-2027/invite")
    assert re.search(r"ievietoti uzaicinājumi: [1-9]", shown)
    await running.accept(ILZE, "Sabil")
    assert running.play.mail is not None
    before = len(running.play.mail.mailbox(ILZE))
    await running.post("/play/api/clock", {"jump": "event:sabile-talsi-2027:after"})
    survey = await user.wait_for_message(
        lambda m: any(b.get("text") == "Sākt aptauju" for b in m.buttons), timeout=10
    )
    assert survey.from_bot
    mails = await running.play.mail.wait_for_address(ILZE, count=before + 1, timeout=10)
    subjects = [str(m["Subject"]) for m in mails[before:]]
    assert any("Sabil" in s and "Atgriezenisk" in s for s in subjects), subjects


async def test_a_jump_to_the_recommendation_reminders_brings_each_owner_a_digest(
    running: Running,
) -> None:
    ilze = await running.person(ILZE)
    user = await running.user(ILZE)
    state = await running.get("/play/api/state")
    assert "recs" in [j["id"] for j in state["jumps"]]
    await running.post("/play/api/clock", {"jump": "recs"})
    digest = await user.wait_for_message(
        lambda m: any(str(b.get("callback_data", "")).startswith("rec:") for b in m.buttons),
        timeout=10,
    )
    done = next(b for b in digest.buttons if str(b.get("callback_data", "")).endswith(":done"))
    pressed = await running.post(
        f"/play/api/chat/{ilze['id']}/press",
        {"message_id": digest.message_id, "data": done["callback_data"]},
    )
    assert pressed["answer"]
    board = await running.console("/recommendations")
    done_label = label("statuses", "done", "lv")
    cards = board.split('<div class="card" id="r-')[1:]
    done = [c for c in cards if f"Statuss: <strong>{done_label}</strong>" in c]
    assert any("Ilze Kalniņa" in c for c in done), done


async def test_typing_and_joining(running: Running) -> None:
    ilze = await running.person(ILZE)
    await running.post(f"/play/api/chat/{ilze['id']}/send", {"text": "/help"})
    user = await running.user(ILZE)
    await user.wait_for_message(lambda m: "/events" in (m.text or ""), timeout=10)
    margus = await running.person(MARGUS)
    assert not (await running.get(f"/play/api/chat/{margus['id']}"))["joined"]
    await running.post(f"/play/api/chat/{margus['id']}/join")
    chat = await running.get(f"/play/api/chat/{margus['id']}")
    assert chat["joined"] and "Margus" in chat["messages"][1]["html"]
    assert (await running.person(MARGUS))["telegram"] == "active"


async def test_a_telegram_link_in_a_mailbox_opens_the_sandbox_chat(running: Running) -> None:
    margus = await running.person(MARGUS)
    # The coordinator emails the links from the console's contacts (as `contacts send-links`).
    shown = await running.press_in_console("/contacts/send-links")
    assert re.search(r"ar Telegram saiti: [1-9]", shown), shown
    assert running.play.mail is not None
    await running.play.mail.wait_for_address(MARGUS, count=2, timeout=10)
    item = next(
        m
        for m in (await running.get(f"/play/api/mail/{margus['id']}"))["messages"]
        if "Telegram" in m["subject"]
    )
    page = (await running.http.get(item["html_url"])).text
    assert 'href="https://t.me/' not in page
    start = re.search(r'href="(/play/mail/\d+/start/[\w-]+)" target="_top"', page)
    assert start, page
    opened = await running.http.get(start.group(1))
    assert opened.status_code == 303
    assert opened.headers["location"] == f"/#person={margus['id']}&tab=telegram"
    chat = await running.get(f"/play/api/chat/{margus['id']}")
    assert chat["joined"] and "Margus" in chat["messages"][1]["html"]
    assert (await running.person(MARGUS))["telegram"] == "active"


async def test_the_playground_refuses_other_hosts_and_form_posts(running: Running) -> None:
    other = await running.http.get("/play/api/state", headers={"Host": "evil.example"})
    assert other.status_code == 403
    foreign = await running.http.post(
        "/play/api/clock", json={"minutes": 60}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert foreign.status_code == 403
    page = await running.http.get("/", headers={"Sec-Fetch-Site": "cross-site"})
    assert page.status_code == 200
    assert "frame-ancestors 'self'" in page.headers["content-security-policy"]
    form = await running.http.post("/play/api/clock", data={"minutes": "60"})
    assert form.status_code == 415
    ilze = await running.person(ILZE)
    empty = await running.http.post(f"/play/api/chat/{ilze['id']}/send", json={"text": " "})
    assert empty.status_code == 400 and empty.json()["error"] == "type a message first"
    back = await running.http.post("/play/api/clock", json={"minutes": -5})
    assert back.status_code == 400


async def test_chats_mailboxes_and_the_clock_come_back_after_a_restart(
    sqlite_database: Database,
) -> None:
    play, stop, task = await start(sqlite_database)
    assert play.mail is not None
    ilze = next(u for u in play.users.values() if u.user.username == "ilzek")
    invite = await ilze.wait_for_message(invitation, timeout=10)
    await play.mail.wait_for_address(MARGUS, timeout=10)
    async with httpx.AsyncClient(base_url=play.url, timeout=10) as http:
        moved = await http.post("/play/api/clock", json={"minutes": 3 * 24 * 60})
        assert moved.status_code == 200
    moment = play.clock.now()
    stop.set()
    await asyncio.wait_for(task, 15)
    shown = [m.text for m in ilze.messages]
    emails = len(play.mail.messages)
    invitation_mail = next(
        (i, r) for i, r in enumerate(play.mail.messages) if MARGUS in r.recipients
    )
    again = playground(
        load_settings(database_url=sqlite_database.url, web_port=free_port()),
        ShiftedClock(ManualClock(NOW)),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(again.run(stop))
    await asyncio.wait_for(again.ready.wait(), 30)
    assert again.clock.now() >= moment
    assert again.mail is not None and len(again.mail.messages) == emails
    back = next(u for u in again.users.values() if u.user.username == "ilzek")
    assert [m.text for m in back.messages] == shown  # nothing new was sent either
    async with httpx.AsyncClient(base_url=again.url, timeout=10) as http:
        page = await http.get(f"/play/mail/{invitation_mail[0]}")
        link = RSVP.findall(page.text)[0].replace("&amp;", "&")
        answer = await http.get(link.replace(play.url, again.url))
    assert answer.status_code == 200 and "Osalen" in answer.text  # the old link still works
    await back.press(invite.message_id, "Piedalīšos")  # a restored button still works
    await back.wait_for(lambda: "✓" in str(back.chat.find(invite.message_id).reply_markup))
    stop.set()
    await asyncio.wait_for(task, 15)


async def test_the_coordinators_column_is_the_console_signed_in_as_the_demo_coordinator(
    running: Running,
) -> None:
    page = (await running.http.get("/")).text
    assert re.search(r'<iframe id="console-frame"[^>]* src="/play/console"', page), page
    for gone in ("/play/api/coordinator", "/play/api/send-links"):  # one code path: the console
        assert (await running.http.get(gone)).status_code == 404
    opened = await running.http.get("/play/console")
    assert opened.status_code == 303 and opened.headers["location"] == "/console/"
    home = await running.http.get("/console/")
    assert home.status_code == 200 and "Sandra Jansone" in home.text
    assert "Pārskats" in home.text and "Valgā" in home.text  # the demo network's first event
    elsewhere = await running.http.get("/play/console", headers={"sec-fetch-site": "cross-site"})
    assert elsewhere.status_code == 403
