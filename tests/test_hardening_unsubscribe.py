"""Unsubscribing through the real service: the link and the List-Unsubscribe header of a real
email (aiosmtpd), the confirm page, the undo, RFC 8058 one-click; and links that must be refused
(an erased or unknown contact, a validly signed token with a payload of the wrong shape).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bot.db.models import Contact, Invitation, InvitationAnswer, OutboxMessage
from bot.db.session import Database
from bot.sandbox import TelegramEmulator
from bot.sandbox.mail_server import MailServer
from bot.services.contacts import registry
from bot.services.contacts.audience import Audience
from bot.services.contacts.rows import parse_rows, read_table
from bot.services.delivery import outbox
from bot.services.delivery.signed_links import Links
from bot.services.events import invitations
from bot.services.recommendations.reminders import TASKS_PURPOSE
from bot.services.surveys.sending import FORM_PURPOSE
from tests.conftest import DATA, Cli
from tests.test_onboarding import Network, valga_event
from tests.test_outbox import POLICY

KEY = "unsubscribe-tests-signing-key-0123456789"
KADRI = "kadri.tamm@valga.example"  # Estonian
ILZE = "ilze.kalnina@jelgava.example"  # Latvian
UNSUBSCRIBE = re.compile(r"https?://\S+/u/[\w.\-]+")
RSVP = re.compile(r"https?://\S+/r/[\w.\-]+")
CONFIRM = re.compile(r'name="confirm" value="(\w+)"')


class Mailed(Network):
    mail: MailServer

    async def email(self, address: str, key: str, *, later: bool = False) -> outbox.Enqueued:
        """Queue a broadcast email; `later` ones wait two days in the queue."""
        now = self.clock.now()
        async with self.database.session_scope() as session:
            contact = await registry.find(session, address)
            assert contact is not None
            queued = await outbox.enqueue(
                session,
                contact=contact,
                channel="email",
                kind="broadcast",
                dedupe_key=key,
                now=now,
                policy=POLICY,
                params={"text": "Tere!", "subject": ""},
                send_after=now + timedelta(days=2) if later else None,
            )
        self.service_wake()
        return queued

    async def received(self, address: str, count: int = 1) -> Any:
        return (await self.mail.wait_for_address(address, count))[count - 1]

    async def email_state(self, address: str) -> str:
        async with self.database.session_scope() as session:
            state = await session.scalar(
                select(Contact.email_state).where(Contact.email == address)
            )
            assert state is not None
            return state

    async def row_status(self, key: str) -> str:
        async with self.database.session_scope() as session:
            status = await session.scalar(
                select(OutboxMessage.status).where(OutboxMessage.dedupe_key == key)
            )
            assert status is not None
            return status

    async def erase(self, address: str) -> None:
        async with self.database.session_scope() as session:
            contact = await registry.find(session, address)
            assert contact is not None
            await registry.erase(session, contact, self.clock.now())


@pytest.fixture
async def net(sqlite_database: Database) -> AsyncIterator[Mailed]:
    async with sqlite_database.session_scope() as session:
        rows = parse_rows(read_table(DATA / "contacts.csv")).rows
        await registry.apply_import(session, await registry.plan_import(session, rows))
    async with TelegramEmulator() as emulator, MailServer() as mail:
        network = Mailed(
            sqlite_database,
            emulator,
            secret_key=KEY,
            smtp_host="127.0.0.1",
            smtp_port=mail.port,
            smtp_security="none",
        )
        network.mail = mail
        network.settings = network.settings.model_copy(
            update={"public_url": f"http://127.0.0.1:{network.settings.web_port}"}
        )
        network.service.settings = network.settings
        await network.start()
        yield network
        await network.close()


def links_in(message: Any) -> tuple[str, str]:
    """The "stop messages" link of the text body, and the List-Unsubscribe header's URL."""
    body = message.get_body(("plain",))
    assert body is not None
    (in_text,) = UNSUBSCRIBE.findall(body.get_content())
    header = str(message["List-Unsubscribe"])
    (in_header,) = UNSUBSCRIBE.findall(header)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    return in_text, in_header.rstrip(">")


async def test_the_link_in_an_email_asks_to_confirm_stops_email_and_can_be_undone(
    net: Mailed, cli: Cli
) -> None:
    await net.email(KADRI, "first")
    link, header_link = links_in(await net.received(KADRI))
    assert link == header_link
    await net.email(KADRI, "waiting", later=True)
    async with httpx.AsyncClient() as client:
        shown = await client.get(link)
        assert shown.status_code == 200 and '<html lang="et">' in shown.text
        assert "Palun kinnitage" in shown.text and KADRI in shown.text
        assert await net.email_state(KADRI) == "active"  # a look changes nothing
        confirm = CONFIRM.search(shown.text)
        assert confirm is not None
        forged = await client.post(link, data={"confirm": "0" * 64})
        assert forged.status_code == 403
        assert await net.email_state(KADRI) == "active"
        done = await client.post(link, data={"confirm": confirm.group(1)})
        assert done.status_code == 200 and "Teie valik on salvestatud" in done.text
        assert 'name="choice" value="resume"' in done.text  # the undo
        assert await net.email_state(KADRI) == "unsubscribed"
        assert await net.row_status("waiting") == "cancelled"
        shown_to_coordinator = await asyncio.to_thread(cli, "contacts", "show", KADRI)
        assert "unsubscribed" in shown_to_coordinator.output
        assert (await net.email(KADRI, "after")).status == "skipped"
        again = await client.get(link)
        assert "Soovin taas teateid saada" in again.text
        undone = await client.post(link, data={"confirm": confirm.group(1), "choice": "resume"})
        assert undone.status_code == 200 and "saadetakse Teile taas" in undone.text
    assert await net.email_state(KADRI) == "active"
    assert (await net.email(KADRI, "resumed")).status == "queued"


async def test_a_one_click_post_from_the_header_stops_email_at_once(net: Mailed) -> None:
    await net.email(ILZE, "first")
    _, header_link = links_in(await net.received(ILZE))
    await net.email(ILZE, "waiting", later=True)
    async with httpx.AsyncClient() as client:
        answer = await client.post(header_link, data={"List-Unsubscribe": "One-Click"})
        # Mail providers may send the same body as multipart/form-data: it is as good.
        multipart = await client.post(
            header_link,
            data={"List-Unsubscribe": "One-Click"},
            files={"unused": ("unused.txt", b"")},
        )
    assert multipart.status_code == 200 and "multipart" in str(multipart.request.headers)
    assert answer.status_code == 200
    assert not answer.headers["content-type"].startswith("text/html")
    assert await net.email_state(ILZE) == "unsubscribed"
    assert await net.row_status("waiting") == "cancelled"


async def test_an_erased_or_unknown_contacts_links_are_refused_on_post_too(net: Mailed) -> None:
    await net.email(KADRI, "first")
    link, _ = links_in(await net.received(KADRI))
    async with net.database.session_scope() as session:
        event = await valga_event(session)
        plan = await invitations.plan(session, event, Audience.build(emails=(KADRI,)))
        await invitations.invite(session, event, plan, now=net.clock.now(), policy=POLICY)
    net.service_wake()
    invitation_mail = await net.received(KADRI, 2)
    body = invitation_mail.get_body(("plain",))
    accept = RSVP.findall(body.get_content())[0]
    async with httpx.AsyncClient() as client:
        unsubscribe_page = await client.get(link)
        rsvp_page = await client.get(accept)
        confirm = CONFIRM.search(unsubscribe_page.text)
        rsvp_confirm = CONFIRM.search(rsvp_page.text)
        assert confirm is not None and rsvp_confirm is not None
        await net.erase(KADRI)
        assert (await client.get(link)).status_code == 404
        assert (await client.post(link, data={"confirm": confirm.group(1)})).status_code == 404
        one_click = await client.post(link, data={"List-Unsubscribe": "One-Click"})
        assert one_click.status_code == 404
        answered = await client.post(accept, data={"confirm": rsvp_confirm.group(1)})
        assert answered.status_code >= 400
        unknown = Links(KEY, net.settings.public_url).unsubscribe_url(99999)
        assert (await client.get(unknown)).status_code == 404
        assert (
            await client.post(unknown, data={"List-Unsubscribe": "One-Click"})
        ).status_code == 404
    async with net.database.session_scope() as session:
        invitation = await session.scalar(select(Invitation))
        assert invitation is not None and invitation.status == "invited"
        answers = await session.scalar(select(func.count()).select_from(InvitationAnswer))
    assert answers == 1  # only "invited"


@pytest.mark.parametrize(
    "payload", ["text", [1, 2], {}, {"c": "x", "r": "x"}, {"c": None, "r": None}, {"c": True}]
)
async def test_a_validly_signed_token_of_the_wrong_shape_is_refused_not_a_crash(
    net: Mailed, payload: Any
) -> None:
    links = Links(KEY, net.settings.public_url)
    urls = [
        links.url("u", "unsubscribe", payload),
        links.url("s", FORM_PURPOSE, payload),
        links.url("t", TASKS_PURPOSE, payload),
    ]
    async with httpx.AsyncClient() as client:
        for url in urls:
            for answer in (
                await client.get(url),
                await client.post(url, data={"confirm": "x"}),
                await client.post(url, data={"List-Unsubscribe": "One-Click"}),
            ):
                assert answer.status_code in (400, 410), (url, answer.status_code)
