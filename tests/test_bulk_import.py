"""Large imports write in short transactions and stay all or nothing; a busy or missing
database is reported in one line."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.db.models import ConsentRecord, Contact, ContactTag
from bot.db.session import Database
from bot.services.contacts import imports, registry
from bot.services.contacts.rows import ContactRow, parse_rows, read_table
from tests.conftest import Cli, in_thread

HEADER = "name,email,telegram_username,role,municipality,consent,tags\n"


def write_file(path: Path, count: int, start: int = 0) -> Path:
    lines = [
        f"Persona {n},p{n}@bulk.example,,guest,Valka,{'2026-01-15' if n % 2 else ''},"
        f"{'youth' if n % 3 == 0 else ''}\n"
        for n in range(start, start + count)
    ]
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    return path


def parsed_rows(path: Path) -> list[ContactRow]:
    parsed = parse_rows(read_table(path))
    assert not parsed.errors
    return parsed.rows


def sqlite_file(url: str) -> str:
    return url.removeprefix("sqlite:///")


def table_counts(url: str) -> tuple[int, int, int]:
    async def run() -> tuple[int, int, int]:
        database = Database(url)
        try:
            async with database.session_scope() as session:
                return (
                    int(await session.scalar(select(func.count(Contact.id))) or 0),
                    int(await session.scalar(select(func.count()).select_from(ContactTag)) or 0),
                    int(await session.scalar(select(func.count(ConsentRecord.id))) or 0),
                )
        finally:
            await database.dispose()

    return in_thread(run)  # type: ignore[no-any-return]


def plan_and_write(url: str, rows: list[ContactRow], batch: int, between=None):  # type: ignore[no-untyped-def]
    """Plan an import, let `between` change the database, then write the plan in batches."""

    async def run() -> tuple[registry.ImportPlan, list[int]]:
        database = Database(url)
        done: list[int] = []
        try:
            async with database.session_scope() as session:
                plan = await registry.plan_import(session, rows)
            if between is not None:
                between()
            await imports.write_in_batches(database, plan, done.append, batch=batch)
            return plan, done
        finally:
            await database.dispose()

    return in_thread(run)


def test_a_large_file_is_written_in_batches_each_with_its_tags_and_consent(
    sqlite_url: str, tmp_path: Path
) -> None:
    rows = parsed_rows(write_file(tmp_path / "big.csv", 1_234))
    _plan, done = plan_and_write(sqlite_url, rows, batch=500)
    assert done == [500, 500, 234]
    assert table_counts(sqlite_url) == (1_234, 412, 617)
    with sqlite3.connect(sqlite_file(sqlite_url)) as db:
        mismatched = db.execute(
            "SELECT count(*) FROM contacts c LEFT JOIN contact_tags t ON t.contact_id = c.id "
            "WHERE (t.tag IS NOT NULL) <> (CAST(substr(c.name, 8) AS INTEGER) % 3 = 0)"
        ).fetchone()[0]
        assert mismatched == 0
        assert db.execute(
            "SELECT count(*) FROM contacts c JOIN consent_records r ON r.contact_id = c.id "
            "WHERE c.consent_on IS NULL OR c.consent_source <> 'import'"
        ).fetchone() == (0,)


def test_another_writer_gets_the_database_between_two_batches(
    sqlite_url: str, tmp_path: Path
) -> None:
    rows = parsed_rows(write_file(tmp_path / "big.csv", 1_000))
    writes: list[int] = []

    async def run() -> None:
        database = Database(url=sqlite_url)
        try:
            async with database.session_scope() as session:
                plan = await registry.plan_import(session, rows)

            def other_writer(count: int) -> None:
                # No waiting: this fails with "database is locked" if the import holds the lock.
                other = sqlite3.connect(sqlite_file(sqlite_url), timeout=0, isolation_level=None)
                other.execute("BEGIN IMMEDIATE")
                other.execute("UPDATE contacts SET municipality = 'Valga' WHERE id = 1")
                other.execute("COMMIT")
                other.close()
                writes.append(count)

            await imports.write_in_batches(database, plan, other_writer, batch=250)
        finally:
            await database.dispose()

    in_thread(run)
    assert writes == [250, 250, 250, 250]


def test_a_batch_that_fails_takes_back_the_batches_written_before(
    sqlite_url: str, tmp_path: Path
) -> None:
    first = parsed_rows(write_file(tmp_path / "first.csv", 3))
    plan_and_write(sqlite_url, first, batch=500)
    before = table_counts(sqlite_url)
    changed = tmp_path / "changed.csv"
    changed.write_text(
        HEADER
        + "Persona 0,p0@bulk.example,,guest,Rēzekne,2026-02-01,culture\n"
        + "Persona 1,p1@bulk.example,taken_name,guest,Valka,2026-01-15,\n"
        + "".join(f"Jauns {n},new{n}@bulk.example,,guest,,,\n" for n in range(5)),
        encoding="utf-8",
    )

    def someone_takes_the_username() -> None:
        with sqlite3.connect(sqlite_file(sqlite_url)) as db:
            db.execute(
                "INSERT INTO contacts (name, telegram_username, role, country, language, "
                "email_state, telegram_state, created_at, updated_at) VALUES ('Cits', "
                "'taken_name', 'guest', 'LV', 'lv', 'active', 'unlinked', "
                "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            )

    with pytest.raises(imports.ImportStopped) as stopped:
        plan_and_write(
            sqlite_url, parsed_rows(changed), batch=1, between=someone_takes_the_username
        )
    assert stopped.value.undone and stopped.value.written == 6
    assert table_counts(sqlite_url) == (before[0] + 1, before[1], before[2])
    with sqlite3.connect(sqlite_file(sqlite_url)) as db:
        assert db.execute(
            "SELECT municipality, consent_on FROM contacts WHERE email = 'p0@bulk.example'"
        ).fetchone() == ("Valka", None)
        assert db.execute(
            "SELECT tag FROM contact_tags t JOIN contacts c ON c.id = t.contact_id "
            "WHERE c.email = 'p0@bulk.example'"
        ).fetchall() == [("youth",)]
        assert db.execute("SELECT count(*) FROM contacts WHERE name LIKE 'Jauns%'").fetchone() == (
            0,
        )


def test_an_import_into_a_locked_database_says_so_in_one_line(
    cli: Cli, sqlite_url: str, tmp_path: Path
) -> None:
    path = write_file(tmp_path / "few.csv", 3)
    holder = sqlite3.connect(sqlite_file(sqlite_url), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = cli("contacts", "import", str(path))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "is busy" in lines[0] and "Try again in a moment" in lines[0]
    assert table_counts(sqlite_url)[0] == 0


def test_a_database_server_that_is_down_is_one_line_without_the_password(
    cli: Cli, unused_tcp_port: int
) -> None:
    url = f"postgresql://expertbot:s3cret-pass@127.0.0.1:{unused_tcp_port}/expertbot"
    result = cli("contacts", "list", EXPERTBOT_DATABASE_URL=url)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "cannot reach the database (127.0.0.1" in lines[0]
    assert "(connection refused): is the database server running?" in lines[0]
    assert "s3cret" not in result.output and "Traceback" not in result.output


def test_a_sqlite_file_in_a_missing_folder_is_one_line(cli: Cli, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'no-such-folder' / 'x.db'}"
    result = cli("contacts", "list", EXPERTBOT_DATABASE_URL=url)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: cannot open the SQLite database ({tmp_path / 'no-such-folder' / 'x.db'}): "
        "check EXPERTBOT_DATABASE_URL and that its folder exists and is writable."
    ]


async def test_each_new_contact_gets_its_own_tags_and_consent_on_either_database(
    database: Database, tmp_path: Path
) -> None:
    rows = parsed_rows(write_file(tmp_path / "big.csv", 1_100))
    async with database.read_scope() as session:
        plan = await registry.plan_import(session, rows)
    await imports.write_in_batches(database, plan)
    async with database.read_scope() as session:
        tagged = await session.execute(
            select(Contact.name, ContactTag.tag).join(
                ContactTag, ContactTag.contact_id == Contact.id
            )
        )
        consented = await session.scalars(
            select(Contact.name).join(ConsentRecord, ConsentRecord.contact_id == Contact.id)
        )
        assert sorted(name for name, _tag in tagged) == sorted(
            f"Persona {n}" for n in range(1_100) if n % 3 == 0
        )
        assert sorted(consented) == sorted(f"Persona {n}" for n in range(1_100) if n % 2)
