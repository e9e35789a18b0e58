"""The reviewed data the gate reads: per-language allow-lists and the glossary with its avoid list.

allow-<lang>.txt: one word a line, then "#" and why the dictionary may not know it:
    romu  # genitive plural of "romi" (Roma); lv_LV lacks the word
glossary.csv: the table of /work/shared/GLOSSARY.md (concept, lv, et, en), plus `where`: the places
a template must show the concept in exactly these words, separated by ";":
    link <value>     a link to this value is labelled with the word ("link rsvp_links.accept");
                     an email body given the value must show that link
    subject <kind>   the email subject of this message kind starts with the word
    heading <value>  when the value is not empty, the word (capitalised) is a line of its own
avoid.csv: words that must not stand in for a glossary term (language, avoid, concept, why);
a trailing "*" matches any ending ("ielūgum*"), a space makes it a phrase.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from tests.language.text import WORD

HERE = Path(__file__).parent
PLACES = ("link", "subject", "heading")
ENTRY = re.compile(r"^(?P<word>[^#\s]+)(?:\s+#\s*(?P<why>.*?))?\s*$")


@dataclass
class AllowList:
    """Words a language's dictionary lacks but our templates rightly use, each with a reason."""

    path: Path
    entries: dict[str, str] = field(default_factory=dict)  # casefolded word -> why
    spelling: dict[str, str] = field(default_factory=dict)  # casefolded word -> as written
    lines: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def allows(self, word: str) -> bool:
        """Return whether the word is on the list (in any letter case)."""
        return word.casefold() in self.entries


def read_allow_list(path: Path) -> AllowList:
    """Read an allow-list, noting every line that is not `word  # why`."""
    allow = AllowList(path)
    name = f"{path.parent.name}/{path.name}"
    if not path.is_file():
        allow.problems.append(f"{name} is missing")
        return allow
    for number, raw in enumerate(path.read_text("utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = ENTRY.match(line)
        if not match:
            allow.problems.append(f"{name}:{number}: one word per line, then '# why': {raw!r}")
            continue
        word, why = match["word"], match["why"]
        key = word.casefold()
        if not why:
            allow.problems.append(f"{name}:{number}: {word!r} has no justification ('# why')")
        if WORD.fullmatch(word) is None:
            allow.problems.append(f"{name}:{number}: {word!r} is not a single word")
        if key in allow.entries:
            allow.problems.append(f"{name}:{number}: {word!r} is listed twice")
        allow.entries[key] = why or ""
        allow.spelling[key] = word
        allow.lines[key] = number
    return allow


@cache
def allow_list(language: str) -> AllowList:
    """Return the reviewed allow-list of a language, tests/language/allow-<lang>.txt."""
    return read_allow_list(HERE / f"allow-{language}.txt")


@dataclass(frozen=True)
class Term:
    """One row of the glossary: a concept and its words in each language."""

    concept: str
    words: dict[str, str]
    where: tuple[tuple[str, str], ...] = ()  # (place, target): ("link", "rsvp_links.accept")

    def __hash__(self) -> int:
        return hash(self.concept)

    def word(self, language: str, capitalised: bool = False) -> str:
        """Return the term in a language, optionally with a capital first letter."""
        word = self.words[language]
        return word[:1].upper() + word[1:] if capitalised else word


@dataclass(frozen=True)
class Avoid:
    """A word that must not stand in for a glossary term."""

    language: str
    pattern: str
    concept: str
    why: str

    def matches(self, words: list[str], text: str) -> bool:
        """Return whether the words (or, for a phrase, the text) contain the avoided word."""
        wanted = self.pattern.casefold()
        if " " in wanted:
            ending = "" if wanted.endswith("*") else r"(?!\w)"
            phrase = r"(?<!\w)" + re.escape(wanted.rstrip("*")) + ending
            return re.search(phrase, " ".join(text.casefold().split())) is not None
        if wanted.endswith("*"):
            return any(word.casefold().startswith(wanted[:-1]) for word in words)
        return any(word.casefold() == wanted for word in words)


@cache
def glossary() -> dict[str, Term]:
    """Return the glossary by concept."""
    with (HERE / "glossary.csv").open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(row for row in file if not row.startswith("#")))
    return {
        row["concept"]: Term(
            row["concept"],
            {language: row[language] for language in ("lv", "et", "en")},
            tuple(
                tuple(rule.split(None, 1))
                for rule in (row.get("where") or "").split(";")
                if rule.strip()
            ),
        )
        for row in rows
    }


@cache
def avoid_list() -> list[Avoid]:
    """Return the avoided synonyms of every language."""
    with (HERE / "avoid.csv").open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(row for row in file if not row.startswith("#")))
    return [Avoid(row["language"], row["avoid"], row["concept"], row["why"]) for row in rows]


def glossary_problems() -> list[str]:
    """Return what is wrong with the glossary data itself."""
    terms = glossary()
    problems = [
        f"glossary.csv: {term.concept!r} has no {language} word"
        for term in terms.values()
        for language, word in term.words.items()
        if not word.strip()
    ]
    for term in terms.values():
        for rule in term.where:
            if len(rule) != 2 or rule[0] not in PLACES:
                problems.append(f"glossary.csv: {term.concept!r}: bad place {' '.join(rule)!r}")
    for avoid in avoid_list():
        if avoid.concept not in terms:
            problems.append(f"avoid.csv: {avoid.pattern!r} names unknown concept {avoid.concept!r}")
        if avoid.language not in ("lv", "et", "en"):
            problems.append(f"avoid.csv: {avoid.pattern!r} has unknown language {avoid.language!r}")
        if not avoid.why.strip():
            problems.append(f"avoid.csv: {avoid.pattern!r} ({avoid.language}) has no reason")
    return problems
