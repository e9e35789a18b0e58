"""The coordinator loads survey files and reloads changed ones, but cannot break answers."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Answer, Contact, Survey, SurveyResponse
from bot.services.surveys import registry
from bot.services.surveys.files import SurveyFileError, parse_survey
from tests.conftest import DATA, SHARED_EXAMPLES, Cli, query

SURVEYS = DATA / "surveys"
VISIT = SURVEYS / "visit-feedback.yaml"
VALGA = SURVEYS / "valga-2027-feedback.yaml"
SHARED_SURVEYS = SHARED_EXAMPLES / "surveys"
EXAMPLES = sorted(SURVEYS.glob("*.yaml")) + (
    sorted(SHARED_SURVEYS.glob("*.yaml")) if SHARED_SURVEYS.exists() else []
)


def stored(url: str, slug: str) -> Survey:
    async def work(session: AsyncSession) -> Survey:
        survey = await registry.find_survey(session, slug)
        assert survey is not None
        return survey

    return query(url, work)


def count_surveys(url: str) -> int:
    async def work(session: AsyncSession) -> int:
        return int(await session.scalar(select(func.count(Survey.id))) or 0)

    return query(url, work)


def edited(source: Path, target: Path, *replacements: tuple[str, str]) -> Path:
    """Copy an example with some text replaced; each replacement must apply."""
    text = source.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    target.write_text(text, encoding="utf-8")
    return target


def line_of(path: Path, fragment: str) -> int:
    """The number of the first line of a file that contains the fragment."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if fragment in line:
            return number
    raise AssertionError(f"{fragment!r} not in {path}")


def answer_once(url: str, slug: str) -> None:
    """Store one finished response answering every question of a survey."""
    values = {"rating": 4, "yes_no": "yes", "text": "Labi", "multiple_choice": []}

    async def work(session: AsyncSession) -> None:
        survey = await registry.find_survey(session, slug)
        assert survey is not None
        contact = Contact(name="Jānis Ozols", email="janis@example.lv", role="regional_expert")
        session.add(contact)
        await session.flush()
        response = SurveyResponse(
            survey_id=survey.id,
            contact_id=None if survey.anonymous else contact.id,
            status="finished",
            finished_at=datetime(2027, 7, 1, 12, 0, tzinfo=UTC),
        )
        response.answers = [
            Answer(
                question_id=q.id,
                value={"value": values.get(q.type, q.options[0]["id"] if q.options else None)},
            )
            for q in survey.questions
        ]
        session.add(response)

    query(url, work)


# --- Loading ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_every_example_file_loads_as_a_new_survey(cli: Cli, path: Path) -> None:
    result = cli("surveys", "load", str(path))
    assert result.exit_code == 0, result.output
    assert ": new — " in result.output
    assert count_surveys(cli.url) == 1


def test_both_examples_load_in_one_command_and_are_listed(cli: Cli) -> None:
    result = cli("surveys", "load", str(VISIT), str(VALGA))
    assert result.exit_code == 0, result.output
    assert (
        "visit-feedback: new — Atgriezeniskā saite par vizīti, 5 question(s), not anonymous; "
        "sent 2h after the event ends, reminder after 3d, closes after 14d"
    ) in result.output
    assert "valga-2027-feedback: new — " in result.output and ", anonymous; sent 1h" in (
        result.output
    )
    listing = cli("surveys", "list", "--language", "et").output
    assert "Tagasiside õppevisiidi kohta" in listing
    assert "2 survey(s)" in listing


def test_the_file_fields_are_stored_as_given_with_defaults(cli: Cli) -> None:
    cli("surveys", "load", str(VISIT), str(VALGA))
    visit = stored(cli.url, "visit-feedback")
    assert visit.title["et"] == "Tagasiside õppevisiidi kohta"
    assert visit.anonymous is False
    assert (visit.send_after, visit.remind_after, visit.closes_after) == (
        7200,
        3 * 86400,
        14 * 86400,
    )
    assert visit.source_digest == hashlib.sha256(VISIT.read_bytes()).hexdigest()
    assert [(q.position, q.key, q.type) for q in visit.questions] == [
        (0, "useful", "rating"),
        (1, "best_part", "single_choice"),
        (2, "topics", "multiple_choice"),
        (3, "need_mediator", "yes_no"),
        (4, "next_time", "text"),
    ]
    useful, best_part, topics, need_mediator, next_time = visit.questions
    assert useful.scale == 5 and useful.required is True and useful.options == []
    assert best_part.options[1] == {
        "id": "people",
        "text": {
            "lv": "Tikšanās ar romu ģimenēm un jauniešiem",
            "et": "Kohtumised romade perede ja noortega",
            "en": "Meeting Roma families and young people",
        },
    }
    assert topics.required is False and [o["id"] for o in topics.options] == [
        "education",
        "employment",
        "social",
        "mediation",
    ]
    assert need_mediator.scale is None and next_time.max_length == 1000
    valga = stored(cli.url, "valga-2027-feedback")
    assert valga.anonymous is True and valga.remind_after is None
    assert valga.questions[2].max_length == 2000  # the default for free text


def test_dry_run_checks_and_reports_but_writes_nothing(cli: Cli) -> None:
    result = cli("surveys", "load", "--dry-run", str(VISIT))
    assert result.exit_code == 0
    assert "visit-feedback: would be new" in result.output
    assert count_surveys(cli.url) == 0


# --- Refusing bad files -------------------------------------------------------------------


def test_a_broken_copy_is_refused_naming_file_line_field_and_reason(
    cli: Cli, tmp_path: Path
) -> None:
    broken = edited(
        VISIT,
        tmp_path / "broken.yaml",
        ("send_after: 2h ", "send_after: soon "),
        ("anonymous: false", "anonymous: maybe"),
        ("    scale: 5\n", "    scale: 12\n"),
        ("      et: Mis oli kõige kasulikum?\n", ""),
        (
            "text: {lv: Iestāžu apmeklējumi, et: Asutuste külastused, en: Visits to institutions}",
            "text: {lv: Iestāžu apmeklējumi, en: Visits to institutions}",
        ),
        ("      - id: social", "      - id: employment"),
        ("  - id: need_mediator\n    type: yes_no", "  - id: topics\n    type: yes_or_no"),
        ("    max_length: 1000", "    max_lenght: 1000"),
    )
    result = cli("surveys", "load", str(broken))
    assert result.exit_code == 1
    for expected in (
        f"{broken}:{line_of(broken, 'send_after')}: send_after: 'soon' is not a time after the "
        "event ends such as 2h, 3d or 14d",
        f"{broken}:{line_of(broken, 'anonymous')}: anonymous: 'maybe' is not true or false",
        f"{broken}:{line_of(broken, 'scale: 12')}: questions[1].scale: 12 is not a whole number "
        "from 2 to 10",
        f"{broken}:{line_of(broken, 'Kas bija visnoderīgākais') - 1}: questions[2].text.et: "
        "missing; the title is in lv, et, en",
        f"{broken}:{line_of(broken, 'Iestāžu apmeklējumi')}: questions[2].options[1].text.et: "
        "missing; the title is in lv, et, en",
        f"{broken}:{line_of(broken, '- id: employment') + 2}: questions[3].options[3].id: "
        "'employment' is given twice in this question (also options[2])",
        f"{broken}:{line_of(broken, 'yes_or_no') - 1}: questions[4].id: 'topics' is also the id "
        "of questions[3]",
        f"{broken}:{line_of(broken, 'yes_or_no')}: questions[4].type: 'yes_or_no' is not one of "
        "rating, single_choice, multiple_choice, yes_no, text",
        f"{broken}:{line_of(broken, 'max_lenght')}: questions[5].max_lenght: unknown field; "
        "did you mean max_length?",
    ):
        assert expected in result.output
    assert "nothing was loaded: 9 problem(s)" in result.output
    assert count_surveys(cli.url) == 0


def test_texts_in_other_languages_than_the_title_are_refused(cli: Cli, tmp_path: Path) -> None:
    broken = edited(
        VALGA,
        tmp_path / "two-languages.yaml",
        ("  et: Tagasiside Valga kohtumise kohta\n", ""),
        ("      en: Your comment", "      lt: Jūsų komentaras"),
    )
    output = cli("surveys", "load", str(broken)).output
    assert "questions[1].text.et: the title has no et text; give texts in lv, en only" in output
    assert "questions[3].text.lt: unknown language 'lt'; use lv, et, en" in output
    assert "questions[3].text.en: missing; the title is in lv, en" in output


def test_fields_that_a_question_type_does_not_use_are_refused(cli: Cli, tmp_path: Path) -> None:
    broken = edited(
        VALGA,
        tmp_path / "wrong-fields.yaml",
        ("    type: yes_no\n", "    type: yes_no\n    options: [{id: a, text: {lv: A}}]\n"),
        ("    type: text\n", "    type: text\n    scale: 3\n    max_length: 0\n"),
        ("    type: rating\n", "    type: single_choice\n"),
        ("closes_after: 7d", "closes_after: 30m"),
    )
    output = cli("surveys", "load", str(broken)).output
    for expected in (
        "questions[2].options: only for single_choice and multiple_choice questions",
        "questions[3].scale: only for rating questions",
        "questions[3].max_length: 0 is not a whole number from 1 to 3500",
        "questions[1].scale: only for rating questions",
        "questions[1].options: required for choice questions: give at least two options",
        "closes_after: 30m is not after send_after (1h)",
    ):
        assert expected in output
    assert count_surveys(cli.url) == 0


def test_an_unquoted_no_read_as_false_is_named_with_a_hint() -> None:
    text = VISIT.read_text(encoding="utf-8").replace("en: Education}", "en: No}")
    with pytest.raises(SurveyFileError) as caught:
        parse_survey(text.encode(), "visit.yaml")
    [problem] = caught.value.problems
    assert str(problem) == (
        f"visit.yaml:{text.splitlines().index('      - id: education') + 2}: "
        "questions[3].options[1].text.en: False was read as true/false; put the text in quotes"
    )


def test_a_question_mark_unquoted_inside_braces_gets_a_hint() -> None:
    text = VISIT.read_text(encoding="utf-8").replace("en: Education}", "en: Education?}")
    with pytest.raises(SurveyFileError) as caught:
        parse_survey(text.encode(), "visit.yaml")
    [problem] = caught.value.problems
    assert "not valid YAML" in problem.reason
    assert 'inside { } put a text with ? in quotes, e.g. {lv: "Kāpēc?", en: "Why?"}' in (
        problem.reason
    )


def test_two_files_with_the_same_id_are_refused(cli: Cli, tmp_path: Path) -> None:
    twin = edited(VISIT, tmp_path / "copy.yaml", ("closes_after: 14d", "closes_after: 21d"))
    result = cli("surveys", "load", str(VISIT), str(twin))
    assert result.exit_code == 1
    assert f"{twin}: id: visit-feedback is also the id in {VISIT}" in result.output
    assert count_surveys(cli.url) == 0


# --- Reloading ----------------------------------------------------------------------------


def test_reloading_the_same_file_reports_unchanged(cli: Cli) -> None:
    cli("surveys", "load", str(VISIT))
    result = cli("surveys", "load", str(VISIT))
    assert result.exit_code == 0
    assert result.output.strip() == "visit-feedback: unchanged"


def test_reloading_an_edited_file_reports_and_stores_each_change(cli: Cli, tmp_path: Path) -> None:
    cli("surveys", "load", str(VISIT))
    changed = edited(
        VISIT,
        tmp_path / "visit.yaml",
        ("en: Feedback on the visit", "en: Feedback on the study visit"),
        ("remind_after: 3d ", "remind_after: 4d "),
        ("en: The experts' discussion", "en: The discussion among experts"),
        ("    max_length: 1000\n", ""),
        (
            "      - id: mediation",
            "      - id: culture\n        text: {lv: Kultūra, et: Kultuur, "
            "en: Culture}\n      - id: mediation",
        ),
    )
    result = cli("surveys", "load", str(changed))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "visit-feedback: changed"
    assert lines[1:] == [
        "  title.en",
        "  remind_after: 3d → 4d",
        "  questions.best_part.options.discussion.text.en",
        "  questions.topics.options.culture: added",
        "  questions.next_time.max_length: 1000 → 2000",
    ]
    survey = stored(cli.url, "visit-feedback")
    assert survey.title["en"] == "Feedback on the study visit"
    assert survey.remind_after == 4 * 86400
    assert [o["id"] for o in survey.questions[2].options][-2:] == ["culture", "mediation"]
    assert cli("surveys", "load", str(changed)).output.strip() == "visit-feedback: unchanged"


def test_reordered_removed_and_added_questions_are_renumbered(db_url: str, tmp_path: Path) -> None:
    cli = Cli(db_url)
    cli("surveys", "load", str(VISIT))
    before = {q.key: q.id for q in stored(db_url, "visit-feedback").questions}
    text = VISIT.read_text(encoding="utf-8")
    blocks = text.split("\n  - id: ")
    head, useful, best_part, _topics, need_mediator, next_time = blocks
    reordered = "\n  - id: ".join(
        [
            head,
            next_time.rstrip("\n") + "\n",
            need_mediator,
            useful,
            "again\n    type: yes_no\n    text: {lv: Vēlreiz, et: Uuesti, en: Again}\n",
            best_part.rstrip("\n") + "\n",
        ]
    )
    path = tmp_path / "visit.yaml"
    path.write_text(reordered, encoding="utf-8")
    result = cli("surveys", "load", str(path))
    assert result.exit_code == 0, result.output
    assert (
        "questions: order useful, best_part, need_mediator, next_time → next_time, "
        "need_mediator, useful, again, best_part"
    ) in result.output
    assert "questions.topics: removed" in result.output
    assert "questions.again: added" in result.output
    survey = stored(db_url, "visit-feedback")
    assert [(q.position, q.key) for q in survey.questions] == [
        (0, "next_time"),
        (1, "need_mediator"),
        (2, "useful"),
        (3, "again"),
        (4, "best_part"),
    ]
    # The kept questions are the same rows, so answers given to them stay attached.
    assert all(before[q.key] == q.id for q in survey.questions if q.key in before)


# --- Protecting stored answers ------------------------------------------------------------


def test_a_change_that_would_break_existing_responses_is_refused(cli: Cli, tmp_path: Path) -> None:
    cli("surveys", "load", str(VISIT), str(VALGA))
    answer_once(cli.url, "visit-feedback")
    blocks = VISIT.read_text(encoding="utf-8").split("\n  - id: ")
    without_yes_no = "\n  - id: ".join(b for b in blocks if not b.startswith("need_mediator"))
    breaking = tmp_path / "visit.yaml"
    breaking.write_text(
        without_yes_no.replace("anonymous: false", "anonymous: true")
        .replace("type: single_choice", "type: multiple_choice")
        .replace("    scale: 5\n", "    scale: 10\n")
        .replace(
            "      - id: social\n        text: {lv: Sociālais atbalsts, et: Sotsiaaltoetus, "
            "en: Social support}\n",
            "",
        ),
        encoding="utf-8",
    )
    result = cli("surveys", "load", str(breaking), str(VALGA))
    assert result.exit_code == 1
    why = "the survey already has 1 response(s)"
    for expected in (
        f"{breaking}:{line_of(breaking, 'anonymous')}: anonymous: cannot change: {why}, given "
        "as not anonymous",
        f"{breaking}:{line_of(breaking, 'scale: 10')}: questions[1].scale: was 5; cannot change: "
        f"{why}",
        f"{breaking}:{line_of(breaking, 'multiple_choice')}: questions[2].type: was single_choice;"
        f" cannot change: {why}. Add a question with a new id instead",
        f"{breaking}:{line_of(breaking, 'Kuras tēmas') + 3}: questions[3].options: option "
        f"'social' cannot be removed: {why}; put it back (its texts may change)",
        f"{breaking}:{line_of(breaking, 'questions:')}: questions: question 'need_mediator' "
        f"cannot be removed: {why}; put it back (its texts may change)",
    ):
        assert expected in result.output
    assert "nothing was loaded: 5 problem(s)" in result.output
    survey = stored(cli.url, "visit-feedback")
    assert len(survey.questions) == 5 and survey.anonymous is False
    assert survey.questions[1].type == "single_choice"


def test_text_edits_and_new_questions_are_allowed_after_responses(cli: Cli, tmp_path: Path) -> None:
    cli("surveys", "load", str(VALGA))
    answer_once(cli.url, "valga-2027-feedback")
    changed = edited(
        VALGA,
        tmp_path / "valga.yaml",
        ("lv: Jūsu komentārs", "lv: Jūsu komentārs vai ieteikums"),
        ("    required: false\n", ""),
    )
    with changed.open("a", encoding="utf-8") as handle:
        handle.write(
            "  - id: more\n    type: text\n    required: false\n"
            "    text: {lv: Vēl, et: Veel, en: More}\n"
        )
    result = cli("surveys", "load", str(changed))
    assert result.exit_code == 0, result.output
    assert "valga-2027-feedback: changed (1 response(s) so far)" in result.output
    assert "  questions.comment.text.lv" in result.output
    assert "  questions.comment.required: false → true" in result.output
    assert "  questions.more: added" in result.output
    survey = stored(cli.url, "valga-2027-feedback")
    assert survey.questions[2].text["lv"] == "Jūsu komentārs vai ieteikums"
    assert [q.key for q in survey.questions] == ["overall", "again_next_year", "comment", "more"]
