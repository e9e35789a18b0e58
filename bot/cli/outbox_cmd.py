"""`expertbot outbox`: see what is queued, sent and failing; requeue failures."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from rich.table import Table

from bot.cli.common import State, console, fail, pass_state, with_database
from bot.db.session import Database
from bot.db.vocab import OUTBOX_STATUSES
from bot.services.delivery import outbox


@click.group("outbox")
def outbox_group() -> None:
    """The queue of outgoing messages."""


def _age(since: datetime | None) -> str:
    if since is None:
        return "—"
    minutes = int((datetime.now(UTC) - since).total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


@outbox_group.command("status")
@pass_state
def status(state: State) -> None:
    """Counts by status and channel, the oldest queued message, recent failures."""

    async def work(database: Database) -> outbox.OutboxStatus:
        async with database.session_scope() as session:
            return await outbox.status(session)

    report = with_database(state.settings, work)
    table = Table("channel", *OUTBOX_STATUSES, title="Outbox")
    for channel in ("telegram", "email"):
        table.add_row(channel, *(str(report.counts.get((s, channel), 0)) for s in OUTBOX_STATUSES))
    console.print(table)
    console.print(f"Oldest queued message waits for: {_age(report.oldest_queued)}")
    if report.recent_failures:
        failures = Table("id", "channel", "kind", "attempts", "reason", title="Recent failures")
        for row in report.recent_failures:
            failures.add_row(
                str(row.id), row.channel, row.kind, str(row.attempts), row.last_error or ""
            )
        console.print(failures)
        console.print("Requeue them with: expertbot outbox retry --failed")


@outbox_group.command("retry")
@click.option("--failed", is_flag=True, help="Requeue every failed message.")
@pass_state
def retry(state: State, failed: bool) -> None:
    """Give failed messages another round of attempts."""
    if not failed:
        fail("say which messages: --failed")

    async def work(database: Database) -> int:
        async with database.session_scope() as session:
            return await outbox.requeue_failed(session, now=datetime.now(UTC))

    count = with_database(state.settings, work)
    console.print(f"Requeued {count} failed message(s).")
