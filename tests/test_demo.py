"""The demo network loads into an empty database with its events ahead of today, ready to invite."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Contact, Event, Recommendation, Survey
from bot.db.session import Database
from bot.services import demo
from bot.services.contacts.audience import Audience
from bot.services.contacts.rows import parse_rows, read_table
from bot.services.events import invitations
from bot.services.events import registry as event_registry
from bot.services.events.files import EventSpec, read_event_file
from bot.services.recommendations import registry as rec_registry
from bot.services.recommendations.files import read_rec_file
from bot.services.surveys import registry as survey_registry
from tests.conftest import Cli, query

RIGA = ZoneInfo("Europe/Riga")
# Winter, summer, and a week before the clocks go forward (the events land after it).
NOWS = [
    datetime(2026, 11, 21, 13, 0, tzinfo=UTC),
    datetime(2027, 7, 3, 21, 30, tzinfo=UTC),  # already 4 July in Riga
    datetime(2027, 3, 21, 9, 0, tzinfo=UTC),
]
# Each event, and how many days after the first it starts.
ORDER = [("valga-2027", 0), ("sabile-talsi-2027", 14), ("daugavpils-2027", 28)]
DEMO_CONTACTS = len(parse_rows(read_table(demo.DEMO_DIR / "contacts.csv")).rows)


def demo_file(slug: str) -> EventSpec:
    """The event as its demo file writes it, before loading moves it."""
    for path in (demo.DEMO_DIR / "events").glob("*.yaml"):
        spec = read_event_file(path)
        if spec.slug == slug:
            return spec
    raise AssertionError(f"no demo file for {slug}")


async def load(database: Database, now: datetime) -> demo.DemoSummary:
    async with database.session_scope() as session:
        assert await demo.is_empty(session)
        summary = await demo.load_demo(session, now=now)
        assert not await demo.is_empty(session)
        return summary


async def stored_event(database: Database, slug: str) -> Event:
    async with database.session_scope() as session:
        event = await event_registry.find_event(session, slug)
        assert event is not None
        return event


def local(moment: datetime, zone: str) -> datetime:
    return moment.astimezone(ZoneInfo(zone))


# --- Dates --------------------------------------------------------------------------------


@pytest.mark.parametrize("now", NOWS, ids=lambda n: f"{n:%Y-%m-%d}")
async def test_events_land_ahead_of_now_in_order_two_weeks_apart(
    sqlite_database: Database, now: datetime
) -> None:
    summary = await load(sqlite_database, now)

    assert [key for key, _ in summary.events] == [key for key, _ in ORDER]
    assert all(starts > now for _, starts in summary.events)
    today = now.astimezone(RIGA).date()
    days = []
    for key, starts in summary.events:
        event = await stored_event(sqlite_database, key)
        assert event.starts_at == starts
        days.append(local(starts, event.timezone).date())
    assert 7 <= (days[0] - today).days <= 13
    assert [(day - days[0]).days for day in days] == [offset for _, offset in ORDER]
    # Moved by whole weeks: each meeting keeps the weekday its file gives it.
    assert [d.weekday() for d in days] == [demo_file(k).starts.weekday() for k, _ in ORDER]


async def test_loading_a_week_later_moves_every_event_a_week_later(
    sqlite_template: Path, tmp_path: Path
) -> None:
    starts = []
    for now in (NOWS[0], NOWS[0] + timedelta(days=7)):
        path = tmp_path / f"{now:%Y%m%d}.db"
        shutil.copy(sqlite_template, path)
        database = Database(f"sqlite:///{path}")
        try:
            starts.append([s for _, s in (await load(database, now)).events])
        finally:
            await database.dispose()
    assert [b - a for a, b in zip(*starts, strict=True)] == [timedelta(days=7)] * len(ORDER)


@pytest.mark.parametrize("now", NOWS, ids=lambda n: f"{n:%Y-%m-%d}")
async def test_every_date_moves_by_the_same_days_and_clock_times_stay(
    sqlite_database: Database, now: datetime
) -> None:
    await load(sqlite_database, now)

    for key, _ in ORDER:
        given, event = demo_file(key), await stored_event(sqlite_database, key)
        starts, ends = local(event.starts_at, event.timezone), local(event.ends_at, event.timezone)
        shift = starts.date() - given.starts.date()
        assert shift.days % 7 == 0
        assert (starts.time(), ends.time()) == (given.starts.time(), given.ends.time())
        assert ends.date() - given.ends.date() == shift
        assert given.rsvp_by is not None and event.rsvp_by == given.rsvp_by + shift
        assert [(i.day - shift, i.starts, i.ends) for i in event.agenda] == [
            (i.day, i.starts, i.ends) for i in given.agenda
        ]


# --- Ready to use -------------------------------------------------------------------------


async def test_every_event_can_invite_its_whole_audience_in_their_languages(
    database: Database,
) -> None:
    await load(database, NOWS[0])

    languages: set[str] = set()
    async with database.session_scope() as session:
        for key, _ in ORDER:
            event = await event_registry.find_event(session, key)
            assert event is not None and set(event.title) == {"lv", "et", "en"}
            plan = await invitations.plan(session, event, Audience.from_mapping(event.audience))
            assert plan.missing_language == [], key
            assert plan.new, key
            languages |= {c.language for c in plan.new}
            if key == "valga-2027":
                experts = {(c.email, c.country) for c in plan.new if c.role == "regional_expert"}
                assert ("ilze.kalnina@jelgava.example", "LV") in experts
                assert ("margus.kask@valga.example", "EE") in experts
    assert languages == {"lv", "et", "en"}


async def test_the_feedback_survey_follows_the_visit(sqlite_database: Database) -> None:
    summary = await load(sqlite_database, NOWS[0])

    visit = await stored_event(sqlite_database, "sabile-talsi-2027")
    assert visit.kind == "good_practice_visit" and len(visit.places) >= 5
    assert visit.survey_slug in summary.surveys
    async with sqlite_database.session_scope() as session:
        survey = await survey_registry.find_survey(session, visit.survey_slug)
    assert survey is not None
    assert (survey.send_after, survey.remind_after, survey.closes_after) == (
        2 * 3600,
        2 * 86400,
        14 * 86400,
    )
    assert {q.type for q in survey.questions} == {
        "rating",
        "single_choice",
        "multiple_choice",
        "yes_no",
        "text",
    }
    assert all(set(q.text) == {"lv", "et", "en"} for q in survey.questions)


async def test_recommendations_belong_to_their_owners_and_fall_due_ahead(
    sqlite_database: Database,
) -> None:
    now = NOWS[1]
    summary = await load(sqlite_database, now)

    files = [read_rec_file(p) for p in sorted((demo.DEMO_DIR / "recommendations").glob("*.yaml"))]
    items = [item for file in files for item in file.items]
    assert summary.recommendations == len(items) >= 6
    today = now.astimezone(RIGA).date()
    dues: list[date] = []
    owners: list[Contact] = []
    async with sqlite_database.session_scope() as session:
        for item in items:
            rec = await rec_registry.find_recommendation(session, item.slug)
            assert rec is not None and rec.source_date is not None and rec.source_date.year == 2020
            people = [await session.get(Contact, o.contact_id) for o in rec.owners]
            assert sorted(c.email for c in people if c) == sorted(item.owners)
            owners += [c for c in people if c]
            if rec.due_on is not None:
                dues.append(rec.due_on)
    assert all(due > today for due in dues)
    assert min(dues) - today <= timedelta(days=14)
    assert {c.country for c in owners} >= {"LV", "EE"}
    assert any(c.telegram_username for c in owners)


# --- The command --------------------------------------------------------------------------


def snapshot(url: str) -> tuple[object, ...]:
    async def work(session: AsyncSession) -> tuple[object, ...]:
        counts = [
            await session.scalar(select(func.count(model.id)))
            for model in (Contact, Event, Survey, Recommendation)
        ]
        events = (
            await session.execute(select(Event.slug, Event.starts_at, Event.updated_at))
        ).all()
        return (*counts, sorted(events))

    return query(url, work)


def test_demo_loads_an_empty_database_and_refuses_a_second_time(cli: Cli) -> None:
    first = cli("demo")
    assert first.exit_code == 0, first.output
    assert f"{DEMO_CONTACTS} new, 0 updated, 0 unchanged" in first.output
    for key, _ in ORDER:
        assert key in first.output
    assert "municipality" in first.output and "visit-feedback" in first.output
    assert first.output.rstrip().endswith("Start the playground: expertbot run")
    before = snapshot(cli.url)

    second = cli("demo")
    assert second.exit_code == 1
    assert f"the database already has {DEMO_CONTACTS} contacts" in second.output
    assert "EXPERTBOT_DATABASE_URL" in second.output
    assert snapshot(cli.url) == before


def test_demo_migrates_a_new_database_file_first(tmp_path: Path) -> None:
    cli = Cli(f"sqlite:///{tmp_path / 'new.db'}")
    result = cli("demo", "--language", "en")
    assert result.exit_code == 0, result.output
    assert "Regional experts'" in result.output and "Reģionālo" not in result.output
    assert "valga-2027" in cli("events", "list").output
