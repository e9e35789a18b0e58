"""The first minute on Telegram and self-service after it, end to end through the emulator."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import Service
from bot.config import load_settings
from bot.db.models import ConsentRecord, Contact, Event, Invitation, InvitationAnswer, Place
from bot.db.session import Database
from bot.sandbox import EmulatedUser, TelegramEmulator
from bot.services.clock import ManualClock
from bot.services.contacts import registry
from bot.services.contacts.rows import parse_rows, read_table
from bot.services.delivery import outbox
from bot.services.onboarding import chats as onboarding
from bot.services.onboarding import join_tokens, selfservice
from bot.web.app import webhook_secret
from tests.conftest import DATA
from tests.test_outbox import POLICY

NOW = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Network:
    """The service running against the emulator, over a database imported from CSV."""

    def __init__(self, database: Database, emulator: TelegramEmulator, **settings: Any) -> None:
        self.database = database
        self.emulator = emulator
        self.clock = ManualClock(NOW)
        self.settings = load_settings(
            database_url=database.url,
            telegram_token=emulator.token,
            telegram_api_url=emulator.base_url,
            web_port=free_port(),
            quiet_hours="",
            **settings,
        )
        self.service = Service(self.settings, self.clock)
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.service.run(self.stop))
        await asyncio.wait_for(self.service.ready.wait(), 10)

    def service_wake(self) -> None:
        """Tell the dispatcher new rows are queued, instead of waiting for its next poll."""
        assert self.service.dispatcher is not None
        self.service.dispatcher.wake.set()

    async def close(self) -> None:
        self.stop.set()
        if self.task:
            await asyncio.wait_for(self.task, 10)

    async def link_for(self, email: str, lifetime: timedelta = timedelta(days=30)) -> str:
        async with self.database.session_scope() as session:
            contact = await registry.find(session, email)
            assert contact is not None
            return (
                await join_tokens.issue(session, contact, now=self.clock.now(), lifetime=lifetime)
            ).token

    async def contact(self, email: str) -> Contact:
        async with self.database.session_scope() as session:
            found = await session.scalar(select(Contact).where(Contact.email == email))
            assert found is not None
            return found

    async def joined(self, user: EmulatedUser, email: str) -> None:
        await user.send(f"/start {await self.link_for(email)}")
        await user.wait_for_message()


@pytest.fixture
async def network(sqlite_database: Database) -> AsyncIterator[Network]:
    async with sqlite_database.session_scope() as session:
        rows = parse_rows(read_table(DATA / "contacts.csv")).rows
        await registry.apply_import(session, await registry.plan_import(session, rows))
    async with TelegramEmulator() as emulator:
        net = Network(sqlite_database, emulator)
        await net.start()
        yield net
        await net.close()


async def valga_event(session: AsyncSession) -> Event:
    """A published one-day meeting in Valga, flushed so it has an id."""
    event = Event(
        slug="valga-2027",
        kind="cross_border_meeting",
        status="published",
        title={"lv": "Sanāksme Valgā", "et": "Kohtumine Valgas"},
        timezone="Europe/Tallinn",
        starts_at=datetime(2027, 2, 4, 8, tzinfo=UTC),
        ends_at=datetime(2027, 2, 4, 13, tzinfo=UTC),
    )
    event.places = [Place(position=0, name="Valga Vallavalitsus")]
    session.add(event)
    await session.flush()
    return event


def ilze(emulator: TelegramEmulator) -> EmulatedUser:
    return emulator.user(701, "Ilze", "Kalniņa", "ilzek", "lv")


async def test_an_imported_contact_opens_the_link_and_is_greeted_by_name(network: Network) -> None:
    user = ilze(network.emulator)
    await user.send(f"/start {await network.link_for('ilze.kalnina@jelgava.example')}")
    greeting = await user.wait_for_message()
    assert "Labdien, Ilze Kalniņa!" in (greeting.text or "")
    contact = await network.contact("ilze.kalnina@jelgava.example")
    assert contact.telegram_state == "active"
    # consent came with the CSV, so no question follows
    with pytest.raises(TimeoutError):
        await user.wait_for_message(timeout=0.3)


async def test_a_contact_without_consent_is_asked_and_the_answer_is_recorded(
    network: Network,
) -> None:
    maris = network.emulator.user(702, "Māris", "Liepiņš", None, "lv")
    await maris.send(f"/start {await network.link_for('maris.liepins@tukums.example')}")
    await maris.wait_for_message()
    question = await maris.wait_for_message()
    assert "Vai piekrītat" in (question.text or "")
    async with network.database.session_scope() as session:
        contact = await registry.find(session, "maris.liepins@tukums.example")
        assert contact is not None
        blocked = await outbox.unavailable(session, contact, "telegram")
    assert blocked == "telegram consent not given"
    await maris.press(question, "Piekrītu")
    await maris.wait_for(lambda: "Paldies" in (question.text or ""))
    contact = await network.contact("maris.liepins@tukums.example")
    assert contact.consent_on == NOW.date() and contact.consent_source == "telegram"
    async with network.database.session_scope() as session:
        record = await session.scalar(
            select(ConsentRecord).where(ConsentRecord.contact_id == contact.id)
        )
        assert record is not None and record.source == "telegram" and record.granted


async def test_switching_to_estonian_applies_to_every_future_message(network: Network) -> None:
    user = ilze(network.emulator)
    await network.joined(user, "ilze.kalnina@jelgava.example")
    await user.send("/language")
    choice = await user.wait_for_message()
    await user.press(choice, "Eesti")
    await user.wait_for(lambda: "eesti keeles" in (choice.text or ""))
    assert (await network.contact("ilze.kalnina@jelgava.example")).language == "et"
    await user.send("/help")
    assert "Mida saan teha" in ((await user.wait_for_message()).text or "")


async def test_events_shows_my_upcoming_events_with_my_answer(network: Network) -> None:
    user = ilze(network.emulator)
    await network.joined(user, "ilze.kalnina@jelgava.example")
    contact = await network.contact("ilze.kalnina@jelgava.example")
    async with network.database.session_scope() as session:
        event = Event(
            slug="valga-2027",
            kind="cross_border_meeting",
            status="published",
            title={"lv": "Ekspertu sanāksme Valgā", "et": "Ekspertide kohtumine Valgas"},
            starts_at=datetime(2027, 2, 4, 8, 0, tzinfo=UTC),
            ends_at=datetime(2027, 2, 4, 13, 30, tzinfo=UTC),
        )
        session.add(event)
        await session.flush()
        session.add(Invitation(event_id=event.id, contact_id=contact.id, status="accepted"))
    await user.send("/events")
    shown = (await user.wait_for_message()).text or ""
    assert "Ekspertu sanāksme Valgā" in shown
    assert "2027. gada 4. februārī, 10:00–15:30" in shown
    assert "Mana atbilde: Piedalīšos" in shown


async def test_privacy_exports_my_data_and_deletes_it_after_confirmation(network: Network) -> None:
    user = ilze(network.emulator)
    await network.joined(user, "ilze.kalnina@jelgava.example")
    await user.send("/privacy")
    summary = await user.wait_for_message()
    assert "Ilze Kalniņa" in (summary.text or "") and "ilze.kalnina@jelgava.example" in (
        summary.text or ""
    )
    await user.press(summary, "Lejupielādēt manus datus")
    first = await user.wait_for_message(lambda m: m.document is not None)
    second = await user.wait_for_message(lambda m: m.document is not None)
    assert first.document is not None and second.document is not None
    exported = json.loads(first.document.data)
    assert exported["contact"]["name"] == "Ilze Kalniņa"
    assert second.document.file_name == "my-data.csv"
    assert "Ilze Kalniņa" in second.document.data.decode("utf-8-sig")
    await user.press(summary, "Dzēst manus datus")
    await user.wait_for(lambda: "Vai tiešām" in (summary.text or ""))
    await user.press(summary, "Jā, dzēst")
    await user.wait_for(lambda: "dzēsti" in (summary.text or ""))
    async with network.database.session_scope() as session:
        assert await registry.find(session, "ilze.kalnina@jelgava.example") is None


@pytest.mark.parametrize("kind", ["unknown", "used", "expired"])
async def test_bad_tokens_get_a_clear_message_that_reveals_nobody(
    network: Network, kind: str
) -> None:
    token = await network.link_for("ilze.kalnina@jelgava.example", timedelta(days=1))
    if kind == "unknown":
        token = "x" * 32
    elif kind == "used":
        first = network.emulator.user(801, "Someone", language_code="et")
        await first.send(f"/start {token}")
        await first.wait_for_message()
    else:
        network.clock.advance(timedelta(days=2))
    stranger = network.emulator.user(802, "Stranger", language_code="et")
    await stranger.send(f"/start {token}")
    reply = (await stranger.wait_for_message()).text or ""
    expected = {"unknown": "ei kehti", "used": "juba kasutatud", "expired": "kehtivusaeg"}
    assert expected[kind] in reply
    assert "Ilze" not in reply and "Kalniņa" not in reply


async def test_a_linked_account_cannot_take_a_second_contact(network: Network) -> None:
    user = ilze(network.emulator)
    await network.joined(user, "ilze.kalnina@jelgava.example")
    await user.send(f"/start {await network.link_for('aija.berzina@valmiera.example')}")
    assert "jau ir sasaistīts" in ((await user.wait_for_message()).text or "")
    aija = await network.contact("aija.berzina@valmiera.example")
    assert aija.telegram_state == "unlinked"


async def test_a_stranger_requests_access_and_a_coordinator_approves(network: Network) -> None:
    sandra = network.emulator.user(900, "Sandra", "Jansone", "sandraj", "lv")
    await network.joined(sandra, "sandra.jansone@km.example")
    stranger = network.emulator.user(903, "Kärt", "Kuusk", "kartk", "et")
    await stranger.send("/start")
    offer = await stranger.wait_for_message()
    assert "taotleda juurdepääsu" in (offer.text or "")
    await stranger.press(offer, "Taotle juurdepääsu")
    assert "koordinaatorile saadetud" in ((await stranger.wait_for_message()).text or "")
    request = await sandra.wait_for_message()
    assert "Kärt Kuusk (@kartk)" in (request.text or "")
    await sandra.press(request, "Apstiprināt")
    assert "apstiprināts" in (
        (await sandra.wait_for(lambda: request.edited and request)).text or ""
    )
    approved = await stranger.wait_for_message()
    assert "kinnitas Teie taotluse" in (approved.text or "")
    assert "Kas nõustute" in ((await stranger.wait_for_message()).text or "")
    async with network.database.session_scope() as session:
        guest = await session.scalar(select(Contact).where(Contact.name == "Kärt Kuusk"))
        assert guest is not None and guest.role == "guest" and guest.language == "et"


async def test_only_a_coordinator_can_decide_a_request(network: Network) -> None:
    stranger = network.emulator.user(904, "Jüri", "Mets", None, "et")
    await stranger.send("/start")
    await stranger.press(await stranger.wait_for_message(), "Taotle juurdepääsu")
    await stranger.wait_for_message()
    expert = ilze(network.emulator)
    await network.joined(expert, "ilze.kalnina@jelgava.example")
    await expert.send("/help")
    help_message = await expert.wait_for_message()
    assert "/events" in (help_message.text or "") and "/broadcast" not in (help_message.text or "")
    async with network.database.session_scope() as session:
        outcome = await onboarding.decide_access(session, 1, 701, True, now=NOW)
    assert outcome.status == "not_coordinator"


async def test_a_user_who_blocked_the_bot_is_reachable_again_after_start(
    network: Network,
) -> None:
    user = ilze(network.emulator)
    await network.joined(user, "ilze.kalnina@jelgava.example")
    user.block()  # Telegram tells the bot with a my_chat_member update
    contact = await wait_for_state(network, "ilze.kalnina@jelgava.example", "blocked")
    assert contact.telegram_state == "blocked"
    user.unblock()
    await user.send("/start")
    assert "Prieks Jūs atkal redzēt" in ((await user.wait_for_message()).text or "")
    contact = await network.contact("ilze.kalnina@jelgava.example")
    assert contact.telegram_state == "active"
    async with network.database.session_scope() as session:
        found = await session.get(Contact, contact.id)
        assert found is not None
        result = await outbox.enqueue(
            session,
            contact=found,
            channel="telegram",
            kind="broadcast",
            dedupe_key="b:1",
            now=network.clock.now(),
            policy=POLICY,
            params={"text": "Sveiki atkal!", "subject": ""},
        )
    assert result.status == "queued"
    assert (await user.wait_for_message(timeout=5)).text == "Sveiki atkal!"


async def wait_for_state(network: Network, email: str, state: str) -> Contact:
    """Wait for the bot's handler, running in another task, to store a channel state."""

    async def reached() -> Contact:
        while (contact := await network.contact(email)).telegram_state != state:
            await asyncio.sleep(0.01)  # yield to the bot's task; bounded by wait_for below
        return contact

    return await asyncio.wait_for(reached(), timeout=5)


async def test_stop_ends_telegram_messages_while_email_goes_on(network: Network) -> None:
    user = ilze(network.emulator)
    await network.joined(user, "ilze.kalnina@jelgava.example")
    await user.send("/stop")
    assert "E-pastā tās saņemsiet" in ((await user.wait_for_message()).text or "")
    contact = await network.contact("ilze.kalnina@jelgava.example")
    assert contact.telegram_state == "unsubscribed"


async def test_commands_are_registered_in_each_language(network: Network) -> None:
    lv = {c["command"]: c["description"] for c in network.emulator.commands("lv")}
    et = {c["command"]: c["description"] for c in network.emulator.commands("et")}
    assert lv["events"] == "Mani pasākumi" and et["events"] == "Minu üritused"
    assert {c["command"] for c in network.emulator.commands()} >= {"help", "privacy", "stop"}


async def test_strays_get_short_help_and_odd_updates_do_not_crash(network: Network) -> None:
    user = ilze(network.emulator)
    await network.joined(user, "ilze.kalnina@jelgava.example")
    await user.send("/nonsense")
    assert "Komandu sarakstu parāda /help" in ((await user.wait_for_message()).text or "")
    await user.send_sticker()
    assert "/help" in ((await user.wait_for_message()).text or "")
    typed = await user.send("labdien")
    await user.wait_for_message()
    await user.edit(typed, "labdien!")
    await user.send_photo()
    await user.wait_for_message()
    group = network.emulator.group(-100123, "Ekspertu grupa")
    await user.send("/help", chat=group)
    line = await user.wait_for_message(chat=group)
    assert "privātā sarakstē" in (line.text or "")


async def test_webhook_mode_checks_the_secret_header(sqlite_database: Database) -> None:
    async with TelegramEmulator() as emulator:
        port = free_port()
        net = Network(
            sqlite_database,
            emulator,
            telegram_webhook=True,
            secret_key="a-long-random-signing-key",
            public_url=f"http://127.0.0.1:{port}",
        )
        net.settings = net.settings.model_copy(update={"web_port": port})
        net.service = Service(net.settings, net.clock)
        await net.start()
        try:
            stranger = emulator.user(905, "Anna", language_code="en")
            await stranger.send("/start")
            assert "request access" in ((await stranger.wait_for_message()).text or "")
            async with httpx.AsyncClient() as client:
                url = f"http://127.0.0.1:{port}/telegram"
                forged = await client.post(url, json={"update_id": 1})
                wrong = await client.post(
                    url, json={"update_id": 1}, headers={"X-Telegram-Bot-Api-Secret-Token": "x"}
                )
            assert forged.status_code == 403 and wrong.status_code == 403
            assert webhook_secret("a-long-random-signing-key") not in str(emulator.calls[-1])
        finally:
            await net.close()


async def test_a_coordinator_links_a_request_to_the_contact_it_belongs_to(
    network: Network,
) -> None:
    sandra = network.emulator.user(900, "Sandra", "Jansone", "sandraj", "lv")
    await network.joined(sandra, "sandra.jansone@km.example")
    dace = network.emulator.user(906, "Dace", "Krūmiņa", None, "lv")
    await dace.send("/start")
    await dace.press(await dace.wait_for_message(), "Lūgt piekļuvi")
    await dace.wait_for_message()
    request = await sandra.wait_for_message()
    await sandra.press(request, "Apstiprināt")
    await sandra.wait_for(lambda: "kontaktu sarakstā" in (request.text or ""))
    await sandra.press(request, "Dace Krūmiņa · dace.krumina@talsi.example")
    await sandra.wait_for(lambda: "sasaistīts ar kontaktu Dace Krūmiņa" in (request.text or ""))
    assert "Labdien, Dace Krūmiņa!" in ((await dace.wait_for_message()).text or "")
    contact = await network.contact("dace.krumina@talsi.example")
    assert contact.telegram_state == "active" and contact.role == "regional_expert"


async def test_privacy_counts_only_answers_the_person_gave(network: Network) -> None:
    async with network.database.session_scope() as session:
        contact = await registry.find(session, "ilze.kalnina@jelgava.example")
        assert contact is not None
        event = await valga_event(session)
        invitation = Invitation(event_id=event.id, contact_id=contact.id, status="invited")
        invitation.history = [InvitationAnswer(status="invited", channel=None, recorded_at=NOW)]
        session.add(invitation)
        await session.flush()
        assert (await selfservice.summary(session, contact))["answers"] == 0
        invitation.history.append(
            InvitationAnswer(status="accepted", channel="telegram", recorded_at=NOW)
        )
        await session.flush()
        assert (await selfservice.summary(session, contact))["answers"] == 1
