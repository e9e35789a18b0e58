"""Calendar files that invitations, updates and cancellations carry."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from icalendar import Calendar

from bot.db.models import Event
from bot.services.events.calendar import event_calendar, event_uid
from tests.conftest import Cli
from tests.test_events_load import SABILE, VALGA, edited, stored

ORGANIZER = "tikls@km.example"
STAMP = datetime(2027, 1, 5, 9, 0, tzinfo=UTC)


def loaded(cli: Cli, path: Path, slug: str) -> Event:
    result = cli("events", "load", str(path))
    assert result.exit_code == 0, result.output
    return stored(cli.url, slug)


def parse(data: bytes) -> Calendar:
    calendar = Calendar.from_ical(data)
    assert isinstance(calendar, Calendar)
    return calendar


def request(event: Event, language: str = "lv", **extra: str) -> bytes:
    return event_calendar(event, organizer_email=ORGANIZER, language=language, stamp=STAMP, **extra)


def test_the_file_parses_and_holds_exactly_one_event(cli: Cli) -> None:
    calendar = parse(request(loaded(cli, VALGA, "valga-2027")))
    assert len(calendar.events) == 1
    assert str(calendar["METHOD"]) == "REQUEST"
    assert [tz.tz_name for tz in calendar.timezones] == ["Europe/Tallinn"]
    entry = calendar.events[0]
    assert str(entry["UID"]) == "event-valga-2027@expertbot"
    assert str(entry["STATUS"]) == "CONFIRMED"
    assert str(entry["LOCATION"]) == "Valga Vallavalitsus, Puiestee 8, 68203 Valga"
    assert str(entry["ORGANIZER"]) == f"mailto:{ORGANIZER}"


def test_valga_starts_at_ten_in_tallinn_which_is_eight_utc(cli: Cli) -> None:
    data = request(loaded(cli, VALGA, "valga-2027"))
    assert b"DTSTART;TZID=Europe/Tallinn:20270204T100000" in data
    entry = parse(data).events[0]
    assert entry.start == datetime(2027, 2, 4, 8, 0, tzinfo=UTC)
    assert entry.end == datetime(2027, 2, 4, 13, 30, tzinfo=UTC)


def test_the_two_day_visit_runs_from_the_first_morning_to_the_second_afternoon(
    cli: Cli,
) -> None:
    data = request(loaded(cli, SABILE, "sabile-talsi-2027"))
    assert b"DTSTART;TZID=Europe/Riga:20270630T100000" in data
    assert b"DTEND;TZID=Europe/Riga:20270701T140000" in data
    entry = parse(data).events[0]
    assert entry.start == datetime(2027, 6, 30, 7, 0, tzinfo=UTC)
    assert entry.end == datetime(2027, 7, 1, 11, 0, tzinfo=UTC)


def test_the_description_carries_the_agenda_grouped_by_day(cli: Cli) -> None:
    entry = parse(request(loaded(cli, SABILE, "sabile-talsi-2027"), "en")).events[0]
    description = str(entry["DESCRIPTION"])
    assert "Wednesday, 30 June 2027\n10:00–11:30 Visit to the Sabile House of Culture" in (
        description
    )
    assert "13:00–14:00 Feedback and next steps (Talsu Tautas nams, Talsi)" in description
    assert description.index("Thursday, 1 July 2027") > description.index("Sabile House")


@pytest.mark.parametrize("language", ["lv", "et"])
def test_the_description_leaves_out_the_agenda_methods_written_in_english(
    cli: Cli, language: str
) -> None:
    event = loaded(cli, VALGA, "valga-2027")
    assert {item.method for item in event.agenda} >= {"tour de table", "group work"}
    description = str(parse(request(event, language)).events[0]["DESCRIPTION"])
    assert "tour de table" not in description and "group work" not in description


def test_the_uid_stays_while_the_sequence_rises_after_a_time_change(
    cli: Cli, tmp_path: Path
) -> None:
    before = parse(request(loaded(cli, VALGA, "valga-2027"))).events[0]
    later = edited(
        VALGA, tmp_path / "valga.yaml", ("ends: 2027-02-04T15:30", "ends: 2027-02-04T16:00")
    )
    after = parse(request(loaded(cli, later, "valga-2027"))).events[0]
    assert str(before["UID"]) == str(after["UID"]) == "event-valga-2027@expertbot"
    assert (before["SEQUENCE"], after["SEQUENCE"]) == (0, 1)
    assert after.end == datetime(2027, 2, 4, 14, 0, tzinfo=UTC)


def test_a_cancellation_says_cancel_and_cancelled(cli: Cli) -> None:
    event = loaded(cli, VALGA, "valga-2027")
    data = event_calendar(
        event,
        method="CANCEL",
        organizer_email=ORGANIZER,
        language="et",
        attendee_email="priit@valga.example",
        attendee_name="Priit Mägi",
    )
    calendar = parse(data)
    assert str(calendar["METHOD"]) == "CANCEL"
    entry = calendar.events[0]
    assert str(entry["STATUS"]) == "CANCELLED"
    assert str(entry["UID"]) == event_uid(event)
    assert "RSVP" not in entry["ATTENDEE"].params


def test_a_request_to_a_person_asks_them_to_answer(cli: Cli) -> None:
    event = loaded(cli, VALGA, "valga-2027")
    entry = parse(
        request(event, attendee_email="liga@jelgava.example", attendee_name="Līga Saulīte")
    ).events[0]
    attendee = entry["ATTENDEE"]
    assert str(attendee) == "mailto:liga@jelgava.example"
    assert attendee.params["RSVP"] == "TRUE"
    assert attendee.params["PARTSTAT"] == "NEEDS-ACTION"
    assert attendee.params["CN"] == "Līga Saulīte"


def test_latvian_and_estonian_letters_survive_as_utf8(cli: Cli) -> None:
    event = loaded(cli, VALGA, "valga-2027")
    latvian, estonian = request(event, "lv"), request(event, "et")
    assert "Valgā".encode() in latvian
    lv_entry, et_entry = parse(latvian).events[0], parse(estonian).events[0]
    assert str(lv_entry["SUMMARY"]) == (
        "Latvijas un Igaunijas ekspertu sanāksme par romu integrāciju Valgā"
    )
    assert str(et_entry["SUMMARY"]) == (
        "Läti ja Eesti ekspertide kohtumine romade lõimumise teemal Valgas"
    )
    assert "Romade mediaatorite esimese aasta kogemus Valgas (Priit Mägi)" in str(
        et_entry["DESCRIPTION"]
    )
    assert lv_entry["SUMMARY"].params["LANGUAGE"] == "lv"


def test_a_cancelled_event_cannot_be_sent_as_a_request(cli: Cli) -> None:
    event = loaded(cli, VALGA, "valga-2027")
    event.status = "cancelled"
    with pytest.raises(ValueError, match="send a CANCEL"):
        request(event)
