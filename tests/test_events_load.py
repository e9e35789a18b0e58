"""The coordinator loads event files, reloads changed ones, and sees events and answers."""

from __future__ import annotations

import csv
import hashlib
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Contact, Event, Invitation, InvitationAnswer
from bot.services.events import registry
from bot.services.events.files import EventFileError, parse_event, read_event_file
from tests.conftest import DATA, SHARED_EXAMPLES, Cli, query

EVENTS = DATA / "events"
VALGA = EVENTS / "valga-2027.yaml"
SABILE = EVENTS / "sabile-talsi-visit-2027.yaml"
MEDIATORS = EVENTS / "mediators-seminar-2027.yaml"
SHARED_EVENTS = SHARED_EXAMPLES / "events"
EXAMPLES = sorted(EVENTS.glob("*.yaml")) + (
    sorted(SHARED_EVENTS.glob("*.yaml")) if SHARED_EVENTS.exists() else []
)


def stored(url: str, slug: str) -> Event:
    async def work(session: AsyncSession) -> Event:
        event = await registry.find_event(session, slug)
        assert event is not None
        return event

    return query(url, work)


def count_events(url: str) -> int:
    async def work(session: AsyncSession) -> int:
        return int(await session.scalar(select(func.count(Event.id))) or 0)

    return query(url, work)


def edited(source: Path, target: Path, *replacements: tuple[str, str]) -> Path:
    """Copy an example with some text replaced; each replacement must apply."""
    text = source.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    target.write_text(text, encoding="utf-8")
    return target


# --- Loading ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_every_example_file_loads_as_a_new_draft_event(cli: Cli, path: Path) -> None:
    result = cli("events", "load", str(path))
    assert result.exit_code == 0, result.output
    assert ": new, draft" in result.output
    assert count_events(cli.url) == 1


def test_several_files_load_in_one_command(cli: Cli) -> None:
    result = cli("events", "load", str(VALGA), str(SABILE), str(MEDIATORS))
    assert result.exit_code == 0, result.output
    for slug in ("valga-2027", "sabile-talsi-2027", "mediators-riga-2027"):
        assert f"{slug}: new, draft" in result.output
    assert count_events(cli.url) == 3


def test_times_are_stored_in_utc_with_the_event_zone_kept(cli: Cli) -> None:
    cli("events", "load", str(VALGA))
    event = stored(cli.url, "valga-2027")
    assert event.timezone == "Europe/Tallinn"
    assert event.starts_at == datetime(2027, 2, 4, 8, 0, tzinfo=UTC)
    assert event.ends_at == datetime(2027, 2, 4, 13, 30, tzinfo=UTC)
    assert event.status == "draft" and event.sequence == 0
    assert event.source_digest == hashlib.sha256(VALGA.read_bytes()).hexdigest()


def test_the_file_fields_are_stored_as_given(cli: Cli) -> None:
    cli("events", "load", str(VALGA))
    event = stored(cli.url, "valga-2027")
    assert event.kind == "cross_border_meeting"
    assert event.title["et"] == "Läti ja Eesti ekspertide kohtumine romade lõimumise teemal Valgas"
    assert set(event.description) == {"lv", "et", "en"}
    assert event.capacity == 25 and event.rsvp_by == date(2027, 1, 28)
    assert event.reminder_offsets == [7 * 86400, 86400, 2 * 3600]
    assert event.audience == {
        "roles": ["regional_expert", "mediator", "partner", "coordinator"],
        "municipalities": ["Valka", "Valga"],
        "tags": ["cross-border"],
    }
    assert event.survey_slug == "valga-2027-feedback"
    assert [(p.name, p.country) for p in event.places] == [("Valga Vallavalitsus", "EE")]
    assert event.agenda[1].presenter == "Priit Mägi"
    assert event.agenda[3].method == "group work"


def test_agenda_items_of_a_one_day_event_fall_on_its_date(cli: Cli) -> None:
    cli("events", "load", str(VALGA))
    agenda = stored(cli.url, "valga-2027").agenda
    assert [item.day for item in agenda] == [date(2027, 2, 4)] * 5
    assert [f"{item.starts:%H:%M}" for item in agenda] == [
        "10:00",
        "10:30",
        "12:00",
        "13:00",
        "15:00",
    ]


def test_unquoted_times_minute_reminders_and_further_places_are_read(
    cli: Cli, tmp_path: Path
) -> None:
    path = edited(
        SABILE,
        tmp_path / "sabile.yaml",
        ('at: "10:00"', "at: 10:00"),
        ('until: "11:30"', "until: 11:30"),
        ("reminders: [14d, 2d]", "reminders: [2d, 14d, 30m]"),
        (
            "capacity: 20",
            "places:\n  - name: Sabiles kultūras nams\n    address: Sabile\n"
            "    country: lv\ncapacity: 20",
        ),
    )
    assert cli("events", "load", str(path)).exit_code == 0
    event = stored(cli.url, "sabile-talsi-2027")
    assert event.reminder_offsets == [14 * 86400, 2 * 86400, 30 * 60]
    assert f"{event.agenda[0].starts:%H:%M}-{event.agenda[0].ends:%H:%M}" == "10:00-11:30"
    assert [p.name for p in event.places] == ["Talsu Tautas nams", "Sabiles kultūras nams"]
    assert event.places[1].country == "LV"


def test_dry_run_checks_and_reports_but_writes_nothing(cli: Cli) -> None:
    result = cli("events", "load", "--dry-run", str(VALGA))
    assert result.exit_code == 0
    assert "valga-2027: would be new" in result.output
    assert count_events(cli.url) == 0


# --- Refusing bad files -------------------------------------------------------------------


def test_a_broken_copy_is_refused_naming_file_line_field_and_reason(
    cli: Cli, tmp_path: Path
) -> None:
    broken = edited(
        VALGA,
        tmp_path / "broken.yaml",
        ("ends: 2027-02-04T15:30", "ends: 2027-02-04T09:30"),
        ("  et: Läti ja Eesti", "  ru: Встреча\n  et: Läti ja Eesti"),
        ("rsvp_by: 2027-01-28", "rsvp_by: 2027-02-10"),
        ("reminders: [7d, 1d, 2h]", "reminders: [7d, tomorrow, 2h]"),
        ("  tags: [cross-border]", "  tags: [cross-border]\n  regions: [Vidzeme]"),
        ('    until: "12:00"', '    until: "10:00"'),
        ("capacity: 25", "capacity: -3"),
    )
    result = cli("events", "load", str(broken))
    assert result.exit_code == 1
    for expected in (
        f"{broken}:6: title.ru: unknown language 'ru'; use lv, et, en",
        f"{broken}:15: ends: 2027-02-04 09:30 is not after starts (2027-02-04 10:00)",
        f"{broken}:20: capacity: -3 is not a positive whole number",
        f"{broken}:21: rsvp_by: 2027-02-10 is after the event starts (2027-02-04)",
        f"{broken}:22: reminders[2]: 'tomorrow' is not a time before the start",
        f"{broken}:27: audience.regions: unknown field",
        f"{broken}:37: agenda[2].until: 10:00 is not after at (10:30)",
    ):
        assert expected in result.output
    assert "nothing was loaded: 7 problem(s)" in result.output
    assert count_events(cli.url) == 0


def test_agenda_items_outside_the_event_days_or_hours_are_refused(cli: Cli, tmp_path: Path) -> None:
    broken = edited(
        SABILE,
        tmp_path / "visit.yaml",
        ("  - day: 2027-06-30\n", "  - day: 2027-06-29\n"),
        ('until: "14:00"', 'until: "14:30"'),
        ('  - day: 2027-06-30\n    at: "12:00"', '  - at: "12:00"'),
    )
    output = cli("events", "load", str(broken)).output
    assert "agenda[1].day: 2027-06-29 is outside the event's days (2027-06-30 – 2027-07-01)" in (
        output
    )
    assert "agenda[2].day: required: the event lasts several days" in output
    assert "agenda[4].until: 14:30 is after the event ends (14:00)" in output


def test_a_bad_zone_a_bad_kind_and_misspelt_fields_are_named(cli: Cli, tmp_path: Path) -> None:
    broken = edited(
        MEDIATORS,
        tmp_path / "seminar.yaml",
        ("timezone: Europe/Riga", "timezone: Europe/Rīga"),
        ("kind: seminar", "kind: conference"),
        ("starts:", "strats:"),
        ("roles: [mediator, coordinator]", "roles: [mediator, wizard]"),
        ("  name: Kultūras ministrija\n", "  nosaukums: Kultūras ministrija\n"),
    )
    output = cli("events", "load", str(broken)).output
    for expected in (
        "kind: 'conference' is not one of expert_meeting, good_practice_visit",
        "timezone: 'Europe/Rīga' is not an IANA time zone",
        "strats: unknown field; did you mean starts?",
        "starts: required",
        "venue.nosaukums: unknown field; expected name, address, country",
        "venue.name: required",
        "audience.roles[2]: 'wizard' is not one of regional_expert, mediator",
    ):
        assert expected in output


def test_one_bad_file_among_several_stops_them_all(cli: Cli, tmp_path: Path) -> None:
    broken = edited(MEDIATORS, tmp_path / "bad.yaml", ("kind: seminar", "kind: party"))
    result = cli("events", "load", str(VALGA), str(broken))
    assert result.exit_code == 1
    assert "nothing was loaded" in result.output
    assert count_events(cli.url) == 0


def test_two_files_with_the_same_id_are_refused(cli: Cli, tmp_path: Path) -> None:
    twin = edited(VALGA, tmp_path / "copy.yaml", ("capacity: 25", "capacity: 30"))
    result = cli("events", "load", str(VALGA), str(twin))
    assert result.exit_code == 1
    assert f"{twin}: id: valga-2027 is also the id in {VALGA}" in result.output


def test_yaml_that_does_not_parse_is_refused_with_its_line(cli: Cli, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: x\ntitle: [unclosed\nkind: seminar\n", encoding="utf-8")
    result = cli("events", "load", str(broken))
    assert result.exit_code == 1
    assert f"{broken}:" in result.output and "not valid YAML" in result.output


def test_a_key_given_twice_is_refused() -> None:
    with pytest.raises(EventFileError) as caught:
        parse_event(VALGA.read_bytes() + b"capacity: 30\n", "valga.yaml")
    assert [str(p) for p in caught.value.problems] == ["valga.yaml:61: capacity: given twice"]


# --- Reloading ----------------------------------------------------------------------------


def test_reloading_an_unchanged_file_says_unchanged(cli: Cli) -> None:
    cli("events", "load", str(VALGA))
    result = cli("events", "load", str(VALGA))
    assert result.exit_code == 0
    assert result.output.strip() == "valga-2027: unchanged"


def test_a_new_start_time_is_reported_and_raises_the_sequence(cli: Cli, tmp_path: Path) -> None:
    cli("events", "load", str(VALGA))
    later = edited(
        VALGA,
        tmp_path / "valga.yaml",
        ("starts: 2027-02-04T10:00", "starts: 2027-02-04T11:00"),
        ('  - at: "10:00"\n    until: "10:30"', '  - at: "11:00"\n    until: "11:15"'),
        ('  - at: "10:30"', '  - at: "11:15"'),
    )
    result = cli("events", "load", str(later))
    assert result.exit_code == 0, result.output
    assert "valga-2027: changed (draft); time changed, sequence 1" in result.output
    assert "  starts: 2027-02-04 10:00 → 11:00" in result.output
    assert "  agenda: 2 items changed" in result.output
    event = stored(cli.url, "valga-2027")
    assert event.sequence == 1
    assert event.starts_at == datetime(2027, 2, 4, 9, 0, tzinfo=UTC)
    assert cli("events", "load", str(later)).output.strip() == "valga-2027: unchanged"


def test_a_published_event_whose_venue_moves_becomes_changed(cli: Cli, tmp_path: Path) -> None:
    cli("events", "load", str(VALGA))

    async def publish(session: AsyncSession) -> None:
        event = await registry.find_event(session, "valga-2027")
        assert event is not None
        event.status = "published"

    query(cli.url, publish)
    moved = edited(
        VALGA,
        tmp_path / "valga.yaml",
        ("name: Valga Vallavalitsus", "name: Valga Kultuur- ja Huvialakeskus"),
        ("address: Puiestee 8, 68203 Valga", "address: Kesk 1, 68203 Valga"),
    )
    result = cli("events", "load", str(moved))
    assert "valga-2027: changed (changed); place changed, sequence 1: invited people" in (
        result.output
    )
    assert (
        "  venue: Valga Vallavalitsus, Puiestee 8, 68203 Valga, EE → "
        "Valga Kultuur- ja Huvialakeskus, Kesk 1, 68203 Valga, EE"
    ) in result.output
    event = stored(cli.url, "valga-2027")
    assert (event.status, event.sequence) == ("changed", 1)
    assert event.places[0].address == "Kesk 1, 68203 Valga"


def test_changes_to_texts_and_agenda_keep_the_sequence(cli: Cli, tmp_path: Path) -> None:
    cli("events", "load", str(VALGA))
    retitled = edited(
        VALGA,
        tmp_path / "valga.yaml",
        ("  et: Läti ja Eesti ekspertide kohtumine", "  et: Läti ja Eesti ekspertide töökohtumine"),
        ("      en: Lunch\n", "      en: Lunch break\n"),
        ("reminders: [7d, 1d, 2h]", "reminders: [7d, 1d]"),
    )
    output = cli("events", "load", str(retitled)).output
    assert "valga-2027: changed (draft)\n" in output
    assert "  title.et\n" in output
    assert "  reminders: 7d, 1d, 2h → 7d, 1d" in output
    assert "  agenda: 1 item changed" in output
    assert stored(cli.url, "valga-2027").sequence == 0


def test_the_load_result_tells_callers_whether_time_or_place_changed(sqlite_url: str) -> None:
    first = read_event_file(SABILE)
    text = SABILE.read_text(encoding="utf-8")
    shorter = parse_event(
        text.replace("ends: 2027-07-01T14:00", "ends: 2027-07-01T15:00").encode(), "visit.yaml"
    )
    elsewhere = parse_event(
        text.replace("Kareivju iela 16", "Kareivju iela 18").encode(), "visit.yaml"
    )

    async def work(session: AsyncSession) -> list[registry.LoadResult]:
        return [await registry.load_event(session, s) for s in (first, shorter, elsewhere)]

    new, timed, placed = query(sqlite_url, work)
    assert (new.outcome, new.sequence, new.needs_notice) == ("new", 0, False)
    assert (timed.time_changed, timed.place_changed, timed.sequence) == (True, False, 1)
    assert [str(c) for c in timed.changes] == ["ends: 2027-07-01 14:00 → 15:00"]
    assert (placed.time_changed, placed.place_changed, placed.sequence) == (True, True, 2)
    assert [c.field for c in placed.changes] == ["ends", "venue"]


def test_loading_and_reloading_work_on_sqlite_and_postgresql(db_url: str, tmp_path: Path) -> None:
    cli = Cli(db_url)
    assert cli("events", "load", str(VALGA), str(SABILE)).exit_code == 0
    later = edited(
        SABILE, tmp_path / "s.yaml", ("starts: 2027-06-30T10:00", "starts: 2027-06-30T09:30")
    )
    assert "starts: 2027-06-30 10:00 → 09:30" in cli("events", "load", str(later)).output
    event = stored(db_url, "sabile-talsi-2027")
    assert event.starts_at == datetime(2027, 6, 30, 6, 30, tzinfo=UTC)
    assert len(event.agenda) == 4 and event.sequence == 1


# --- Listing and showing ------------------------------------------------------------------


def test_the_list_shows_local_dates_status_and_answer_counts(cli: Cli) -> None:
    cli("events", "load", str(VALGA), str(SABILE), str(MEDIATORS))
    invite(cli.url, "valga-2027", ("accepted", "accepted", "declined", "not_sure", "invited"))
    output = cli("events", "list").output
    rows = [line for line in output.splitlines() if "valga-2027" in line]
    assert len(rows) == 1
    cells = [c.strip() for c in rows[0].split("│")]
    assert cells[3].startswith("Latvijas un Igaunijas")  # long titles wrap onto a second line
    assert cells[2:3] + cells[4:] == [
        "valga-2027",
        "2027-02-04 10:00–15:30 Europe/Tallinn",
        "draft",
        "5",
        "2",
        "1",
        "1",
        "",
    ]
    assert "2027-06-30 10:00 – 2027-07-01 14:00 Europe/Riga" in output
    assert output.index("valga-2027") < output.index("mediators-riga-2027")
    assert "3 event(s)" in output


def test_show_finds_an_event_by_id_or_number_and_groups_the_agenda_by_day(cli: Cli) -> None:
    cli("events", "load", str(SABILE))
    by_slug = cli("events", "show", "sabile-talsi-2027").output
    assert by_slug == cli("events", "show", "1").output
    for expected in (
        "Talsu Tautas nams, Kareivju iela 16, Talsi, LV-3201, LV",
        "2027-06-30 10:00 – 2027-07-01 14:00 (Europe/Riga)",
        "14d, 2d before",
        "nobody invited yet",
        "2027-06-30 Wednesday",
        "2027-07-01 Thursday",
        "Tikšanās pagasta pārvaldē ar romu jauniešiem",
        "brainstorm",
    ):
        assert expected in by_slug
    assert by_slug.index("Sabiles kultūras nama") < by_slug.index("2027-07-01 Thursday")
    assert by_slug.index("2027-07-01 Thursday") < by_slug.index("Reģionālo ekspertu sanāksme")
    estonian = cli("events", "show", "sabile-talsi-2027", "--language", "et").output
    assert "Kohtumine vallavalitsuses romade noortega" in estonian


def test_show_counts_answers_and_names_presenters_and_methods(cli: Cli) -> None:
    cli("events", "load", str(VALGA))
    invite(cli.url, "valga-2027", ("accepted", "declined", "invited"))
    output = cli("events", "show", "valga-2027").output
    assert "3 invited: 1 accepted, 1 declined, 1 no answer" in output
    assert "Priit Mägi" in output and "tour de table" in output


def test_an_unknown_event_is_refused(cli: Cli) -> None:
    result = cli("events", "show", "riga-2030")
    assert result.exit_code == 1
    assert "no event riga-2030" in result.output


# --- Answers ------------------------------------------------------------------------------

PEOPLE = (
    ("Līga Saulīte", "liga@jelgava.example", "Jelgavas novada pašvaldība", "lv"),
    ("Priit Mägi", "priit@valga.example", "Valga Vallavalitsus", "et"),
    ("Ērika Ķēniņa", "erika@valka.example", "=Valkas novads", "lv"),
    ("Jānis Bērziņš", "janis@talsi.example", "Talsu novads", "lv"),
    ("Mari Õun", "mari@tartu.example", "Tartu Ülikool", "et"),
)
CHANNELS = ("telegram", "email", "web", "coordinator", None)


def invite(url: str, slug: str, statuses: tuple[str, ...]) -> None:
    """Invite the first people to an event, each with one answer (or none for "invited")."""

    async def work(session: AsyncSession) -> None:
        event = await registry.find_event(session, slug)
        assert event is not None
        for number, status in enumerate(statuses):
            name, email, organisation, language = PEOPLE[number]
            contact = Contact(
                name=name,
                email=email,
                organisation=organisation,
                role="regional_expert",
                language=language,
            )
            session.add(contact)
            await session.flush()
            invitation = Invitation(
                event_id=event.id,
                contact_id=contact.id,
                status=status,
                invited_at=datetime(2027, 1, 10, 9, 0, tzinfo=UTC),
            )
            if status != "invited":
                answered = datetime(2027, 1, 20 + number, 12, 5, tzinfo=UTC)
                invitation.answered_at = answered
                invitation.history = [
                    InvitationAnswer(status="not_sure", channel="email", recorded_at=answered),
                    InvitationAnswer(status=status, channel=CHANNELS[number], recorded_at=answered),
                ]
            session.add(invitation)

    query(url, work)


def test_rsvps_without_invitations_says_so(cli: Cli) -> None:
    cli("events", "load", str(VALGA))
    result = cli("events", "rsvps", "valga-2027", "--export", "answers.csv")
    assert result.exit_code == 0
    assert "No invitations for valga-2027 yet" in result.output
    assert not Path("answers.csv").exists()


def test_rsvps_lists_names_answers_local_times_and_channels(cli: Cli) -> None:
    cli("events", "load", str(VALGA))
    invite(cli.url, "valga-2027", ("declined", "accepted", "not_sure", "invited"))
    output = cli("events", "rsvps", "valga-2027").output
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in output.splitlines()]
    rows = [r for r in rows if r and r[0] and r[0] != "name"]
    assert [(r[0], r[4], r[5], r[6]) for r in rows] == [
        ("Priit Mägi", "accepted", "2027-01-21 14:05", "email"),
        ("Ērika Ķēniņa", "not sure", "2027-01-22 14:05", "web"),
        ("Līga Saulīte", "declined", "2027-01-20 14:05", "telegram"),
        ("Jānis Bērziņš", "no answer", "", ""),
    ]
    assert "answered (Europe/Tallinn)" in output
    assert "4 invited: 1 accepted, 1 not sure, 1 declined, 1 no answer" in output


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_the_rsvp_export_keeps_diacritics_and_neutralises_formulas(
    cli: Cli, tmp_path: Path, suffix: str
) -> None:
    cli("events", "load", str(VALGA))
    invite(cli.url, "valga-2027", ("accepted", "accepted", "declined", "not_sure", "invited"))
    target = tmp_path / f"answers{suffix}"
    result = cli("events", "rsvps", "valga-2027", "--export", str(target))
    assert f"Wrote 5 answer(s) to {target}." in result.output
    rows = read_rows(target)
    assert rows[0] == [
        "name",
        "email",
        "organisation",
        "municipality",
        "answer",
        "answered (Europe/Tallinn)",
        "channel",
    ]
    by_name = {r[0]: r for r in rows[1:]}
    assert set(by_name) == {p[0] for p in PEOPLE}
    assert by_name["Priit Mägi"][4:] == ["accepted", "2027-01-21 14:05", "email"]
    assert by_name["Ērika Ķēniņa"][2] == "'=Valkas novads"
    assert by_name["Mari Õun"][4:] == ["no answer", "", ""]


def read_rows(path: Path) -> list[list[str]]:
    if path.suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return list(csv.reader(handle))
    sheet = load_workbook(path).worksheets[0]
    return [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]


def test_rsvps_rejects_an_export_name_it_cannot_write(cli: Cli) -> None:
    cli("events", "load", str(VALGA))
    result = cli("events", "rsvps", "valga-2027", "--export", "answers.pdf")
    assert result.exit_code == 1
    assert "use a .csv or .xlsx file name" in result.output


def test_agenda_items_removed_from_the_file_are_removed_on_reload(cli: Cli, tmp_path: Path) -> None:
    cli("events", "load", str(VALGA))
    text = VALGA.read_text(encoding="utf-8")
    lunch = text.index('  - at: "12:00"')
    shorter = tmp_path / "valga.yaml"
    shorter.write_text(text[:lunch] + text[text.index('  - at: "13:00"') :], encoding="utf-8")
    output = cli("events", "load", str(shorter)).output
    assert "  agenda: 2 items changed, 1 item removed" in output
    agenda = stored(cli.url, "valga-2027").agenda
    assert [f"{item.starts:%H:%M}" for item in agenda] == ["10:00", "10:30", "13:00", "15:00"]
    assert "  agenda: 2 items changed, 1 item added" in cli("events", "load", str(VALGA)).output
    assert len(stored(cli.url, "valga-2027").agenda) == 5


def test_the_annotated_example_in_the_docs_is_a_valid_file() -> None:
    docs = Path(__file__).resolve().parents[1] / "docs" / "events.md"
    text = docs.read_text(encoding="utf-8")
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    spec = parse_event(example.encode(), "events.md")
    assert spec.slug == "valga-2027" and len(spec.agenda) == 2
    assert spec.starts.astimezone(UTC) == datetime(2027, 2, 4, 8, 0, tzinfo=UTC)
