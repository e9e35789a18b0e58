"""The console's contacts import writes a big upload in short batches, like the CLI, on SQLite
and PostgreSQL: the preview writes nothing, a wrong line refuses "import all", "import the
valid rows" writes the rest, and the audit log and the counts shown say what was done."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select

from bot.db.models import AuditEntry, ConsentRecord, Contact, ContactTag
from bot.db.session import Database
from bot.services.contacts import registry
from bot.services.contacts.registry import BATCH
from tests.test_console import base, csrf_of, signed_in
from tests.test_rsvp import Scene, running

ROWS = 1_200
HEADER = "name,email,telegram_username,role,municipality,consent,tags\n"
ILZE = "Ilze Kalniņa,ilze.kalnina@jelgava.example,ilzek,regional_expert,Jelgava,2026-01-15,youth\n"
BAD = "Pēteris Bez Adreses,peteris@,,regional_expert,Rēzekne,,\n"


@pytest.fixture
async def scene(database: Database) -> AsyncIterator[Scene]:
    """The running service with the console, over SQLite or PostgreSQL."""
    async with running(database, "console-import-signing-key-0123456789", Scene) as net:
        await net.start()
        yield net
        await net.close()


def big_file() -> bytes:
    lines = [
        f"Persona {n},p{n}@bulk.example,,guest,Valka,{'2026-01-15' if n % 2 else ''},"
        f"{'youth' if n % 3 == 0 else ''}\n"
        for n in range(ROWS)
    ]
    return (HEADER + "".join(lines) + ILZE + BAD).encode("utf-8")


async def counts(database: Database) -> tuple[int, int, int]:
    async with database.read_scope() as session:
        return (
            int(await session.scalar(select(func.count(Contact.id))) or 0),
            int(await session.scalar(select(func.count()).select_from(ContactTag)) or 0),
            int(await session.scalar(select(func.count(ConsentRecord.id))) or 0),
        )


async def test_a_big_upload_is_imported_in_batches_with_its_counts_and_audit_entry(
    scene: Scene,
) -> None:
    assert ROWS > 2 * BATCH  # several batches, each its own transaction
    before = await counts(scene.database)
    async with httpx.AsyncClient(timeout=60) as client:
        await signed_in(scene, client)
        token = csrf_of(await client.get(f"{base(scene)}/contacts/import"))
        checked = await client.post(
            f"{base(scene)}/contacts/import/preview",
            data={"csrf": token},
            files={"file": ("kontakti.csv", big_file(), "text/csv")},
        )
        assert checked.status_code == 200, checked.text
        assert "Rindas ar kļūdām: 1" in checked.text and "peteris@" in checked.text
        assert await counts(scene.database) == before  # the preview wrote nothing
        kept = re.search(r'name="upload" value="([\w\-.]+)"', checked.text)
        assert kept is not None
        everything = await client.post(
            f"{base(scene)}/contacts/import/apply",
            data={"csrf": token, "upload": kept.group(1), "mode": "all"},
        )
        assert everything.headers["location"].endswith("/contacts/import")  # refused
        assert await counts(scene.database) == before
        valid = await client.post(
            f"{base(scene)}/contacts/import/apply",
            data={"csrf": token, "upload": kept.group(1), "mode": "valid"},
        )
        assert valid.status_code == 303
        assert valid.headers["location"].endswith(f"/contacts?imported={ROWS}&changed=1")
    contacts, tags, consents = await counts(scene.database)
    assert contacts == before[0] + ROWS
    async with scene.database.read_scope() as session:
        tagged = await session.execute(
            select(Contact.name, ContactTag.tag)
            .join(ContactTag, ContactTag.contact_id == Contact.id)
            .where(Contact.email.like("%@bulk.example"))
        )
        assert sorted(name for name, _tag in tagged) == sorted(
            f"Persona {n}" for n in range(ROWS) if n % 3 == 0
        )
        consented = await session.scalars(
            select(Contact.name)
            .join(ConsentRecord, ConsentRecord.contact_id == Contact.id)
            .where(Contact.email.like("%@bulk.example"))
        )
        assert sorted(consented) == sorted(f"Persona {n}" for n in range(ROWS) if n % 2)
        ilze = await registry.find(session, "ilze.kalnina@jelgava.example")
        assert ilze is not None and ilze.tag_names == ["youth"]
        assert await registry.find(session, "peteris@") is None
        audit = (
            await session.scalars(
                select(AuditEntry).where(
                    AuditEntry.action == "import", AuditEntry.subject == "contacts"
                )
            )
        ).all()
        assert [entry.after for entry in audit] == [{"new": ROWS, "updated": 1}]
    assert tags >= before[1] + ROWS // 3 and consents >= before[2] + ROWS // 2
