# ruff: noqa: F811  (the `harness`, `mail` and `scene` fixtures are imported)
"""A bounced address corrected by the coordinator gets email again; unsubscribing stays."""

from __future__ import annotations

import httpx
from sqlalchemy import update

from bot.config import parse_quiet_hours
from bot.db.models import Contact
from bot.db.session import Database
from bot.services.contacts import registry
from bot.services.contacts.imports import write_in_batches
from bot.services.contacts.rows import ContactRow, parse_rows
from bot.services.delivery import outbox, subscriptions
from bot.services.delivery.outbox import DeliveryPolicy
from tests.test_console import base, csrf_of, signed_in
from tests.test_dispatcher_email import Harness, harness, mail  # noqa: F401  (fixtures)
from tests.test_outbox import RIGA, add_contact
from tests.test_rsvp import Scene, scene  # noqa: F401  (the fixture)

OLD = "kadri.tamm@valga.example"
NEW = "kadri.tamm@valga.ee"
REFUSED = "550 5.1.1 <kadri.tamm@valga.example>: no such mailbox"


def row_of(contact: Contact, **changes: str) -> ContactRow:
    """The contact as the console form or an import file gives it, with some values changed."""
    values = registry.as_row(contact) | changes
    parsed = parse_rows(iter([(1, values)]))
    assert not parsed.errors, parsed.errors
    return parsed.rows[0]


async def save(database: Database, contact_id: int, **changes: str) -> Contact:
    """Change a person as the console's form does (registry.save_one)."""
    async with database.session_scope() as session:
        contact = await registry.find(session, str(contact_id))
        assert contact is not None
        saved = await registry.save_one(session, row_of(contact, **changes), contact)
        assert isinstance(saved, Contact), saved
        return saved


async def bounced_kadri(harness: Harness) -> int:
    """Kadri, whose address the mail server refused for real (SMTP 550)."""
    kadri = await add_contact(harness.database, "Kadri Tamm", OLD, None, language="et")
    harness.mail.faults.refuse[OLD] = REFUSED
    await harness.broadcast(kadri, "b:1")
    assert await harness.dispatcher.run_until_idle() == 1
    assert (await harness.contact(kadri)).email_state == "bounced"
    return kadri


async def test_a_corrected_address_clears_the_bounce_and_the_next_email_reaches_it(
    harness: Harness,
) -> None:
    kadri = await bounced_kadri(harness)
    await save(harness.database, kadri, email=NEW)
    assert (await harness.contact(kadri)).email_state == "active"
    await harness.broadcast(kadri, "b:2", "Kohtume Valgas!")
    await harness.dispatcher.run_until_idle()
    first, second = await harness.rows()
    assert first.status == "failed" and second.status == "sent"
    (message,) = harness.mail.mailbox(NEW)
    assert "Kohtume Valgas!" in str(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]


async def test_a_change_that_keeps_the_address_leaves_it_bounced(harness: Harness) -> None:
    kadri = await bounced_kadri(harness)
    await save(harness.database, kadri, municipality="Tõrva")
    found = await harness.contact(kadri)
    assert found.municipality == "Tõrva" and found.email_state == "bounced"
    await harness.broadcast(kadri, "b:2")
    await harness.dispatcher.run_until_idle()
    assert [r.status for r in await harness.rows()] == ["failed"]  # nothing more queued
    assert harness.mail.mailbox(OLD) == []


async def test_a_new_address_does_not_undo_the_persons_unsubscribe(harness: Harness) -> None:
    kadri = await add_contact(harness.database, "Kadri Tamm", OLD, None, language="et")
    async with harness.database.session_scope() as session:
        assert await subscriptions.stop_email(session, kadri, now=harness.clock.now())
    await save(harness.database, kadri, email=NEW)
    found = await harness.contact(kadri)
    assert found.email == NEW and found.email_state == "unsubscribed"
    await harness.broadcast(kadri, "b:1")
    await harness.dispatcher.run_until_idle()
    assert harness.mail.mailbox(NEW) == []


async def test_an_import_that_keeps_the_address_leaves_it_bounced(
    harness: Harness,
) -> None:
    kadri = await bounced_kadri(harness)
    async with harness.database.session_scope() as session:
        contact = await registry.find(session, str(kadri))
        assert contact is not None
        plan = await registry.plan_import(session, [row_of(contact, municipality="Tõrva")])
    assert len(plan.updated) == 1
    await write_in_batches(harness.database, plan)
    found = await harness.contact(kadri)
    assert found.municipality == "Tõrva" and found.email_state == "bounced"


async def test_the_coordinator_corrects_a_bounced_address_in_the_console_and_mail_goes_again(
    scene: Scene,
) -> None:
    async with scene.database.session_scope() as session:
        await session.execute(
            update(Contact).where(Contact.email == OLD).values(email_state="bounced")
        )
        kadri = await registry.find(session, OLD)
        assert kadri is not None
        form = registry.as_row(kadri)
    async with httpx.AsyncClient() as client:
        await signed_in(scene, client)
        edit = f"{base(scene)}/contacts/{kadri.id}/edit"
        token = csrf_of(await client.get(edit))
        saved = await client.post(edit, data=form | {"email": NEW, "csrf": token})
        assert saved.status_code == 303, saved.text
    async with scene.database.session_scope() as session:
        found = await session.get(Contact, kadri.id)
        assert found is not None and found.email == NEW and found.email_state == "active"
        queued = await outbox.enqueue(
            session,
            contact=found,
            channel="email",
            kind="broadcast",
            dedupe_key="b:after-fix",
            now=scene.clock.now(),
            policy=DeliveryPolicy(RIGA, parse_quiet_hours("")),
            params={"text": "Kohtume Valgas!", "subject": ""},
        )
        assert queued.status == "queued" and queued.message_id is not None
    scene.service_wake()
    mail = scene.mail  # type: ignore[attr-defined]
    (message,) = await mail.wait_for_address(NEW, 1, timeout=30)
    assert "Kohtume Valgas!" in message.get_body(("plain",)).get_content()


async def test_an_import_cannot_correct_an_address_so_the_guide_says_to_edit_instead(
    harness: Harness,
) -> None:
    """docs/going-live.md section 12 sends coordinators to the console's form for this reason."""
    kadri = await add_contact(harness.database, "Kadri Tamm", OLD, None, telegram_username="kadrit")
    async with harness.database.session_scope() as session:
        contact = await registry.find(session, str(kadri))
        assert contact is not None
        with_username = await registry.plan_import(session, [row_of(contact, email=NEW)])
        without = await registry.plan_import(
            session, [row_of(contact, email=NEW, telegram_username="")]
        )
    assert [p.column for p in with_username.conflicts] == ["telegram_username"]
    assert len(without.new) == 1 and not without.updated
