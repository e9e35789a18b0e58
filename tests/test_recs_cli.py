"""The coordinator loads what meetings recommended, follows it up and reports on it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Contact, Recommendation, RecommendationUpdate
from bot.services.recommendations import registry as rec_registry
from bot.services.recommendations.files import parse_recs
from bot.services.recommendations.followup import open_items_of
from tests.conftest import DATA, SHARED_EXAMPLES, Cli, query

RECS = DATA / "recommendations"
VALGA = RECS / "valga-2020.yaml"
SHARED_RECS = SHARED_EXAMPLES / "recommendations"
EXAMPLES = sorted(RECS.glob("*.yaml")) + (
    sorted(SHARED_RECS.glob("*.yaml")) if SHARED_RECS.exists() else []
)
RIGA = ZoneInfo("Europe/Riga")


def stored(url: str, slug: str) -> Recommendation:
    async def work(session: AsyncSession) -> Recommendation:
        rec = await rec_registry.find_recommendation(session, slug)
        assert rec is not None
        return rec

    return query(url, work)


def count(url: str, model: type[Recommendation] | type[RecommendationUpdate]) -> int:
    async def work(session: AsyncSession) -> int:
        return int(await session.scalar(select(func.count(model.id))) or 0)

    return query(url, work)


def edited(target: Path, *replacements: tuple[str, str], source: Path = VALGA) -> Path:
    """Copy the example with some text replaced; each replacement must apply."""
    text = source.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    target.write_text(text, encoding="utf-8")
    return target


def line_of(path: Path, fragment: str, after: int = 0) -> int:
    """The number of the first line (after line `after`) that contains the fragment."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if number > after and fragment in line:
            return number
    raise AssertionError(f"{fragment!r} not in {path}")


def first_of_next_month_at_nine(moment: datetime, zone: ZoneInfo) -> datetime:
    """The monthly tick: 09:00 local on the 1st, the coming one."""
    local = moment.astimezone(zone)
    if local.day == 1 and local.hour < 9:
        return datetime(local.year, local.month, 1, 9, tzinfo=zone)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return datetime(year, month, 1, 9, tzinfo=zone)


@pytest.fixture
def people(cli: Cli) -> Cli:
    """The CLI with the example contacts imported."""
    result = cli("contacts", "import", str(DATA / "contacts.csv"))
    assert result.exit_code == 0, result.output
    return cli


@pytest.fixture
def loaded(people: Cli) -> Cli:
    """The CLI with the contacts and the Valga 2020 recommendations loaded."""
    result = people("recs", "load", str(VALGA))
    assert result.exit_code == 0, result.output
    return people


# --- Loading ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_every_example_file_loads_as_new_recommendations(people: Cli, path: Path) -> None:
    result = people("recs", "load", str(path))
    assert result.exit_code == 0, result.output
    assert (
        "valga-2020-yearly: new — cooperation, 2 owner(s), due 2027-02-28, remind quarterly; "
        "first reminder "
    ) in result.output
    assert "valga-2020-youth: new — culture, 2 owner(s), no due date, remind every 60d" in (
        result.output
    )
    assert "4 recommendation(s): 4 new" in result.output
    assert count(people.url, Recommendation) == 4


def test_the_file_fields_are_stored_as_given(loaded: Cli) -> None:
    rec = stored(loaded.url, "valga-2020-mediators")
    assert rec.area == "mediation" and rec.status == "not_started"
    assert rec.text["lv"] == "Organizēt Valgas un Latvijas romu mediatoru pieredzes apmaiņu."
    assert set(rec.text) == {"lv", "et", "en"}
    assert rec.source_event_id is None
    assert rec.source_title["et"] == "Ekspertide kohtumine Valgas, 6. veebruar 2020"
    assert rec.source_date == date(2020, 2, 6)
    assert rec.due_on == date(2027, 5, 31) and rec.cadence == "monthly"
    assert rec.closed_at is None and rec.updates == []
    assert all(o.unanswered_reminders == 0 for o in rec.owners)
    assert len(rec.owners) == 2


def test_the_first_reminder_is_the_next_tick_of_the_cadence_not_now(people: Cli) -> None:
    before = datetime.now(UTC)
    result = people("recs", "load", str(VALGA))
    after = datetime.now(UTC)
    assert result.exit_code == 0, result.output
    monthly = stored(people.url, "valga-2020-mediators").next_reminder_at
    assert monthly == first_of_next_month_at_nine(before, RIGA)
    assert monthly is not None and monthly > after
    assert f"first reminder {monthly.astimezone(RIGA):%Y-%m-%d} 09:00 (Europe/Riga)" in (
        result.output
    )
    quarterly = stored(people.url, "valga-2020-yearly").next_reminder_at
    assert quarterly is not None and quarterly > after
    local = quarterly.astimezone(RIGA)
    assert (local.month, local.day, local.hour, local.minute) in {
        (m, 1, 9, 0) for m in (1, 4, 7, 10)
    }
    assert quarterly - before <= timedelta(days=92)
    every = stored(people.url, "valga-2020-youth").next_reminder_at
    assert every is not None
    assert before + timedelta(days=60) <= every <= after + timedelta(days=60)


def test_with_a_fixed_clock_monthly_comes_on_the_first_at_nine_riga_time(people: Cli) -> None:
    spec = parse_recs(VALGA.read_bytes(), "valga-2020.yaml")
    now = datetime(2027, 3, 15, 12, 0, tzinfo=UTC)

    async def work(session: AsyncSession) -> dict[str, datetime | None]:
        results = await rec_registry.load_recs(session, spec, now=now, zone=RIGA)
        return {r.slug: r.next_reminder_at for r in results}

    reminders = query(people.url, work)
    # Summer time has begun in Riga by 1 April: 09:00 there is 06:00 UTC.
    assert reminders["valga-2020-mediators"] == datetime(2027, 4, 1, 6, 0, tzinfo=UTC)
    assert reminders["valga-2020-yearly"] == datetime(2027, 4, 1, 6, 0, tzinfo=UTC)
    assert reminders["valga-2020-youth"] == now + timedelta(days=60)


def test_reminder_times_follow_the_configured_time_zone(people: Cli) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    before = datetime.now(UTC)
    result = people("recs", "load", str(VALGA), EXPERTBOT_TIMEZONE="Europe/Berlin")
    assert result.exit_code == 0, result.output
    monthly = stored(people.url, "valga-2020-delegate").next_reminder_at
    assert monthly == first_of_next_month_at_nine(before, berlin)
    assert "(Europe/Berlin)" in result.output


def test_dry_run_checks_and_reports_but_writes_nothing(people: Cli) -> None:
    result = people("recs", "load", "--dry-run", str(VALGA))
    assert result.exit_code == 0, result.output
    assert "valga-2020-yearly: would be new" in result.output
    assert count(people.url, Recommendation) == 0


# --- Refusing bad files -------------------------------------------------------------------


def test_an_unknown_owner_and_a_bad_cadence_are_refused_naming_item_and_field(
    people: Cli, tmp_path: Path
) -> None:
    broken = edited(
        tmp_path / "broken.yaml",
        (
            "owners: [kadri.tamm@valga.example, liga.saulite@jelgava.example]",
            "owners: [kadri.tamm@valga.example, x@y.example]",
        ),
        ("remind: every 60d", "remind: fortnightly"),
    )
    result = people("recs", "load", str(broken))
    assert result.exit_code == 1
    owners_line = line_of(broken, "x@y.example")
    remind_line = line_of(broken, "fortnightly")
    assert (
        f"{broken}:{owners_line}: recommendations[2].owners[2]: no contact with email x@y.example"
    ) in result.output
    assert f"{broken}:{remind_line}: recommendations[3].remind: 'fortnightly' is not monthly, " in (
        result.output
    )
    assert "nothing was loaded: 2 problem(s)" in result.output
    assert count(people.url, Recommendation) == 0


def test_an_unknown_owner_alone_is_refused_and_nothing_is_written(
    people: Cli, tmp_path: Path
) -> None:
    broken = edited(
        tmp_path / "broken.yaml",
        ("owners: [edgars.vitols@valka.example]", "owners: [nobody@valka.example]"),
    )
    result = people("recs", "load", str(broken))
    assert result.exit_code == 1
    assert "recommendations[4].owners[1]: no contact with email nobody@valka.example" in (
        result.output
    )
    assert count(people.url, Recommendation) == 0


def test_an_erased_contact_cannot_own_a_recommendation(people: Cli) -> None:
    assert people("contacts", "remove", "tiina.sepp@kul.example", "--yes").exit_code == 0
    result = people("recs", "load", str(VALGA))
    assert result.exit_code == 1
    assert "recommendations[1].owners[2]: no contact with email tiina.sepp@kul.example" in (
        result.output
    )
    assert count(people.url, Recommendation) == 0


def test_file_mistakes_are_named_with_line_and_field(people: Cli, tmp_path: Path) -> None:
    broken = edited(
        tmp_path / "broken.yaml",
        ("  date: 2020-02-06", "  date: 2020-02-06\n  event: valga-2020"),
        ("    area: mediation", "    area: mediaton"),
        ("    due: 2027-05-31", "    due: 31.05.2027\n    remnd: monthly"),
        ("  - id: valga-2020-youth", "  - id: valga-2020-yearly"),
        ("      lv: Valkas novadam", "      ru: Valkas novadam"),
    )
    result = people("recs", "load", str(broken))
    assert result.exit_code == 1
    output = result.output
    assert "source.title: give either event: (the meeting's details come from the event) or " in (
        output
    )
    assert "recommendations[2].area: 'mediaton' is not one of education, social, " in output
    assert "recommendations[2].due: '31.05.2027' is not a date as YYYY-MM-DD" in output
    assert "recommendations[2].remnd: unknown field; did you mean remind?" in output
    assert (
        f":{line_of(broken, 'id: valga-2020-yearly', 10)}: recommendations[3].id: "
        "'valga-2020-yearly' is also the id of recommendations[1]"
    ) in output
    assert "recommendations[4].text.ru: unknown language 'ru'; use lv, et, en" in output
    assert count(people.url, Recommendation) == 0


def test_a_source_event_gives_the_meeting_title_and_date(people: Cli, tmp_path: Path) -> None:
    assert people("events", "load", str(DATA / "events" / "valga-2027.yaml")).exit_code == 0
    text = VALGA.read_text(encoding="utf-8")
    body = text[text.index("recommendations:") :]
    (tmp_path / "from-event.yaml").write_text(f"source:\n  event: valga-2027\n{body}", "utf-8")
    result = people("recs", "load", str(tmp_path / "from-event.yaml"))
    assert result.exit_code == 0, result.output
    rec = stored(people.url, "valga-2020-yearly")
    assert rec.source_event_id is not None
    assert rec.source_title["lv"].startswith("Latvijas un Igaunijas ekspertu sanāksme")
    assert rec.source_date == date(2027, 2, 4)
    shown = people("recs", "show", "valga-2020-yearly").output
    assert "event valga-2027" in shown


def test_an_unknown_source_event_is_refused(people: Cli, tmp_path: Path) -> None:
    text = VALGA.read_text(encoding="utf-8")
    body = text[text.index("recommendations:") :]
    (tmp_path / "x.yaml").write_text(f"source:\n  event: valga-2099\n{body}", "utf-8")
    result = people("recs", "load", str(tmp_path / "x.yaml"))
    assert result.exit_code == 1
    assert f"{tmp_path / 'x.yaml'}:2: source.event: no event valga-2099" in result.output
    assert count(people.url, Recommendation) == 0


# --- Reloading ----------------------------------------------------------------------------


def test_reloading_an_unchanged_file_says_so_and_keeps_the_next_reminder(loaded: Cli) -> None:
    before = stored(loaded.url, "valga-2020-youth").next_reminder_at
    result = loaded("recs", "load", str(VALGA))
    assert result.exit_code == 0, result.output
    assert "valga-2020-youth: unchanged (not_started)" in result.output
    assert "4 recommendation(s): 4 unchanged" in result.output
    assert stored(loaded.url, "valga-2020-youth").next_reminder_at == before


def test_reloading_a_changed_file_reports_changes_and_keeps_status_and_history(
    loaded: Cli, tmp_path: Path
) -> None:
    assert (
        loaded("recs", "set", "valga-2020-mediators", "in_progress", "--comment", "Sākts").exit_code
        == 0
    )
    youth_before = stored(loaded.url, "valga-2020-youth").next_reminder_at
    yearly_before = stored(loaded.url, "valga-2020-yearly").next_reminder_at
    changed = edited(
        tmp_path / "changed.yaml",
        ("remind: quarterly", "remind: every 7d"),
        ("mediatoru pieredzes apmaiņu.", "mediatoru pieredzes apmaiņu divreiz gadā."),
        ("liga.saulite@jelgava.example]", "ilze.kalnina@jelgava.example]"),
        ("    due: 2027-05-31", "    due: 2027-06-30"),
        ("    remind: every 60d", "    due: 2027-12-31\n    remind: every 60d"),
    )
    result = loaded("recs", "load", str(changed))
    assert result.exit_code == 0, result.output
    output = result.output
    assert "valga-2020-yearly: changed (not_started)\n  remind: quarterly → every 7d\n" in output
    assert "valga-2020-mediators: changed (in_progress)\n  text.lv\n" in output
    assert "  owners: +ilze.kalnina@jelgava.example, −liga.saulite@jelgava.example\n" in output
    assert "  due: 2027-05-31 → 2027-06-30\n" in output
    assert "valga-2020-youth: changed (not_started)\n  due: — → 2027-12-31\n" in output
    assert "valga-2020-delegate: unchanged" in output
    # Only a changed cadence moves the next reminder.
    yearly = stored(loaded.url, "valga-2020-yearly")
    assert yearly.next_reminder_at != yearly_before and yearly.cadence == "every 7d"
    assert stored(loaded.url, "valga-2020-youth").next_reminder_at == youth_before
    mediators = stored(loaded.url, "valga-2020-mediators")
    assert mediators.status == "in_progress"
    assert [u.comment for u in mediators.updates] == ["Sākts"]
    assert mediators.due_on == date(2027, 6, 30)
    assert len(mediators.owners) == 2


def test_an_owner_kept_on_reload_keeps_the_count_of_unanswered_reminders(
    loaded: Cli, tmp_path: Path
) -> None:
    async def ignore_twice(session: AsyncSession) -> None:
        rec = await rec_registry.find_recommendation(session, "valga-2020-yearly")
        assert rec is not None
        for owner in rec.owners:
            owner.unanswered_reminders = 2

    query(loaded.url, ignore_twice)
    changed = edited(
        tmp_path / "changed.yaml",
        (
            "owners: [sandra.jansone@km.example, tiina.sepp@kul.example]",
            "owners: [sandra.jansone@km.example, janis.ozols@ventspils.example]",
        ),
    )
    assert loaded("recs", "load", str(changed)).exit_code == 0
    shown = loaded("recs", "show", "valga-2020-yearly").output
    assert "Sandra Jansone <sandra.jansone@km.example>, 2 unanswered reminder(s)" in shown
    assert "Jānis Ozols <janis.ozols@ventspils.example>, 0 unanswered reminder(s)" in shown
    assert "Tiina Sepp" not in shown


# --- Listing and showing ------------------------------------------------------------------


def test_list_shows_every_item_with_owners_due_and_next_reminder(loaded: Cli) -> None:
    result = loaded("recs", "list")
    assert result.exit_code == 0, result.output
    assert "Times in Europe/Riga." in result.output
    assert "Kadri Tamm" in result.output and "Edgars Vītols" in result.output
    assert "│ not_started │ " in result.output
    assert "4 recommendation(s)" in result.output
    first = result.output.index("valga-2020-delegate")  # due 2027-01-31: soonest
    assert (
        first < result.output.index("valga-2020-yearly") < result.output.index("valga-2020-youth")
    )


def test_list_filters_by_status_owner_area_and_overdue(loaded: Cli, tmp_path: Path) -> None:
    late = edited(tmp_path / "late.yaml", ("    due: 2027-01-31", "    due: 2020-01-31"))
    result = loaded("recs", "load", str(late))
    assert "note: due 2020-01-31 has already passed" in result.output
    loaded("recs", "set", "valga-2020-youth", "in_progress")

    def ids(*args: str) -> set[str]:
        output = loaded("recs", "list", *args).output
        return {
            s for s in ("yearly", "mediators", "youth", "delegate") if f"valga-2020-{s}" in output
        }

    assert ids("--status", "in_progress") == {"youth"}
    assert ids("--status", "not_started") == {"yearly", "mediators", "delegate"}
    assert ids("--owner", "edgars.vitols@valka.example") == {"youth", "delegate"}
    assert ids("--owner", "EDGARS.VITOLS@valka.example", "--area", "culture") == {"youth"}
    assert ids("--area", "cooperation") == {"yearly", "delegate"}
    assert ids("--overdue") == {"delegate"}
    assert "2020-01-31 overdue" in loaded("recs", "list", "--overdue").output
    assert ids("--overdue", "--area", "mediation") == set()
    assert (
        "No recommendations match"
        in loaded("recs", "list", "--overdue", "--area", "mediation").output
    )
    loaded("recs", "set", "valga-2020-delegate", "dropped")
    assert ids("--overdue") == set()  # a closed item is never overdue


def test_list_by_an_unknown_owner_says_so(loaded: Cli) -> None:
    result = loaded("recs", "list", "--owner", "nobody@example.lv")
    assert result.exit_code == 1
    assert "no contact with email nobody@example.lv" in result.output


def test_show_gives_texts_source_owners_and_the_full_history(loaded: Cli) -> None:
    loaded("recs", "set", "valga-2020-youth", "in_progress", "--comment", "Pirmā tikšanās Valkā")
    loaded("recs", "set", "valga-2020-youth", "done", "--comment", "Studijā 12 jaunieši")
    result = loaded("recs", "show", "valga-2020-youth")
    assert result.exit_code == 0, result.output
    output = result.output
    assert "Iesaistīt romu jauniešus radošās studijas pasākumos Valgā un Valkā." in output
    assert "Kaasata romade noored loomestuudio tegevustesse Valgas ja Valkas." in output
    assert "Involve Roma young people" in output
    assert "Ekspertu sanāksme Valgā, 2020. gada 6. februāris (2020-02-06)" in output
    assert "Anneli Õunapuu <anneli.ounapuu@joy.example>, 0 unanswered reminder(s)" in output
    assert "when (Europe/Riga)" in output
    assert output.index("Pirmā tikšanās Valkā") < output.index("Studijā 12 jaunieši")
    assert output.count("coordinator │ coordinator") == 2


def test_show_names_the_owner_who_answered(loaded: Cli) -> None:
    async def answer(session: AsyncSession) -> None:
        rec = await rec_registry.find_recommendation(session, "valga-2020-delegate")
        contact = await session.scalar(
            select(Contact).where(Contact.email == "edgars.vitols@valka.example")
        )
        assert rec is not None and contact is not None
        session.add(
            RecommendationUpdate(
                recommendation_id=rec.id,
                contact_id=contact.id,
                status="in_progress",
                channel="telegram",
                comment="Dome lems martā",
                recorded_at=datetime(2027, 1, 10, 8, 30, tzinfo=UTC),
            )
        )

    query(loaded.url, answer)
    output = loaded("recs", "show", "valga-2020-delegate").output
    assert "2027-01-10 10:30" in output  # Riga is UTC+2 in winter
    assert "Edgars Vītols" in output and "telegram" in output and "Dome lems martā" in output


def test_show_of_an_unknown_id_says_so(loaded: Cli) -> None:
    result = loaded("recs", "show", "valga-2099")
    assert result.exit_code == 1
    assert "no recommendation valga-2099" in result.output


# --- Setting a status ---------------------------------------------------------------------


def test_set_done_closes_the_item_and_it_is_no_longer_open(loaded: Cli) -> None:
    result = loaded("recs", "set", "valga-2020-delegate", "done", "--comment", "Pārstāvis deleģēts")
    assert result.exit_code == 0, result.output
    assert "valga-2020-delegate: not_started → done; closed, no more reminders." in result.output
    rec = stored(loaded.url, "valga-2020-delegate")
    assert rec.status == "done" and rec.closed_at is not None and rec.next_reminder_at is None
    [update] = rec.updates
    assert (update.contact_id, update.channel, update.status, update.comment) == (
        None,
        "coordinator",
        "done",
        "Pārstāvis deleģēts",
    )

    async def open_for_edgars(session: AsyncSession) -> list[str]:
        edgars = await session.scalar(
            select(Contact).where(Contact.email == "edgars.vitols@valka.example")
        )
        assert edgars is not None
        return [r.slug for r in await open_items_of(session, edgars.id)]

    assert query(loaded.url, open_for_edgars) == ["valga-2020-youth"]
    assert "valga-2020-delegate" not in loaded("recs", "list", "--status", "not_started").output


def test_reopening_a_closed_item_schedules_reminders_again(loaded: Cli) -> None:
    loaded("recs", "set", "valga-2020-mediators", "dropped")
    before = datetime.now(UTC)
    result = loaded("recs", "set", "valga-2020-mediators", "in_progress", "--comment", "Atsākts")
    assert result.exit_code == 0, result.output
    assert "valga-2020-mediators: dropped → in_progress; open, next reminder " in result.output
    rec = stored(loaded.url, "valga-2020-mediators")
    assert rec.closed_at is None
    assert rec.next_reminder_at == first_of_next_month_at_nine(before, RIGA)


def test_set_refuses_an_unknown_status_or_item(loaded: Cli) -> None:
    result = loaded("recs", "set", "valga-2020-youth", "finished")
    assert result.exit_code == 2
    assert "'finished' is not one of 'not_started', 'in_progress', 'done', 'dropped'" in (
        result.output
    )
    result = loaded("recs", "set", "valga-2099", "done")
    assert result.exit_code == 1
    assert "no recommendation valga-2099" in result.output
    assert count(loaded.url, RecommendationUpdate) == 0


def test_a_comment_that_is_too_long_is_refused(loaded: Cli) -> None:
    result = loaded("recs", "set", "valga-2020-youth", "in_progress", "--comment", "x" * 2001)
    assert result.exit_code == 1
    assert "the comment is 2001 characters long; at most 2000 fit" in result.output
    assert stored(loaded.url, "valga-2020-youth").status == "not_started"


# --- Reporting ----------------------------------------------------------------------------


def test_report_groups_items_by_meeting_with_counts_by_status(loaded: Cli, tmp_path: Path) -> None:
    other = tmp_path / "other.yaml"
    other.write_text(
        "source:\n"
        "  title: {lv: Sanāksme Rēzeknē, en: Meeting in Rēzekne}\n"
        "  date: 2026-05-12\n"
        "recommendations:\n"
        "  - id: rezekne-2026-school\n"
        "    area: education\n"
        "    text: {lv: Iesaistīt skolu mediatorus}\n"
        "    owners: [ilze.kalnina@jelgava.example]\n"
        "    due: 2020-09-01\n"
        "    remind: '0 9 * * 1'\n",
        encoding="utf-8",
    )
    assert loaded("recs", "load", str(other)).exit_code == 0
    loaded("recs", "set", "valga-2020-youth", "done", "--comment", "Pabeigts ar Valkas novadu")
    result = loaded("recs", "report")
    assert result.exit_code == 0, result.output
    output = result.output
    valga = output.index("Ekspertu sanāksme Valgā, 2020. gada 6. februāris (2020-02-06)")
    rezekne = output.index("Sanāksme Rēzeknē (2026-05-12)")
    assert valga < rezekne  # oldest meeting first
    assert "4 item(s): 3 not_started, 0 in_progress, 1 done, 0 dropped" in output[valga:rezekne]
    assert "Pabeigts ar Valkas novadu" in output[valga:rezekne]
    assert "1 item(s): 1 not_started, 0 in_progress, 0 done, 0 dropped" in output[rezekne:]
    assert (
        "All meetings: 5 item(s): 4 not_started, 0 in_progress, 1 done, 0 dropped; 1 overdue"
        in (output)
    )


def test_report_exports_items_and_updates_to_xlsx_with_diacritics(
    loaded: Cli, tmp_path: Path
) -> None:
    loaded("recs", "set", "valga-2020-mediators", "in_progress", "--comment", "Tikšanās Jelgavā")
    loaded("recs", "set", "valga-2020-mediators", "done", "--comment", "=Notikusi; ļoti labi")
    file = tmp_path / "report.xlsx"
    result = loaded("recs", "report", "--export", str(file))
    assert result.exit_code == 0, result.output
    assert f"Wrote 4 recommendation(s) and 2 update(s) to {file}." in result.output
    book = load_workbook(file)
    assert book.sheetnames == ["report", "updates"]
    rows = list(book["report"].iter_rows(values_only=True))
    assert rows[0][:6] == ("meeting", "meeting date", "id", "area", "text", "status")
    by_id = {row[2]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert set(by_id) == {
        "valga-2020-yearly",
        "valga-2020-mediators",
        "valga-2020-youth",
        "valga-2020-delegate",
    }
    mediators = by_id["valga-2020-mediators"]
    assert mediators["meeting"] == "Ekspertu sanāksme Valgā, 2020. gada 6. februāris"
    assert mediators["meeting date"] == "2020-02-06"
    assert mediators["owners"] == "Kadri Tamm, Līga Saulīte"
    assert mediators["status"] == "done" and mediators["due"] == "2027-05-31"
    assert mediators["latest comment"] == "'=Notikusi; ļoti labi"  # never run as a formula
    assert by_id["valga-2020-youth"]["owners"] == "Anneli Õunapuu, Edgars Vītols"
    updates = list(book["updates"].iter_rows(values_only=True))
    assert updates[0] == (
        "meeting",
        "id",
        "when (Europe/Riga)",
        "who",
        "channel",
        "status",
        "comment",
    )
    assert [(u[1], u[3], u[4], u[5], u[6]) for u in updates[1:]] == [
        ("valga-2020-mediators", "coordinator", "coordinator", "in_progress", "Tikšanās Jelgavā"),
        ("valga-2020-mediators", "coordinator", "coordinator", "done", "'=Notikusi; ļoti labi"),
    ]


def test_report_export_needs_an_xlsx_file_name(loaded: Cli, tmp_path: Path) -> None:
    result = loaded("recs", "report", "--export", str(tmp_path / "report.csv"))
    assert result.exit_code == 1
    assert "use a .xlsx file name" in result.output


def test_report_and_list_on_an_empty_database_say_how_to_start(people: Cli) -> None:
    assert "load some with `expertbot recs load FILE.yaml`" in people("recs", "report").output
    assert "load some with `expertbot recs load FILE.yaml`" in people("recs", "list").output
