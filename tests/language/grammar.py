"""Grammar checks a spell checker cannot make: counts, the case of dates, the polite register.

- Counts: every whole number in a template's values is set to each of COUNTS in turn; where the
  number is printed before a word, the word must change with CLDR's plural category (a bare
  `{{ count }}` prints "1 jauni dalībnieki") and be the form that plurals.csv, a reviewed table
  of Latvian and Estonian noun forms, gives for that category.
- Dates: after a preposition the date's month takes the case the preposition governs
  (lv "līdz" + dative "februārim", et "kuni" + terminative "veebruarini").
- Register: one form of the polite pronoun per language (capitalised Jūs, Teie), never both.
"""

from __future__ import annotations

import csv
import difflib
import re
from collections.abc import Container, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from babel import Locale
from babel.numbers import format_decimal

from bot.textformat import BABEL_LOCALES, LATVIAN_LOCATIVE_MONTHS
from tests.language import text
from tests.language.lists import HERE
from tests.language.templates import Rendering, Unit

Problems = list[str]

# The numbers a count is set to: every CLDR category of Latvian (zero, one, other) and Estonian
# and English (one, other), with the teens and the hundreds that trip hand-made rules.
COUNTS = (0, 1, 2, 5, 11, 21, 101)
# The number a count is compared with: "other" in every language, and in no sample's dates.
REFERENCE = 7
# Words that may follow a bare number because they do not agree with it: "3 no 21", "3 of 21".
CONNECTORS = {"lv": {"no"}, "et": {"st"}, "en": {"of"}}
# Values that are not counts a reader sees with a noun (ids, positions, scales).
NOT_COUNTS = frozenset({"id", "position", "scale"})
TOKEN = re.compile(r"\d+(?:[.,:]\d+)*|[^\W\d_]+(?:['’-][^\W\d_]+)*|\n|\S")


def _category(n: int, language: str) -> str:
    return str(Locale.parse(BABEL_LOCALES[language]).plural_form(n))


@dataclass(frozen=True)
class Paradigm:
    """The forms of one word after a number: one, other and (Latvian) the form after 0."""

    language: str
    one: str
    other: str
    none: str

    def expected(self, n: int) -> str:
        """Return the form a number needs, by CLDR's category (Latvian "zero" reads as other)."""
        if n == 0 and self.none:
            return self.none
        return self.one if _category(n, self.language) == "one" else self.other


@cache
def paradigms() -> dict[str, list[Paradigm]]:
    """Return the reviewed forms of tests/language/plurals.csv, by language."""
    with (HERE / "plurals.csv").open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(row for row in file if not row.startswith("#")))
    found: dict[str, list[Paradigm]] = {}
    for row in rows:
        found.setdefault(row["language"], []).append(
            Paradigm(row["language"], row["one"], row["other"], row.get("none") or "")
        )
    return found


def _forms(language: str) -> dict[str, list[Paradigm]]:
    by_word: dict[str, list[Paradigm]] = {}
    for paradigm in paradigms().get(language, []):
        for form in {paradigm.one, paradigm.other, paradigm.none} - {""}:
            by_word.setdefault(form.casefold(), []).append(paradigm)
    return by_word


def int_paths(values: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Yield the path to every whole number in the values (not booleans), however nested."""
    if isinstance(values, bool):
        return
    if isinstance(values, int):
        if not (prefix and prefix[-1] in NOT_COUNTS):
            yield prefix
    elif isinstance(values, Mapping):
        for key, value in values.items():
            yield from int_paths(value, (*prefix, key))
    elif isinstance(values, list | tuple):
        for index, value in enumerate(values):
            yield from int_paths(value, (*prefix, index))


def _with(values: Any, path: tuple[Any, ...], n: int) -> Any:
    """Return a copy of the values with the number at `path` set to n (tuples stay tuples)."""
    if not path:
        return n
    head, rest = path[0], path[1:]
    if isinstance(values, Mapping):
        return {**values, head: _with(values[head], rest, n)}
    items = [_with(v, rest, n) if i == head else v for i, v in enumerate(values)]
    return tuple(items) if isinstance(values, tuple) else items


def _tokens(rendered: str, markup: str) -> list[str]:
    return TOKEN.findall(text.visible_text(rendered, markup))


def _name(path: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in path)


def _words_after(tokens: list[str], index: int) -> list[str]:
    """Return up to three words after a number, stopping at a line end or punctuation."""
    words = []
    for token in tokens[index + 1 : index + 4]:
        if not re.fullmatch(r"[^\W\d_].*", token):
            break
        words.append(token)
    return words


def _changes(a: list[str], b: list[str]) -> Iterator[tuple[int, int, int, int]]:
    """Yield the (a1, a2, b1, b2) spans where two renderings differ, quickly for long texts."""
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    end = 0
    while end < min(len(a), len(b)) - start and a[-1 - end] == b[-1 - end]:
        end += 1
    # Keep a few tokens of context, so that the words after a changed number are in the span.
    start, end = max(0, start - 4), max(0, end - 4)
    matcher = difflib.SequenceMatcher(
        a=a[start : len(a) - end], b=b[start : len(b) - end], autojunk=False
    )
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        if tag != "equal":
            yield start + a1, start + a2, start + b1, start + b2


def count_problems(
    unit: Unit, values: Mapping[str, Any], sample: int, skip: Container[tuple[Any, ...]] = ()
) -> Problems:
    """Set every count of one sample to each of COUNTS and check the words printed after it."""
    problems: Problems = []
    language = unit.language
    forms = _forms(language)
    for path in int_paths(values):
        if path in skip:
            continue
        reference = _tokens(unit.render(_with(values, path, REFERENCE)), unit.markup)
        for n in COUNTS:
            where = f"{unit} with sample {sample}, {_name(path)}={n}"
            try:
                tokens = _tokens(unit.render(_with(values, path, n)), unit.markup)
            except Exception as error:  # a count the template cannot show is a bug too
                problems.append(f"{where}: does not render: {error!r}")
                continue
            number = format_decimal(n, locale=BABEL_LOCALES[language])
            for a1, a2, b1, b2 in _changes(reference, tokens):
                for index in range(b1, b2):
                    if tokens[index] != number:
                        continue
                    words = _words_after(tokens, index)
                    if not words or words[0].casefold() in CONNECTORS[language]:
                        continue
                    shown = " ".join([number, *words])
                    before = [i for i in range(a1, a2) if reference[i] == str(REFERENCE)]
                    unchanged = any(_words_after(reference, i) == words for i in before)
                    if unchanged and _category(n, language) == "one":
                        problems.append(
                            f"{where}: a bare count, {shown!r} reads as after {REFERENCE}: "
                            "print it with |plural"
                        )
                        continue
                    if language not in ("lv", "et"):
                        continue
                    known = [word for word in words if word.casefold() in forms]
                    if not known:
                        problems.append(
                            f"{where}: {shown!r}: no word after the number is in "
                            "tests/language/plurals.csv; add its forms"
                        )
                    for word in known:
                        expected = {p.expected(n) for p in forms[word.casefold()]}
                        if word.casefold() not in {form.casefold() for form in expected}:
                            problems.append(
                                f"{where}: {shown!r}: after {number} {word!r} should read "
                                f"{' or '.join(sorted(expected))!r}"
                            )
    return problems


def counts(unit: Unit, renderings: Sequence[Rendering]) -> Problems:
    """Counts printed with the word forms their number needs, over every sample of a unit."""
    problems: Problems = []
    probed: set[tuple[Any, ...]] = set()  # a count is probed in the first sample that has it
    for rendering in renderings:
        problems += count_problems(unit, rendering.values, rendering.sample, probed)
        probed |= set(int_paths(rendering.values))
    return sorted(set(problems), key=problems.index)


# --- Dates after prepositions ------------------------------------------------------------------


def _names(text: str) -> list[str]:
    return text.split()


LATVIAN_MONTHS = {
    "nominative": _names(
        "janvāris februāris marts aprīlis maijs jūnijs jūlijs augusts septembris oktobris "
        "novembris decembris"
    ),
    "genitive": _names(
        "janvāra februāra marta aprīļa maija jūnija jūlija augusta septembra oktobra "
        "novembra decembra"
    ),
    "dative": _names(
        "janvārim februārim martam aprīlim maijam jūnijam jūlijam augustam septembrim "
        "oktobrim novembrim decembrim"
    ),
    "locative": list(LATVIAN_LOCATIVE_MONTHS),
}
_ESTONIAN_STEMS = _names(
    "jaanuari veebruari märtsi aprilli mai juuni juuli augusti septembri oktoobri novembri "
    "detsembri"
)
ESTONIAN_MONTHS = {
    "nominative": _names(
        "jaanuar veebruar märts aprill mai juuni juuli august september oktoober november detsember"
    ),
    "genitive": _ESTONIAN_STEMS,
    "terminative": [stem + "ni" for stem in _ESTONIAN_STEMS],
    "translative": [stem + "ks" for stem in _ESTONIAN_STEMS],
    "adessive": [stem + "l" for stem in _ESTONIAN_STEMS],
    "elative": [stem + "st" for stem in _ESTONIAN_STEMS],
}
MONTHS = {"lv": LATVIAN_MONTHS, "et": ESTONIAN_MONTHS}
# The case each preposition governs, and how a dated phrase that needs it reads.
GOVERNS: dict[str, dict[str, tuple[str, ...]]] = {
    "lv": {
        "līdz": ("dative",),  # līdz 2027. gada 11. februārim
        "pirms": ("genitive",),  # pirms 11. februāra
        "no": ("genitive",),  # no 11. februāra
        "kopš": ("genitive",),  # kopš 11. februāra
        "pēc": ("genitive",),  # pēc 11. februāra
    },
    "et": {
        "kuni": ("terminative",),  # kuni 11. veebruarini
        "hiljemalt": ("translative", "adessive"),  # hiljemalt 16. juuniks / 16. juunil
        "alates": ("elative",),  # alates 11. veebruarist
        "enne": ("genitive",),  # enne 11. veebruari
        "pärast": ("genitive",),  # pärast 11. veebruari
    },
}
_DATE_AFTER = {
    "lv": r"(?:\d{{4}}\.\s+gada\s+)?\d{{1,2}}\.\s+(?P<month>[^\W\d_]+)",
    "et": r"\d{{1,2}}\.\s+(?P<month>[^\W\d_]+)",
}


def _case_of(month: str, language: str) -> list[str]:
    return [case for case, names in MONTHS[language].items() if month.casefold() in names]


def date_cases(renderings: Sequence[Rendering]) -> Problems:
    """Dates after līdz, kuni, hiljemalt and the like, in the case the preposition governs."""
    problems: Problems = []
    for rendering in renderings:
        language = rendering.unit.language
        if language not in GOVERNS:
            continue
        visible = " ".join(rendering.visible.split())
        for preposition, cases in GOVERNS[language].items():
            pattern = rf"(?<!\w){preposition}:?\s+" + _DATE_AFTER[language].format()
            for match in re.finditer(pattern, visible, flags=re.IGNORECASE):
                found = _case_of(match["month"], language)
                if not found or set(found) & set(cases):
                    continue
                month = MONTHS[language][found[0]].index(match["month"].casefold())
                wanted = " or ".join(MONTHS[language][case][month] for case in cases)
                problems.append(
                    f"{rendering}: {match.group()!r}: {preposition!r} takes the "
                    f"{' or '.join(cases)} ({wanted!r}), not the {found[0]}; or rephrase "
                    'as a label ("Vastamise tähtaeg: …")'
                )
    return sorted(set(problems), key=problems.index)


# --- The polite register -----------------------------------------------------------------------

# The forms of the polite "you" that the chosen register writes with a capital.
PRONOUNS = {
    "lv": frozenset({"jūs", "jums", "jūsu", "jūsos"}),
    "et": frozenset({"te", "teie", "teid", "teile", "teil", "teilt", "teiega", "teieni"}),
}


def register_words(words: Sequence[str], language: str) -> Problems:
    """Return the polite pronouns written in lower case, against the capitalised register."""
    return [word for word in words if word in PRONOUNS.get(language, ())]


def register(renderings: Sequence[Rendering]) -> Problems:
    """One register per language: the polite pronoun always capitalised (Jūs, Te, Teie)."""
    problems: Problems = []
    for rendering in renderings:
        language = rendering.unit.language
        lower = register_words(rendering.template_words, language)
        if lower:
            capitalised = ", ".join(word[:1].upper() + word[1:] for word in sorted(set(lower)))
            problems.append(
                f"{rendering}: {', '.join(sorted(set(lower)))!r} in lower case; every "
                f"{'Latvian' if language == 'lv' else 'Estonian'} text addresses its reader "
                f"as {capitalised!r}"
            )
    return sorted(set(problems), key=problems.index)


# --- Latvian participles that take the reader's gender ----------------------------------------

# "Jūs esat reģistrēts" is right for a man only; the texts go to everyone, so they say
# "Jūsu dalība ir reģistrēta" instead. Past participles after "Jūs esat/bijāt" (one word
# between allowed): masculine -ts, -is, -ies, feminine -ta, -usi, -usies.
GENDERED = re.compile(
    r"\bJūs\s+(?:esat|bijāt|būsiet)\s+(?:[^\W\d_]+\s+)?"
    r"(?P<word>[^\W\d_]+(?:ts|ta|ējis|ījis|ājis|ies|usi|usies))\b"
)


def gender(renderings: Sequence[Rendering]) -> Problems:
    """Latvian texts that address the reader with a participle of one gender."""
    problems: Problems = []
    for rendering in renderings:
        if rendering.unit.language != "lv":
            continue
        for match in GENDERED.finditer(" ".join(rendering.template_text.split())):
            problems.append(
                f"{rendering}: {match.group()!r}: {match['word']!r} takes one gender; say it "
                'without a participle for the reader ("Jūsu dalība ir reģistrēta")'
            )
    return sorted(set(problems), key=problems.index)


# --- Punctuation where a value meets the template ----------------------------------------------

# A full stop after a value that ends with one ("…atbalstu.. Statuss:"), or a comma against
# a full stop: the template should not add punctuation after free text.
DOUBLED = re.compile(r"(?<![.…])\.\.(?![.…])|[,;:]\.(?!\.)|\.,")


def punctuation(renderings: Sequence[Rendering]) -> Problems:
    """Doubled punctuation where a template adds a full stop after text that has one."""
    problems: Problems = []
    for rendering in renderings:
        for line in text.visible_lines(rendering.output, rendering.unit.markup):
            for match in DOUBLED.finditer(text.URL.sub(" ", line)):
                start = max(0, match.start() - 30)
                problems.append(
                    f"{rendering}: doubled punctuation {match.group()!r} in "
                    f"{line[start : match.end() + 20]!r}"
                )
    return sorted(set(problems), key=problems.index)
