"""Big outputs stream: contacts list and events rsvps print plain rows as they come past a few
hundred, the same rows as the small table; XLSX files are written with flat memory."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import select

from bot.db.models import Event, Invitation
from bot.db.session import Database
from bot.services.contacts.audience import Audience
from bot.services.events import invitations, registry
from bot.services.reporting.tables import write_xlsx
from tests.conftest import Cli, in_thread
from tests.test_bulk_invite import NOW, PEOPLE, fill, invite_everyone
from tests.test_outbox import POLICY


async def invited_with_answers(database: Database) -> int:
    event_id = await fill(database)
    await invite_everyone(database, event_id)
    async with database.session_scope() as session:
        found = await session.scalars(
            select(Invitation.id).where(Invitation.event_id == event_id).order_by(Invitation.id)
        )
        for n, invitation_id in enumerate(found):
            if n % 4 == 3:
                continue
            code = ("yes", "no", "maybe")[n % 4]
            channel = ("telegram", "email", "web")[n % 3]
            await invitations.record_answer(
                session, invitation_id, code, channel=channel, now=NOW, policy=POLICY
            )
    return event_id


async def test_streamed_answers_are_the_listed_answers_in_the_same_order(
    database: Database,
) -> None:
    event_id = await invited_with_answers(database)
    async with database.read_scope() as session:
        event = await session.get(Event, event_id)
        assert event is not None
        listed = await registry.list_rsvps(session, event)
        streamed = [r async for r in invitations.stream_rsvps(session, event)]
    assert len(streamed) > 500
    assert {r.status for r in streamed} == {"accepted", "declined", "not_sure", "invited"}
    # list_rsvps sorts by answer only (stable), so names keep their order within an answer
    assert streamed == listed


def test_rsvps_of_a_large_event_print_one_line_each(cli: Cli, sqlite_url: str) -> None:
    async def prepare() -> int:
        database = Database(sqlite_url)
        try:
            return await invited_with_answers(database)
        finally:
            await database.dispose()

    event_id = in_thread(prepare)
    result = cli("events", "rsvps", str(event_id))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split("\t")[:2] == ["name", "email"]
    rows = [line.split("\t") for line in lines[1:] if "\t" in line]
    invited = sum(1 for n in range(PEOPLE) if n % 3 == 0 or (n % 10 and n % 7))
    assert len(rows) == invited
    assert all(len(row) == 7 for row in rows)


def test_a_long_contact_list_prints_plain_rows_and_the_count(cli: Cli, sqlite_url: str) -> None:
    async def prepare() -> None:
        database = Database(sqlite_url)
        try:
            await fill(database)
        finally:
            await database.dispose()

    in_thread(prepare)
    result = cli("contacts", "list")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "name\temail\ttelegram\trole\tmunicipality\tcountry\tlang\ttags"
    assert lines[1].startswith("Persona 00000\t—\t")
    assert len(lines) == PEOPLE + 2
    assert lines[-1] == f"{PEOPLE} contact(s) (everyone): {PEOPLE} guest"
    assert "┃" not in result.output


def test_a_short_contact_list_is_still_a_table(cli: Cli) -> None:
    cli("contacts", "import", str(Path(__file__).parent / "data" / "contacts.csv"))
    result = cli("contacts", "list", "--municipality", "Valga")
    assert "┃" in result.output or "│" in result.output
    assert "\t" not in result.output
    assert Audience.build(municipalities=["Valga"]).describe() in result.output


def test_a_large_sheet_is_written_without_holding_it_in_memory(tmp_path: Path) -> None:
    rows = ([n, f"Persona {n}", f"p{n}@bulk.example", "=SUM(A1)", "Valka"] for n in range(30_000))
    tracemalloc.start()
    try:
        count = write_xlsx(
            tmp_path / "big.xlsx", [("contacts", ["id", "name", "email", "x", "m"], rows)]
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 30_000
    assert peak < 15 * 1024 * 1024, f"{peak / 1024 / 1024:.0f} MB"
    sheet = load_workbook(tmp_path / "big.xlsx", read_only=True)["contacts"]
    first = [c.value for c in next(sheet.iter_rows(min_row=2, max_row=2))]
    assert first == [0, "Persona 0", "p0@bulk.example", "'=SUM(A1)", "Valka"]
