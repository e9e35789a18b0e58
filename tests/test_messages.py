"""Checks over every template in messages/<lang>/ (every surface): same files and values in
every language, Telegram-safe HTML within Telegram's length limit, escaping, no gaps."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from jinja2 import meta, nodes

from bot.rendering import LANGUAGES, VARIANTS, Renderer, default_messages_dir
from tests.samples import sample_values

MESSAGES = default_messages_dir()
RENDERER = Renderer()
KINDS = RENDERER.kinds()
TELEGRAM_LIMIT = 4096
# Tags and attributes Telegram's HTML parse mode accepts.
TELEGRAM_TAGS: dict[str, set[str]] = {
    **{tag: set() for tag in ("b", "strong", "i", "em", "u", "ins", "s", "strike", "del")},
    **{tag: set() for tag in ("code", "pre", "blockquote", "tg-spoiler")},
    "a": {"href"},
    "span": {"class"},
}
TELEGRAM_ENTITIES = {"lt", "gt", "amp", "quot"}
# Letters one language has and the other lacks; templates keep to their own language.
FOREIGN_LETTERS = {
    "lv": "õäöüÕÄÖÜ",
    "et": "āēīūčģķļņĀĒĪŪČĢĶĻŅ",
    "en": "õäöüÕÄÖÜāēīūčģķļņĀĒĪŪČĢĶĻŅšžŠŽ",
}

CASES = [
    pytest.param(kind, language, values, id=f"{kind}-{language}-{number}")
    for kind in KINDS
    for language in LANGUAGES
    for number, values in enumerate(sample_values(kind))
]


def template_files(language: str) -> set[str]:
    """Return the template files of one language, every surface: "outbound/rec_done.email.txt"."""
    folder = MESSAGES / language
    return {str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()}


def used_values(source: str) -> set[str]:
    """Return the values a template reads, as names and dotted paths ("event.venue.address")."""
    tree = RENDERER.environment.parse(source)
    roots = meta.find_undeclared_variables(tree)
    paths = set(roots)
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        path = dotted_path(node)
        if path and path.split(".")[0] in roots:
            paths.add(path)
    return paths


def dotted_path(node: nodes.Node) -> str | None:
    """Spell `a.b["c"]` as "a.b.c"; None when the chain does not start at a plain name."""
    parts: list[str] = []
    while isinstance(node, nodes.Getattr | nodes.Getitem):
        if isinstance(node, nodes.Getattr):
            parts.append(node.attr)
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            parts.append(node.arg.value)
        else:
            return None
        node = node.node
    if not isinstance(node, nodes.Name):
        return None
    return ".".join([node.name, *reversed(parts)])


class TelegramHTMLChecker(HTMLParser):
    """Collect what Telegram's HTML parse mode would reject."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.problems: list[str] = []
        self.open_tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TELEGRAM_TAGS:
            self.problems.append(f"tag <{tag}>")
            return
        for name, value in attrs:
            if name not in TELEGRAM_TAGS[tag]:
                self.problems.append(f"attribute {name} on <{tag}>")
            elif tag == "span" and value != "tg-spoiler":
                self.problems.append(f'<span class="{value}">')
        self.open_tags.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.problems.append(f"self-closing tag <{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        if not self.open_tags or self.open_tags.pop() != tag:
            self.problems.append(f"unbalanced </{tag}>")

    def handle_entityref(self, name: str) -> None:
        if name not in TELEGRAM_ENTITIES:
            self.problems.append(f"entity &{name};")

    def handle_comment(self, data: str) -> None:
        self.problems.append("comment")

    def handle_decl(self, decl: str) -> None:
        self.problems.append(f"declaration {decl}")


def telegram_problems(text: str) -> list[str]:
    """Return what Telegram would reject in a rendered Telegram HTML message."""
    checker = TelegramHTMLChecker()
    checker.feed(text)
    checker.close()
    return checker.problems + [f"unclosed <{tag}>" for tag in checker.open_tags]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_has_the_templates_the_others_have(language: str) -> None:
    everything = set().union(*(template_files(other) for other in LANGUAGES))
    assert everything - template_files(language) == set()


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_kind_has_all_four_variants(language: str) -> None:
    for kind in KINDS:
        for suffix in VARIANTS.values():
            assert (MESSAGES / language / "outbound" / f"{kind}.{suffix}").is_file(), (
                f"{language}/{kind}.{suffix}"
            )


def test_the_first_message_kinds_exist() -> None:
    assert {"event_invitation", "event_reminder", "telegram_invite_link"} <= set(KINDS)


@pytest.mark.parametrize("name", sorted(template_files("lv")))
def test_a_template_reads_the_same_values_in_every_language(name: str) -> None:
    used = {
        language: used_values((MESSAGES / language / name).read_text("utf-8"))
        for language in LANGUAGES
    }
    for language in LANGUAGES:
        assert used[language] == used["lv"], (
            f"{language}/{name} reads {sorted(used[language] - used['lv'])} that lv does not "
            f"and misses {sorted(used['lv'] - used[language])}"
        )


@pytest.mark.parametrize("language", LANGUAGES)
def test_templates_keep_to_the_letters_of_their_language(language: str) -> None:
    for name in sorted(template_files(language)):
        source = (MESSAGES / language / name).read_text("utf-8")
        foreign = sorted(set(source) & set(FOREIGN_LETTERS[language]))
        assert not foreign, f"{language}/{name} uses {''.join(foreign)}"


@pytest.mark.parametrize(("kind", "language", "values"), CASES)
def test_telegram_variant_uses_only_tags_telegram_accepts(
    kind: str, language: str, values: dict[str, Any]
) -> None:
    telegram = RENDERER.render_variant(kind, "telegram", language, values)
    assert telegram_problems(telegram) == []


@pytest.mark.parametrize(("kind", "language", "values"), CASES)
def test_telegram_variant_stays_under_telegrams_length_limit(
    kind: str, language: str, values: dict[str, Any]
) -> None:
    telegram = RENDERER.render_variant(kind, "telegram", language, values)
    # Telegram counts UTF-16 code units; counting the markup too keeps a margin.
    assert len(telegram.encode("utf-16-le")) // 2 <= TELEGRAM_LIMIT


def test_the_checker_rejects_what_telegram_rejects() -> None:
    assert telegram_problems('<b>ok</b> <a href="https://x">x</a> &lt; &amp;') == []
    assert telegram_problems("a<br>b") == ["tag <br>"]
    assert telegram_problems("<p>x</p>") == ["tag <p>", "unbalanced </p>"]
    assert telegram_problems('<a href="x" title="t">x</a>') == ["attribute title on <a>"]
    assert telegram_problems('<span class="big">x</span>') == ['<span class="big">']
    assert telegram_problems("<b>x") == ["unclosed <b>"]
    assert telegram_problems("&nbsp;") == ["entity &nbsp;"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_html_variants_escape_values_and_text_variants_do_not(kind: str, language: str) -> None:
    values = sample_values(kind)[0]
    values["contact_name"] = 'Ilze <script>alert("x")</script> & Co'
    if "text" in values:  # a broadcast shows only the coordinator's text on Telegram
        values["text"] = '<script>alert("x")</script> & Co'
    rendered = RENDERER.render(kind, language, values)
    for escaped in (rendered.html, rendered.telegram):
        assert "<script>" not in escaped
        assert "&lt;script&gt;" in escaped
    assert 'Ilze <script>alert("x")</script> & Co' in rendered.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_subject_shows_an_event_title_unescaped(language: str) -> None:
    values = sample_values("event_invitation")[0]
    values["event"]["title"] = {language: "Romi & ne-romi <kopā>"}
    rendered = RENDERER.render("event_invitation", language, values)
    assert rendered.subject.endswith(": Romi & ne-romi <kopā>")
    assert "Romi &amp; ne-romi &lt;kopā&gt;" in rendered.html


@pytest.mark.parametrize(("kind", "language", "values"), CASES)
def test_missing_optional_values_leave_no_gaps(
    kind: str, language: str, values: dict[str, Any]
) -> None:
    rendered = RENDERER.render(kind, language, values)
    for variant in VARIANTS:
        output = getattr(rendered, variant)
        assert "\n\n\n" not in output, variant
        assert not re.search(r"[ \t]+$", output, re.MULTILINE), f"{variant}: trailing whitespace"
        assert not re.search(r"\bNone\b", output), f"{variant}: None shown"
        assert not re.search(r"^(<b>)?\w+:(</b>)?$", output, re.MULTILINE), (
            f"{variant}: empty label"
        )
        assert not re.search(r" ,|,,|, *\)|\(\s*\)", output), f"{variant}: empty list item"


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_agenda_item_has_a_line_of_its_own(language: str) -> None:
    values = sample_values("event_invitation")[0]
    rendered = RENDERER.render("event_invitation", language, values)
    for item in values["event"]["agenda"]:
        times = f"{item['starts']:%H:%M}–{item['ends']:%H:%M}"
        line = f"{times} {item['title'][language]} ({item['place']})"
        assert line in html.unescape(rendered.telegram).splitlines()
        assert line in rendered.text.splitlines()


def test_missing_optional_values_really_are_missing_in_some_samples() -> None:
    events = [values["event"] for values in sample_values("event_invitation")]
    assert any(event["rsvp_by"] is None and event["capacity"] is None for event in events)
    assert any(event["venue"].get("address") is None for event in events)
    assert any("address" not in event["venue"] for event in events)
    assert {1, 2, 11, 21} <= {
        values["accepted_count"] for values in sample_values("event_invitation")
    }
    assert any(len(event["agenda"]) >= 10 for event in events)


def test_templates_are_read_from_the_checkout() -> None:
    assert Path(__file__).resolve().parents[1] / "messages" == MESSAGES
