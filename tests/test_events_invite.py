"""`expertbot events invite`: dry run, language check, and only new people the second time."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from bot.db.models import Contact, Invitation, OutboxMessage
from bot.db.session import Database
from tests.conftest import DATA, Cli, in_thread

EVENTS = DATA / "events"


def counts(url: str) -> tuple[int, int]:
    async def run() -> tuple[int, int]:
        database = Database(url)
        try:
            async with database.session_scope() as session:
                invited = await session.scalar(select(func.count()).select_from(Invitation))
                queued = await session.scalar(select(func.count()).select_from(OutboxMessage))
                return int(invited or 0), int(queued or 0)
        finally:
            await database.dispose()

    return in_thread(run)  # type: ignore[no-any-return]


def prepared(cli: Cli) -> Cli:
    assert cli("contacts", "import", str(DATA / "contacts.csv")).exit_code == 0
    for name in ("valga-2027.yaml", "mediators-seminar-2027.yaml"):
        assert cli("events", "load", str(EVENTS / name)).exit_code == 0
    return cli


def test_a_dry_run_previews_each_language_and_channel_and_sends_nothing(cli: Cli) -> None:
    result = prepared(cli)("events", "invite", "valga-2027", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "email · et · to Kadri Tamm" in result.output
    assert "email · lv · to Edgars Vītols" in result.output
    assert "Tere, Kadri Tamm!" in result.output and "Osalen" in result.output
    assert "Would invite 2 new person(s)" in result.output
    assert counts(cli.url) == (0, 0)


def test_inviting_queues_a_message_per_open_channel_and_again_reaches_only_new_people(
    cli: Cli,
) -> None:
    first = prepared(cli)("events", "invite", "valga-2027")
    assert "Invited 2 new person(s) to valga-2027; 0 already invited" in first.output
    assert counts(cli.url) == (2, 2)
    again = cli(
        "events",
        "invite",
        "valga-2027",
        "--email",
        "kadri.tamm@valga.example",
        "--email",
        "tiina.sepp@kul.example",
    )
    assert "Invited 1 new person(s) to valga-2027; 1 already invited" in again.output
    assert counts(cli.url) == (3, 3)


def test_people_whose_language_the_event_lacks_are_listed_and_nothing_is_sent(cli: Cli) -> None:
    refused = prepared(cli)(
        "events", "invite", "mediators-riga-2027", "--email", "kadri.tamm@valga.example"
    )
    assert refused.exit_code == 1
    assert "Kadri Tamm" in refused.output and "et" in refused.output
    assert "--fallback-language" in refused.output
    assert counts(cli.url) == (0, 0)
    allowed = cli(
        "events",
        "invite",
        "mediators-riga-2027",
        "--email",
        "kadri.tamm@valga.example",
        "--fallback-language",
        "lv",
    )
    assert allowed.exit_code == 0 and "Invited 1 new person(s)" in allowed.output


def test_attendance_marks_who_came_and_who_did_not(cli: Cli, tmp_path: Path) -> None:
    prepared(cli)("events", "invite", "valga-2027")

    async def accept_both() -> None:
        database = Database(cli.url)
        try:
            async with database.session_scope() as session:
                for invitation in await session.scalars(select(Invitation)):
                    invitation.status = "accepted"
        finally:
            await database.dispose()

    in_thread(accept_both)
    sheet = tmp_path / "sign-in.csv"
    sheet.write_text("name;email\nKadri Tamm;kadri.tamm@valga.example\n", encoding="utf-8-sig")
    result = cli("events", "attendance", "valga-2027", "--csv", str(sheet))
    assert "valga-2027: 1 present, 0 walk-in(s), 1 marked as not present." in result.output
    refused = cli("events", "attendance", "valga-2027", "--present", "nobody@x.example")
    assert refused.exit_code == 1 and "nobody@x.example" in refused.output

    async def statuses() -> list[str]:
        database = Database(cli.url)
        try:
            async with database.session_scope() as session:
                return sorted(await session.scalars(select(Invitation.status)))
        finally:
            await database.dispose()

    assert in_thread(statuses) == ["attended", "no_show"]


def test_walk_ins_are_recorded_from_the_sign_in_sheet_and_new_names_become_guests(
    cli: Cli, tmp_path: Path
) -> None:
    prepared(cli)("events", "invite", "valga-2027")
    sheet = tmp_path / "sign-in.csv"
    sheet.write_text(
        "name;email;organization\n"
        "Kadri Tamm;kadri.tamm@valga.example;\n"
        ";ilze.kalnina@jelgava.example;\n"  # registered, not invited: a walk-in
        "Olga Petrova;;Biedrība Ezerzeme\n"  # nobody knows her yet: a new guest
        "Jānis Jaunais;janis.jaunais@daugavpils.example;\n",  # new guest with an address
        encoding="utf-8-sig",
    )
    result = cli("events", "attendance", "valga-2027", "--csv", str(sheet))
    assert result.exit_code == 0, result.output
    assert "1 present, 3 walk-in(s)" in result.output

    async def people() -> dict[str, tuple[str, str, str | None]]:
        database = Database(cli.url)
        try:
            async with database.session_scope() as session:
                rows = await session.execute(
                    select(Contact.name, Contact.role, Invitation.status, Contact.email).join(
                        Invitation, Invitation.contact_id == Contact.id
                    )
                )
                return {name: (role, status, email) for name, role, status, email in rows.all()}
        finally:
            await database.dispose()

    found = in_thread(people)
    assert found["Ilze Kalniņa"][1] == "attended"
    assert found["Olga Petrova"] == ("guest", "attended", None)
    assert found["Jānis Jaunais"] == ("guest", "attended", "janis.jaunais@daugavpils.example")


def test_an_attendance_error_lists_twenty_addresses_and_counts_the_rest(cli: Cli) -> None:
    prepared(cli)("events", "invite", "valga-2027")
    wrong = [f"nobody{n}@x.example" for n in range(45)]
    refused = cli("events", "attendance", "valga-2027", *(f"--present={a}" for a in wrong))
    assert refused.exit_code == 1
    assert "45 address(es) belong to nobody" in refused.output
    assert refused.output.count("@x.example") == 20
    assert "and 25 more" in refused.output
    assert counts(cli.url)[0] == 2
