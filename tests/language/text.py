"""Visible text of rendered templates, and the words in it that come from the template.

A template is rendered twice: once with the sample values, for layout and link checks, and once
with every string value replaced by MASK, so that names, places and titles given as data are
never taken for template text. Words that touch MASK ("{{ name }}s") belong to the value too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from html.parser import HTMLParser
from typing import Any

# A private-use character: no template, dictionary or value has it.
MASK = "\ue000"

# Block-level HTML elements end a visible line; everything else flows inline.
_BLOCKS = """address article aside blockquote body br dd div dl dt footer form h1 h2 h3 h4 h5 h6
head header hr html li main nav ol p pre section svg table tbody td text tfoot th thead title tr
ul"""
BLOCK_TAGS = frozenset(_BLOCKS.split())
INVISIBLE_TAGS = frozenset({"script", "style", "template"})

URL = re.compile(
    r"(?:https?|ftp|tg)://\S+|mailto:\S+|www\.\S+"
    r"|\b[\w-]+(?:\.[\w-]+)+/\S*"  # t.me/expertbot_lv_bot
    r"|\b(?:[\w-]+\.)+(?:lv|ee|eu|com|org|net|me|io|gov)\b"
)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Bot commands (/help, /start) are identifiers the person types, not words of the language.
COMMAND = re.compile(r"(?<![\w/])/[a-z_]{2,32}\b")
# Runs of word characters with the apostrophes and hyphens inside them: the unit a value
# touches. Words proper are letters only, with an inner apostrophe (English "can't").
CHUNK = re.compile(rf"[\w'’\-{MASK}]+")
WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")


def mask_values(values: Any) -> Any:
    """Return the values with every non-empty string replaced by MASK, keeping the shape."""
    if isinstance(values, str):
        return MASK if values else ""
    if isinstance(values, Mapping):
        return {key: mask_values(value) for key, value in values.items()}
    if isinstance(values, list | tuple):
        return [mask_values(value) for value in values]
    return values


def value_strings(values: Any) -> Iterator[str]:
    """Yield every string in the values, however deeply nested."""
    if isinstance(values, str):
        yield values
    elif isinstance(values, Mapping):
        for value in values.values():
            yield from value_strings(value)
    elif isinstance(values, list | tuple):
        for value in values:
            yield from value_strings(value)


class _VisibleText(HTMLParser):
    """Collect what a reader sees in an HTML document, one line per block, and its links."""

    blocks = BLOCK_TAGS
    collapse_whitespace = True

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[tuple[str, str]] = []
        self.hidden = 0
        self.href: str | None = None
        self.label: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in INVISIBLE_TAGS:
            self.hidden += 1
        elif tag in self.blocks:
            self.parts.append("\n")
        if tag == "a":
            self.href, self.label = dict(attrs).get("href") or "", []

    def handle_endtag(self, tag: str) -> None:
        if tag in INVISIBLE_TAGS:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.blocks:
            self.parts.append("\n")
        if tag == "a" and self.href is not None:
            self.links.append((self.href, " ".join("".join(self.label).split())))
            self.href = None

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        if self.collapse_whitespace:  # in HTML a line break in the source is just a space
            data = re.sub(r"\s+", " ", data)
        self.parts.append(data)
        if self.href is not None:
            self.label.append(data)


class _TelegramText(_VisibleText):
    """Telegram HTML: the text's own line breaks are what the reader sees; tags are inline."""

    blocks = frozenset()
    collapse_whitespace = False


def _parse(rendered: str, markup: str) -> _VisibleText:
    parser = _TelegramText() if markup == "telegram" else _VisibleText()
    parser.feed(rendered)
    parser.close()
    return parser


def visible_lines(rendered: str, markup: str) -> list[str]:
    """Return the lines a reader sees, markup removed; for HTML, one line per block."""
    if markup == "text":
        return rendered.splitlines()
    joined = "".join(_parse(rendered, markup).parts)
    if markup == "html":
        lines = (" ".join(line.split()) for line in joined.split("\n"))
        return [line for line in lines if line]
    return joined.splitlines()


def visible_text(rendered: str, markup: str) -> str:
    """Return the text a reader sees, without markup, entities, URLs or email addresses."""
    text = "\n".join(visible_lines(rendered, markup))
    return COMMAND.sub(" ", EMAIL.sub(" ", URL.sub(" ", text)))


def links(rendered: str, markup: str) -> list[tuple[str, str]]:
    """Return (address, visible label) for every link a reader can follow.

    HTML: each <a href> with its text. Plain text: each URL with the words before it on its line
    ("Piedalīšos: https://..."), or, for a URL alone on its line, the line before it.
    """
    if markup != "text":
        return _parse(rendered, markup).links
    found = []
    lines = rendered.splitlines()
    for number, line in enumerate(lines):
        for match in URL.finditer(line):
            before = line[: match.start()].strip()
            if not before and number > 0:
                before = lines[number - 1].strip()
            found.append((match.group().rstrip(".,;)"), before.rstrip(": ").strip()))
    return found


def words(text: str) -> list[str]:
    """Return the words of a visible text in order, leaving out any that touch a masked value."""
    text = text.replace("’", "'")
    found: list[str] = []
    for chunk in CHUNK.findall(text):
        if MASK not in chunk:
            found.extend(WORD.findall(chunk))
    return found
