"""The coordinator's full export: every table of the network, as sheets or CSV files.

Special-category data (the stakeholder group roma_representative, and the consent behind it)
leaves the database only here, in the coordinator's own export; reports show it as a count.

A scope narrows the export: a period keeps the events that start in it (with their
invitations, answers and attendance) and the rows recorded in it (survey responses,
recommendation updates, deliveries); an event keeps that event and what belongs to it, its
invited people and the recommendations its meeting made. Contacts and recommendations are
otherwise listed in full. Times are shown in one zone, named in each header. Nothing commits.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.db.models import (
    AuditEntry,
    Contact,
    ContactTag,
    Event,
    Invitation,
    InvitationAnswer,
    OutboxMessage,
    Question,
    Recommendation,
    RecommendationUpdate,
    Survey,
    SurveyResponse,
)
from bot.db.vocab import LANGUAGES
from bot.services.reporting.tables import XlsxWriter, write_csv, write_xlsx
from bot.services.surveys.registry import answer_cell
from bot.textformat import pick_language

CONTACT_FIELDS = (
    "id name email telegram_username phone role organisation municipality country language "
    "stakeholder_group consent_on consent_source email_state telegram_state"
)


@dataclass(frozen=True)
class Scope:
    """What to export: a period of local days, one event, or both; times shown in `zone`."""

    zone: ZoneInfo
    start: date | None = None
    end: date | None = None
    event_id: int | None = None
    language: str = "lv"  # the coordinator's: survey answers read as their option labels

    def within(self, column: Any) -> list[Any]:
        """SQL conditions keeping a time column inside the period (none without one)."""
        conditions = []
        if self.start is not None:
            conditions.append(column >= datetime.combine(self.start, time(0), tzinfo=self.zone))
        if self.end is not None:
            until = datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=self.zone)
            conditions.append(column < until)
        return conditions


@dataclass(frozen=True)
class Sheet:
    name: str  # the sheet's title and the CSV file's name
    header: list[str]
    rows: list[list[Any]]


async def collect(
    session: AsyncSession, scope: Scope, progress: Callable[[str], None] | None = None
) -> list[Sheet]:
    """Read every table in scope, telling `progress` the name of each sheet as it is done."""
    builder = _Builder(session, scope)
    sheets = []
    for step in builder.steps():
        for sheet in await step():
            sheets.append(sheet)
            if progress is not None:
                progress(sheet.name)
    return sheets


async def write_out(
    session: AsyncSession,
    scope: Scope,
    *,
    xlsx: Path | None = None,
    folder: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[tuple[str, int]]:
    """Export to an XLSX file and/or a folder of CSV files, one sheet at a time: each is
    written and let go before the next is read, so memory holds one table, not all of them.
    Returns each sheet's name and number of rows."""
    workbook = XlsxWriter() if xlsx is not None else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    written = []
    builder = _Builder(session, scope)
    for step in builder.steps():
        for sheet in await step():
            if workbook is not None:
                workbook.add(sheet.name, sheet.header, sheet.rows)
            if folder is not None:
                write_csv(_csv_path(folder, sheet), sheet.header, sheet.rows)
            written.append((sheet.name, len(sheet.rows)))
            if progress is not None:
                progress(sheet.name)
        session.expunge_all()  # the step's rows and objects go before the next is read
    if workbook is not None and xlsx is not None:
        workbook.save(xlsx)
    return written


def write_workbook(path: Path, sheets: Sequence[Sheet]) -> int:
    """Write one sheet per table; returns the number of data rows."""
    return write_xlsx(path, [(s.name, s.header, s.rows) for s in sheets])


def write_folder(directory: Path, sheets: Sequence[Sheet]) -> list[Path]:
    """Write one CSV file (UTF-8 with BOM) per table into the folder."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for sheet in sheets:
        path = _csv_path(directory, sheet)
        write_csv(path, sheet.header, sheet.rows)
        paths.append(path)
    return paths


def _csv_path(directory: Path, sheet: Sheet) -> Path:
    return directory / f"{sheet.name.replace(' ', '_')}.csv"  # "survey_visit-feedback.csv"


class _Builder:
    """Builds the sheets in order; later sheets reuse what earlier ones found in scope."""

    def __init__(self, session: AsyncSession, scope: Scope) -> None:
        self.session, self.scope = session, scope
        self.zone_name = scope.zone.key
        self.names: dict[int, str] = {}
        self.slugs: dict[int, str] = {}  # event id -> slug, every event
        self.event_ids: list[int] = []  # the events in scope
        self.rec_ids: list[int] = []
        self.rec_slugs: dict[int, str] = {}
        self.survey_slugs: dict[int, str] = {}

    def steps(self) -> list[Callable[[], Awaitable[list[Sheet]]]]:
        """The sheets' builders in order (later ones use what earlier ones found)."""
        return [
            self.contacts,
            self.events,
            self.invitations,
            self.history,
            self.attendance,
            self.surveys,
            self.recommendations,
            self.updates,
            self.deliveries,
            self.audit,
        ]

    def local(self, moment: datetime | None) -> str:
        return f"{moment.astimezone(self.scope.zone):%Y-%m-%d %H:%M}" if moment else ""

    def at(self, name: str) -> str:
        """A time column's header, naming the zone its times are shown in."""
        return f"{name} ({self.zone_name})"

    async def contacts(self) -> list[Sheet]:
        # Columns, not objects: 50,000 contacts as rows of values, with tags from one query.
        read = f"{CONTACT_FIELDS} created_at erased_at"
        query = select(*(getattr(Contact, name) for name in _words(read))).order_by(Contact.id)
        every = list(await self.session.execute(query))
        tags: dict[int, list[str]] = {}
        found = await self.session.execute(
            select(ContactTag.contact_id, ContactTag.tag).order_by(ContactTag.tag)
        )
        for contact_id, tag in found:
            tags.setdefault(contact_id, []).append(tag)
        self.names = {c.id: c.name for c in every}
        if self.scope.event_id is not None:
            invited = set(
                await self.session.scalars(
                    select(Invitation.contact_id).where(Invitation.event_id == self.scope.event_id)
                )
            )
            every = [c for c in every if c.id in invited]
        header = [*_words(CONTACT_FIELDS), "tags", self.at("created"), self.at("erased")]
        rows = [
            [
                *_fields(c, CONTACT_FIELDS),
                ", ".join(tags.get(c.id, ())),
                self.local(c.created_at),
                self.local(c.erased_at),
            ]
            for c in every
        ]
        return [Sheet("contacts", header, rows)]

    async def events(self) -> list[Sheet]:
        found = await self.session.execute(select(Event.id, Event.slug))
        self.slugs = {event_id: slug for event_id, slug in found}
        query = select(Event).options(selectinload(Event.places))
        if self.scope.event_id is not None:
            query = query.where(Event.id == self.scope.event_id)
        query = query.where(*self.scope.within(Event.starts_at)).order_by(Event.starts_at, Event.id)
        events = list(await self.session.scalars(query))
        self.event_ids = [e.id for e in events]
        header = [
            *_words("id slug kind status"),
            *(f"title {lang}" for lang in LANGUAGES),
            self.at("starts"),
            self.at("ends"),
            *_words("timezone places capacity rsvp_by survey sequence cancel_reason"),
        ]
        rows = [
            [
                *_fields(e, "id slug kind status"),
                *(e.title.get(lang) for lang in LANGUAGES),
                self.local(e.starts_at),
                self.local(e.ends_at),
                e.timezone,
                _places(e),
                *_fields(e, "capacity rsvp_by survey_slug sequence cancel_reason"),
            ]
            for e in events
        ]
        return [Sheet("events", header, rows)]

    async def _invitations(self) -> list[Invitation]:
        query = (
            select(Invitation)
            .where(Invitation.event_id.in_(self.event_ids))
            .options(selectinload(Invitation.history))
            .order_by(Invitation.event_id, Invitation.id)
        )
        return list(await self.session.scalars(query))

    async def invitations(self) -> list[Sheet]:
        header = [
            *_words("id event contact_id name status"),
            self.at("invited"),
            self.at("answered"),
            "last_channel",
        ]
        rows = [
            [
                i.id,
                self.slugs[i.event_id],
                i.contact_id,
                self.names.get(i.contact_id),
                i.status,
                self.local(i.invited_at),
                self.local(i.answered_at),
                next((a.channel for a in reversed(i.history) if a.channel), None),
            ]
            for i in await self._invitations()
        ]
        return [Sheet("invitations", header, rows)]

    async def history(self) -> list[Sheet]:
        query = (
            select(InvitationAnswer, Invitation)
            .join(Invitation, Invitation.id == InvitationAnswer.invitation_id)
            .where(Invitation.event_id.in_(self.event_ids))
            .order_by(InvitationAnswer.recorded_at, InvitationAnswer.id)
        )
        header = [
            *_words("id invitation_id event contact_id name status channel"),
            self.at("recorded"),
            "note",
        ]
        rows = [
            [
                a.id,
                i.id,
                self.slugs[i.event_id],
                i.contact_id,
                self.names.get(i.contact_id),
                a.status,
                a.channel,
                self.local(a.recorded_at),
                a.note,
            ]
            for a, i in await self.session.execute(query)
        ]
        return [Sheet("invitation_history", header, rows)]

    async def attendance(self) -> list[Sheet]:
        counts: dict[int, Counter[str]] = {i: Counter() for i in self.event_ids}
        found = await self.session.execute(
            select(Invitation.event_id, Invitation.status, func.count())
            .where(Invitation.event_id.in_(self.event_ids))
            .group_by(Invitation.event_id, Invitation.status)
        )
        for event_id, status, number in found:
            counts[event_id][status] += number
        statuses = _words("accepted attended no_show declined not_sure waitlisted")
        header = ["event", "invited", *statuses, "attendance_taken"]
        rows = [
            [
                self.slugs[event_id],
                found.total(),
                *(found[status] for status in statuses),
                "yes" if found["attended"] or found["no_show"] else "no",
            ]
            for event_id, found in counts.items()
        ]
        return [Sheet("attendance", header, rows)]

    async def surveys(self) -> list[Sheet]:
        surveys = list(
            await self.session.scalars(
                select(Survey).options(selectinload(Survey.questions)).order_by(Survey.slug)
            )
        )
        self.survey_slugs = {s.id: s.slug for s in surveys}
        query = (
            select(SurveyResponse)
            .where(SurveyResponse.status == "finished")
            .where(*self.scope.within(SurveyResponse.finished_at))
            .options(selectinload(SurveyResponse.answers))
            .order_by(SurveyResponse.finished_at, SurveyResponse.id)
        )
        if self.scope.event_id is not None:
            query = query.where(SurveyResponse.event_id == self.scope.event_id)
        responses = list(await self.session.scalars(query))
        if self.scope.event_id is not None:
            named = set(
                await self.session.scalars(
                    select(Event.survey_slug).where(Event.id == self.scope.event_id)
                )
            )
            answered = {r.survey_id for r in responses}
            surveys = [s for s in surveys if s.slug in named or s.id in answered]
        taken: set[str] = set()
        return [
            self._survey(s, [r for r in responses if r.survey_id == s.id], _sheet_name(s, taken))
            for s in surveys
        ]

    def _survey(self, survey: Survey, responses: list[SurveyResponse], name: str) -> Sheet:
        """Finished responses; names and emails only when the survey is not anonymous."""
        header = ["response", "event", "channel", self.at("finished")]
        if not survey.anonymous:
            header += ["contact_id", "name"]
        header += [q.key for q in survey.questions]
        rows = []
        for number, response in enumerate(responses, 1):
            row: list[Any] = [
                number,
                self.slugs.get(response.event_id) if response.event_id else None,
                response.channel,
                self.local(response.finished_at),
            ]
            if not survey.anonymous:
                contact = response.contact_id
                row += [contact, self.names.get(contact) if contact is not None else None]
            given = {a.question_id: a.value.get("value") for a in response.answers}
            row += [_answer(q, given.get(q.id), self.scope.language) for q in survey.questions]
            rows.append(row)
        return Sheet(name, header, rows)

    async def recommendations(self) -> list[Sheet]:
        query = select(Recommendation).options(selectinload(Recommendation.owners))
        if self.scope.event_id is not None:
            query = query.where(Recommendation.source_event_id == self.scope.event_id)
        recs = list(await self.session.scalars(query.order_by(Recommendation.id)))
        self.rec_ids = [r.id for r in recs]
        found = await self.session.execute(select(Recommendation.id, Recommendation.slug))
        self.rec_slugs = {rec_id: slug for rec_id, slug in found}
        header = [
            *_words("id slug area status"),
            *(f"text {lang}" for lang in LANGUAGES),
            *_words("source source_date owners due cadence"),
            self.at("next_reminder"),
            self.at("closed"),
        ]
        rows = [
            [
                *_fields(r, "id slug area status"),
                *(r.text.get(lang) for lang in LANGUAGES),
                pick_language(r.source_title, "lv") if r.source_title else None,
                r.source_date,
                "; ".join(sorted(self.names.get(o.contact_id, "—") for o in r.owners)),
                *_fields(r, "due_on cadence"),
                self.local(r.next_reminder_at),
                self.local(r.closed_at),
            ]
            for r in recs
        ]
        return [Sheet("recommendations", header, rows)]

    async def updates(self) -> list[Sheet]:
        query = (
            select(RecommendationUpdate)
            .where(RecommendationUpdate.recommendation_id.in_(self.rec_ids))
            .where(*self.scope.within(RecommendationUpdate.recorded_at))
            .order_by(RecommendationUpdate.recorded_at, RecommendationUpdate.id)
        )
        header = [
            "id",
            "recommendation",
            self.at("recorded"),
            *_words("contact_id who channel status comment"),
        ]
        rows = [
            [
                u.id,
                self.rec_slugs[u.recommendation_id],
                self.local(u.recorded_at),
                u.contact_id,
                _who(u, self.names),
                *_fields(u, "channel status comment"),
            ]
            for u in await self.session.scalars(query)
        ]
        return [Sheet("recommendation_updates", header, rows)]

    async def deliveries(self) -> list[Sheet]:
        # Never the rendered text: the export is for following up, not for re-reading mail.
        # Only the columns shown, not whole rows: a large queue's texts stay in the database.
        fields = "id kind channel status attempts last_error contact_id"
        read = f"{fields} language event_id survey_id recommendation_id created_at sent_at"
        query = select(*(getattr(OutboxMessage, name) for name in _words(read))).where(
            *self.scope.within(OutboxMessage.created_at)
        )
        if self.scope.event_id is not None:
            query = query.where(OutboxMessage.event_id == self.scope.event_id)
        header = [
            *_words(fields),
            *_words("name language event survey recommendation"),
            self.at("created"),
            self.at("sent"),
        ]
        rows = [
            [
                *_fields(m, fields),
                self.names.get(m.contact_id),
                m.language,
                self.slugs.get(m.event_id or 0),
                self.survey_slugs.get(m.survey_id or 0),
                self.rec_slugs.get(m.recommendation_id or 0),
                self.local(m.created_at),
                self.local(m.sent_at),
            ]
            for m in await self.session.execute(query.order_by(OutboxMessage.id))
        ]
        return [Sheet("deliveries", header, rows)]

    async def audit(self) -> list[Sheet]:
        """Every change made in the console: who, when, what, before and after."""
        if self.scope.event_id is not None:
            return []
        query = select(AuditEntry).where(*self.scope.within(AuditEntry.at))
        header = [self.at("at"), *_words("who action subject before after")]
        rows = [
            [
                self.local(e.at),
                self.names.get(e.actor_id or 0) or "",
                e.action,
                e.subject,
                json.dumps(e.before, ensure_ascii=False) if e.before else "",
                json.dumps(e.after, ensure_ascii=False) if e.after else "",
            ]
            for e in await self.session.scalars(query.order_by(AuditEntry.at, AuditEntry.id))
        ]
        return [Sheet("audit", header, rows)]


def _words(names: str) -> list[str]:
    """Column names written as one string: "id slug kind"."""
    return names.split()


def _fields(row: Any, names: str) -> list[Any]:
    """The values of the named attributes, in order."""
    return [getattr(row, name) for name in _words(names)]


def _places(event: Event) -> str:
    return "; ".join(
        ", ".join(part for part in (p.name, p.address, p.country) if part) for p in event.places
    )


def _sheet_name(survey: Survey, taken: set[str]) -> str:
    """A unique sheet name of at most 31 characters (Excel's limit) for a survey."""
    base = f"survey {survey.slug}"[:31]
    name, number = base, 2
    while name in taken:
        suffix = f" {number}"
        name, number = base[: 31 - len(suffix)] + suffix, number + 1
    taken.add(name)
    return name


def _answer(question: Question, value: Any, language: str) -> Any:
    if value is None or value == "":
        return None
    return answer_cell(question, value, language)


def _who(update: RecommendationUpdate, names: dict[int, str]) -> str:
    if update.contact_id is not None:
        return names.get(update.contact_id, "—")
    return "coordinator" if update.channel == "coordinator" else "—"
