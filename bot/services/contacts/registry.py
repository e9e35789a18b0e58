"""The contacts registry: import, look up, export and erase people."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.db.base import utcnow
from bot.db.models import (
    AccessRequest,
    ConsentRecord,
    Contact,
    ContactTag,
    InviteToken,
    OutboxMessage,
    RecommendationOwner,
    SurveyResponse,
    TelegramLink,
)
from bot.services.contacts import erasure
from bot.services.contacts.rows import ContactRow, Problem

# Rows written per statement, and per transaction when importing in batches.
BATCH = 500

# Email states that belong to the address, not the person: a new address ends them. A bounce
# is the old address refusing mail, so the corrected one is tried again. "unsubscribed" is not
# here on purpose: unsubscribing is the person's own choice, whatever address they use, so it
# outlives an address change (only they undo it, from the link in any earlier email).
ADDRESS_STATES = ("bounced",)

# Fields a row sets on a contact, in the order they are compared and reported.
ROW_FIELDS = (
    "name",
    "email",
    "telegram_username",
    "phone",
    "role",
    "organisation",
    "municipality",
    "country",
    "language",
    "stakeholder_group",
    "consent_on",
)


@dataclass
class ImportPlan:
    """What an import would do; nothing is written until apply_import()."""

    new: list[ContactRow] = field(default_factory=list)
    updated: list[tuple[ContactRow, Contact, list[str]]] = field(default_factory=list)
    unchanged: list[ContactRow] = field(default_factory=list)
    conflicts: list[Problem] = field(default_factory=list)

    @property
    def summary(self) -> str:
        return f"{len(self.new)} new, {len(self.updated)} updated, {len(self.unchanged)} unchanged"


async def _all_contacts(session: AsyncSession) -> list[Contact]:
    result = await session.scalars(
        select(Contact).where(Contact.erased_at.is_(None)).options(selectinload(Contact.tags))
    )
    return list(result)


def _row_values(row: ContactRow) -> dict[str, Any]:
    values = {f: getattr(row, f) for f in ROW_FIELDS if f != "organisation"}
    values["organisation"] = row.organisation
    return values


def _changes(contact: Contact, row: ContactRow) -> list[str]:
    changed = [f for f, v in _row_values(row).items() if getattr(contact, f) != v]
    if sorted(contact.tag_names) != sorted(row.tags):
        changed.append("tags")
    return changed


async def plan_import(session: AsyncSession, rows: Sequence[ContactRow]) -> ImportPlan:
    """Match rows to contacts (email, then Telegram username, then name+organisation)."""
    contacts = await _all_contacts(session)
    by_email = {c.email: c for c in contacts if c.email}
    by_username = {c.telegram_username.lower(): c for c in contacts if c.telegram_username}
    by_name = {(c.name.lower(), (c.organisation or "").lower()): c for c in contacts}
    plan = ImportPlan()
    for row in rows:
        contact = _match(row, by_email, by_username, by_name)
        conflict = _conflict(row, contact, by_email, by_username)
        if conflict:
            plan.conflicts.append(conflict)
        elif contact is None:
            plan.new.append(row)
        elif changed := _changes(contact, row):
            plan.updated.append((row, contact, changed))
        else:
            plan.unchanged.append(row)
    return plan


def _match(
    row: ContactRow,
    by_email: dict[str, Contact],
    by_username: dict[str, Contact],
    by_name: dict[tuple[str, str], Contact],
) -> Contact | None:
    if row.email:
        return by_email.get(row.email)
    if row.telegram_username and row.telegram_username.lower() in by_username:
        return by_username[row.telegram_username.lower()]
    return by_name.get((row.name.lower(), (row.organisation or "").lower()))


def _conflict(
    row: ContactRow,
    contact: Contact | None,
    by_email: dict[str, Contact],
    by_username: dict[str, Contact],
) -> Problem | None:
    if row.telegram_username:
        owner = by_username.get(row.telegram_username.lower())
        if owner is not None and owner is not contact:
            return Problem(
                row.line,
                "telegram_username",
                f"@{row.telegram_username} already belongs to {owner.email or owner.name}",
            )
    if row.email and contact is not None and contact.email not in (None, row.email):
        owner = by_email.get(row.email)
        if owner is not None and owner is not contact:
            return Problem(row.line, "email", f"{row.email} already belongs to {owner.name}")
    return None


async def apply_import(
    session: AsyncSession,
    plan: ImportPlan,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Write a plan's new and changed contacts (the caller's session commits)."""
    for first in range(0, len(plan.new), BATCH):
        chunk = plan.new[first : first + BATCH]
        await insert_rows(session, chunk)
        if progress:
            progress(len(chunk))
    for first in range(0, len(plan.updated), BATCH):
        changes = plan.updated[first : first + BATCH]
        apply_changes(session, changes)
        await session.flush()
        if progress:
            progress(len(changes))


async def insert_rows(session: AsyncSession, rows: Sequence[ContactRow]) -> list[int]:
    """Insert new contacts with their tags and consent in three statements; return their ids."""
    now = utcnow()
    values = [
        {
            **_row_values(row),
            "consent_source": "import" if row.consent_on else None,
            "created_at": now,
            "updated_at": now,
        }
        for row in rows
    ]
    # RETURNING gives rows in no promised order, and asking for the order makes SQLAlchemy
    # insert row by row on SQLite: match the ids back by the values instead. Rows equal in
    # every column are the same person twice, so either id fits either row.
    # The table, not the class: the ORM's bulk insert splits rows by which values are None.
    table = _table(Contact)
    columns = [table.c[name] for name in ROW_FIELDS]
    returned = await session.execute(insert(table).returning(table.c.id, *columns), values)
    by_values: dict[tuple[Any, ...], list[int]] = {}
    for found in returned:
        by_values.setdefault(tuple(found[1:]), []).append(found[0])
    ids = [by_values[tuple(getattr(row, f) for f in ROW_FIELDS)].pop() for row in rows]
    tags = [{"contact_id": i, "tag": t} for i, row in zip(ids, rows, strict=True) for t in row.tags]
    if tags:
        await session.execute(insert(_table(ContactTag)), tags)
    consents = [
        _consent_values(i, row.consent_on, now)
        for i, row in zip(ids, rows, strict=True)
        if row.consent_on
    ]
    if consents:
        await session.execute(insert(_table(ConsentRecord)), consents)
    return ids


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def apply_changes(
    session: AsyncSession, updated: Sequence[tuple[ContactRow, Contact, list[str]]]
) -> None:
    """Set changed rows' values on their contacts (written at the next flush).

    Every change of a known person goes through here (import, console form), so this is also
    where a new email address clears a bounce (see ADDRESS_STATES).
    """
    for row, contact, changed in updated:
        if row.email and row.email != contact.email and contact.email_state in ADDRESS_STATES:
            contact.email_state = "active"
        for name, value in _row_values(row).items():
            setattr(contact, name, value)
        if "tags" in changed:
            contact.tags = [ContactTag(tag=t) for t in row.tags]
        if "consent_on" in changed:
            contact.consent_source = "import" if row.consent_on else None
            _record_consent(session, contact, row.consent_on)


def _consent_values(contact_id: int, consent_on: date, now: datetime) -> dict[str, Any]:
    return {
        "contact_id": contact_id,
        "granted": True,
        "source": "import",
        "recorded_at": now,
        "note": f"consent dated {consent_on.isoformat()} in an imported file",
    }


def _record_consent(session: AsyncSession, contact: Contact, consent_on: date | None) -> None:
    if consent_on is None:
        return
    session.add(ConsentRecord(**_consent_values(contact.id, consent_on, utcnow())))


async def find(session: AsyncSession, key: str) -> Contact | None:
    """Find a contact by email, @username or id."""
    query = select(Contact).options(
        selectinload(Contact.tags), selectinload(Contact.telegram_links)
    )
    query = query.where(Contact.erased_at.is_(None))
    if key.isdigit():
        query = query.where(Contact.id == int(key))
    elif key.startswith("@"):
        query = query.where(func.lower(Contact.telegram_username) == key[1:].lower())
    else:
        query = query.where(Contact.email == key.strip().lower())
    return await session.scalar(query)


def as_row(contact: Contact) -> dict[str, str]:
    """The contact in the import file's columns, so an export imports back unchanged."""
    return {
        "name": contact.name,
        "email": contact.email or "",
        "telegram_username": contact.telegram_username or "",
        "phone": contact.phone or "",
        "role": contact.role,
        "organization": contact.organisation or "",
        "municipality": contact.municipality or "",
        "country": contact.country,
        "language": contact.language,
        "stakeholder_group": contact.stakeholder_group or "",
        "consent": contact.consent_on.isoformat() if contact.consent_on else "",
        "tags": ",".join(contact.tag_names),
    }


@dataclass(frozen=True)
class Erasure:
    name: str
    outbox_rows: int
    telegram_links: int


async def erase(session: AsyncSession, contact: Contact, now: datetime | None = None) -> Erasure:
    """Forget a person: keep only role, country and group so reports still count them."""
    name = contact.name
    await erasure.forget(session, contact)  # every trace outside the contact row (see there)
    links = await session.scalar(select(func.count()).where(TelegramLink.contact_id == contact.id))
    outbox = await session.execute(
        delete(OutboxMessage).where(OutboxMessage.contact_id == contact.id)
    )
    for model in (TelegramLink, InviteToken, ConsentRecord, RecommendationOwner, ContactTag):
        await session.execute(delete(model).where(model.contact_id == contact.id))
    await session.execute(
        update(SurveyResponse)
        .where(SurveyResponse.contact_id == contact.id)
        .values(contact_id=None)
    )
    await session.execute(
        update(AccessRequest).where(AccessRequest.contact_id == contact.id).values(contact_id=None)
    )
    await session.refresh(contact, ["tags", "telegram_links"])
    for name_field in (
        "email",
        "telegram_username",
        "phone",
        "organisation",
        "municipality",
        "timezone",
        "consent_source",
    ):
        setattr(contact, name_field, None)
    contact.name = f"(erased #{contact.id})"
    contact.email_state = contact.telegram_state = "inactive"
    contact.erased_at = now or utcnow()
    await session.flush()
    return Erasure(name=name, outbox_rows=outbox.rowcount or 0, telegram_links=int(links or 0))  # type: ignore[attr-defined]


async def save_one(
    session: AsyncSession, row: ContactRow, contact: Contact | None = None
) -> Contact | Problem:
    """Add one person (contact None) or change one, with the import's checks; or say why not."""
    contacts = await _all_contacts(session)
    by_email = {c.email: c for c in contacts if c.email}
    by_username = {c.telegram_username.lower(): c for c in contacts if c.telegram_username}
    if contact is None:
        plan = await plan_import(session, [row])
        if plan.conflicts:
            return plan.conflicts[0]
        if plan.updated or plan.unchanged:
            return Problem(row.line, "email" if row.email else "name", "already in the registry")
        await apply_import(session, plan)
        return await _matching(session, row)
    if row.email and by_email.get(row.email) not in (None, contact):
        return Problem(row.line, "email", f"{row.email} already belongs to someone else")
    username = (row.telegram_username or "").lower()
    if username and by_username.get(username) not in (None, contact):
        return Problem(row.line, "telegram_username", "already belongs to someone else")
    await session.refresh(contact, ["tags"])
    changed = _changes(contact, row)
    if changed:
        await apply_import(session, ImportPlan(updated=[(row, contact, changed)]))
    return contact


async def _matching(session: AsyncSession, row: ContactRow) -> Contact:
    contacts = await _all_contacts(session)
    found = _match(
        row,
        {c.email: c for c in contacts if c.email},
        {c.telegram_username.lower(): c for c in contacts if c.telegram_username},
        {(c.name.lower(), (c.organisation or "").lower()): c for c in contacts},
    )
    assert found is not None, "a contact just written is found by its own keys"
    return found
