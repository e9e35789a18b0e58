"""The checks of the language gate, each over all renderings of one template in one language.

Every check returns a list of problems, each naming the template and its language, so a test
asserts the list is empty and the seeded fixtures assert their mistake is in it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from tests.language import lists, text
from tests.language.hunspell import DICTIONARIES, Speller
from tests.language.templates import Rendering

# Letters of one language that the other lacks; a template keeps to its own.
FOREIGN_LETTERS = {
    "lv": "õäöüÕÄÖÜ",
    "et": "āēīūčģķļņĀĒĪŪČĢĶĻŅ",
    "en": "õäöüÕÄÖÜāēīūčģķļņĀĒĪŪČĢĶĻŅšžŠŽ",
}
# The neighbour whose words would be a slip in each language's text.
NEIGHBOURS = {"lv": ("et",), "et": ("lv",), "en": ("lv", "et")}
NAMES = {"lv": "Latvian", "et": "Estonian", "en": "English"}
A = {"lv": "a Latvian", "et": "an Estonian", "en": "an English"}
# An lv or et text fails with this many English-only words in a row, or this share of them.
ENGLISH_RUN = 3
ENGLISH_SHARE = 0.10
# An empty table cell is fine (an agenda item without a time); an empty paragraph is not.
EMPTY_HTML = re.compile(r"<(p|h[1-6]|li|b|strong|i|em|a)\b[^>]*>\s*</\1>")
EMPTY_ITEM = re.compile(r"^\s*[,;]|,\s*,|\s,|\(\s*\)|,\s*\)|\(\s*,")
LABEL = re.compile(r"[^\W\d_][\w '’.-]*:")
Problems = list[str]


def _context(rendering: Rendering, word: str) -> str:
    for line in rendering.template_text.splitlines():
        if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", line):
            return " ".join(line.replace(text.MASK, "{…}").split())
    return ""


def _per_word(
    renderings: Sequence[Rendering], flagged: Callable[[Rendering, str], str | None]
) -> Problems:
    """Report each flagged word once, with the first sample and line it was seen in."""
    seen: set[str] = set()
    problems = []
    for rendering in renderings:
        for word in rendering.template_words:
            if word in seen:
                continue
            why = flagged(rendering, word)
            if why is not None:
                seen.add(word)
                problems.append(f"{rendering}: {word!r} {why}; in: {_context(rendering, word)!r}")
    return problems


def all_template_words(renderings: Iterable[Rendering]) -> set[str]:
    """Return every template word of the renderings, for one batched Hunspell call."""
    return {word for rendering in renderings for word in rendering.template_words}


def spelling(renderings: Sequence[Rendering], speller: Speller) -> Problems:
    """Words the language's dictionary does not know and its allow-list does not list."""

    def flagged(rendering: Rendering, word: str) -> str | None:
        language = rendering.unit.language
        if speller.accepts(language, word) or lists.allow_list(language).allows(word):
            return None
        knowers = [
            DICTIONARIES[other]
            for other in DICTIONARIES
            if other != language and speller.accepts(other, word)
        ]
        verb = "knows" if len(knowers) == 1 else "know"
        hint = f" ({', '.join(knowers)} {verb} it)" if knowers else ""
        return (
            f"is not in {DICTIONARIES[language]} nor in tests/language/allow-{language}.txt{hint}"
        )

    return _per_word(renderings, flagged)


def foreign_letters(renderings: Sequence[Rendering]) -> Problems:
    """Words with letters the language does not have (õ ä ö ü in Latvian, ā č ē ... in Estonian)."""

    def flagged(rendering: Rendering, word: str) -> str | None:
        language = rendering.unit.language
        letters = sorted(set(word) & set(FOREIGN_LETTERS[language]))
        if not letters or lists.allow_list(language).allows(word):
            return None
        return f"has {''.join(letters)}, which {NAMES[language]} does not use"

    return _per_word(renderings, flagged)


def foreign_words(renderings: Sequence[Rendering], speller: Speller) -> Problems:
    """Words the language's dictionary rejects but a neighbour's accepts: a mixed-up language."""

    def flagged(rendering: Rendering, word: str) -> str | None:
        language = rendering.unit.language
        if speller.accepts(language, word) or lists.allow_list(language).allows(word):
            return None
        if not any(speller.accepts(other, word) for other in NEIGHBOURS[language]):
            return None
        others = [other for other in DICTIONARIES if other != language]
        knowers = [other for other in others if speller.accepts(other, word)]
        return (
            f"is {' or '.join(NAMES[other] for other in knowers)} "
            f"({', '.join(DICTIONARIES[other] for other in knowers)} "
            f"{'knows' if len(knowers) == 1 else 'know'} it), in {A[language]} text"
        )

    return _per_word(renderings, flagged)


def english(renderings: Sequence[Rendering], speller: Speller) -> Problems:
    """English left in a Latvian or Estonian text: a run of English-only words, or too many.

    Words both dictionaries know ("as", "no", "Start") neither count nor break a run, so
    "Please reply as soon as possible" is a run of four English-only words.
    """
    problems = []
    for rendering in renderings:
        language = rendering.unit.language
        if language == "en":
            continue
        allow = lists.allow_list(language)
        words = rendering.template_words
        english_only = 0
        run: list[str] = []  # the current stretch, shared words included
        counted = longest = 0
        longest_run: list[str] = []
        for word in words:
            in_english = speller.accepts("en", word) and not allow.allows(word)
            in_own = speller.accepts(language, word) or allow.allows(word)
            if in_english and not in_own:
                english_only += 1
                run, counted = [*run, word], counted + 1
            elif in_english and run:
                run = [*run, word]
            else:
                run, counted = [], 0
            if counted > longest:
                longest, longest_run = counted, run
        share = english_only / len(words) if words else 0.0
        if longest >= ENGLISH_RUN or share > ENGLISH_SHARE:
            problems.append(
                f"{rendering}: English in {A[language]} text: {' '.join(longest_run)!r} "
                f"({longest} English-only words in a row; {share:.0%} of all its words)"
            )
    return problems


def _value(values: Mapping[str, Any], path: str) -> Any:
    value: Any = values
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _shows(rendering: Rendering, value: Any) -> bool:
    """Return whether the rendering shows some text of the value (an agenda's titles)."""
    if rendering.unit.variant == "subject":
        return False
    visible = rendering.visible
    return any(len(part) > 3 and part in visible for part in text.value_strings(value))


def glossary(renderings: Sequence[Rendering]) -> Problems:
    """Buttons, links, subjects and headings in the glossary's words; no avoided synonyms."""
    problems: Problems = []
    for rendering in renderings:
        unit, language = rendering.unit, rendering.unit.language
        for term in lists.glossary().values():
            expected = term.word(language)
            for place, target in term.where:
                if place == "link":
                    problems += _link_problems(rendering, term.concept, expected, target)
                elif place == "subject" and unit.variant == "subject" and unit.kind == target:
                    if not rendering.template_text.startswith(term.word(language, True)):
                        problems.append(
                            f"{rendering}: the subject should start with the glossary's "
                            f"{term.word(language, True)!r} ({term.concept}): "
                            f"{rendering.template_text!r}"
                        )
                elif place == "heading" and _shows(rendering, _value(rendering.values, target)):
                    heading = term.word(language, True)
                    if heading not in text.visible_lines(rendering.output, unit.markup):
                        problems.append(
                            f"{rendering}: shows {target} without the glossary's heading "
                            f"{heading!r} ({term.concept}) on a line of its own"
                        )
        words = rendering.template_words
        for avoid in lists.avoid_list():
            if avoid.language == language and avoid.matches(words, rendering.template_text):
                term = lists.glossary()[avoid.concept]
                problems.append(
                    f"{rendering}: uses {avoid.pattern!r}; the glossary's word for "
                    f"{avoid.concept} is {term.word(language)!r} ({avoid.why})"
                )
    return sorted(set(problems), key=problems.index)


def _link_problems(rendering: Rendering, concept: str, expected: str, target: str) -> Problems:
    unit = rendering.unit
    address = _value(rendering.values, target)
    if not isinstance(address, str) or not address:
        return []
    shown = [label for href, label in text.links(rendering.output, unit.markup) if href == address]
    problems = [
        f"{rendering}: the {concept!r} link reads {label!r}; the glossary says {expected!r}"
        for label in shown
        if label != expected
    ]
    if not shown and unit.variant in ("text", "html"):
        problems.append(
            f"{rendering}: the email is given {target} but shows no {expected!r} link ({concept})"
        )
    return problems


def _led_by_value(line: str, masked: bool) -> bool:
    """Return whether a line starts with a value, which the line before may introduce.

    "Atgādinām par pasākumu:" introduces the title on the next line. Without a masked rendering
    a value cannot be told from template text, so then any next line will do.
    """
    return line.startswith(text.MASK) if masked else bool(line)


def layout(renderings: Sequence[Rendering]) -> Problems:
    """Gaps where a value was missing: empty labels and lines, doubled blank lines, None."""
    problems: Problems = []
    for rendering in renderings:
        masked = rendering.masked is not None
        output = rendering.masked if rendering.masked is not None else rendering.output
        markup = rendering.unit.markup
        found = []
        if markup != "html" and "\n\n\n" in output:
            found.append("two blank lines in a row")
        if markup != "text":
            found += [f"an empty <{match[1]}>" for match in EMPTY_HTML.finditer(output)]
        lines = text.visible_lines(output, markup)
        for number, line in enumerate(lines, start=1):
            shown = line.strip()
            after = lines[number].strip() if number < len(lines) else ""
            quoted = repr(shown.replace(text.MASK, "{…}"))
            if line and not shown:
                found.append(f"line {number} is only whitespace")
            elif shown and not re.search(rf"[\w{text.MASK}]", shown):
                found.append(f"line {number} is only punctuation: {quoted}")
            elif (
                LABEL.fullmatch(shown)
                and len(shown.split()) <= 3
                and not _led_by_value(after, masked)
            ):
                found.append(f"a label with nothing after it: {quoted}")
            elif shown.endswith(":") and not any(rest.strip() for rest in lines[number:]):
                found.append(f"ends with a colon and nothing after it: {quoted}")
            if re.search(r"\bNone\b", line):
                found.append(f"shows None: {quoted}")
            if EMPTY_ITEM.search(line):
                found.append(f"an empty item in a list: {quoted}")
        problems += [f"{rendering}: {problem}" for problem in found]
    return problems
