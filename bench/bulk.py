"""The bulk paths as a coordinator runs them, each as a ratio to a plain baseline.

A CSV of --rows contacts (default 10,000) goes through the real commands, each its own
`python -m bot` process on a fresh SQLite file: `contacts import`, `contacts list`,
`events invite` (everyone, to one event), `events rsvps` and `export FILE.xlsx`. Each is timed
from start to exit (start-up included) with the process's peak RSS (wait4), and compared with
the least a script could do for the same result, in this process, on a copy of the same
database:

  import   csv.reader + sqlite3 executemany of the same rows (no checks)    target ≤ 15×
  list     one SELECT of the same columns (tags grouped), lines to /dev/null
  invite   sqlite3 executemany of the same invitations, history and outbox rows
  rsvps    one SELECT joining invitations and contacts, lines to /dev/null
  export   plain SELECT * of contacts, invitations and outbox into openpyxl write-only

Last line: bulk rows=<n> import_ratio=… list_ratio=… invite_ratio=… rsvps_ratio=…
    export_ratio=… export_rss_mb=… import_target=15 (printed even when a target is missed)
"""

# ruff: noqa: E402
from __future__ import annotations

import sys
from pathlib import Path

# bench/email.py would shadow the standard library's email package: project root first.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import csv
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bench.common import fresh_database

ROLES = ("regional_expert", "mediator", "partner", "guest")
HEADER = [
    *("name", "email", "telegram_username", "phone", "role", "organization", "municipality"),
    *("country", "language", "stakeholder_group", "consent", "tags"),
]
IMPORT_TARGET = 15
SLUG = "bench-valga"
STATES = ("active", "unlinked")


def write_contacts(path: Path, rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for n in range(rows):
            writer.writerow(
                [
                    f"Dalībnieks Nr. {n}",
                    f"person{n}@bench.example",
                    f"user_{n:06d}" if n % 3 == 0 else "",
                    f"+371 2{n:07d}" if n % 2 else "",
                    ROLES[n % 4],
                    f"Pašvaldība {n % 50}",
                    f"Novads {n % 40}",
                    "LV",
                    ("lv", "et", "en")[n % 3],
                    "municipality" if n % 5 else "",
                    "2026-01-15" if n % 2 else "",
                    "education,youth" if n % 4 == 0 else "",
                ]
            )


def command(url: str, *args: str) -> tuple[float, float]:
    """Run `expertbot ARGS` as its own process; return (seconds, peak RSS in MB)."""
    env = {**os.environ, "EXPERTBOT_DATABASE_URL": url}
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert child.stderr is not None
    problems = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        print(f"  ! expertbot {' '.join(args)} failed: {problems.decode()[-500:]}")
    return elapsed, usage.ru_maxrss / 1024


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def baseline_import(csv_path: Path, db_path: Path) -> None:
    now = datetime.now(UTC).isoformat(" ")
    with csv_path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        values = [
            (
                *r[:2],
                r[2] or None,
                r[3] or None,
                *r[4:9],
                r[9] or None,
                r[10] or None,
                *STATES,
                now,
                now,
            )
            for r in reader
        ]
    db = sqlite3.connect(db_path)
    db.executemany(
        "INSERT INTO contacts (name, email, telegram_username, phone, role, organisation, "
        "municipality, country, language, stakeholder_group, consent_on, email_state, "
        "telegram_state, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        values,
    )
    db.commit()
    db.close()


def baseline_list(db_path: Path) -> None:
    db = sqlite3.connect(db_path)
    with open(os.devnull, "w") as out:
        for row in db.execute(
            "SELECT c.name, c.email, c.telegram_username, c.role, c.municipality, c.country, "
            "c.language, group_concat(t.tag) FROM contacts c "
            "LEFT JOIN contact_tags t ON t.contact_id = c.id WHERE c.erased_at IS NULL "
            "GROUP BY c.id ORDER BY c.name, c.id"
        ):
            out.write("\t".join(str(v or "") for v in row) + "\n")
    db.close()


def add_event(db_path: Path) -> int:
    starts = datetime.now(UTC) + timedelta(days=30)
    db = sqlite3.connect(db_path)
    cursor = db.execute(
        "INSERT INTO events (slug, kind, status, title, description, timezone, starts_at, "
        "ends_at, reminder_offsets, audience, created_at, updated_at) "
        "VALUES (?, 'cross_border_meeting', 'draft', ?, '{}', 'Europe/Riga', ?, ?, '[]', '{}', "
        "?, ?)",
        (
            SLUG,
            json.dumps({"lv": "Sanāksme Valgā", "et": "Kohtumine Valgas", "en": "Valga"}),
            starts.isoformat(" "),
            (starts + timedelta(hours=4)).isoformat(" "),
            starts.isoformat(" "),
            starts.isoformat(" "),
        ),
    )
    db.commit()
    event_id = int(cursor.lastrowid or 0)
    db.close()
    return event_id


def baseline_invite(db_path: Path, event_id: int) -> None:
    now = datetime.now(UTC).isoformat(" ")
    db = sqlite3.connect(db_path)
    people = [
        row[0]
        for row in db.execute("SELECT id FROM contacts WHERE email_state = 'active' ORDER BY id")
    ]
    db.executemany(
        "INSERT INTO invitations (event_id, contact_id, status, invited_at, created_at, "
        "updated_at) VALUES (?, ?, 'invited', ?, ?, ?)",
        [(event_id, c, now, now, now) for c in people],
    )
    db.execute(
        "INSERT INTO invitation_answers (invitation_id, status, recorded_at) "
        "SELECT id, 'invited', ? FROM invitations WHERE event_id = ?",
        (now, event_id),
    )
    db.executemany(
        "INSERT INTO outbox (dedupe_key, contact_id, channel, kind, event_id, params, urgent, "
        "send_after, status, attempts, next_attempt_at, created_at, updated_at) VALUES "
        "(?, ?, 'email', 'event_invitation', ?, '{}', 0, ?, 'queued', 0, ?, ?, ?)",
        [(f"invite:{event_id}:{c}:email", c, event_id, now, now, now, now) for c in people],
    )
    db.commit()
    db.close()


def baseline_rsvps(db_path: Path, event_id: int) -> None:
    db = sqlite3.connect(db_path)
    with open(os.devnull, "w") as out:
        for row in db.execute(
            "SELECT c.name, c.email, c.organisation, c.municipality, i.status, i.answered_at "
            "FROM invitations i JOIN contacts c ON c.id = i.contact_id WHERE i.event_id = ? "
            "ORDER BY i.status, c.name, c.id",
            (event_id,),
        ):
            out.write("\t".join(str(v or "") for v in row) + "\n")
    db.close()


def baseline_export(db_path: Path, out: Path) -> None:
    from openpyxl import Workbook

    db = sqlite3.connect(db_path)
    workbook = Workbook(write_only=True)
    for table in ("contacts", "invitations", "outbox"):
        sheet = workbook.create_sheet(table)
        cursor = db.execute(f"SELECT * FROM {table}")
        sheet.append([d[0] for d in cursor.description])
        for row in cursor:
            sheet.append(list(row))
    workbook.save(out)
    db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    rows = parser.parse_args().rows

    url = fresh_database()
    db_path = Path(url.removeprefix("sqlite:///"))
    work = Path(tempfile.mkdtemp(prefix="expertbot-bulk-"))
    copy = work / "baseline.db"
    csv_path = work / "contacts.csv"
    write_contacts(csv_path, rows)
    ratios: dict[str, float] = {}
    rss: dict[str, float] = {}

    def report(name: str, ours: tuple[float, float], baseline: float, what: str) -> None:
        ratios[name], rss[name] = ours[0] / baseline, ours[1]
        print(
            f"{name:7} {ours[0]:7.2f} s  peak {ours[1]:4.0f} MB   baseline {baseline:6.3f} s "
            f"({what})   ratio {ratios[name]:6.1f}",
            flush=True,
        )

    startup = command(url, "--help")[0]
    loading = command(url, "contacts", "list", "--help")[0]
    print(
        f"start-up: expertbot --help {startup:.2f} s, contacts list --help {loading:.2f} s "
        f"(included in every time below; {rows} rows)"
    )

    shutil.copy(db_path, copy)
    report(
        "import",
        command(url, "contacts", "import", str(csv_path)),
        timed(lambda: baseline_import(csv_path, copy)),
        "csv + executemany",
    )
    report(
        "list",
        command(url, "contacts", "list"),
        timed(lambda: baseline_list(db_path)),
        "one SELECT",
    )

    event_id = add_event(db_path)
    shutil.copy(db_path, copy)
    report(
        "invite",
        command(url, "events", "invite", SLUG),
        timed(lambda: baseline_invite(copy, event_id)),
        "executemany of the same rows",
    )
    report(
        "rsvps",
        command(url, "events", "rsvps", str(event_id)),
        timed(lambda: baseline_rsvps(db_path, event_id)),
        "one SELECT with a join",
    )
    report(
        "export",
        command(url, "export", str(work / "export.xlsx")),
        timed(lambda: baseline_export(db_path, work / "baseline.xlsx")),
        "SELECT * into openpyxl write-only",
    )
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(db_path.parent, ignore_errors=True)
    print(
        f"bulk rows={rows} "
        + " ".join(f"{name}_ratio={ratio:.1f}" for name, ratio in ratios.items())
        + f" list_rss_mb={rss['list']:.0f} export_rss_mb={rss['export']:.0f}"
        + f" startup_s={loading:.2f} import_target={IMPORT_TARGET}"
    )


if __name__ == "__main__":
    main()
