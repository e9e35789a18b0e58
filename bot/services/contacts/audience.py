"""Who a message goes to: one selection rule for contacts, invitations, surveys and broadcasts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.db.models import Contact, ContactTag


def _clean(values: Iterable[str] | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for v in values or () if v and v.strip()))


@dataclass(frozen=True)
class Audience:
    """Each given field narrows the selection; values within a field are alternatives.

    Explicit emails are always included, whatever the other fields say.
    """

    roles: tuple[str, ...] = ()
    municipalities: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()

    @classmethod
    def build(cls, **values: Iterable[str] | None) -> Audience:
        return cls(**{k: _clean(v) for k, v in values.items()})

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Audience:
        """Read the `audience:` block of an event or survey file."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown audience field(s): {', '.join(unknown)}")
        return cls.build(**{k: [str(v) for v in data[k] or ()] for k in data})

    @property
    def is_everyone(self) -> bool:
        return not any(getattr(self, f.name) for f in fields(self))

    def describe(self) -> str:
        parts = [f"{f.name}={','.join(getattr(self, f.name))}" for f in fields(self)]
        return "; ".join(p for p in parts if not p.endswith("=")) or "everyone"

    def query(self) -> Select[Contact]:
        """Build the SELECT of matching, not erased contacts, ordered by name."""
        filters = []
        if self.roles:
            filters.append(Contact.role.in_(self.roles))
        if self.municipalities:
            filters.append(
                func.lower(Contact.municipality).in_([m.lower() for m in self.municipalities])
            )
        if self.countries:
            filters.append(Contact.country.in_([c.upper() for c in self.countries]))
        if self.languages:
            filters.append(Contact.language.in_(self.languages))
        if self.groups:
            filters.append(Contact.stakeholder_group.in_(self.groups))
        if self.tags:
            tagged = select(ContactTag.contact_id).where(
                ContactTag.tag.in_([t.lower() for t in self.tags])
            )
            filters.append(Contact.id.in_(tagged))
        chosen = Contact.email.in_([e.lower() for e in self.emails]) if self.emails else None
        query = select(Contact).where(Contact.erased_at.is_(None))
        if filters and chosen is not None:
            query = query.where(or_(and_(*filters), chosen))
        elif filters:
            query = query.where(*filters)
        elif chosen is not None:
            query = query.where(chosen)
        return query.options(selectinload(Contact.tags)).order_by(Contact.name, Contact.id)


async def select_contacts(session: AsyncSession, audience: Audience) -> list[Contact]:
    """Return the contacts an audience names."""
    return list(await session.scalars(audience.query()))
