"""Words in Python: every text a person reads comes from messages/, never from a string literal.

The scan reads bot/**/*.py with `ast` and collects the string literals a person could be shown:
everything but docstrings, log and warning messages, exception and assertion messages. A
literal fails when it holds a Latvian or Estonian word (one the lv_LV or et_EE dictionary knows
and en_US does not): such words belong in a template or in messages/labels.yaml. English
literals are the code's own vocabulary (keys, states, log lines) and cannot be told apart from
English prose by a dictionary, so they are left to review.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.language.hunspell import Speller

WORD = re.compile(r"[^\W\d_]{3,}")
# Calls whose string arguments a person never reads in the bot: logs, warnings, CLI-free tools.
LOG_CALLS = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "log", "getLogger"}
)
# Reviewed words that look Latvian or Estonian to a dictionary but are not words shown to
# people, by (file, word), "*" for any file or word, with why. Keep it short: the fix for a
# real word is a label in messages/labels.yaml or a template under messages/<lang>/.
ALLOWED: dict[tuple[str, str], str] = {
    ("bot/textformat.py", "*"): "the Latvian locative months Babel lacks: date data, not text",
    ("*", "pre"): "the HTML and Telegram tag <pre>",
    ("*", "uid"): "the iCalendar UID field",
    ("*", "uri"): "base-uri in Content-Security-Policy",
    ("*", "Api"): "the X-Telegram-Bot-Api-Secret-Token header",
    ("*", "loc"): "pydantic's error location key",
    ("*", "deps"): "the key the handlers' dependencies are stored under",
    ("*", "EEEE"): "a CLDR date pattern (weekday)",
    ("*", "valga"): "an event or survey id in a usage example (valga-2027)",
    ("*", "ekspertu"): "the bot's username in a settings example (ekspertu_tikls_bot)",
    ("*", "tikls"): "the bot's username and sender address in settings examples",
    ("bot/services/surveys/files.py", "Kāpēc"): "a YAML example for survey-file authors",
}


# Latvian and Estonian words that en_US also accepts (as "pasts", plural of "past"), so that
# the dictionaries alone would let "e-pasts" through: each is local wherever it appears.
FALSE_FRIENDS = {"pasts": "lv e-pasts (email)", "pasta": "lv e-pasta", "pastu": "lv e-pastu"}


@dataclass(frozen=True)
class Literal:
    """A string literal in the package, where it is."""

    path: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.text!r}"


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _quiet(tree: ast.AST) -> set[int]:
    """Return the ids of the nodes inside log calls, raises and asserts."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        inside: list[ast.AST] = []
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else ""
            if name in LOG_CALLS:
                inside = [*node.args, *node.keywords]
        elif isinstance(node, ast.Raise) and node.exc is not None:
            inside = [node.exc]
        elif isinstance(node, ast.Assert) and node.msg is not None:
            inside = [node.msg]
        for part in inside:
            skipped |= {id(child) for child in ast.walk(part)}
    return skipped


def literals(root: Path, package: str = "bot") -> Iterator[Literal]:
    """Yield the string literals of a package that a person might read."""
    for path in sorted((root / package).rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"), filename=str(path))
        skipped = _docstrings(tree) | _quiet(tree)
        relative = str(path.relative_to(root))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in skipped
                and WORD.search(node.value)
            ):
                yield Literal(relative, node.lineno, node.value)


def allowed(path: str, word: str) -> bool:
    """Return whether the word is on the reviewed list for this file."""
    return any(key in ALLOWED for key in ((path, word), ("*", word), (path, "*")))


def words(found: list[Literal]) -> list[str]:
    """Return every word of the literals (and in lower case), for one batched Hunspell call."""
    found_words = {word for literal in found for word in WORD.findall(literal.text)}
    return sorted(found_words | {word.lower() for word in found_words})


def local_words(found: list[Literal], speller: Speller) -> list[str]:
    """Return a problem for every literal with a word lv_LV or et_EE knows and en_US does not."""
    problems = []
    for literal in found:
        local = [
            word
            for word in WORD.findall(literal.text)
            if (
                word.lower() in FALSE_FRIENDS
                or (
                    not speller.accepts("en", word)
                    and not speller.accepts("en", word.lower())
                    and (speller.accepts("lv", word) or speller.accepts("et", word))
                )
            )
            and not allowed(literal.path, word)
        ]
        if local:
            problems.append(
                f"{literal}: {', '.join(local)} - a word people read belongs in "
                "messages/<lang>/ or messages/labels.yaml"
            )
    return problems
