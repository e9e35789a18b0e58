"""`expertbot backup` and `restore`: a consistent copy while the service writes, restored whole."""

from __future__ import annotations

import asyncio
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import load_settings
from bot.db.base import Base
from bot.db.models import Contact, OutboxMessage
from bot.db.session import Database
from bot.ops.housekeeping import daily_backup, run_daily
from tests import conftest
from tests.conftest import Cli, query
from tests.test_export import build, built_network
from tests.test_retention import NOW, _age_rows

BATCH = 5  # outbox rows the writer adds per transaction
Tables = dict[str, list[tuple[Any, ...]]]


async def _tables(session: AsyncSession) -> Tables:
    """Every row of every table, ordered by primary key, as plain tuples."""
    found: Tables = {}
    for table in Base.metadata.sorted_tables:
        rows = await session.execute(select(table).order_by(*table.primary_key.columns))
        found[table.name] = [tuple(row) for row in rows]
    found["alembic_version"] = [
        tuple(row) for row in await session.execute(text("SELECT * FROM alembic_version"))
    ]
    return found


def tables(url: str) -> Tables:
    return query(url, _tables)


class Writer(threading.Thread):
    """Another connection that keeps queueing broadcast rows, BATCH per transaction."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.batches = 0
        self.stop = threading.Event()
        self.progress = threading.Condition()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._write())
        except BaseException as error:
            self.error = error
            with self.progress:
                self.progress.notify_all()

    async def _write(self) -> None:
        database = Database(self.url)
        try:
            async with database.session_scope() as session:
                contact_id = await session.scalar(select(Contact.id).order_by(Contact.id))
            at = datetime(2027, 1, 20, 9, 0, tzinfo=UTC)
            while not self.stop.is_set():
                async with database.session_scope() as session:
                    for i in range(BATCH):
                        session.add(
                            OutboxMessage(
                                dedupe_key=f"load:{self.batches}:{i}",
                                contact_id=contact_id,
                                channel="telegram",
                                kind="broadcast",
                                params={"text": f"Ziņa {self.batches}.{i}", "subject": ""},
                                send_after=at,
                                next_attempt_at=at,
                            )
                        )
                with self.progress:
                    self.batches += 1
                    self.progress.notify_all()
        finally:
            await database.dispose()

    def wait_for(self, batches: int) -> None:
        with self.progress:
            assert self.progress.wait_for(
                lambda: self.batches >= batches or self.error is not None, timeout=30
            )
        assert self.error is None, self.error


def test_a_backup_taken_while_rows_are_written_restores_to_one_moment(
    sqlite_template: Path, tmp_path: Path
) -> None:
    source = built_network(tmp_path, sqlite_template)
    file = tmp_path / "backup.db"
    writer = Writer(source.url)
    writer.start()
    try:
        writer.wait_for(3)
        result = source("backup", str(file))
        after_backup = writer.batches
        writer.wait_for(after_backup + 3)  # the service went on writing after the copy
    finally:
        writer.stop.set()
        writer.join()
    assert result.exit_code == 0, result.output
    assert "Backed up to" in result.output

    restored = Cli(f"sqlite:///{tmp_path / 'restored.db'}")
    result = restored("restore", str(file))
    assert result.exit_code == 0, result.output

    now, then = tables(source.url), tables(restored.url)
    assert set(now) == set(then)
    for name in now:
        if name != "outbox":
            assert then[name] == now[name], name
    copied = then["outbox"]
    load = [row for row in copied if str(row[1]).startswith("load:")]
    assert load and len(load) % BATCH == 0  # whole transactions only
    assert len(load) < writer.batches * BATCH  # and not what was written after it
    last = max(row[0] for row in copied)
    assert copied == [row for row in now["outbox"] if row[0] <= last]


def test_restore_refuses_a_database_that_holds_data(sqlite_template: Path, tmp_path: Path) -> None:
    source = built_network(tmp_path, sqlite_template)
    file = tmp_path / "backup.db"
    assert source("backup", str(file)).exit_code == 0
    before = tables(source.url)
    result = source("restore", str(file))
    assert result.exit_code == 1
    assert "the database is not empty" in result.output and "contacts" in result.output
    assert tables(source.url) == before


def test_restore_fills_a_migrated_but_empty_database(
    sqlite_template: Path, sqlite_url: str, tmp_path: Path
) -> None:
    (tmp_path / "source").mkdir()
    source = built_network(tmp_path / "source", sqlite_template)
    file = tmp_path / "backup.db"
    assert source("backup", str(file)).exit_code == 0
    result = Cli(sqlite_url)("restore", str(file))
    assert result.exit_code == 0, result.output
    assert tables(sqlite_url) == tables(source.url)


def test_backup_does_not_overwrite_a_file_without_force(cli: Cli, tmp_path: Path) -> None:
    file = tmp_path / "kept.db"
    file.write_bytes(b"someone's file")
    result = cli("backup", str(file))
    assert result.exit_code == 1 and "--force" in result.output
    assert file.read_bytes() == b"someone's file"
    assert cli("backup", str(file), "--force").exit_code == 0
    assert file.read_bytes().startswith(b"SQLite format 3")


def test_a_postgresql_backup_restores_every_row(
    postgres_server: str, postgres_empty: str, postgres_url: str, tmp_path: Path
) -> None:
    # The source is built in a new database; the copy goes into a migrated, empty one
    # (as after `expertbot run` started once) and into a bare new one.
    source = Cli(postgres_empty)
    assert source("db", "upgrade").exit_code == 0
    build(source)
    file = tmp_path / "backup.dump"
    result = source("backup", str(file))
    assert result.exit_code == 0, result.output
    assert file.read_bytes().startswith(b"PGDMP")
    expected = tables(source.url)
    assert expected["contacts"] and expected["outbox"] and expected["invitations"]

    result = Cli(postgres_url)("restore", str(file))
    assert result.exit_code == 0, result.output
    assert tables(postgres_url) == expected

    bare = f"expertbot_restore_{os.getpid()}"
    conftest._admin(postgres_server, f'CREATE DATABASE "{bare}"')
    try:
        bare_url = conftest._with_database(postgres_server, bare)
        result = Cli(bare_url)("restore", str(file))
        assert result.exit_code == 0, result.output
        assert tables(bare_url) == expected
        again = Cli(bare_url)("restore", str(file))
        assert again.exit_code == 1 and "the database is not empty" in again.output
        assert tables(bare_url) == expected
    finally:
        conftest._admin(postgres_server, f'DROP DATABASE IF EXISTS "{bare}" WITH (FORCE)')


def test_a_sqlite_backup_is_not_restored_into_postgresql(
    cli: Cli, postgres_empty: str, tmp_path: Path
) -> None:
    file = tmp_path / "backup.db"
    assert cli("backup", str(file)).exit_code == 0
    result = Cli(postgres_empty)("restore", str(file))
    assert result.exit_code == 1 and "is a SQLite backup" in result.output


async def test_daily_backups_keep_the_newest_and_leave_other_files(
    sqlite_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    (folder / "before-upgrade.db").write_bytes(b"a copy made by hand")
    settings = load_settings(database_url=sqlite_url, backup_dir=str(folder), backup_keep=3)
    start = datetime(2027, 3, 1, 1, 30, tzinfo=UTC)
    written = [await daily_backup(settings, start + timedelta(days=n)) for n in range(5)]
    assert [p.name for p in written if p] == [f"expertbot-2027-03-0{n}.db" for n in range(1, 6)]
    assert sorted(p.name for p in folder.iterdir()) == [
        "before-upgrade.db",
        "expertbot-2027-03-03.db",
        "expertbot-2027-03-04.db",
        "expertbot-2027-03-05.db",
    ]
    assert (folder / "expertbot-2027-03-05.db").read_bytes().startswith(b"SQLite format 3")
    assert await daily_backup(load_settings(database_url=sqlite_url), start) is None


def test_the_daily_run_clears_old_deliveries_then_backs_up(
    sqlite_template: Path, tmp_path: Path
) -> None:
    source = built_network(tmp_path, sqlite_template)
    groups = query(source.url, _age_rows)
    folder = tmp_path / "backups"
    settings = load_settings(database_url=source.url, backup_dir=str(folder))

    async def daily() -> None:
        database = Database(source.url)
        try:
            await run_daily(database, settings, NOW)
        finally:
            await database.dispose()

    conftest.in_thread(daily)
    copy = folder / "expertbot-2030-03-01.db"
    assert copy.is_file()
    for url in (source.url, f"sqlite:///{copy}"):
        rows = {row[0]: row for row in tables(url)["outbox"]}
        columns = [c.name for c in OutboxMessage.__table__.columns]
        body = columns.index("rendered_text")
        assert all(rows[i][body] is None for i in groups["old"])
        assert all(rows[i][body] is not None for i in groups["recent"])
