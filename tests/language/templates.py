"""Every user-facing template, found on disk, rendered with the sample values of tests/samples.py.

Every text lives under messages/<lang>/<surface>/ (bot.rendering.SURFACES), in two kinds of set:
- outbound messages, messages/<lang>/outbound/<kind>.<variant>, rendered by bot.rendering.Renderer;
- every other surface (replies, pages, reports), messages/<lang>/<surface>/<name>.html, rendered
  by the same Jinja2 set-up; their sample values are SAMPLES["<surface>/<name>"].
A template may borrow another kind's sample values with a first-line comment
`{# values: event_invitation #}` (the seeded fixtures do).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from bot.rendering import (
    LANGUAGES,
    SURFACES,
    VARIANTS,
    Renderer,
    build_environment,
    default_messages_dir,
    template_name,
)
from tests import samples
from tests.language import text

ROOT = Path(__file__).resolve().parents[2]
PAGE_SUFFIXES = (".html", ".txt")
MARKUP = {"telegram": "telegram", "subject": "text", "text": "text", "html": "html"}
BORROW = re.compile(r"\A\s*\{#\s*values:\s*(?P<key>[\w:/-]+)")


class MissingSamples(LookupError):
    """tests/samples.py has no value sets for a kind or page."""


@dataclass(frozen=True)
class Unit:
    """One user-facing template in one language: what each check reports on."""

    name: str  # path from the repository root: "messages/lv/outbound/event_invitation.email.html"
    language: str
    sample_key: str
    markup: str  # "telegram", "html" or "text"
    kind: str  # message kind or page name
    variant: str  # message variant (telegram, subject, text, html); "page" for web pages
    render: Callable[[Mapping[str, Any]], str] = field(compare=False, repr=False)

    def __str__(self) -> str:
        return f"{self.name} [{self.language}]"


@dataclass(frozen=True)
class Rendering:
    """A unit rendered with one sample value set, and again with the values masked."""

    unit: Unit
    sample: int
    values: Mapping[str, Any]
    output: str
    masked: str | None  # None where masking changed what the template could render

    def __str__(self) -> str:
        return f"{self.unit} with sample {self.sample}"

    @cached_property
    def visible(self) -> str:
        """The text a reader sees, sample values included."""
        return text.visible_text(self.output, self.unit.markup)

    @cached_property
    def template_words(self) -> list[str]:
        """The words of the template itself, in order: none from the sample values."""
        if self.masked is not None:
            return text.words(text.visible_text(self.masked, self.unit.markup))
        value_words = {
            word.casefold()
            for value in text.value_strings(self.values)
            for word in text.words(value)
        }
        return [word for word in text.words(self.visible) if word.casefold() not in value_words]

    @cached_property
    def template_text(self) -> str:
        """The visible text with the values masked (or, failing that, as rendered)."""
        return text.visible_text(self.masked or self.output, self.unit.markup)


def _display(path: Path) -> str:
    """Name a template by its path from the repository root, where it is inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _borrowed_key(path: Path, default: str) -> str:
    match = BORROW.match(path.read_text("utf-8")) if path.is_file() else None
    return match["key"] if match else default


class MessageTemplates:
    """messages/<lang>/outbound/<kind>.<variant>: every kind in every language and variant."""

    def __init__(self, directory: Path | None = None) -> None:
        self.renderer = Renderer(directory)
        self.directory = self.renderer.messages_dir
        self.name = _display(self.directory)

    def units(self) -> list[Unit]:
        """Return a unit for every kind, language and variant, present or not."""
        units = []
        for kind in self.renderer.kinds():
            for language in LANGUAGES:
                for variant in VARIANTS:
                    path = self.directory / template_name(kind, variant, language)
                    units.append(
                        Unit(
                            name=_display(path),
                            language=language,
                            sample_key=_borrowed_key(path, kind),
                            markup=MARKUP[variant],
                            kind=kind,
                            variant=variant,
                            render=self._renderer(kind, variant, language),
                        )
                    )
        return units

    def _renderer(self, kind: str, variant: str, language: str) -> Callable[..., str]:
        def render(values: Mapping[str, Any]) -> str:
            return self.renderer.render_variant(kind, variant, language, values)

        return render

    def missing(self) -> list[str]:
        """Name every template one language has and another lacks, shared pieces included."""
        return _missing_translations(self.directory, "outbound", _display)


class PageTemplates:
    """messages/<lang>/<surface>/<name>.html: the bot's replies, web pages or reports."""

    def __init__(
        self, root: Path, surface: str, environment: jinja2.Environment | None = None
    ) -> None:
        self.root = root
        self.surface = surface
        self.environment = environment or build_environment(root)
        self.name = _display(root / "*" / surface)

    def pages(self) -> list[str]:
        """Return the page names (relative to a language's surface folder) of every language."""
        names = set()
        for language in LANGUAGES:
            folder = self.root / language / self.surface
            if folder.is_dir():
                names |= {
                    str(path.relative_to(folder))
                    for path in folder.rglob("*")
                    if path.is_file()
                    and path.suffix in PAGE_SUFFIXES
                    and not path.name.startswith("_")
                }
        return sorted(names)

    def units(self) -> list[Unit]:
        """Return a unit for every page in every language, present or not."""
        return [
            Unit(
                name=_display(self.root / language / self.surface / page),
                language=language,
                sample_key=_borrowed_key(
                    self.root / language / self.surface / page,
                    f"{self.surface}/{page_stem(page)}",
                ),
                markup=self.markup(page),
                kind=page_stem(page),
                variant="page",
                render=self._renderer(page, language),
            )
            for page in self.pages()
            for language in LANGUAGES
        ]

    def markup(self, page: str) -> str:
        """Replies are Telegram HTML, whose line breaks show; pages and reports are HTML."""
        if not page.endswith(".html"):
            return "text"
        return "telegram" if self.surface == "replies" else "html"

    def _renderer(self, page: str, language: str) -> Callable[..., str]:
        def render(values: Mapping[str, Any]) -> str:
            template = self.environment.get_template(f"{language}/{self.surface}/{page}")
            zone = ZoneInfo("Europe/Riga")
            return template.render({**values, "lang": language, "tz": zone}).strip()

        return render

    def missing(self) -> list[str]:
        """Name every page one language has and another lacks."""
        return _missing_translations(self.root, self.surface, _display)


def page_stem(page: str) -> str:
    """Return a page's sample key part: "rsvp/answered.html" -> "rsvp/answered"."""
    return page.rsplit(".", 1)[0]


def _missing_translations(directory: Path, surface: str, name: Callable[[Path], str]) -> list[str]:
    files = {
        language: {
            str(path.relative_to(directory / language))
            for path in (directory / language / surface).rglob("*")
            if path.is_file()
        }
        if (directory / language / surface).is_dir()
        else set()
        for language in LANGUAGES
    }
    everything = set().union(*files.values())
    missing = []
    for language in LANGUAGES:
        for relative in sorted(everything - files[language]):
            others = ", ".join(other for other in LANGUAGES if relative in files[other])
            missing.append(
                f"{name(directory / language / relative)} [{language}] is missing: a "
                f"translation of what {others} {'has' if ',' not in others else 'have'}"
            )
    return missing


def surface_sets(messages_dir: Path | None = None) -> list[PageTemplates]:
    """Return a template set for every surface but outbound (replies, pages, reports)."""
    root = messages_dir or default_messages_dir()
    return [PageTemplates(root, surface) for surface in SURFACES if surface != "outbound"]


@cache
def template_sets() -> tuple[MessageTemplates | PageTemplates, ...]:
    """Return every set of user-facing templates in the repository."""
    return (MessageTemplates(), *surface_sets())


@cache
def units() -> tuple[Unit, ...]:
    """Return every user-facing template in every language."""
    return tuple(unit for templates in template_sets() for unit in templates.units())


def sample_sets(key: str) -> list[dict[str, Any]]:
    """Return the sample value sets for a kind or page, or fail saying they are missing."""
    if key not in samples.SAMPLES:
        raise MissingSamples(
            f"tests/samples.py has no sample values for {key!r}: add realistic value sets to "
            f"SAMPLES[{key!r}] (long names with diacritics, optional values missing, "
            "plural counts 1, 2, 11, 21)"
        )
    return samples.sample_values(key)


@cache
def renderings(unit: Unit) -> tuple[Rendering, ...]:
    """Render a unit with every sample value set, real and masked."""
    result = []
    for number, values in enumerate(sample_sets(unit.sample_key)):
        output = unit.render(values)
        try:
            masked: str | None = unit.render(text.mask_values(values))
        except Exception:  # a template that computes with a value's text: use the fallback
            masked = None
        result.append(Rendering(unit, number, values, output, masked))
    return tuple(result)
