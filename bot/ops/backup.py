"""Consistent copies of the database while the service runs, and restoring one.

SQLite is copied through its online backup API in one step: a single read transaction, so the
copy is one moment of the database however busy the service is (in WAL mode readers never
block writers, and a step-wise copy would restart each time the service writes). PostgreSQL
is copied by `pg_dump` in its custom format, restored by `pg_restore`; a plain SQL dump is
restored by `psql`.
"""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import make_url

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
# Tables that say which schema a database has, not what it holds.
BOOKKEEPING = ("alembic_version",)

Progress = Callable[[str], None]


class BackupError(Exception):
    """A backup or restore cannot be done; the message says why and what to do."""


def engine_of(url: str) -> str:
    """Return "sqlite" or "postgresql" for a database URL."""
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def extension(url: str) -> str:
    """Return the file extension backups of this database get."""
    return "db" if engine_of(url) == "sqlite" else "dump"


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError(f"{url} is an in-memory database; there is nothing on disk to copy")
    return Path(database)


def postgres_url(url: str) -> str:
    """Return the URL in the form libpq (pg_dump, psql) understands: no driver, no +asyncpg."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def postgres_tool(name: str) -> Path:
    """Find pg_dump, pg_restore or psql on PATH or in Debian's PostgreSQL folders."""
    found = shutil.which(name)
    if found:
        return Path(found)
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        candidate = Path(folder) / name
        if candidate.exists():
            return candidate
    raise BackupError(
        f"{name} was not found; install the PostgreSQL client tools of the server's version "
        "(Debian: apt-get install postgresql-client) and try again"
    )


# --- Backup -------------------------------------------------------------------------------


def backup(url: str, target: Path, progress: Progress | None = None) -> Path:
    """Copy the database at `url` into the file `target` (written whole or not at all)."""
    say = progress or (lambda _text: None)
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    try:
        if engine_of(url) == "sqlite":
            _backup_sqlite(sqlite_path(url), partial, say)
        else:
            _backup_postgres(url, partial, say)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _backup_sqlite(source: Path, target: Path, say: Progress) -> None:
    if not source.is_file():
        raise BackupError(f"there is no database file at {source}")
    say(f"copying {source} ({size_text(source)})")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.execute("PRAGMA busy_timeout=5000")
        src.backup(dst)  # one step: one read transaction, one moment of the database
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    finally:
        dst.close()
        src.close()
    _check_sqlite(target)


def _backup_postgres(url: str, target: Path, say: Progress) -> None:
    pg_dump = postgres_tool("pg_dump")
    say(f"running {pg_dump.name} (custom format)")
    _run(
        [str(pg_dump), "--format=custom", "--no-owner", "--no-privileges", f"--file={target}"],
        url,
    )


def _pg_env(url: str) -> dict[str, str]:
    """Say where the database is through libpq's variables, not the command line, where
    `ps` would show its password to every user of the machine."""
    parsed = make_url(postgres_url(url))
    env = {**os.environ}
    for variable, value in (
        ("PGHOST", parsed.host),
        ("PGPORT", parsed.port),
        ("PGUSER", parsed.username),
        ("PGPASSWORD", parsed.password),
        ("PGDATABASE", parsed.database),
    ):
        if value is not None:
            env[variable] = str(value)
    return env


def _run(command: list[str], url: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, env=_pg_env(url), check=False)
    if result.returncode != 0:
        message = (result.stderr or result.stdout).strip().splitlines()
        raise BackupError(f"{Path(command[0]).name} failed: {' / '.join(message[-3:])}")


def _check_sqlite(path: Path) -> None:
    connection = sqlite3.connect(path)
    try:
        verdict = connection.execute("PRAGMA quick_check").fetchone()[0]
    finally:
        connection.close()
    if verdict != "ok":
        raise BackupError(f"the copy at {path} failed SQLite's check: {verdict}")


def size_text(path: Path) -> str:
    size = float(path.stat().st_size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


# --- Restore ------------------------------------------------------------------------------


def kind_of(file: Path) -> str:
    """Tell a SQLite file, a pg_dump custom archive and a plain SQL dump apart."""
    if not file.is_file():
        raise BackupError(f"there is no backup file at {file}")
    with file.open("rb") as handle:
        head = handle.read(16)
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "pg_custom"
    return "pg_plain"


def filled_tables(url: str) -> list[str]:
    """Name the tables of the database at `url` that hold rows (bookkeeping aside)."""
    if engine_of(url) == "sqlite":
        path = sqlite_path(url)
        if not path.exists():
            return []
        connection = sqlite3.connect(path)
        try:
            names = [
                row[0]
                for row in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
                )
            ]
            return [
                n
                for n in names
                if n not in BOOKKEEPING
                and connection.execute(f'SELECT 1 FROM "{n}" LIMIT 1').fetchone()
            ]
        finally:
            connection.close()
    psql = postgres_tool("psql")
    script = (
        "SELECT string_agg(format('SELECT %L WHERE EXISTS (SELECT 1 FROM %I.%I)', "
        "table_name, table_schema, table_name), ' UNION ALL ') FROM information_schema.tables "
        "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
        "AND table_type = 'BASE TABLE' AND table_name NOT IN ('alembic_version') \\gexec"
    )
    output = _psql(psql, url, script)
    return [line for line in output.splitlines() if line.strip()]


def _psql(psql: Path, url: str, script: str) -> str:
    result = subprocess.run(
        [str(psql), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1"],
        input=script,
        capture_output=True,
        text=True,
        env=_pg_env(url),
        check=False,
    )
    if result.returncode != 0:
        raise BackupError(f"psql failed: {result.stderr.strip()}")
    return result.stdout


def restore(file: Path, url: str, progress: Progress | None = None) -> None:
    """Restore a backup into the empty database at `url`; refuse one that holds data."""
    say = progress or (lambda _text: None)
    kind = kind_of(file)
    engine = engine_of(url)
    if (kind == "sqlite") != (engine == "sqlite"):
        made = "SQLite" if kind == "sqlite" else "PostgreSQL"
        raise BackupError(
            f"{file} is a {made} backup and EXPERTBOT_DATABASE_URL names a "
            f"{'SQLite' if engine == 'sqlite' else 'PostgreSQL'} database; restore it into a "
            f"{made} database"
        )
    say("checking that the database is empty")
    filled = filled_tables(url)
    if filled:
        shown = ", ".join(sorted(filled)[:5]) + (" …" if len(filled) > 5 else "")
        raise BackupError(
            f"the database is not empty ({len(filled)} table(s) hold rows: {shown}); restore "
            "only into a new, empty database, e.g. point EXPERTBOT_DATABASE_URL at a new file "
            "or a newly created PostgreSQL database"
        )
    if kind == "sqlite":
        _restore_sqlite(file, sqlite_path(url), say)
    elif kind == "pg_custom":
        pg_restore = postgres_tool("pg_restore")
        say(f"running {pg_restore.name}")
        # --clean drops what `db upgrade` may have created (empty tables) before restoring.
        _run(
            [
                str(pg_restore),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                "--exit-on-error",
                f"--dbname={make_url(url).database}",
                str(file),
            ],
            url,
        )
    else:
        psql = postgres_tool("psql")
        say(f"running {psql.name} on the SQL file")
        _run(
            [
                str(psql),
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "--single-transaction",
                "-f",
                str(file),
            ],
            url,
        )


def _restore_sqlite(file: Path, target: Path, say: Progress) -> None:
    _check_sqlite(file)
    say(f"copying {file} ({size_text(file)}) into {target}")
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
