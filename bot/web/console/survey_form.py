"""Create and edit a survey with a form, checked exactly like a survey file (`surveys load`).

Each question is a row: id, type, required, its text in each language, and for choice questions
one option a line, its texts separated by "|" in the order lv | et | en.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from bot.db.models import Survey
from bot.db.vocab import QUESTION_TYPES
from bot.rendering import LANGUAGES
from bot.services.events.files import format_offset
from bot.services.surveys import registry as surveys
from bot.services.surveys.files import SurveyFileError, parse_survey
from bot.web.console.auth import Signed, signed_in
from bot.web.console.problems import Said, recognise
from bot.web.console.render import pages, see_other
from bot.web.pages import deps_of

ROWS = 8
CHOICES = ("single_choice", "multiple_choice")
OFFSETS = ("send_after", "remind_after", "closes_after")


def _question(**given: Any) -> dict[str, Any]:
    blank = {"key": "", "type": "rating", "required": True, "options": "", "scale": "5"}
    return {**blank, **{f"text_{lang}": "" for lang in LANGUAGES}, **given}


def blank() -> dict[str, Any]:
    values: dict[str, Any] = {"key": "", "anonymous": False, "send_after": "2h"}
    values.update(remind_after="3d", closes_after="14d")
    values.update({f"title_{lang}": "" for lang in LANGUAGES})
    values["questions"] = [_question() for _ in range(ROWS)]
    return values


def from_form(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {k: str(form.get(k, "")).strip() for k in ("key", *OFFSETS)}
    values["anonymous"] = form.get("anonymous") == "1"
    for lang in LANGUAGES:
        values[f"title_{lang}"] = str(form.get(f"title_{lang}", "")).strip()
    values["questions"] = []
    for n in range(ROWS):
        row: dict[str, Any] = {
            k: str(form.get(f"q-{n}-{k}", "")).strip() for k in _question() if k != "required"
        }
        row["required"] = form.get(f"q-{n}-required") == "1"
        values["questions"].append(_question(**row))
    return values


def from_survey(survey: Survey) -> dict[str, Any]:
    values = blank()
    values.update(
        key=survey.slug,
        anonymous=survey.anonymous,
        **{f"title_{lang}": text for lang, text in survey.title.items()},
        **{
            name: format_offset(getattr(survey, name)) if getattr(survey, name) else ""
            for name in OFFSETS
        },
    )
    rows = [
        _question(
            key=q.key,
            type=q.type,
            required=q.required,
            scale=str(q.scale or 5),
            options="\n".join(
                " | ".join(o["text"].get(lang, "") for lang in LANGUAGES).rstrip(" |")
                for o in q.options
            ),
            **{f"text_{lang}": text for lang, text in q.text.items()},
        )
        for q in survey.questions[:ROWS]
    ]
    values["questions"] = rows + [_question() for _ in range(ROWS - len(rows))]
    return values


def to_file(values: dict[str, Any], old_ids: dict[str, list[str]]) -> dict[str, Any]:
    """The survey file the form stands for; options keep their ids by position."""
    document: dict[str, Any] = {"id": values["key"], "title": _texts(values, "title_")}
    document.update({k: values[k] for k in OFFSETS if values[k]})
    document["anonymous"] = values["anonymous"]
    document["questions"] = [
        _question_file(row, old_ids.get(row["key"], []))
        for row in values["questions"]
        if row["key"] or any(row[f"text_{lang}"] for lang in LANGUAGES)
    ]
    return document


def _question_file(row: dict[str, Any], ids: list[str]) -> dict[str, Any]:
    item: dict[str, Any] = {"id": row["key"], "type": row["type"], "text": _texts(row, "text_")}
    if not row["required"]:
        item["required"] = False
    if row["type"] == "rating" and row["scale"]:
        item["scale"] = int(row["scale"]) if row["scale"].isdigit() else row["scale"]
    if row["type"] in CHOICES:
        lines = [line for line in row["options"].splitlines() if line.strip()]
        item["options"] = [
            {
                "id": ids[n] if n < len(ids) else f"o{n + 1}",
                "text": {
                    lang: text.strip()
                    for lang, text in zip(LANGUAGES, line.split("|"), strict=False)
                    if text.strip()
                },
            }
            for n, line in enumerate(lines)
        ]
    return item


def _texts(values: dict[str, Any], prefix: str) -> dict[str, str]:
    return {lang: values[prefix + lang] for lang in LANGUAGES if values.get(prefix + lang)}


def field_of(path: str) -> str:
    """The form field a problem's path names: "questions[2].text.et" → q-1."""
    found = re.match(r"questions\[(\d+)\]", path)
    if found:
        return f"q-{int(found.group(1)) - 1}"
    head = re.split(r"[.\[]", path, maxsplit=1)[0]
    return {"id": "key"}.get(head, head) or "form"


def _page(
    request: Request,
    signed: Signed,
    values: dict[str, Any],
    errors: dict[str, list[Said | str]],
    *,
    editing: bool,
    status: int = 200,
) -> Response:
    return pages(request).render(
        "survey_form",
        signed.language,
        status,
        me=signed.who.name,
        csrf=signed.csrf,
        here="/surveys",
        values=values,
        errors=errors,
        editing=editing,
        types=QUESTION_TYPES,
        action=str(request.url.path),
    )


async def _form(request: Request, signed: Signed) -> Response:
    """The survey form: empty for a new survey, filled in for an existing one."""
    key = request.path_params.get("key")
    values = blank()
    if key:
        async with deps_of(request).database.read_scope() as session:
            survey = await surveys.find_survey(session, key)
            if survey is None:
                return see_other(request, "/surveys")
            values = from_survey(survey)
    return _page(request, signed, values, {}, editing=bool(key))


async def _save(request: Request, signed: Signed) -> Response:
    """Check the form like a survey file; save it, or show it again with errors at the fields."""
    editing = "key" in request.path_params
    values = from_form(await request.form())
    if editing:
        values["key"] = request.path_params["key"]
    async with deps_of(request).database.session_scope() as session:
        survey = await surveys.find_survey(session, values["key"]) if values["key"] else None
        if survey is not None and not editing:
            return _page(request, signed, values, {"key": ["taken"]}, editing=False, status=422)
        old = {q.key: [o["id"] for o in q.options] for q in survey.questions} if survey else {}
        source = yaml.safe_dump(to_file(values, old), allow_unicode=True, sort_keys=False)
        try:
            spec = parse_survey(source.encode("utf-8"), "form")
            result = await surveys.load_survey(session, spec)
        except SurveyFileError as error:
            await session.rollback()
            errors: dict[str, list[Said | str]] = {}
            for problem in error.problems:
                errors.setdefault(field_of(problem.path), []).append(recognise(problem.reason))
            return _page(request, signed, values, errors, editing=editing, status=422)
        await signed.log(
            session,
            "edit_survey" if editing else "create_survey",
            f"survey:{spec.slug}",
            after={"outcome": result.outcome, "changes": [str(c) for c in result.changes]},
        )
    return see_other(request, f"/surveys/{spec.slug}")


form_page = signed_in(_form)
save = signed_in(_save)
