"""`expertbot surveys`: load survey files, list surveys, see and export the results."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from bot.cli.common import State, console, errors, fail, pass_state, with_database
from bot.db.models import Survey
from bot.db.session import Database
from bot.db.vocab import LANGUAGES
from bot.services.events.files import format_offset
from bot.services.reporting.tables import write_table
from bot.services.surveys import registry
from bot.services.surveys.files import SurveyFileError, SurveySpec, read_survey_file
from bot.textformat import pick_language

BAR = "█"
BAR_WIDTH = 30
LABEL_WIDTH = 40
TYPE_LABELS = {
    "rating": "rating",
    "single_choice": "one choice",
    "multiple_choice": "several choices",
    "yes_no": "yes or no",
    "text": "free text",
}

_language = click.option(
    "--language",
    type=click.Choice(LANGUAGES),
    default="lv",
    show_default=True,
    help="Show texts in this language (falls back to Latvian).",
)


@click.group()
def surveys() -> None:
    """Surveys sent after events, and their results."""


def _report(problems: list[str]) -> None:
    for problem in problems:
        errors.print(escape(problem), soft_wrap=True)
    if problems:
        fail(f"nothing was loaded: {len(problems)} problem(s). Fix them and load again.")


def _read_all(files: tuple[Path, ...]) -> list[SurveySpec]:
    specs: list[SurveySpec] = []
    problems: list[str] = []
    for file in files:
        try:
            specs.append(read_survey_file(file))
        except SurveyFileError as error:
            problems.extend(str(p) for p in error.problems)
    seen: dict[str, str] = {}
    for spec in specs:
        if spec.slug in seen:
            problems.append(f"{spec.source}: id: {spec.slug} is also the id in {seen[spec.slug]}")
        seen.setdefault(spec.slug, spec.source)
    _report(problems)
    return specs


@surveys.command("load")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check and report, write nothing.")
@pass_state
def load(state: State, files: tuple[Path, ...], dry_run: bool) -> None:
    """Create or update surveys from YAML FILES; all are checked before any is written."""
    specs = _read_all(files)

    async def work(database: Database) -> tuple[list[registry.SurveyLoadResult], list[str]]:
        async with database.session_scope() as session:
            results: list[registry.SurveyLoadResult] = []
            problems: list[str] = []
            for spec in specs:
                try:
                    results.append(await registry.load_survey(session, spec))
                except SurveyFileError as error:
                    problems.extend(str(p) for p in error.problems)
            if problems or dry_run:
                await session.rollback()
            return results, problems

    results, problems = with_database(state.settings, work)
    _report(problems)
    for spec, result in zip(specs, results, strict=True):
        _print_result(spec, result, dry_run)


def _print_result(spec: SurveySpec, result: registry.SurveyLoadResult, dry_run: bool) -> None:
    would = "would be " if dry_run else ""
    if result.outcome == "new":
        title = escape(pick_language(spec.title, "lv"))
        console.print(
            f"{result.slug}: {would}new — {title}, {len(spec.questions)} question(s), "
            f"{'anonymous' if spec.anonymous else 'not anonymous'}; {_timing(spec)}",
            soft_wrap=True,
        )
    elif result.outcome == "unchanged":
        console.print(f"{result.slug}: unchanged")
    else:
        so_far = f" ({result.responses} response(s) so far)" if result.responses else ""
        console.print(f"{result.slug}: {would}changed{so_far}")
        for change in result.changes:
            console.print(f"  {escape(str(change))}", soft_wrap=True)


def _timing(spec: SurveySpec) -> str:
    parts = [f"sent {format_offset(spec.send_after)} after the event ends"]
    if spec.remind_after is not None:
        parts.append(f"reminder after {format_offset(spec.remind_after)}")
    if spec.closes_after is not None:
        parts.append(f"closes after {format_offset(spec.closes_after)}")
    return ", ".join(parts)


@surveys.command("list")
@_language
@pass_state
def list_(state: State, language: str) -> None:
    """List surveys with their questions and how many were sent and finished."""

    async def work(database: Database) -> list[registry.SurveyOverview]:
        async with database.session_scope() as session:
            return await registry.list_surveys(session)

    overviews = with_database(state.settings, work)
    if not overviews:
        console.print("No surveys yet; load one with `expertbot surveys load FILE.yaml`.")
        return
    table = Table("#", "id", "title", "anonymous", "questions", "sent", "finished")
    for item in overviews:
        survey = item.survey
        table.add_row(
            str(survey.id),
            survey.slug,
            escape(pick_language(survey.title, language)),
            "yes" if survey.anonymous else "no",
            str(item.questions),
            str(item.sent),
            str(item.finished),
        )
    console.print(table)
    console.print(f"{len(overviews)} survey(s)")


@surveys.command("results")
@click.argument("key", metavar="ID")
@_language
@click.option(
    "--export",
    "file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write one row per finished response to FILE.csv or FILE.xlsx.",
)
@pass_state
def results(state: State, key: str, language: str, file: Path | None) -> None:
    """Show a survey's response rate and answers; anonymous surveys never show who answered."""
    if file is not None and file.suffix.lower() not in (".csv", ".xlsx"):
        fail(f"{file.name}: use a .csv or .xlsx file name")

    async def work(
        database: Database,
    ) -> tuple[registry.SurveyResults, list[str], list[list[object]]] | None:
        async with database.session_scope() as session:
            survey: Survey | None = await registry.find_survey(session, key)
            if survey is None:
                return None
            summary = await registry.results(session, survey, language)
            if file is None:
                return summary, [], []
            header, rows = await registry.export_table(session, survey)
            return summary, header, rows

    found = with_database(state.settings, work)
    if found is None:
        fail(f"no survey {key}; `expertbot surveys list` shows them")
    assert found is not None
    summary, header, rows = found
    _print_results(summary)
    if file is not None:
        if not rows:
            console.print("Nothing to export yet.")
            return
        count = write_table(file, header, rows, title=summary.slug)
        console.print(f"Wrote {count} response(s) to {file}.")


def _print_results(summary: registry.SurveyResults) -> None:
    kind = "anonymous" if summary.anonymous else "not anonymous"
    console.print(f"[b]{escape(summary.title)}[/] ({summary.slug}, {kind})", soft_wrap=True)
    rate = f" ({summary.rate:.0%})" if summary.rate is not None else ""
    console.print(
        f"Response rate: {summary.finished} of {summary.sent} sent finished{rate}; "
        f"{summary.responses} finished response(s)."
    )
    if not summary.responses:
        console.print("No finished responses yet.")
        return
    for number, question in enumerate(summary.questions, 1):
        console.print()
        console.print(
            f"{number}. [b]{question.key}[/] — {escape(question.text)} "
            f"({TYPE_LABELS.get(question.type, question.type)})",
            soft_wrap=True,
        )
        for line in _question_lines(question):
            console.print(f"   {line}", soft_wrap=True)


def _question_lines(question: registry.QuestionResult) -> list[str]:
    counted = f"answered {question.answered}, skipped {question.skipped}"
    if question.type == "rating":
        mean = f"mean {question.mean:.2f}" if question.mean is not None else "no mean"
        return [
            f"{counted} · {mean}",
            *(
                f"{value} {_bar(count / question.answered if question.answered else 0)} {count}"
                for value, count in question.distribution
            ),
        ]
    if question.type == "text":
        return [counted, *(_text_line(answer) for answer in question.texts)]
    basis = " (share of respondents; several choices allowed)"
    lines = [counted + (basis if question.type == "multiple_choice" else "")]
    width = min(max((len(s.label) for s in question.shares), default=0), LABEL_WIDTH)
    for share in question.shares:
        label = _clip(share.label, LABEL_WIDTH).ljust(width)
        lines.append(f"{escape(label)} {_bar(share.share)} {share.share:.0%} ({share.count})")
    return lines


def _bar(fraction: float) -> str:
    blocks = round(fraction * BAR_WIDTH)
    return BAR * (max(blocks, 1) if fraction > 0 else 0)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _text_line(answer: registry.TextAnswer) -> str:
    text = escape(answer.text).replace("\n", "\n     ")
    return f"• {text} — {escape(answer.author)}" if answer.author else f"• {text}"
