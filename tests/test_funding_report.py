"""`expertbot report`: the funder's figures, counted again here from the inputs themselves.

The network is the one tests/test_export.py builds; the expected figures come from its plain
input data (the contacts file, the event and survey files, who answered and who came), never
from the service under test.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from statistics import mean
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.reporting.funding_report import ReportFigures, figures, render_html
from tests.conftest import Cli
from tests.test_export import (
    EVENTS,
    INVITED,
    RECS,
    RESPONSES,
    SURVEYS,
    UPDATES,
    built_network,
    contact_rows,
)
from tests.test_surveys_load import query

RIGA = ZoneInfo("Europe/Riga")
PERIODS = [(date(2027, 1, 1), date(2027, 7, 31)), (date(2027, 3, 1), date(2027, 6, 29))]


@pytest.fixture(scope="module")
def network(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    return built_network(tmp_path_factory.mktemp("network"), sqlite_template)


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text("utf-8"))


def expected(start: date, end: date) -> dict[str, Any]:
    """Count what the report should show from the inputs, in plain Python."""
    people = {row["name"]: row for row in contact_rows()}
    events = {spec["id"]: spec for spec in map(_yaml, EVENTS)}
    held = [
        s
        for s, spec in events.items()
        if start <= date.fromisoformat(str(spec["starts"])[:10]) <= end
    ]
    came: dict[str, set[str]] = {}
    for slug in held:
        invited = INVITED[slug]
        took_attendance = any(i.came is not None for i in invited)
        came[slug] = {i.name for i in invited if (i.came if took_attendance else i.answer == "yes")}
    involved = set().union(*came.values())
    ratings = {
        spec["id"]: {q["id"] for q in spec["questions"] if q["type"] == "rating"}
        for spec in map(_yaml, SURVEYS)
    }
    answered: dict[str, list[int]] = {}
    responses: Counter[str] = Counter()
    for response in RESPONSES:
        if response.finished_at and start <= response.finished_at.astimezone(RIGA).date() <= end:
            responses[response.survey] += 1
            answered.setdefault(response.survey, []).extend(
                v for k, v in response.answers.items() if k in ratings[response.survey]
            )
    status = {rec["id"]: "not_started" for rec in _yaml(RECS)["recommendations"]}
    for update in sorted(UPDATES, key=lambda u: u.at):
        if update.at.astimezone(RIGA).date() <= end:
            status[update.slug] = update.status
    mediators = [people[n] for n in involved if people[n]["role"] == "mediator"]
    return {
        "people": len(involved),
        "by_group": Counter(people[n]["stakeholder_group"] or "unspecified" for n in involved),
        "by_country": Counter(people[n]["country"] for n in involved),
        "events": {s: len(came[s]) for s in held},
        "kinds": Counter(events[s]["kind"] for s in held),
        "mediators": Counter(m["municipality"] for m in mediators),
        "surveys": {s: (responses[s], mean(answered[s])) for s in responses},
        "recommendations": Counter(status.values()),
    }


# The test network's events are in 2027: report as it will stand once they are all over.
AFTER_EVERYTHING = datetime(2028, 1, 1, tzinfo=UTC)
AS_OF = ("--as-of", "2027-12-31")


def computed(url: str, start: date, end: date) -> ReportFigures:
    async def work(session: AsyncSession) -> ReportFigures:
        return await figures(session, start=start, end=end, zone=RIGA, now=AFTER_EVERYTHING)

    return query(url, work)


def nonzero(counts: dict[str, int]) -> dict[str, int]:
    return {key: n for key, n in counts.items() if n}


@pytest.mark.parametrize(("start", "end"), PERIODS, ids=["jan-jul", "mar-jun"])
def test_figures_match_what_the_inputs_add_up_to(network: Cli, start: date, end: date) -> None:
    want = expected(start, end)
    report = computed(network.url, start, end)
    assert report.people == want["people"]
    assert nonzero(report.by_group) == dict(want["by_group"])
    assert report.by_country == dict(want["by_country"])
    assert {e.slug: e.participants for e in report.events} == want["events"]
    assert nonzero({k: f.events for k, f in report.by_kind.items()}) == dict(want["kinds"])
    assert report.mediators == sum(want["mediators"].values())
    assert report.mediators_by_municipality == dict(want["mediators"])
    surveys = {s.slug: (s.responses, round(s.mean or 0, 9)) for s in report.surveys}
    assert surveys == {slug: (n, round(m, 9)) for slug, (n, m) in want["surveys"].items()}
    assert nonzero(report.recommendations) == dict(want["recommendations"])


def test_the_seminar_without_attendance_counts_who_accepted_and_says_so(
    network: Cli, tmp_path: Path
) -> None:
    report = computed(network.url, *PERIODS[0])
    assert [e.slug for e in report.without_attendance] == ["mediators-riga-2027"]
    result = network(
        "report",
        "--as-of",
        "2027-12-31",
        "--from",
        "2027-01-01",
        "--to",
        "2027-07-31",
        "--out",
        str(tmp_path / "r.html"),
    )
    assert result.exit_code == 0, result.output
    assert "15 people involved" in result.output
    assert "roma_representative 3" in result.output
    assert (
        "mediators-riga-2027 took no attendance: its 3 participant(s) are those who accepted"
        in (result.output)
    )


def all_names() -> set[str]:
    return {row["name"] for row in contact_rows()}


def test_xlsx_report_has_charts_and_estonian_headings(network: Cli, tmp_path: Path) -> None:
    file = tmp_path / "aruanne.xlsx"
    result = network(
        "report",
        "--as-of",
        "2027-12-31",
        "--from",
        "2027-01-01",
        "--to",
        "2027-07-31",
        "--lang",
        "et",
        "--out",
        str(file),
    )
    assert result.exit_code == 0, result.output
    sheet = load_workbook(file).active
    assert sheet.title == "Tulemused arvudes"
    assert len(sheet._charts) == 2  # people by group, events by kind
    rows = {row[0]: row[1:] for row in sheet.iter_rows(values_only=True) if row[0]}
    want = expected(*PERIODS[0])
    assert "Kaasatud inimesed rühmade kaupa" in rows
    assert rows["Kaasatud inimeste arv"][0] == want["people"]
    assert rows["Romade esindajad"][0] == want["by_group"]["roma_representative"]
    assert rows["Omavalitsuste esindajad ja spetsialistid"][0] == want["by_group"]["municipality"]
    assert rows["Läti (LV)"][0] == want["by_country"]["LV"]
    assert rows["Hea praktika õppevisiidid"][:2] == (1, want["events"]["sabile-talsi-2027"])
    assert rows["Tagasiside Valga kohtumise kohta"][:2] == (3, "3,67 / 5")
    assert rows["Tehtud"][0] == 1
    cells = [str(v) for row in sheet.iter_rows(values_only=True) for v in row if v]
    assert not [name for name in all_names() if any(name in cell for cell in cells)]


HEADINGS = {
    "lv": ("Iesaistītie cilvēki pa grupām", "Romu pārstāvji", "Pasākumi pa veidiem"),
    "et": ("Kaasatud inimesed rühmade kaupa", "Romade esindajad", "Üritused liikide kaupa"),
    "en": ("People involved by group", "Roma representatives", "Events by kind"),
}


@pytest.mark.parametrize("language", sorted(HEADINGS))
def test_html_report_has_svg_charts_headings_in_its_language_and_no_names(
    network: Cli, tmp_path: Path, language: str
) -> None:
    file = tmp_path / "report.html"
    result = network(
        "report",
        "--as-of",
        "2027-12-31",
        "--from",
        "2027-01-01",
        "--to",
        "2027-07-31",
        "--lang",
        language,
        "--out",
        str(file),
    )
    assert result.exit_code == 0, result.output
    html = file.read_text("utf-8")
    assert f'<html lang="{language}">' in html
    assert html.count("<svg") == 2
    by_group, roma, by_kind = HEADINGS[language]
    assert f"<h3>{by_group}</h3>" in html and f"<h3>{by_kind}</h3>" in html
    roma_count = expected(*PERIODS[0])["by_group"]["roma_representative"]
    assert f'<tr><td>{roma}</td><td class="number">{roma_count}</td></tr>' in html
    assert not [name for name in all_names() if name in html]


def test_report_refuses_an_unknown_format_and_a_backwards_period(
    network: Cli, tmp_path: Path
) -> None:
    pdf = network(
        "report",
        "--as-of",
        "2027-12-31",
        "--from",
        "2027-01-01",
        "--to",
        "2027-07-31",
        "--out",
        "r.pdf",
    )
    assert pdf.exit_code == 1 and "use a .xlsx or .html file name" in pdf.output
    backwards = network(
        "report",
        "--as-of",
        "2027-12-31",
        "--from",
        "2027-07-31",
        "--to",
        "2027-01-01",
        "--out",
        str(tmp_path / "r.xlsx"),
    )
    assert backwards.exit_code == 1 and "is before" in backwards.output


def test_only_events_that_have_ended_count_as_held(network: Cli) -> None:
    def held(now: datetime) -> list[str]:
        async def work(session: AsyncSession) -> list[str]:
            report = await figures(
                session, start=date(2027, 1, 1), end=date(2027, 7, 31), zone=RIGA, now=now
            )
            return [e.slug for e in report.events]

        return query(network.url, work)  # type: ignore[no-any-return]

    everything = held(AFTER_EVERYTHING)
    assert everything and held(datetime(2026, 12, 2, tzinfo=UTC)) == []
    assert len(held(datetime(2027, 3, 1, tzinfo=UTC))) < len(everything)


def test_the_report_counts_public_administration_as_the_programme_does(network: Cli) -> None:
    report = computed(network.url, *PERIODS[0])
    assert report.public_administration == (
        report.by_group["municipality"] + report.by_group["state_institution"]
    )
    html = render_html(report, "lv", RIGA)
    assert "Valsts pārvalde (pašvaldības, ministrijas un valsts iestādes)" in html
