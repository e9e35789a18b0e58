"""The coordinator sees how many answered, what they answered, and exports the responses."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Answer, Contact, SurveyRecipient, SurveyResponse
from bot.services.surveys import registry
from tests.conftest import Cli
from tests.test_surveys_load import VALGA, VISIT, query

FINISHED = datetime(2027, 7, 1, 9, 0, tzinfo=UTC)  # 12:00 in Riga

# (name, email, answers or None for someone who never finished)
VISIT_PEOPLE: list[tuple[str, str, dict[str, Any] | None]] = [
    (
        "Līga Bērziņa",
        "liga.berzina@talsi.lv",
        {
            "useful": 5,
            "best_part": "places",
            "topics": ["education", "social"],
            "need_mediator": "yes",
            "next_time": "Vairāk laika diskusijām ar ģimenēm",
        },
    ),
    (
        "Kārlis Ēcis",
        "karlis.ecis@sabile.lv",
        {
            "useful": 4,
            "best_part": "people",
            "topics": ["social"],
            "need_mediator": "no",
            "next_time": "=Tikties Latgalē",
        },
    ),
    (
        "Mari Tamm",
        "mari.tamm@valga.ee",
        {"useful": 5, "best_part": "places", "topics": [], "need_mediator": "yes"},
    ),
    ("Ilze Kalniņa", "ilze.kalnina@kuldiga.lv", None),
]
VALGA_PEOPLE: list[tuple[str, str, dict[str, Any] | None]] = [
    (
        "Priit Mägi",
        "priit.magi@valga.ee",
        {"overall": 4, "again_next_year": "yes", "comment": "Väga hea kohtumine"},
    ),
    ("Anna Ozoliņa", "anna.ozolina@valka.lv", {"overall": 2, "again_next_year": "no"}),
    ("Tõnu Kask", "tonu.kask@valga.ee", None),
]


def seed(url: str, slug: str, people: list[tuple[str, str, dict[str, Any] | None]]) -> None:
    """Send the survey to everyone listed; those with answers have finished it."""

    async def work(session: AsyncSession) -> None:
        survey = await registry.find_survey(session, slug)
        assert survey is not None
        keys = {q.key: q.id for q in survey.questions}
        for number, (name, email, answers) in enumerate(people):
            contact = Contact(name=name, email=email, role="regional_expert")
            session.add(contact)
            await session.flush()
            finished_at = FINISHED + timedelta(minutes=number) if answers else None
            session.add(
                SurveyRecipient(survey_id=survey.id, contact_id=contact.id, finished_at=finished_at)
            )
            response = SurveyResponse(
                survey_id=survey.id,
                contact_id=None if survey.anonymous else contact.id,
                status="finished" if answers else "in_progress",
                finished_at=finished_at,
            )
            # Someone who stopped half-way has answered the first question only.
            given = answers or {survey.questions[0].key: 1}
            response.answers = [
                Answer(question_id=keys[key], value={"value": value})
                for key, value in given.items()
            ]
            session.add(response)

    query(url, work)


@pytest.fixture
def visit(cli: Cli) -> Cli:
    assert cli("surveys", "load", str(VISIT)).exit_code == 0
    seed(cli.url, "visit-feedback", VISIT_PEOPLE)
    return cli


@pytest.fixture
def valga(cli: Cli) -> Cli:
    assert cli("surveys", "load", str(VALGA)).exit_code == 0
    seed(cli.url, "valga-2027-feedback", VALGA_PEOPLE)
    return cli


def bar(blocks: int) -> str:
    return "█" * blocks


# --- The summary --------------------------------------------------------------------------


def test_results_show_the_rate_rating_mean_and_bars(visit: Cli) -> None:
    result = visit("surveys", "results", "visit-feedback")
    assert result.exit_code == 0, result.output
    output = result.output
    assert "Atgriezeniskā saite par vizīti (visit-feedback, not anonymous)" in output
    assert "Response rate: 3 of 4 sent finished (75%); 3 finished response(s)." in output
    assert "1. useful — Cik noderīga jūsu darbam bija šī vizīte? (rating)" in output
    assert "answered 3, skipped 0 · mean 4.67" in output
    # The unfinished response's rating of 1 is not counted.
    assert f"   5 {bar(20)} 2\n   4 {bar(10)} 1\n   3  0\n   2  0\n   1  0\n" in output


def test_results_show_choice_shares_and_yes_no_shares(visit: Cli) -> None:
    output = visit("surveys", "results", "visit-feedback").output
    assert f"Iestāžu apmeklējumi                    {bar(20)} 67% (2)" in output
    assert f"Tikšanās ar romu ģimenēm un jauniešiem {bar(10)} 33% (1)" in output
    assert "Ekspertu diskusija                      0% (0)" in output
    assert "answered 3, skipped 0 (share of respondents; several choices allowed)" in output
    assert f"Sociālais atbalsts {bar(20)} 67% (2)" in output
    assert f"Izglītība          {bar(10)} 33% (1)" in output
    assert f"Jā {bar(20)} 67% (2)\n   Nē {bar(10)} 33% (1)" in output


def test_results_list_free_texts_with_names_when_not_anonymous(visit: Cli) -> None:
    output = visit("surveys", "results", "visit-feedback").output
    assert "answered 2, skipped 1" in output
    assert "• Vairāk laika diskusijām ar ģimenēm — Līga Bērziņa" in output
    assert "• =Tikties Latgalē — Kārlis Ēcis" in output


def test_results_can_be_shown_in_another_language(visit: Cli) -> None:
    output = visit("surveys", "results", "visit-feedback", "--language", "et").output
    assert "Tagasiside õppevisiidi kohta (visit-feedback, not anonymous)" in output
    assert "2. best_part — Mis oli kõige kasulikum? (one choice)" in output
    assert f"Jah {bar(20)} 67% (2)" in output


def test_the_results_service_returns_plain_numbers(visit: Cli) -> None:
    async def work(session: AsyncSession) -> registry.SurveyResults:
        survey = await registry.find_survey(session, "visit-feedback")
        assert survey is not None
        return await registry.results(session, survey, "en")

    summary = query(visit.url, work)
    assert (summary.sent, summary.finished, summary.responses, summary.rate) == (4, 3, 3, 0.75)
    useful, best_part, topics, need_mediator, next_time = summary.questions
    assert useful.mean == pytest.approx(14 / 3)
    assert useful.distribution == ((5, 2), (4, 1), (3, 0), (2, 0), (1, 0))
    assert [(s.id, s.count) for s in best_part.shares] == [
        ("places", 2),
        ("people", 1),
        ("discussion", 0),
    ]
    assert best_part.shares[0].label == "Visits to institutions"
    assert {s.id: s.share for s in topics.shares} == pytest.approx(
        {"education": 1 / 3, "employment": 0, "social": 2 / 3, "mediation": 0}
    )
    assert [(s.label, s.count) for s in need_mediator.shares] == [("Yes", 2), ("No", 1)]
    assert [t.author for t in next_time.texts] == ["Līga Bērziņa", "Kārlis Ēcis"]


def test_surveys_list_counts_who_was_sent_and_who_finished(visit: Cli) -> None:
    output = visit("surveys", "list").output
    row = next(line for line in output.splitlines() if "visit-feedback" in line)
    assert [cell.strip() for cell in row.split("│")[1:-1]] == [
        "1",
        "visit-feedback",
        "Atgriezeniskā saite par vizīti",
        "no",
        "5",
        "4",
        "3",
    ]


def test_a_survey_without_responses_says_so(cli: Cli) -> None:
    cli("surveys", "load", str(VALGA))
    result = cli("surveys", "results", "valga-2027-feedback", "--export", "out.csv")
    assert result.exit_code == 0
    assert "Response rate: 0 of 0 sent finished; 0 finished response(s)." in result.output
    assert "No finished responses yet." in result.output
    assert "Nothing to export yet." in result.output
    assert not Path("out.csv").exists()


def test_an_unknown_survey_or_export_name_is_refused(visit: Cli) -> None:
    result = visit("surveys", "results", "no-such-survey")
    assert result.exit_code == 1
    assert "no survey no-such-survey; `expertbot surveys list` shows them" in result.output
    result = visit("surveys", "results", "visit-feedback", "--export", "out.ods")
    assert result.exit_code == 1
    assert "out.ods: use a .csv or .xlsx file name" in result.output


# --- Anonymity ----------------------------------------------------------------------------


def test_anonymous_results_show_no_names_or_emails(valga: Cli) -> None:
    output = valga("surveys", "results", "valga-2027-feedback").output
    assert "(valga-2027-feedback, anonymous)" in output
    assert "Response rate: 2 of 3 sent finished (67%); 2 finished response(s)." in output
    assert "mean 3.00" in output
    assert "• Väga hea kohtumine\n" in output
    for name, email, _ in VALGA_PEOPLE:
        assert name not in output and email not in output
    assert "@" not in output


def test_anonymous_export_has_no_name_or_email_columns(valga: Cli) -> None:
    result = valga("surveys", "results", "valga-2027-feedback", "--export", "valga.csv")
    assert result.exit_code == 0, result.output
    assert "Wrote 2 response(s) to valga.csv." in result.output
    text = Path("valga.csv").read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [
        ["response", "finished (Europe/Riga)", "overall", "again_next_year", "comment"],
        ["1", "2027-07-01 12:00", "4", "Jā", "Väga hea kohtumine"],  # labels, not option ids
        ["2", "2027-07-01 12:01", "2", "Nē", ""],
    ]
    for name, email, _ in VALGA_PEOPLE:
        assert name not in text and email not in text


# --- Export -------------------------------------------------------------------------------


def test_csv_export_has_a_bom_diacritics_and_one_row_per_finished_response(visit: Cli) -> None:
    result = visit("surveys", "results", "visit-feedback", "--export", "visit.csv")
    assert "Wrote 3 response(s) to visit.csv." in result.output
    content = Path("visit.csv").read_bytes()
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0] == [
        "response",
        "finished (Europe/Riga)",
        "name",
        "email",
        "useful",
        "best_part",
        "topics",
        "need_mediator",
        "next_time",
    ]
    assert rows[1:] == [
        [
            "1",
            "2027-07-01 12:00",
            "Līga Bērziņa",
            "liga.berzina@talsi.lv",
            "5",
            "Iestāžu apmeklējumi",
            "Izglītība, Sociālais atbalsts",
            "Jā",
            "Vairāk laika diskusijām ar ģimenēm",
        ],
        [
            "2",
            "2027-07-01 12:01",
            "Kārlis Ēcis",
            "karlis.ecis@sabile.lv",
            "4",
            "Tikšanās ar romu ģimenēm un jauniešiem",
            "Sociālais atbalsts",
            "Nē",
            "'=Tikties Latgalē",  # neutralised: a spreadsheet would run it as a formula
        ],
        [
            "3",
            "2027-07-01 12:02",
            "Mari Tamm",
            "mari.tamm@valga.ee",
            "5",
            "Iestāžu apmeklējumi",
            "",
            "Jā",
            "",
        ],
    ]


def test_xlsx_export_is_readable_with_numbers_kept_as_numbers(visit: Cli) -> None:
    result = visit("surveys", "results", "visit-feedback", "--export", "visit.xlsx")
    assert result.exit_code == 0, result.output
    sheet = load_workbook("visit.xlsx").active
    assert sheet.title == "visit-feedback"
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 4
    assert rows[0][:4] == ("response", "finished (Europe/Riga)", "name", "email")
    assert rows[1] == (
        1,
        "2027-07-01 12:00",
        "Līga Bērziņa",
        "liga.berzina@talsi.lv",
        5,
        "Iestāžu apmeklējumi",
        "Izglītība, Sociālais atbalsts",
        "Jā",
        "Vairāk laika diskusijām ar ģimenēm",
    )
