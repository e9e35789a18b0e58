# ruff: noqa: F811  (the `scene` fixture is imported from tests.test_rsvp)
"""Problems in the console's event, survey and recommendation forms and files are told in the
coordinator's language (the checks word them in English for the CLI)."""

from __future__ import annotations

import re

import httpx
import pytest
import yaml

from bot.rendering import LANGUAGES, default_messages_dir
from bot.services.events.files import EventFileError, parse_event
from bot.services.surveys.files import SurveyFileError, parse_survey
from bot.web.console import event_form, survey_form
from bot.web.console.problems import PATTERNS, recognise
from tests.conftest import DATA
from tests.test_console import base, csrf_of, person_form, signed_in
from tests.test_console import event_form as filled_event_form
from tests.test_console import survey_form as filled_survey_form
from tests.test_rsvp import Scene, scene  # noqa: F401  (the fixture)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_problem_the_console_recognises_has_words_in_every_language(language: str) -> None:
    template = (default_messages_dir() / language / "console" / "_problems.html").read_text()
    said = set(re.findall(r'p\.key == "(\w+)"', template))
    assert said == {key for key, _ in PATTERNS}


def test_a_form_full_of_mistakes_gets_every_problem_recognised() -> None:
    values = event_form.blank()
    values.update(
        key="Valga 2027",
        day="2027-02-31",
        start="10:00",
        end="9:00",
        capacity="0",
        rsvp_by="2027-13-01",
        reminders="7d, 7d, 2",
        timezone="Europe/Riga",
    )
    values["agenda"][0].update(at="10:30", until="10:00", title_lv="Atklāšana")
    source = yaml.safe_dump(event_form.to_file(values), allow_unicode=True)
    with pytest.raises(EventFileError) as raised:
        parse_event(source.encode(), "form")
    problems = raised.value.problems
    assert len(problems) >= 5
    assert [p.reason for p in problems if not recognise(p.reason).key] == []

    survey = survey_form.from_form(
        _form_data(filled_survey_form("x", **{"q-1-options": "Lekcijas", "q-0-key": "Ļoti"}))
    )
    source = yaml.safe_dump(survey_form.to_file(survey, {}), allow_unicode=True)
    with pytest.raises(SurveyFileError) as raised_survey:
        parse_survey(source.encode(), "form")
    reasons = [p.reason for p in raised_survey.value.problems]
    assert reasons and [r for r in reasons if not recognise(r).key] == []


def test_a_reason_the_console_does_not_know_is_shown_as_the_checks_wrote_it() -> None:
    said = recognise("something new went wrong", "valga-2027.yaml:3: venue")
    assert (said.key, str(said)) == ("", "valga-2027.yaml:3: venue: something new went wrong")
    assert recognise("is 2001 characters long; at most 2000 fit").values == {
        "length": 2001,
        "limit": 2000,
    }


async def test_form_and_file_problems_are_told_in_latvian_and_estonian(scene: Scene) -> None:
    async with httpx.AsyncClient() as client:
        await signed_in(scene, client)
        token = csrf_of(await client.get(f"{base(scene)}/events/new"))
        mistakes = {"end": "09:00", "agenda-0-until": "09:30", "reminders": "7d, 7d"}
        latvian = await client.post(
            f"{base(scene)}/events/new", data=filled_event_form(token, **mistakes)
        )
        assert latvian.status_code == 422
        assert "Beigām jābūt vēlāk par sākumu" in latvian.text
        assert "Beigu laikam jābūt vēlākam par sākuma laiku: 09:30 nav pēc 10:00" in latvian.text
        assert "norādīts divreiz" in latvian.text
        assert "is not after" not in latvian.text and "given twice" not in latvian.text

        source = (DATA / "events" / "valga-2027.yaml").read_bytes()
        broken = source.replace(b"10:00", b"25:00", 1)
        upload = await client.post(
            f"{base(scene)}/events/upload",
            data={"csrf": token},
            files={"file": ("valga-2027.yaml", broken, "application/yaml")},
        )
        assert upload.status_code == 422 and "valga-2027.yaml:" in upload.text
        assert "valga-2027.yaml:13: starts: Datums un laiks „2027-02-04T25:00” neeksistē." in (
            upload.text
        )

        await client.post(
            f"{base(scene)}/language", data={"csrf": token, "language": "et", "back": "/"}
        )
        estonian = await client.post(
            f"{base(scene)}/surveys/new",
            data=filled_survey_form(token, **{"q-1-options": "Lekcijas | Loengud"}),
        )
        assert estonian.status_code == 422
        assert "Andke vähemalt kaks vastusevarianti." in estonian.text
        assert "give at least" not in estonian.text


def _form_data(fields: dict[str, str]) -> object:
    from starlette.datastructures import FormData

    return FormData(list(fields.items()))


async def test_a_person_and_a_contacts_file_are_checked_in_the_coordinators_language(
    scene: Scene,
) -> None:
    async with httpx.AsyncClient() as client:
        await signed_in(scene, client)
        token = csrf_of(await client.get(f"{base(scene)}/contacts/new"))
        wrong = await client.post(
            f"{base(scene)}/contacts/new",
            data=person_form(
                token, email="olga@", phone="12", stakeholder_group="roma_representative"
            ),
        )
        assert wrong.status_code == 422
        assert "„olga@” nav derīga e-pasta adrese." in wrong.text
        assert "„12” nav tālruņa numurs." in wrong.text or "nepareizs ciparu skaits" in wrong.text
        assert "Šī grupa norāda etnisko izcelsmi: vajadzīgs piekrišanas datums" in wrong.text
        assert "is not a" not in wrong.text and "consent date" not in wrong.text

        header = "name,email,role,organization,municipality,country,language\n"
        lines = (
            "Olga Petrova,olga.petrova@daugavpils.example,mediator,,Daugavpils,LV,lv\n"
            ",peteris.ozols@rezekne.example,regional_expert,,Rēzekne,LV,lv\n"
            "Olga Petrova,olga.petrova@daugavpils.example,mediator,,Daugavpils,LV,lv\n"
        )
        await client.post(
            f"{base(scene)}/language", data={"csrf": token, "language": "et", "back": "/"}
        )
        checked = await client.post(
            f"{base(scene)}/contacts/import/preview",
            data={"csrf": token},
            files={"file": ("kontaktid.csv", (header + lines).encode(), "text/csv")},
        )
        assert checked.status_code == 200
        assert "Märkige nimi." in checked.text and "Sama väärtus on juba real 2." in checked.text
        assert "a name is required" not in checked.text
