"""Surveys go out after the event to those who came, with one reminder, until they close."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from bot.db.models import Event, Invitation, OutboxMessage, Survey, SurveyRecipient
from bot.db.session import Database
from bot.scheduler import Ticker
from bot.services.clock import ManualClock
from tests.test_outbox import POLICY, add_contact
from tests.test_survey_telegram import make_survey

ENDS = datetime(2027, 7, 1, 11, 0, tzinfo=UTC)


async def visit(database: Database, **people: str) -> tuple[int, dict[str, int]]:
    survey = await make_survey(database)
    async with database.session_scope() as session:
        event = Event(
            slug="sabile-talsi-2027",
            kind="good_practice_visit",
            status="published",
            title={"lv": "Vizīte", "et": "Visiit", "en": "Visit"},
            timezone="Europe/Riga",
            starts_at=ENDS - timedelta(days=1),
            ends_at=ENDS,
            rsvp_by=date(2027, 6, 16),
            survey_slug="visit-feedback",
        )
        session.add(event)
        await session.flush()
        event_id = event.id
    ids = {}
    for name, status in people.items():
        contact = await add_contact(database, name, f"{name}@x.example", None)
        async with database.session_scope() as session:
            session.add(Invitation(event_id=event_id, contact_id=contact, status=status))
        ids[name] = contact
    assert survey
    return event_id, ids


async def keys(database: Database) -> list[str]:
    async with database.session_scope() as session:
        return list(
            await session.scalars(select(OutboxMessage.dedupe_key).order_by(OutboxMessage.id))
        )


async def test_after_the_visit_those_who_came_get_the_survey_then_one_reminder(
    database: Database,
) -> None:
    await visit(database, ilze="attended", kadri="no_show", aija="accepted")
    clock = ManualClock(ENDS + timedelta(hours=1))
    ticker = Ticker(database, clock, POLICY)
    assert await ticker.tick() == 0  # send_after is 2 hours
    clock.set(ENDS + timedelta(hours=2))
    assert await ticker.tick() == 1  # attendance was taken: only Ilze
    assert await ticker.tick() == 0
    clock.advance(timedelta(days=3))
    assert await ticker.tick() == 1  # the one reminder
    clock.advance(timedelta(days=3))
    assert await ticker.tick() == 0
    async with database.session_scope() as session:
        (recipient,) = list(await session.scalars(select(SurveyRecipient)))
        assert recipient.closes_at == ENDS + timedelta(days=14)
    assert [k.rsplit(":", 1)[0] for k in await keys(database)] == [
        f"survey:{recipient.id}",
        f"survey-reminder:{recipient.id}",
    ]


async def test_without_attendance_those_who_accepted_get_it_and_none_after_closing(
    database: Database,
) -> None:
    await visit(database, ilze="accepted", kadri="declined", aija="not_sure")
    clock = ManualClock(ENDS + timedelta(days=15))
    assert await Ticker(database, clock, POLICY).tick() == 0  # closed by then
    clock.set(ENDS + timedelta(hours=3))
    assert await Ticker(database, clock, POLICY).tick() == 1
    async with database.session_scope() as session:
        survey = await session.scalar(select(Survey))
        recipients = list(await session.scalars(select(SurveyRecipient)))
        assert survey is not None and len(recipients) == 1


def test_surveys_send_by_hand_reaches_only_new_people(cli: object) -> None:
    from tests.conftest import DATA, Cli

    assert isinstance(cli, Cli)
    cli("contacts", "import", str(DATA / "contacts.csv"))
    cli("surveys", "load", str(DATA / "surveys" / "visit-feedback.yaml"))
    first = cli("surveys", "send", "visit-feedback", "--country", "EE", "--role", "partner")
    assert "sent to 2 new person(s) of 2 chosen" in first.output
    again = cli("surveys", "send", "visit-feedback", "--country", "EE", "--role", "partner")
    assert "sent to 0 new person(s)" in again.output
    nobody = cli("surveys", "send", "visit-feedback")
    assert nobody.exit_code == 1 and "--event ID" in nobody.output
