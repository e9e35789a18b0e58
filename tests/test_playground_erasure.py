"""An erased person vanishes from a running playground: its phones, mailboxes and saved chats."""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from bot.db.session import Database
from bot.playground.runtime import USER_ID_BASE
from bot.sandbox import ChatMessage, EmulatedUser
from bot.services import marks
from bot.services.contacts.erasure import Traces, forget_in_snapshot
from tests.test_playground import ILZE, Running, start

# Everything that names Ilze Kalniņa (bot/demo/contacts.csv), as texts show it.
TRACES = ("Ilze Kalniņa", "Kalniņa", "Kalnina", ILZE, "+371 20000001", "37120000001", "ilzek")
SANDRA = "sandra.jansone@km.example"  # the coordinator
ILZE_USER = USER_ID_BASE + 1  # her emulated Telegram id: she is the demo's first contact


@dataclass
class Stoppable(Running):
    stop: asyncio.Event
    task: asyncio.Task[None]

    async def stopped(self) -> None:
        """Stop the playground as Ctrl+C does: it saves what its phones and mailboxes show."""
        self.stop.set()
        await asyncio.wait_for(self.task, 15)


@asynccontextmanager
async def playground_on(database: Database) -> AsyncIterator[Stoppable]:
    """A running playground on `database` (the demo network, loaded if it is empty)."""
    play, stop, task = await start(database)
    try:
        async with httpx.AsyncClient(base_url=play.url, timeout=60) as http:
            yield Stoppable(play, http, stop, task)
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


async def eventually(check: Callable[[], Any], timeout: float = 10) -> None:
    """Wait until `check()` (maybe a coroutine) is true: the bot works in its own tasks."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not true within {timeout} s: {check}")
        await asyncio.sleep(0.05)


def named(text: str, *, by_id: bool = True) -> list[str]:
    """The traces of Ilze found in `text` (case-insensitive); `by_id`: her Telegram id too."""
    found = [t for t in TRACES if t.lower() in text.lower()]
    return found + ([str(ILZE_USER)] if by_id and str(ILZE_USER) in text else [])


def decoded(snapshot: dict[str, Any]) -> str:
    """The saved chats, and each saved email as its reader sees it (headers and texts)."""
    words = [json.dumps(snapshot.get("chats"), ensure_ascii=False)]
    for saved in snapshot.get("mail") or ():
        words.append(" ".join(saved["recipients"]))
        raw = base64.b64decode(saved["raw"])
        message = email.message_from_bytes(raw, policy=email.policy.default)
        words += [f"{k}: {v}" for k, v in message.items()]
        words += [
            str(p.get_content()) for p in message.walk() if p.get_content_maintype() == "text"
        ]
    return "\n".join(words)


async def shown(http: httpx.AsyncClient) -> str:
    """Everything the playground's page can show: people, every chat, mailbox and email."""
    state = (await http.get("/play/api/state")).json()
    parts = [json.dumps(state, ensure_ascii=False)]
    for person in state["people"]:
        for path in (f"/play/api/chat/{person['id']}", f"/play/api/mail/{person['id']}"):
            parts.append(json.dumps((await http.get(path)).json(), ensure_ascii=False))
    index = 0
    while (page := await http.get(f"/play/mail/{index}")).status_code == 200:
        parts.append(page.text)
        index += 1
    return "\n".join(parts)


async def saved(database: Database) -> str:
    async with database.session_scope() as session:
        stored = await marks.sandbox_snapshot(session)
    assert stored is not None
    return decoded(stored)


async def ilze_in_her_chat_and_mailbox(
    running: Running,
) -> tuple[int, EmulatedUser, ChatMessage, int]:
    """Ilze answers the invitation and asks what is stored about her, so both show her data.

    Returns her contact id, her phone, the bot's /privacy message and the id of the digest
    that names her in the coordinator's chat.
    """
    ilze, user = await running.person(ILZE), await running.user(ILZE)
    assert user.id == ILZE_USER
    await running.accept(ILZE)
    await running.post(f"/play/api/chat/{ilze['id']}/send", {"text": "/privacy"})
    privacy = await user.wait_for_message(lambda m: "20000001" in (m.text or ""), timeout=10)
    # The next morning the coordinator's digest names her, in Sandra's chat and mailbox.
    await running.post("/play/api/clock", {"minutes": 21 * 60})
    sandra = await running.user(SANDRA)
    digest = await sandra.wait_for_message(lambda m: "Ilze Kalniņa" in (m.text or ""), timeout=10)
    assert running.play.mail is not None
    await running.play.mail.wait_for_address(ILZE, timeout=10)
    await running.play.save()
    assert named(await shown(running.http)) and named(await saved(running.play.database))
    return ilze["id"], user, privacy, digest.message_id


async def nothing_of_ilze_after_a_restart(
    running: Stoppable, database: Database, digest: int
) -> None:
    """Something changes and the playground stops and starts again: Ilze stays gone."""
    # Sandra's digest that named Ilze is gone; the bot still knows its id, so new messages
    # in her chat must get ids after it.
    person = (await running.person(SANDRA))["id"]
    await running.post(f"/play/api/chat/{person}/send", {"text": "/help"})
    await running.play.users[person].wait_for_message(
        lambda m: "/events" in (m.text or ""), timeout=10
    )
    messages = (await running.get(f"/play/api/chat/{person}"))["messages"]
    ids = [m["id"] for m in messages]
    answer = [m["id"] for m in messages if "/events" in m["html"]][-1]
    assert len(ids) == len(set(ids)) and answer > digest + 1  # after /help, itself after it
    assert named(await shown(running.http)) == []
    assert named(await saved(database)) == []
    await running.stopped()
    assert named(await saved(database)) == []
    async with playground_on(database) as again:
        assert again.play.telegram is not None
        assert ILZE_USER not in again.play.telegram.state.chats
        assert named(await shown(again.http)) == []
        # The others keep their chats, and a message of theirs gets an answer with a new id.
        before = (await again.get(f"/play/api/chat/{person}"))["messages"]
        assert before
        await again.post(f"/play/api/chat/{person}/send", {"text": "/help"})
        await again.play.users[person].wait_for_message(
            lambda m: "/events" in (m.text or ""), timeout=10
        )
        messages = (await again.get(f"/play/api/chat/{person}"))["messages"]
        after = [m["id"] for m in messages]
        answer = [m["id"] for m in messages if "/events" in m["html"]][-1]
        assert len(after) == len(set(after)) >= len(before) + 2 and answer > max(ids) + 1


async def test_a_person_erased_in_the_console_leaves_the_running_playground(
    database: Database,
) -> None:
    async with playground_on(database) as running:
        ilze, _, _, digest = await ilze_in_her_chat_and_mailbox(running)
        before = (await running.get("/play/api/state"))["version"]
        assert "Ilze Kalniņa" in await running.console(f"/contacts/{ilze}/erase")
        await running.press_in_console(f"/contacts/{ilze}/erase")
        # At once: her phone is off the list, the page redraws, and nothing shown names her.
        state = await running.get("/play/api/state")
        assert ILZE not in [p["email"] for p in state["people"]] and state["version"] != before
        assert named(await shown(running.http)) == []
        assert (await running.http.get(f"/play/api/chat/{ilze}")).status_code == 400
        await nothing_of_ilze_after_a_restart(running, database, digest)


async def test_a_person_who_deletes_their_data_in_the_chat_leaves_the_running_playground(
    sqlite_database: Database,
) -> None:
    async with playground_on(sqlite_database) as running:
        ilze, user, privacy, digest = await ilze_in_her_chat_and_mailbox(running)
        press = f"/play/api/chat/{ilze}/press"
        await running.post(press, {"message_id": privacy.message_id, "data": "privacy:delete"})
        await user.wait_for(lambda: "privacy:confirm" in str(user.chat.find(privacy.message_id)))
        await running.post(press, {"message_id": privacy.message_id, "data": "privacy:confirm"})

        async def off_the_list() -> bool:
            people = (await running.get("/play/api/state"))["people"]
            return ILZE not in [p["email"] for p in people]

        await eventually(off_the_list)
        assert named(await shown(running.http)) == []
        # Her chat on Telegram's side (its id is hers) is emptied; the bot still says goodbye.
        await user.wait_for(lambda: "dati ir dzēsti" in str(user.chat.find(privacy.message_id)))
        left = [m.to_api(user.chat) for m in user.chat.messages]
        assert (
            named(
                json.dumps([user.chat.to_api(), left], ensure_ascii=False, default=repr),
                by_id=False,
            )
            == []
        )
        await nothing_of_ilze_after_a_restart(running, sqlite_database, digest)


def test_a_message_about_an_erased_person_leaves_its_id_taken_in_the_saved_chats() -> None:
    traces = Traces(texts=("Ilze Kalniņa",), numbers=(ILZE_USER,), address=ILZE)
    chat = [
        {"message_id": 1, "from_bot": True, "sender": {"id": 1}, "date": 5, "text": "Labrīt"},
        {"message_id": 2, "from_bot": True, "sender": {"id": 1}, "date": 6, "text": "Ilze Kalniņa"},
    ]
    data = {"version": 1, "chats": {"555": chat, str(ILZE_USER): chat}, "mail": []}
    kept = forget_in_snapshot(data, traces)["chats"]
    assert list(kept) == ["555"] and kept["555"][0] == chat[0]
    gone = {"message_id": 2, "from_bot": True, "date": 6, "sender": {}, "deleted": True}
    assert kept["555"][1] == gone
