"""`expertbot export`: every table of a realistic network, as XLSX sheets or as CSV files.

The network is built once per module, as the coordinator would: contacts, events, surveys and
recommendations loaded through the CLI; invitations, answers, attendance, survey responses and
recommendation updates recorded through the services (or the models, where a person signs in on
paper). The inputs are plain data here, so tests/test_funding_report.py can count from them.
"""

from __future__ import annotations

import csv
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import (
    Answer,
    Contact,
    Invitation,
    InvitationAnswer,
    OutboxMessage,
    SurveyRecipient,
    SurveyResponse,
)
from bot.services.delivery.outbox import DeliveryPolicy
from bot.services.events import invitations
from bot.services.events.invitations import InvitePlan
from bot.services.events.registry import find_event
from bot.services.recommendations import followup as recommendations
from bot.services.recommendations.registry import find_recommendation
from bot.services.surveys.registry import find_survey
from tests.conftest import DATA, Cli
from tests.test_surveys_load import query

CONTACTS = DATA / "contacts.csv"
EVENTS = sorted((DATA / "events").glob("*.yaml"))
SURVEYS = sorted((DATA / "surveys").glob("*.yaml"))
RECS = DATA / "recommendations" / "valga-2020.yaml"


@dataclass(frozen=True)
class Invited:
    name: str
    answer: str  # yes, no or maybe
    channel: str
    came: bool | None = None  # None where the event took no attendance


INVITED: dict[str, list[Invited]] = {
    "valga-2027": [
        Invited("Kadri Tamm", "yes", "telegram", True),
        Invited("Margus Kask", "yes", "email", True),
        Invited("Tiina Sepp", "yes", "web", True),
        Invited("Priit Mägi", "yes", "telegram", True),  # no email: signs in on paper
        Invited("Anneli Õunapuu", "yes", "email", True),
        Invited("Edgars Vītols", "yes", "email", False),
        Invited("Sandra Jansone", "yes", "email", True),
        Invited("Mikko Virtanen", "no", "email", False),
        Invited("Zane Ābele", "maybe", "web", False),
    ],
    # A seminar that took no attendance: those who accepted count.
    "mediators-riga-2027": [
        Invited("Līga Saulīte", "yes", "email"),
        Invited("Raimonds Kļaviņš", "yes", "telegram"),
        Invited("Sandra Jansone", "yes", "web"),
        Invited("Ilze Kalniņa", "no", "email"),
    ],
    "sabile-talsi-2027": [
        Invited("Ilze Kalniņa", "yes", "email", True),
        Invited("Jānis Ozols", "yes", "email", True),
        Invited("Aija Bērziņa", "yes", "web", True),
        Invited("Dace Krūmiņa", "yes", "email", True),
        Invited("Gatis Pūce", "yes", "email", True),
        Invited("Mikko Virtanen", "yes", "email", True),
        Invited("Ieva O'Connor-Liepa", "yes", "email", True),
        Invited("Līga Saulīte", "yes", "email", False),
        Invited("Māris Liepiņš", "no", "email", False),
    ],
}
INVITED_AT = {
    "valga-2027": datetime(2027, 1, 10, 8, 0, tzinfo=UTC),
    "mediators-riga-2027": datetime(2027, 5, 2, 8, 0, tzinfo=UTC),
    "sabile-talsi-2027": datetime(2027, 6, 1, 8, 0, tzinfo=UTC),
}
ANSWERED_AT = {
    "valga-2027": datetime(2027, 1, 20, 9, 0, tzinfo=UTC),
    "mediators-riga-2027": datetime(2027, 5, 5, 9, 0, tzinfo=UTC),
    "sabile-talsi-2027": datetime(2027, 6, 10, 9, 0, tzinfo=UTC),
}
ATTENDANCE_AT = {
    "valga-2027": datetime(2027, 2, 4, 14, 0, tzinfo=UTC),
    "sabile-talsi-2027": datetime(2027, 7, 1, 12, 0, tzinfo=UTC),
}


@dataclass(frozen=True)
class Response:
    survey: str
    name: str
    event: str
    finished_at: datetime | None  # None: stopped half-way
    answers: dict[str, Any]


RESPONSES = [
    Response(
        "valga-2027-feedback",
        "Kadri Tamm",
        "valga-2027",
        datetime(2027, 2, 5, 8, 0, tzinfo=UTC),
        {"overall": 4, "again_next_year": "yes", "comment": "Väga hea kohtumine"},
    ),
    Response(
        "valga-2027-feedback",
        "Tiina Sepp",
        "valga-2027",
        datetime(2027, 2, 5, 9, 30, tzinfo=UTC),
        {"overall": 5, "again_next_year": "yes"},
    ),
    Response(
        "valga-2027-feedback",
        "Sandra Jansone",
        "valga-2027",
        datetime(2027, 2, 6, 7, 0, tzinfo=UTC),
        {"overall": 2, "again_next_year": "no", "comment": "@Valka: vairāk laika darbam grupās"},
    ),
    Response("valga-2027-feedback", "Margus Kask", "valga-2027", None, {"overall": 1}),
    Response(
        "visit-feedback",
        "Ilze Kalniņa",
        "sabile-talsi-2027",
        datetime(2027, 7, 2, 10, 0, tzinfo=UTC),
        {"useful": 5, "best_part": "places", "topics": ["education", "social"]},
    ),
    Response(
        "visit-feedback",
        "Jānis Ozols",
        "sabile-talsi-2027",
        datetime(2027, 7, 3, 10, 0, tzinfo=UTC),
        {"useful": 4, "best_part": "people", "next_time": "=Tikties Latgalē"},
    ),
    Response(
        "visit-feedback",
        "Aija Bērziņa",
        "sabile-talsi-2027",
        datetime(2027, 7, 3, 12, 0, tzinfo=UTC),
        {"useful": 3, "best_part": "discussion", "need_mediator": "yes"},
    ),
    # Late: after the end of July, outside the report's period.
    Response(
        "visit-feedback",
        "Dace Krūmiņa",
        "sabile-talsi-2027",
        datetime(2027, 8, 5, 10, 0, tzinfo=UTC),
        {"useful": 1, "best_part": "places"},
    ),
]


@dataclass(frozen=True)
class Update:
    slug: str
    email: str | None  # an owner, or None for the coordinator
    status: str
    channel: str
    at: datetime
    comment: str | None = None


HYPERLINK = '=HYPERLINK("https://example.com/valga","Valga")'
UPDATES = [
    Update(
        "valga-2020-yearly",
        "sandra.jansone@km.example",
        "done",
        "telegram",
        datetime(2027, 2, 10, 12, 0, tzinfo=UTC),
        "Sanāksme Valgā notika 4. februārī",
    ),
    Update(
        "valga-2020-mediators",
        "kadri.tamm@valga.example",
        "in_progress",
        "email",
        datetime(2027, 3, 1, 12, 0, tzinfo=UTC),
        HYPERLINK,
    ),
    Update(
        "valga-2020-delegate",
        None,
        "dropped",
        "coordinator",
        datetime(2027, 8, 15, 12, 0, tzinfo=UTC),
        "Valka jau ir pārstāvēta tīklā",
    ),
]
DELIVERY_ERROR = "550 5.1.1 mailbox unavailable"
DELIVERY_ZONE = ZoneInfo("Europe/Riga")
SHEETS = [
    "contacts",
    "events",
    "invitations",
    "invitation_history",
    "attendance",
    "survey valga-2027-feedback",
    "survey visit-feedback",
    "recommendations",
    "recommendation_updates",
    "deliveries",
    "audit",
]


def contact_rows() -> list[dict[str, str]]:
    """The imported contacts file, read with the csv module alone."""
    with CONTACTS.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def build(cli: Cli) -> None:
    """Load the files through the CLI, then record what happened through the services."""
    for args in (
        ("contacts", "import", str(CONTACTS)),
        ("events", "load", *map(str, EVENTS)),
        ("surveys", "load", *map(str, SURVEYS)),
        ("recs", "load", str(RECS)),
    ):
        result = cli(*args)
        assert result.exit_code == 0, result.output
    query(cli.url, _record)


async def _record(session: AsyncSession) -> None:
    people = {c.name: c for c in await session.scalars(select(Contact))}
    policy = DeliveryPolicy(zone=DELIVERY_ZONE, quiet=None)
    for slug, invited in INVITED.items():
        event = await find_event(session, slug)
        assert event is not None
        plan = InvitePlan(new=[people[i.name] for i in invited])
        await invitations.invite(session, event, plan, now=INVITED_AT[slug], policy=policy)
        found = await session.execute(
            select(Invitation.contact_id, Invitation.id).where(Invitation.event_id == event.id)
        )
        ids = {contact_id: invitation_id for contact_id, invitation_id in found}
        for i in invited:
            outcome = await invitations.record_answer(
                session, ids[people[i.name].id], i.answer, channel=i.channel, now=ANSWERED_AT[slug]
            )
            assert outcome.verdict == "recorded", (slug, i)
        if slug not in ATTENDANCE_AT:
            continue
        came = [people[i.name] for i in invited if i.came]
        emails = [c.email for c in came if c.email]
        await invitations.record_attendance(session, event, emails, now=ATTENDANCE_AT[slug])
        for contact in came:
            if contact.email is None:
                invitation = await session.get(Invitation, ids[contact.id])
                assert invitation is not None
                invitation.status = "attended"
                session.add(
                    InvitationAnswer(
                        invitation_id=invitation.id,
                        status="attended",
                        channel="coordinator",
                        recorded_at=ATTENDANCE_AT[slug],
                        note="signed in on paper",
                    )
                )
    await _responses(session, people)
    await _updates(session, people)
    await _deliveries(session)


async def _responses(session: AsyncSession, people: dict[str, Contact]) -> None:
    for given in RESPONSES:
        survey = await find_survey(session, given.survey)
        event = await find_event(session, given.event)
        assert survey is not None and event is not None
        keys = {q.key: q.id for q in survey.questions}
        contact = people[given.name]
        session.add(
            SurveyRecipient(
                survey_id=survey.id,
                contact_id=contact.id,
                event_id=event.id,
                finished_at=given.finished_at,
            )
        )
        session.add(
            SurveyResponse(
                survey_id=survey.id,
                event_id=event.id,
                contact_id=None if survey.anonymous else contact.id,
                status="finished" if given.finished_at else "in_progress",
                channel="telegram",
                finished_at=given.finished_at,
                answers=[
                    Answer(question_id=keys[key], value={"value": value})
                    for key, value in given.answers.items()
                ],
            )
        )
    await session.flush()


async def _updates(session: AsyncSession, people: dict[str, Contact]) -> None:
    by_email = {c.email: c for c in people.values() if c.email}
    for update in UPDATES:
        rec = await find_recommendation(session, update.slug)
        assert rec is not None
        outcome = await recommendations.record_update(
            session,
            rec.id,
            update.status,
            now=update.at,
            channel=update.channel,
            contact_id=by_email[update.email].id if update.email else None,
            comment=update.comment,
        )
        assert outcome.verdict == "recorded", update


async def _deliveries(session: AsyncSession) -> None:
    """The first invitation went out; the second bounced three times."""
    sent, failed = list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))[:2]
    sent.status, sent.attempts, sent.sent_at = "sent", 1, INVITED_AT["valga-2027"]
    failed.status, failed.attempts, failed.last_error = "failed", 3, DELIVERY_ERROR


def built_network(folder: Path, template: Path) -> Cli:
    """Build the network in a database of its own under `folder`, as a module fixture does."""
    path = folder / "expertbot.db"
    shutil.copy(template, path)
    cli = Cli(f"sqlite:///{path}")
    with pytest.MonkeyPatch.context() as patch:
        # As clean_environment does for each test: no developer's settings or .env.
        for name in [n for n in os.environ if n.startswith("EXPERTBOT_")]:
            patch.delenv(name)
        patch.chdir(folder)
        build(cli)
    return cli


@pytest.fixture(scope="module")
def network(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """The network, built once for this module's tests, which only read it."""
    return built_network(tmp_path_factory.mktemp("network"), sqlite_template)


# --- The workbook -------------------------------------------------------------------------


def rows_of(sheet: Any) -> list[dict[str, Any]]:
    """Each data row of a sheet as {header: value}."""
    header, *rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_export_writes_every_table_as_a_sheet(network: Cli, tmp_path: Path) -> None:
    file = tmp_path / "network.xlsx"
    result = network("export", str(file))
    assert result.exit_code == 0, result.output
    assert "Wrote 11 sheet(s)" in result.output and "Times in Europe/Riga" in result.output
    book = load_workbook(file)
    assert book.sheetnames == SHEETS
    contacts = {row["name"]: row for row in rows_of(book["contacts"])}
    assert len(contacts) == len(contact_rows())
    # Special-category data and its consent: in this coordinator export only.
    raimonds = contacts["Raimonds Kļaviņš"]
    assert raimonds["stakeholder_group"] == "roma_representative"
    assert raimonds["role"] == "mediator" and raimonds["municipality"] == "Ventspils"
    assert raimonds["consent_on"].date().isoformat() == "2026-03-01"
    assert raimonds["phone"] == "'+37120000010"  # a leading + would start a formula
    assert contacts["Anneli Õunapuu"]["organisation"] == "Loomestuudio Joy"
    assert contacts["Ieva O'Connor-Liepa"]["tags"] == "education, youth"


def test_export_lists_events_with_places_and_local_times(network: Cli, tmp_path: Path) -> None:
    file = tmp_path / "network.xlsx"
    assert network("export", str(file)).exit_code == 0
    events = {row["slug"]: row for row in rows_of(load_workbook(file)["events"])}
    assert list(events) == ["valga-2027", "mediators-riga-2027", "sabile-talsi-2027"]
    visit = events["sabile-talsi-2027"]
    assert visit["places"] == "Talsu Tautas nams, Kareivju iela 16, Talsi, LV-3201, LV"
    assert visit["starts (Europe/Riga)"] == "2027-06-30 10:00"
    assert visit["title lv"] == "Reģionālo ekspertu labās prakses vizīte Sabilē un Talsos"
    assert visit["status"] == "published" and visit["survey"] == "visit-feedback"
    # Valga's 10:00 in Tallinn is 10:00 in Riga too: the same offset all year.
    assert events["valga-2027"]["starts (Europe/Riga)"] == "2027-02-04 10:00"


def test_export_has_every_invitation_answer_and_attendance(network: Cli, tmp_path: Path) -> None:
    file = tmp_path / "network.xlsx"
    assert network("export", str(file)).exit_code == 0
    book = load_workbook(file)
    invitations = rows_of(book["invitations"])
    assert len(invitations) == sum(len(people) for people in INVITED.values())
    priit = next(r for r in invitations if r["name"] == "Priit Mägi")
    assert priit["status"] == "attended" and priit["last_channel"] == "coordinator"
    history = rows_of(book["invitation_history"])
    kadri = [(r["status"], r["channel"]) for r in history if r["name"] == "Kadri Tamm"]
    assert kadri == [("invited", None), ("accepted", "telegram"), ("attended", None)]
    assert history[0]["recorded (Europe/Riga)"] == "2027-01-10 10:00"
    attendance = {row["event"]: row for row in rows_of(book["attendance"])}
    assert attendance["valga-2027"]["attended"] == 6
    assert attendance["valga-2027"]["no_show"] == 1  # Edgars said yes and did not come
    assert attendance["mediators-riga-2027"]["attendance_taken"] == "no"
    assert attendance["mediators-riga-2027"]["accepted"] == 3


def test_anonymous_survey_sheet_has_no_names(network: Cli, tmp_path: Path) -> None:
    file = tmp_path / "network.xlsx"
    assert network("export", str(file)).exit_code == 0
    book = load_workbook(file)
    anonymous = book["survey valga-2027-feedback"]
    header = [cell.value for cell in anonymous[1]]
    assert header == [
        "response",
        "event",
        "channel",
        "finished (Europe/Riga)",
        "overall",
        "again_next_year",
        "comment",
    ]
    rows = rows_of(anonymous)
    assert [r["overall"] for r in rows] == [4, 5, 2]  # finished only, oldest first
    assert rows[2]["comment"] == "'@Valka: vairāk laika darbam grupās"
    cells = {str(v) for row in anonymous.iter_rows(values_only=True) for v in row if v}
    names = {row["name"] for row in contact_rows()}
    assert not any(name in cell for name in names for cell in cells)
    named = rows_of(book["survey visit-feedback"])
    assert [r["name"] for r in named] == [
        "Ilze Kalniņa",
        "Jānis Ozols",
        "Aija Bērziņa",
        "Dace Krūmiņa",
    ]
    assert named[0]["topics"] == "Izglītība, Sociālais atbalsts"  # labels, not option ids
    assert named[1]["next_time"] == "'=Tikties Latgalē"


def test_export_has_recommendations_updates_and_deliveries(network: Cli, tmp_path: Path) -> None:
    file = tmp_path / "network.xlsx"
    assert network("export", str(file)).exit_code == 0
    book = load_workbook(file)
    recs = {row["slug"]: row for row in rows_of(book["recommendations"])}
    assert recs["valga-2020-yearly"]["status"] == "done"
    assert recs["valga-2020-yearly"]["owners"] == "Sandra Jansone; Tiina Sepp"
    updates = rows_of(book["recommendation_updates"])
    assert [(u["recommendation"], u["who"], u["status"]) for u in updates] == [
        ("valga-2020-yearly", "Sandra Jansone", "done"),
        ("valga-2020-mediators", "Kadri Tamm", "in_progress"),
        ("valga-2020-delegate", "coordinator", "dropped"),
    ]
    assert updates[1]["comment"] == "'" + HYPERLINK  # shown as text, never run
    deliveries = rows_of(book["deliveries"])
    header = [cell.value for cell in book["deliveries"][1]]
    assert "rendered_text" not in header and "subject" not in header
    assert {d["kind"] for d in deliveries} == {"event_invitation"}
    failed = [d for d in deliveries if d["status"] == "failed"]
    assert [(d["attempts"], d["last_error"]) for d in failed] == [(3, DELIVERY_ERROR)]
    sent = next(d for d in deliveries if d["status"] == "sent")
    assert sent["sent (Europe/Riga)"] == "2027-01-10 10:00"


def test_export_keeps_the_period_and_the_event_asked_for(network: Cli, tmp_path: Path) -> None:
    may = tmp_path / "may.xlsx"
    result = network("export", str(may), "--from", "2027-05-01", "--to", "2027-05-31")
    assert result.exit_code == 0, result.output
    book = load_workbook(may)
    assert [r["slug"] for r in rows_of(book["events"])] == ["mediators-riga-2027"]
    assert {r["event"] for r in rows_of(book["invitations"])} == {"mediators-riga-2027"}
    assert rows_of(book["survey visit-feedback"]) == []  # answered in July
    assert rows_of(book["recommendation_updates"]) == []
    assert len(rows_of(book["recommendations"])) == 4  # the registry, in full
    assert {r["event"] for r in rows_of(book["deliveries"])} == {"mediators-riga-2027"}

    valga = tmp_path / "valga.xlsx"
    assert network("export", str(valga), "--event", "valga-2027").exit_code == 0
    book = load_workbook(valga)
    assert book.sheetnames == [s for s in SHEETS if s not in ("survey visit-feedback", "audit")]
    names = {r["name"] for r in rows_of(book["contacts"])}
    assert names == {i.name for i in INVITED["valga-2027"]}
    assert len(rows_of(book["survey valga-2027-feedback"])) == 3
    assert rows_of(book["recommendations"]) == []  # valga-2020 names no event of the database


def test_csv_export_writes_a_file_per_sheet_with_a_bom(network: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "csv"
    result = network("export", "--csv", str(folder))
    assert result.exit_code == 0, result.output
    files = sorted(p.stem for p in folder.glob("*.csv"))
    assert files == sorted(s.replace(" ", "_") for s in SHEETS)
    for path in folder.glob("*.csv"):
        assert path.read_bytes().startswith(b"\xef\xbb\xbf"), path.name
    with (folder / "contacts.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = {row["name"]: row for row in csv.DictReader(handle)}
    assert rows["Raimonds Kļaviņš"]["stakeholder_group"] == "roma_representative"
    with (folder / "recommendation_updates.csv").open(encoding="utf-8-sig", newline="") as handle:
        comments = [row["comment"] for row in csv.DictReader(handle)]
    assert "'" + HYPERLINK in comments


def test_export_says_what_it_needs(network: Cli, tmp_path: Path) -> None:
    nowhere = network("export")
    assert nowhere.exit_code == 1 and "FILE.xlsx, or --csv FOLDER" in nowhere.output
    wrong = network("export", str(tmp_path / "network.csv"))
    assert wrong.exit_code == 1 and "use an .xlsx file name" in wrong.output
    missing = network("export", str(tmp_path / "x.xlsx"), "--event", "riga-2030")
    assert missing.exit_code == 1 and "no event riga-2030" in missing.output
    backwards = network(
        "export", str(tmp_path / "x.xlsx"), "--from", "2027-05-02", "--to", "2027-05-01"
    )
    assert backwards.exit_code == 1 and "is before" in backwards.output
