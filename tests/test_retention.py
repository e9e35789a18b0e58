"""Retention: old delivery records lose their bodies and personal details, never their counts."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import OutboxMessage
from bot.db.session import Database
from bot.sandbox import TelegramEmulator
from bot.services.contacts import registry
from bot.services.contacts.rows import parse_rows, read_table
from bot.services.delivery.retention import REMOVED, forget_old_deliveries
from bot.services.reporting.funding_report import figures
from tests.conftest import DATA, Cli, query
from tests.test_export import built_network
from tests.test_onboarding import Network, ilze

RIGA = ZoneInfo("Europe/Riga")
NOW = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=731)
RECENT = NOW - timedelta(days=729)


@pytest.fixture
def network(sqlite_template: Path, tmp_path: Path) -> Cli:
    return built_network(tmp_path, sqlite_template)


async def _age_rows(session: AsyncSession) -> dict[str, list[int]]:
    """Give the queued invitations a history: some sent long ago, some lately, some failed."""
    rows = list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    assert len(rows) >= 8, "the network should have queued invitations"
    groups: dict[str, list[int]] = {"old": [], "recent": [], "old_failed": [], "queued": []}
    for index, row in enumerate(rows):
        name = ("old", "recent", "old_failed", "queued")[index % 4]
        groups[name].append(row.id)
        row.params = {**row.params, "text": f"Labdien, Ilze! Personal words {row.id}"}
        if name == "queued":
            row.updated_at = OLD  # old, but still work to do: never touched
            continue
        row.status = "failed" if name == "old_failed" else "sent"
        moment = RECENT if name == "recent" else OLD
        row.sent_at = None if name == "old_failed" else moment
        row.updated_at = moment
        row.subject = f"Uzaicinājums {row.id}"
        row.rendered_text = f"Labdien, Ilze Kalniņa! Body {row.id}"
        row.provider_id = f"<outbox{row.id}@km.example>"
        row.last_error = (
            f"550 ilze.kalnina@jelgava.example refused {row.id}" if name == "old_failed" else None
        )
    return groups


def _counts(rows: list[OutboxMessage]) -> Counter[tuple[Any, ...]]:
    return Counter(
        (r.kind, r.channel, r.status, r.event_id, r.survey_id, r.contact_id, r.sent_at)
        for r in rows
    )


async def _all(session: AsyncSession) -> list[OutboxMessage]:
    return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def _figures(session: AsyncSession) -> Any:
    return await figures(
        session, start=date(2027, 1, 1), end=date(2027, 12, 31), zone=RIGA, now=NOW
    )


async def _forget(session: AsyncSession) -> int:
    return await forget_old_deliveries(session, now=NOW, days=730)


def test_old_bodies_are_removed_and_the_report_is_unchanged(network: Cli) -> None:
    groups = query(network.url, _age_rows)
    before_rows = query(network.url, _all)
    before_report = query(network.url, _figures)
    assert before_report.people > 0 and before_report.events

    cleared = query(network.url, _forget)

    assert cleared == len(groups["old"]) + len(groups["old_failed"])
    after_rows = {r.id: r for r in query(network.url, _all)}
    assert query(network.url, _figures) == before_report
    assert _counts(list(after_rows.values())) == _counts(before_rows)
    for row_id in groups["old"] + groups["old_failed"]:
        row = after_rows[row_id]
        assert row.rendered_text is None and row.subject is None and row.provider_id is None
        assert row.params == {}
        assert row.updated_at == OLD  # the clean-up does not make a record look recent
    for row_id in groups["old_failed"]:
        assert after_rows[row_id].last_error == REMOVED
    for row_id in groups["recent"]:
        row = after_rows[row_id]
        assert row.rendered_text == f"Labdien, Ilze Kalniņa! Body {row_id}"
        assert row.subject and row.provider_id and row.params["text"]
    for row_id in groups["queued"]:
        row = after_rows[row_id]
        assert row.status == "queued" and row.params["text"]
    # A second run finds nothing more to clear.
    assert query(network.url, _forget) == 0


async def test_privacy_says_how_long_delivery_texts_are_kept(sqlite_database: Database) -> None:
    async with sqlite_database.session_scope() as session:
        rows = parse_rows(read_table(DATA / "contacts.csv")).rows
        await registry.apply_import(session, await registry.plan_import(session, rows))
    async with TelegramEmulator() as emulator:
        net = Network(sqlite_database, emulator, retention_days=400)
        await net.start()
        try:
            user = ilze(emulator)
            await net.joined(user, "ilze.kalnina@jelgava.example")
            await user.send("/privacy")
            summary = await user.wait_for_message()
        finally:
            await net.close()
    assert "pēc 400 dienām" in (summary.text or "")
