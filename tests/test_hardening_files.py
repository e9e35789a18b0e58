"""Hostile YAML: anchors that expand exponentially, deep nesting, huge files and values.

One loader reads events, surveys and recommendations; each refusal names the file and the
line, and no error message echoes what it was fed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.services.events.files import (
    MAX_FILE_BYTES,
    EventFileError,
    parse_event,
    read_event_file,
)
from bot.services.recommendations.files import parse_recs, read_rec_file
from bot.services.surveys.files import parse_survey, read_survey_file
from tests.conftest import DATA

# The classic: nine levels of nine aliases each, 9**9 strings once expanded.
BOMB = "\n".join(
    ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [
        f"{b}: &{b} [{', '.join(['*' + a] * 9)}]"
        for a, b in zip("abcdefgh", "bcdefghi", strict=True)
    ]
).encode()
PARSERS: list[Callable[[bytes, str], Any]] = [parse_event, parse_survey, parse_recs]
READERS: list[Callable[[Path], Any]] = [read_event_file, read_survey_file, read_rec_file]


def refusal(parse: Callable[[bytes, str], Any], content: bytes, source: str) -> str:
    with pytest.raises(EventFileError) as caught:
        parse(content, source)
    return str(caught.value)


@pytest.mark.parametrize("parse", PARSERS)
def test_a_billion_laughs_is_refused_at_once_naming_file_and_line(
    parse: Callable[[bytes, str], Any],
) -> None:
    assert len(BOMB) < 500
    message = refusal(parse, BOMB, "bomb.yaml")
    assert message.startswith("bomb.yaml:1: ")
    assert "anchors and aliases" in message and len(message) < 300


@pytest.mark.parametrize("parse", PARSERS)
def test_even_one_alias_is_refused_with_its_line(parse: Callable[[bytes, str], Any]) -> None:
    content = b"id: valga-2027\nplace: &venue Valga\nsecond: *venue\n"
    message = refusal(parse, content, "alias.yaml")
    assert message.startswith("alias.yaml:2: ") and "anchors and aliases" in message


@pytest.mark.parametrize("parse", PARSERS)
def test_deep_nesting_is_refused_not_a_crash(parse: Callable[[bytes, str], Any]) -> None:
    content = b"title: " + b"[" * 20_000 + b"]" * 20_000 + b"\n"
    message = refusal(parse, content, "deep.yaml")
    assert message.startswith("deep.yaml:1: ") and "nested deeper than" in message


@pytest.mark.parametrize("read", READERS)
def test_a_huge_file_is_refused_by_its_size(read: Callable[[Path], Any], tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"title: x\n" + b"# padding\n" * (MAX_FILE_BYTES // 5))
    with pytest.raises(EventFileError) as caught:
        read(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: too large") and len(message) < 300


@pytest.mark.parametrize("parse", PARSERS)
def test_an_error_never_echoes_a_huge_value(parse: Callable[[bytes, str], Any]) -> None:
    huge = "x" * 300_000
    content = (
        f"id: {huge}\nkind: {huge}\ncapacity: [{huge}]\nreminders: [{huge}]\nx: [{huge}]\n"
    ).encode()
    message = refusal(parse, content, "values.yaml")
    assert "values.yaml:" in message and len(message) < 5_000


def test_many_problems_are_cut_short() -> None:
    agenda = "".join(f"  - day: not-a-day-{n}\n    title: {{}}\n" for n in range(2_000))
    content = (DATA / "events" / "valga-2027.yaml").read_bytes()
    content = content.split(b"\nagenda:", 1)[0] + b"\nagenda:\n" + agenda.encode()
    with pytest.raises(EventFileError) as caught:
        parse_event(content, "many.yaml")
    assert len(caught.value.problems) <= 51
    assert "more problems follow" in str(caught.value.problems[-1])
