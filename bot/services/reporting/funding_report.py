"""The coordinator's report to the funder: people involved, events held, satisfaction, follow-up.

A person is involved when an event held in the period (not a draft, not cancelled) recorded
them as attended; an event that took no attendance (nobody marked attended or no-show) counts
those who accepted instead, and says so. Each person counts once in the totals, however many
events they came to. People of a special category (roma_representative) appear only as a
number: nothing here carries a name. Telegram's /stats can reuse `figures`.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from statistics import mean
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from babel.numbers import format_decimal
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.db.models import (
    Answer,
    Contact,
    Event,
    Invitation,
    Question,
    Recommendation,
    RecommendationUpdate,
    Survey,
    SurveyResponse,
)
from bot.db.vocab import EVENT_KINDS, REC_STATUSES, STAKEHOLDER_GROUPS
from bot.rendering import build_environment, default_messages_dir
from bot.services.reporting.tables import neutralise
from bot.textformat import babel_locale, format_date, pick_language

UNSPECIFIED = "unspecified"  # a contact without a stakeholder group
GROUPS = (*STAKEHOLDER_GROUPS, UNSPECIFIED)
NOT_HELD = ("draft", "cancelled")


@dataclass(frozen=True)
class EventFigure:
    slug: str
    kind: str
    title: dict[str, str]
    day: date  # local start date
    participants: int
    by_attendance: bool  # False: no attendance was taken, those who accepted are counted


@dataclass(frozen=True)
class KindFigure:
    events: int
    participants: int  # summed over the events: someone at two seminars counts twice


@dataclass(frozen=True)
class SurveyFigure:
    slug: str
    title: dict[str, str]
    responses: int  # finished in the period
    mean: float | None  # of every rating answer those responses gave
    scale: int | None  # the largest rating scale of the survey


@dataclass(frozen=True)
class ReportFigures:
    start: date
    end: date
    people: int
    by_group: dict[str, int]  # every key of GROUPS
    by_country: dict[str, int]  # ISO code -> people, most first
    events: tuple[EventFigure, ...]  # by start
    mediators: int
    mediators_by_municipality: dict[str, int]  # "" where not given
    surveys: tuple[SurveyFigure, ...]
    recommendations: dict[str, int]  # status at the end of the period -> count

    @property
    def public_administration(self) -> int:
        """Municipal staff plus ministry and state-institution staff, as the programme reports
        it (the Roma Platform III results: 90 = 75 + 15)."""
        return self.by_group.get("municipality", 0) + self.by_group.get("state_institution", 0)

    @property
    def by_kind(self) -> dict[str, KindFigure]:
        return {
            kind: KindFigure(
                sum(1 for e in self.events if e.kind == kind),
                sum(e.participants for e in self.events if e.kind == kind),
            )
            for kind in EVENT_KINDS
        }

    @property
    def without_attendance(self) -> tuple[EventFigure, ...]:
        return tuple(e for e in self.events if not e.by_attendance)


def bounds(start: date, end: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Return the period as [since, until) in aware datetimes: whole local days."""
    if end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start})")
    since = datetime.combine(start, time(0), tzinfo=zone)
    return since, datetime.combine(end + timedelta(days=1), time(0), tzinfo=zone)


async def figures(
    session: AsyncSession,
    *,
    start: date,
    end: date,
    zone: ZoneInfo,
    now: datetime | None = None,
) -> ReportFigures:
    """Count what the funder asks for in the period from `start` to `end` (local days).

    Only events that have ended by `now` count as held.
    """
    since, until = bounds(start, end, zone)
    events, people = await _events(session, since, until, zone, now or datetime.now(UTC))
    contacts = list(await session.scalars(select(Contact).where(Contact.id.in_(people))))
    groups = Counter(c.stakeholder_group or UNSPECIFIED for c in contacts)
    mediators = [c for c in contacts if c.role == "mediator"]
    return ReportFigures(
        start=start,
        end=end,
        people=len(contacts),
        by_group={g: groups.get(g, 0) for g in GROUPS},
        by_country=dict(Counter(c.country for c in contacts).most_common()),
        events=tuple(events),
        mediators=len(mediators),
        mediators_by_municipality=dict(
            Counter(c.municipality or "" for c in mediators).most_common()
        ),
        surveys=tuple(await _surveys(session, since, until)),
        recommendations=await _recommendations(session, end, until),
    )


async def _events(
    session: AsyncSession, since: datetime, until: datetime, zone: ZoneInfo, now: datetime
) -> tuple[list[EventFigure], set[int]]:
    """The events held in the period (ended by now), and everyone who took part in any."""
    events = list(
        await session.scalars(
            select(Event)
            .where(Event.starts_at >= since, Event.starts_at < until, Event.ends_at <= now)
            .where(Event.status.not_in(NOT_HELD))
            .order_by(Event.starts_at, Event.id)
        )
    )
    rows = await session.execute(
        select(Invitation.event_id, Invitation.contact_id, Invitation.status).where(
            Invitation.event_id.in_([e.id for e in events])
        )
    )
    statuses: dict[int, list[tuple[int, str]]] = {e.id: [] for e in events}
    for event_id, contact_id, status in rows:
        statuses[event_id].append((contact_id, status))
    found, people = [], set()
    for event in events:
        taken = any(s in ("attended", "no_show") for _, s in statuses[event.id])
        wanted = "attended" if taken else "accepted"
        came = {c for c, s in statuses[event.id] if s == wanted}
        people |= came
        day = event.starts_at.astimezone(zone).date()
        found.append(EventFigure(event.slug, event.kind, dict(event.title), day, len(came), taken))
    return found, people


async def _surveys(session: AsyncSession, since: datetime, until: datetime) -> list[SurveyFigure]:
    """Finished responses in the period and the mean of their ratings, per survey."""
    in_period = (
        SurveyResponse.status == "finished",
        SurveyResponse.finished_at >= since,
        SurveyResponse.finished_at < until,
    )
    counted = Counter(await session.scalars(select(SurveyResponse.survey_id).where(*in_period)))
    ratings = await session.execute(
        select(SurveyResponse.survey_id, Answer.value)
        .join(Answer, Answer.response_id == SurveyResponse.id)
        .join(Question, Question.id == Answer.question_id)
        .where(Question.type == "rating", *in_period)
    )
    values: dict[int, list[int]] = {}
    for survey_id, value in ratings:
        number = _number(value.get("value"))
        if number is not None:
            values.setdefault(survey_id, []).append(number)
    surveys = await session.scalars(
        select(Survey)
        .where(Survey.id.in_(counted))
        .options(selectinload(Survey.questions))
        .order_by(Survey.slug)
    )
    return [
        SurveyFigure(
            s.slug,
            dict(s.title),
            counted[s.id],
            mean(values[s.id]) if values.get(s.id) else None,
            max((q.scale or 5 for q in s.questions if q.type == "rating"), default=None),
        )
        for s in surveys
    ]


def _number(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(value) if isinstance(value, str) and value.strip().isdigit() else None


async def _recommendations(session: AsyncSession, end: date, until: datetime) -> dict[str, int]:
    """Count the recommendations of meetings up to the period's end by their status then."""
    recs = list(
        await session.scalars(
            select(Recommendation.id).where(
                or_(Recommendation.source_date.is_(None), Recommendation.source_date <= end)
            )
        )
    )
    updates = await session.execute(
        select(RecommendationUpdate.recommendation_id, RecommendationUpdate.status)
        .where(RecommendationUpdate.recommendation_id.in_(recs))
        .where(RecommendationUpdate.recorded_at < until)
        .order_by(RecommendationUpdate.recorded_at, RecommendationUpdate.id)
    )
    latest = {rec_id: "not_started" for rec_id in recs}
    for rec_id, status in updates:  # oldest first: the last update of each wins
        latest[rec_id] = status
    counts = Counter(latest.values())
    return {status: counts.get(status, 0) for status in REC_STATUSES}


# --- Writing: HTML and XLSX in one language -----------------------------------------------


@functools.cache
def _environment() -> jinja2.Environment:
    return build_environment(default_messages_dir())


def labels(language: str) -> Any:
    """The report's words in one language, from messages/<lang>/reports/_labels.html.

    One source for the HTML page and the spreadsheet, so the language gate checks both.
    """
    return _environment().get_template(f"{language}/reports/_labels.html").module


def template_values(report: ReportFigures, language: str) -> dict[str, Any]:
    """Plain values for report.html: numbers keyed by group, kind and status; texts picked."""
    locale = babel_locale(language)
    kinds = report.by_kind
    return {
        "start": report.start,
        "end": report.end,
        "people": report.people,
        "by_group": dict(report.by_group),
        "public_administration": report.public_administration,
        "countries": [
            {"code": code, "name": locale.territories.get(code, code), "people": n}
            for code, n in report.by_country.items()
        ],
        "kinds": {
            k: {"events": f.events, "participants": f.participants} for k, f in kinds.items()
        },
        "kind_events": {k: f.events for k, f in kinds.items()},
        "events_total": len(report.events),
        "participants_total": sum(e.participants for e in report.events),
        "events": {
            kind: [
                {
                    "title": pick_language(e.title, language),
                    "day": e.day,
                    "participants": e.participants,
                    "by_attendance": e.by_attendance,
                }
                for e in report.events
                if e.kind == kind
            ]
            for kind in EVENT_KINDS
        },
        "without_attendance": len(report.without_attendance),
        "mediators": report.mediators,
        "mediator_places": [
            {"municipality": place or None, "count": n}
            for place, n in report.mediators_by_municipality.items()
        ],
        "surveys": [
            {
                "title": pick_language(s.title, language),
                "responses": s.responses,
                "mean": None if s.mean is None else mean_text(s.mean, language),
                "scale": s.scale,
            }
            for s in report.surveys
        ],
        "recommendations": dict(report.recommendations),
        "recommendations_total": sum(report.recommendations.values()),
    }


def mean_text(mean: float, language: str) -> str:
    return str(format_decimal(round(mean, 2), format="0.00", locale=babel_locale(language)))


def render_html(report: ReportFigures, language: str, zone: ZoneInfo) -> str:
    """Render the report page with inline SVG bar charts."""
    template = _environment().get_template(f"{language}/reports/report.html")
    return template.render({**template_values(report, language), "lang": language, "tz": zone})


def write_xlsx(path: Path, report: ReportFigures, language: str, zone: ZoneInfo) -> None:
    """Write the report on one sheet, with bar charts of people by group and events by kind."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    words, values = labels(language), template_values(report, language)
    text = words.text
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = words.short_title[:31]
    bold = Font(bold=True)

    def add(*cells: Any, font: Font | None = None) -> int:
        sheet.append([neutralise(c) for c in cells])
        if font is not None:
            for cell in sheet[sheet.max_row]:
                cell.font = font
        return int(sheet.max_row)

    def heading(title: str) -> None:
        add()
        add(title, font=Font(bold=True, size=13))

    add(words.network, font=bold)
    add(words.short_title, font=Font(bold=True, size=16))
    period = " – ".join(format_date(d, language, zone) for d in (report.start, report.end))
    add(text["period"], period)

    heading(text["people"])
    add(text["people_total"], report.people, font=bold)
    heading(text["by_group"])
    add(text["group"], text["count"], font=bold)
    first = sheet.max_row + 1
    for key, name in words.groups.items():
        add(name, report.by_group[key])
    _chart(sheet, text["by_group"], first, sheet.max_row, f"E{first - 1}")
    add(text["public_administration"], report.public_administration, font=bold)
    heading(text["by_country"])
    add(text["country"], text["people_count"], font=bold)
    for country in values["countries"]:
        add(f"{country['name']} ({country['code']})", country["people"])

    heading(text["events"])
    add(text["kind"], text["events_count"], text["participants"], font=bold)
    first = sheet.max_row + 1
    for key, name in words.kinds.items():
        add(name, values["kinds"][key]["events"], values["kinds"][key]["participants"])
    _chart(sheet, text["by_kind"], first, sheet.max_row, f"E{first - 1}")
    add(text["total"], values["events_total"], values["participants_total"], font=bold)
    add()
    add(text["event"], text["date"], text["participants"], font=bold)
    for item in report.events:
        mark = "" if item.by_attendance else " *"
        add(pick_language(item.title, language) + mark, item.day, item.participants)
    if not report.events:
        add(text["no_events"])
    if report.without_attendance:
        add("* " + text["note_accepted"])

    heading(text["mediators"])
    add(text["total"], report.mediators, font=bold)
    if report.mediators:
        add(text["municipality"], text["count"], font=bold)
    for place in values["mediator_places"]:
        add(place["municipality"] or text["not_given"], place["count"])

    heading(text["surveys"])
    add(text["survey"], text["responses"], text["mean"], font=bold)
    for survey in report.surveys:
        mean = text["no_rating"]
        if survey.mean is not None:
            mean = f"{mean_text(survey.mean, language)} / {survey.scale}"
        add(pick_language(survey.title, language), survey.responses, mean)
    if not report.surveys:
        add(text["no_surveys"])

    heading(text["recommendations"])
    add(text["status"], text["recs_count"], font=bold)
    for key, name in words.statuses.items():
        add(name, report.recommendations.get(key, 0))
    add(text["total"], values["recommendations_total"], font=bold)

    heading(text["notes"])
    for note in (text["note_people"], text["note_roma"], text["note_recs"]):
        add(note)
    sheet.column_dimensions["A"].width = 60
    for column in "BCD":
        sheet.column_dimensions[column].width = 16
    workbook.save(path)


def _chart(sheet: Any, title: str, first: int, last: int, anchor: str) -> None:
    """Add a horizontal bar chart of the numbers in column B, named by column A."""
    from openpyxl.chart import BarChart, Reference

    chart = BarChart()
    chart.type = "bar"  # horizontal: the long names read along the axis
    chart.title = title
    chart.legend = None
    chart.height, chart.width = 7.5, 16
    chart.x_axis.scaling.orientation = "maxMin"  # the first row on top, as in the table
    chart.x_axis.delete = chart.y_axis.delete = False
    chart.add_data(Reference(sheet, min_col=2, min_row=first, max_row=last))
    chart.set_categories(Reference(sheet, min_col=1, min_row=first, max_row=last))
    sheet.add_chart(chart, anchor)
