"""Write an import plan in short transactions, so a running service is never locked out long.

SQLite has one writer at a time: a 50,000-row import in one transaction would keep the
service's answers and deliveries waiting for minutes. Each batch of BATCH rows is its own
transaction instead. The import stays all or nothing: when a batch fails, the batches already
written are undone (new contacts deleted, changed ones put back) before the error is raised.
Others may see the first batches while the import runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, update

from bot.db.base import utcnow
from bot.db.models import ConsentRecord, Contact, ContactTag
from bot.db.session import Database
from bot.services.contacts.registry import (
    BATCH,
    ROW_FIELDS,
    ImportPlan,
    apply_changes,
    insert_rows,
)


class ImportStopped(Exception):
    """A batch failed; `undone` says whether the earlier batches were taken back."""

    def __init__(self, written: int, total: int, undone: bool, cause: BaseException) -> None:
        super().__init__(f"stopped after {written} of {total} rows: {cause}")
        self.written, self.total, self.undone, self.cause = written, total, undone, cause


@dataclass
class _Journal:
    """What the batches written so far changed, to take it back."""

    started: datetime = field(default_factory=utcnow)
    created: list[int] = field(default_factory=list)
    before: list[dict[str, Any]] = field(default_factory=list)  # id and old values
    tags: dict[int, list[str]] = field(default_factory=dict)


async def write_in_batches(
    database: Database,
    plan: ImportPlan,
    progress: Callable[[int], None] | None = None,
    batch: int = BATCH,
) -> None:
    """Write a plan (from plan_import) one transaction per `batch` rows; all or nothing."""
    journal = _Journal()
    total = len(plan.new) + len(plan.updated)
    written = 0
    try:
        for first in range(0, len(plan.new), batch):
            rows = plan.new[first : first + batch]
            async with database.session_scope() as session:
                ids = await insert_rows(session, rows)
            journal.created += ids
            written += len(rows)
            if progress:
                progress(len(rows))
        for first in range(0, len(plan.updated), batch):
            changes = plan.updated[first : first + batch]
            before = [_snapshot(contact) for _row, contact, _changed in changes]
            async with database.session_scope() as session:
                session.add_all(contact for _row, contact, _changed in changes)
                apply_changes(session, changes)
            for values, (_row, contact, _changed) in zip(before, changes, strict=True):
                journal.before.append(values)
                journal.tags[contact.id] = values.pop("tags")
            written += len(changes)
            if progress:
                progress(len(changes))
    except Exception as error:
        if not written:
            raise
        try:
            await _undo(database, journal)
        except Exception:
            raise ImportStopped(written, total, False, error) from error
        raise ImportStopped(written, total, True, error) from error


def _snapshot(contact: Contact) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(contact, name) for name in ROW_FIELDS}
    values.update(
        id=contact.id,
        consent_source=contact.consent_source,
        email_state=contact.email_state,  # a new address clears a bounce: undo puts it back
        tags=contact.tag_names,
    )
    return values


async def _undo(database: Database, journal: _Journal) -> None:
    """Delete the contacts the import added and put back the ones it changed, in one go."""
    async with database.session_scope() as session:
        for first in range(0, len(journal.created), BATCH):
            chunk = journal.created[first : first + BATCH]
            await session.execute(delete(Contact).where(Contact.id.in_(chunk)))  # tags cascade
        if not journal.before:
            return
        await session.execute(update(Contact), journal.before)
        changed = list(journal.tags)
        for first in range(0, len(changed), BATCH):
            chunk = changed[first : first + BATCH]
            await session.execute(delete(ContactTag).where(ContactTag.contact_id.in_(chunk)))
            await session.execute(
                delete(ConsentRecord).where(
                    ConsentRecord.contact_id.in_(chunk),
                    ConsentRecord.source == "import",
                    ConsentRecord.recorded_at >= journal.started,
                )
            )
        tags = [{"contact_id": i, "tag": t} for i, names in journal.tags.items() for t in names]
        if tags:
            await session.execute(insert(ContactTag), tags)
