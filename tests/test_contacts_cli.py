"""The coordinator imports, lists, exports and erases contacts from the command line."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from bot.db.models import ConsentRecord, Contact
from bot.db.session import Database
from tests.conftest import DATA, SHARED_EXAMPLES, Cli, in_thread

CONTACTS = DATA / "contacts.csv"
WITH_ERRORS = DATA / "contacts-with-errors.csv"


def count_contacts(url: str) -> int:
    async def run() -> int:
        database = Database(url)
        try:
            async with database.session_scope() as session:
                return int(await session.scalar(select(func.count(Contact.id))) or 0)
        finally:
            await database.dispose()

    return int(in_thread(run))


def load_contact(url: str, email: str) -> Contact:
    async def run() -> Contact:
        database = Database(url)
        try:
            async with database.session_scope() as session:
                contact = await session.scalar(select(Contact).where(Contact.email == email))
                assert contact is not None
                await session.refresh(contact, ["tags"])
                return contact
        finally:
            await database.dispose()

    return in_thread(run)  # type: ignore[no-any-return]


def test_importing_the_example_file_twice_changes_nothing_the_second_time(cli: Cli) -> None:
    first = cli("contacts", "import", str(CONTACTS))
    assert first.exit_code == 0, first.output
    assert "20 new, 0 updated, 0 unchanged" in first.output
    second = cli("contacts", "import", str(CONTACTS))
    assert "0 new, 0 updated, 20 unchanged" in second.output


def test_rows_without_email_are_accepted_with_a_warning(cli: Cli) -> None:
    result = cli("contacts", "import", str(CONTACTS))
    assert "reachable only after linking Telegram" in result.output
    assert "11" in result.output and "18" in result.output  # Raimonds and Priit


def test_a_file_with_errors_names_every_bad_line_and_writes_nothing(cli: Cli) -> None:
    result = cli("contacts", "import", str(WITH_ERRORS))
    assert result.exit_code == 1
    table = [line for line in result.output.splitlines() if line.startswith("│")]
    named = {int(line.split("│")[1]) for line in table if line.split("│")[1].strip()}
    assert named == set(range(3, 11))
    assert "nothing was imported" in result.output
    assert count_contacts(cli.url) == 0


def test_each_bad_line_gets_its_own_reason(cli: Cli) -> None:
    output = cli("contacts", "import", str(WITH_ERRORS)).output
    for reason in (
        "'not-an-email' is not a valid address",
        "'wizard' is not one of",
        "'fr' is not one of lv, et, en",
        "a name is required",
        "is not a Telegram username",
        "same email as line 2",
        "consent date is required (GDPR art. 9)",
        "'15.01.2026x' is not a date",
    ):
        assert reason in output


def test_skip_invalid_imports_only_line_two(cli: Cli) -> None:
    result = cli("contacts", "import", "--skip-invalid", str(WITH_ERRORS))
    assert result.exit_code == 0, result.output
    assert "1 new, 0 updated, 0 unchanged, 8 invalid skipped" in result.output
    assert load_contact(cli.url, "valid.person@jelgava.example").name == "Valid Person"
    assert count_contacts(cli.url) == 1


def test_dry_run_reports_and_writes_nothing(cli: Cli) -> None:
    result = cli("contacts", "import", "--dry-run", str(CONTACTS))
    assert result.exit_code == 0
    assert "Would import contacts.csv: 20 new" in result.output
    assert count_contacts(cli.url) == 0


def test_semicolon_csv_with_bom_as_latvian_excel_writes_it_is_read(
    cli: Cli, tmp_path: Path
) -> None:
    rows = list(csv.reader(CONTACTS.open(encoding="utf-8")))
    path = tmp_path / "excel.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle, delimiter=";").writerows(rows)
    result = cli("contacts", "import", str(path))
    assert "20 new" in result.output, result.output
    ilze = load_contact(cli.url, "ilze.kalnina@jelgava.example")
    assert ilze.name == "Ilze Kalniņa"
    assert ilze.organisation == "Jelgavas valstspilsētas pašvaldība"


def test_xlsx_is_read_like_csv(cli: Cli, tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    for row in csv.reader(CONTACTS.open(encoding="utf-8")):
        sheet.append(row)
    path = tmp_path / "contacts.xlsx"
    workbook.save(path)
    assert "20 new" in cli("contacts", "import", str(path)).output
    assert "20 unchanged" in cli("contacts", "import", str(CONTACTS)).output


def test_fields_are_normalised(cli: Cli) -> None:
    cli("contacts", "import", str(CONTACTS))
    ilze = load_contact(cli.url, "ilze.kalnina@jelgava.example")
    assert ilze.phone == "+37120000001"
    assert ilze.telegram_username == "ilzek"
    assert ilze.consent_on is not None and ilze.consent_on.isoformat() == "2026-01-15"
    ieva = load_contact(cli.url, "ieva.oconnor@rujiena.example")
    assert ieva.tag_names == ["education", "youth"]


def test_a_changed_row_is_an_update_naming_the_fields(cli: Cli, tmp_path: Path) -> None:
    cli("contacts", "import", str(CONTACTS))
    text = CONTACTS.read_text(encoding="utf-8").replace("Tukuma novada dome", "Tukuma novads")
    changed = tmp_path / "changed.csv"
    changed.write_text(text, encoding="utf-8")
    result = cli("contacts", "import", str(changed))
    assert "0 new, 1 updated, 19 unchanged" in result.output
    assert "maris.liepins@tukums.example: organisation" in result.output


def test_contacts_without_email_are_matched_by_telegram_username(cli: Cli, tmp_path: Path) -> None:
    cli("contacts", "import", str(CONTACTS))
    text = CONTACTS.read_text(encoding="utf-8").replace("+371 20000010", "+371 29999999")
    changed = tmp_path / "changed.csv"
    changed.write_text(text, encoding="utf-8")
    result = cli("contacts", "import", str(changed))
    assert "0 new, 1 updated, 19 unchanged" in result.output


def test_a_telegram_username_of_another_contact_is_refused(cli: Cli, tmp_path: Path) -> None:
    cli("contacts", "import", str(CONTACTS))
    path = tmp_path / "clash.csv"
    path.write_text(
        "name,email,telegram_username,role\nNew Person,new@x.example,ilzek,guest\n",
        encoding="utf-8",
    )
    result = cli("contacts", "import", str(path))
    assert result.exit_code == 1
    assert "@ilzek already belongs to ilze.kalnina@jelgava.example" in result.output
    assert count_contacts(cli.url) == 20


def test_a_header_without_a_required_column_is_refused(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("fullname,email\nA,a@b.example\n", encoding="utf-8")
    result = cli("contacts", "import", str(path))
    assert result.exit_code == 1
    assert "line 1" in result.output and "unknown column(s) fullname" in result.output


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_export_then_import_changes_nothing(cli: Cli, tmp_path: Path, suffix: str) -> None:
    cli("contacts", "import", str(CONTACTS))
    out = tmp_path / f"export{suffix}"
    assert "Wrote 20 contact(s)" in cli("contacts", "export", str(out)).output
    result = cli("contacts", "import", str(out))
    assert "0 new, 0 updated, 20 unchanged" in result.output, result.output


def test_export_neutralises_formulas_and_keeps_diacritics(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "evil.csv"
    path.write_text(
        "name,email,role,organization\n"
        '"=HYPERLINK(""http://x"")",evil@x.example,guest,@Ļaunā organizācija\n',
        encoding="utf-8",
    )
    cli("contacts", "import", str(path))
    csv_out, xlsx_out = tmp_path / "out.csv", tmp_path / "out.xlsx"
    cli("contacts", "export", str(csv_out))
    cli("contacts", "export", str(xlsx_out))
    raw = csv_out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    row = next(csv.DictReader(raw.decode("utf-8-sig").splitlines()[0:2]))
    assert row["name"] == '\'=HYPERLINK("http://x")'
    assert row["organization"] == "'@Ļaunā organizācija"
    sheet = load_workbook(xlsx_out).active
    assert sheet["A2"].value == '\'=HYPERLINK("http://x")'
    assert sheet["A2"].data_type == "s"
    assert "0 new, 0 updated, 1 unchanged" in cli("contacts", "import", str(xlsx_out)).output


def test_list_filters_narrow_and_repeated_values_widen(cli: Cli) -> None:
    cli("contacts", "import", str(CONTACTS))
    mediators = cli("contacts", "list", "--role", "mediator", "--country", "LV").output
    assert "Līga Saulīte" in mediators and "Raimonds Kļaviņš" in mediators
    assert "Priit Mägi" not in mediators
    assert "2 contact(s)" in mediators
    valga_or_valka = cli("contacts", "list", "--municipality", "valga", "--municipality", "Valka")
    assert "5 contact(s)" in valga_or_valka.output
    tagged = cli("contacts", "list", "--tag", "cross-border", "--language", "et").output
    assert "Kadri Tamm" in tagged and "Tiina Sepp" in tagged and "Edgars" not in tagged


def test_show_prints_one_contact(cli: Cli) -> None:
    cli("contacts", "import", str(CONTACTS))
    result = cli("contacts", "show", "anneli.ounapuu@joy.example")
    assert "Anneli Õunapuu" in result.output and "Loomestuudio Joy" in result.output
    assert cli("contacts", "show", "@priitm").exit_code == 0
    missing = cli("contacts", "show", "nobody@x.example")
    assert missing.exit_code == 1 and "expertbot contacts list" in missing.output


def test_remove_erases_the_person_and_keeps_an_anonymous_count(cli: Cli) -> None:
    cli("contacts", "import", str(CONTACTS))
    result = cli("contacts", "remove", "liga.saulite@jelgava.example", input="y\n")
    assert result.exit_code == 0, result.output
    assert "Erased Līga Saulīte" in result.output
    assert "Līga" not in cli("contacts", "list").output
    assert count_contacts(cli.url) == 20  # the row stays, without the person

    async def erased() -> tuple[Contact, int]:
        database = Database(cli.url)
        try:
            async with database.session_scope() as session:
                row = await session.scalar(select(Contact).where(Contact.erased_at.is_not(None)))
                assert row is not None
                consents = await session.scalar(
                    select(func.count()).where(ConsentRecord.contact_id == row.id)
                )
                return row, int(consents or 0)
        finally:
            await database.dispose()

    row, consents = in_thread(erased)
    assert (row.email, row.phone, row.organisation, row.municipality) == (None,) * 4
    assert (row.role, row.country, row.stakeholder_group) == (
        "mediator",
        "LV",
        "roma_representative",
    )
    assert "Līga" not in row.name and consents == 0


def test_remove_asks_first_and_no_means_no(cli: Cli) -> None:
    cli("contacts", "import", str(CONTACTS))
    result = cli("contacts", "remove", "liga.saulite@jelgava.example", input="n\n")
    assert result.exit_code == 1
    assert "Līga Saulīte" in cli("contacts", "list").output


@pytest.mark.skipif(not SHARED_EXAMPLES.exists(), reason="../shared/examples is not beside")
def test_the_shared_example_files_load(cli: Cli) -> None:
    assert cli("contacts", "import", str(SHARED_EXAMPLES / "contacts.csv")).exit_code == 0
    bad = cli("contacts", "import", str(SHARED_EXAMPLES / "contacts-with-errors.csv"))
    assert bad.exit_code == 1
