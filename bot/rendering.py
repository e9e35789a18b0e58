"""Render the words people read, from messages/<lang>/<surface>/.

Every text lives under messages/<lang>/, by surface:
- outbound/  messages sent on both channels, rendered here by `Renderer`;
- replies/   the bot's answers in a Telegram chat (bot/telegram/texts.py);
- pages/     the web pages behind email links (bot/web/pages.py);
- reports/   the funding report and its labels (bot/services/reporting/funding_report.py);
- console/   the coordinator's console (bot/web/console/).
Layouts without words (bot/layouts/) are found by name beside them.

One outbound template per message kind and channel variant: `<kind>.telegram.html` (Telegram HTML),
`<kind>.email_subject.txt`, `<kind>.email.txt` and `<kind>.email.html`. HTML variants are
autoescaped, text variants are not. Files whose names start with "_" are shared pieces
(layouts, buttons) that templates extend or include, not message kinds. Templates see the
values they are given plus `lang` and `tz`, which the date, time and plural filters read.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import babel.numbers
import jinja2
import yaml

import bot
from bot import textformat

LANGUAGES = ("lv", "et", "en")
SURFACES = ("outbound", "replies", "pages", "reports", "console")
LAYOUTS = Path(__file__).resolve().parent / "layouts"
FALLBACK_LANGUAGE = "lv"
VARIANTS = {
    "telegram": "telegram.html",
    "subject": "email_subject.txt",
    "text": "email.txt",
    "html": "email.html",
}
# The variants a message on one channel is made of.
CHANNEL_VARIANTS = {"telegram": ("telegram",), "email": ("subject", "text", "html")}


class MissingTemplateError(LookupError):
    """A message kind has no template for a variant in a language."""


@dataclass(frozen=True)
class Rendered:
    """One message in one language, ready for every channel (or for one: the rest empty)."""

    language: str
    telegram: str = ""
    subject: str = ""
    text: str = ""
    html: str = ""


def default_messages_dir() -> Path:
    """Return messages/ beside the package in a checkout, else the copy inside the wheel."""
    checkout = Path(bot.__file__).resolve().parents[1] / "messages"
    if checkout.is_dir():
        return checkout
    return Path(bot.__file__).parent / "_data" / "messages"


class Renderer:
    """Render message kinds in the contact's language and time zone."""

    def __init__(
        self, messages_dir: Path | None = None, default_timezone: str = "Europe/Riga"
    ) -> None:
        self.messages_dir = messages_dir or default_messages_dir()
        self.default_timezone = default_timezone
        self.environment = build_environment(self.messages_dir)
        # Template files found once are not looked for again (a send renders thousands).
        self._found: set[str] = set()

    def kinds(self) -> list[str]:
        """Return the message kinds that have templates in any language."""
        suffixes = tuple("." + suffix for suffix in VARIANTS.values())
        names = {
            path.name.removesuffix(suffix)
            for path in self.messages_dir.glob("*/outbound/*")
            for suffix in suffixes
            if path.name.endswith(suffix) and not path.name.startswith("_")
        }
        return sorted(names)

    def render(
        self,
        kind: str,
        language: str,
        values: Mapping[str, Any],
        *,
        timezone: str | None = None,
        fallback: bool = False,
    ) -> Rendered:
        """Render every variant of a message kind in one language."""
        language = self._language_for(kind, list(VARIANTS), language, fallback)
        texts = {
            variant: self.render_variant(kind, variant, language, values, timezone=timezone)
            for variant in VARIANTS
        }
        return Rendered(language=language, **texts)

    def render_channel(
        self,
        kind: str,
        channel: str,
        language: str,
        values: Mapping[str, Any],
        *,
        timezone: str | None = None,
    ) -> Rendered:
        """Render only the variants one channel sends (Telegram's, or the email's three)."""
        variants = CHANNEL_VARIANTS[channel]
        language = self._language_for(kind, list(variants), language, False)
        texts = {
            variant: self.render_variant(kind, variant, language, values, timezone=timezone)
            for variant in variants
        }
        return Rendered(language=language, **texts)

    def render_variant(
        self,
        kind: str,
        variant: str,
        language: str,
        values: Mapping[str, Any],
        *,
        timezone: str | None = None,
        fallback: bool = False,
    ) -> str:
        """Render one variant (telegram, subject, text or html) of a message kind."""
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}; expected one of {', '.join(VARIANTS)}")
        language = self._language_for(kind, [variant], language, fallback)
        template = self.environment.get_template(template_name(kind, variant, language))
        zone = ZoneInfo(timezone or self.default_timezone)
        output = template.render({**values, "lang": language, "tz": zone})
        if variant == "subject":
            return " ".join(output.split())
        return output.strip()

    def _language_for(self, kind: str, variants: list[str], language: str, fallback: bool) -> str:
        """Return the language to render in, falling back to Latvian only when allowed."""
        candidates = [language, FALLBACK_LANGUAGE] if fallback else [language]
        for candidate in candidates:
            if all(self._exists(kind, variant, candidate) for variant in variants):
                return candidate
        variant = next(v for v in variants if not self._exists(kind, v, language))
        path = self.messages_dir / template_name(kind, variant, language)
        raise MissingTemplateError(
            f"no template for message kind {kind!r}, variant {variant!r} in language "
            f"{language!r} ({path})" + (", nor in Latvian" if fallback else "")
        )

    def _exists(self, kind: str, variant: str, language: str) -> bool:
        name = template_name(kind, variant, language)
        if name in self._found:
            return True
        if (self.messages_dir / name).is_file():
            self._found.add(name)
            return True
        return False


@functools.cache
def labels(messages_dir: Path | None = None) -> dict[str, Any]:
    """Button labels and short words in lv/et/en, from messages/labels.yaml."""
    folder = messages_dir or default_messages_dir()
    loaded: dict[str, Any] = yaml.safe_load((folder / "labels.yaml").read_text("utf-8"))
    return loaded


def label(group: str, key: str, language: str) -> str:
    texts = labels()[group][key]
    return str(texts.get(language) or texts["en"])


def template_name(kind: str, variant: str, language: str) -> str:
    """Return the loader name of a template: "lv/outbound/event_invitation.telegram.html"."""
    return f"{language}/outbound/{kind}.{VARIANTS[variant]}"


def build_environment(messages_dir: Path) -> jinja2.Environment:
    """Build the Jinja2 environment over messages/ (and the layouts) with the locale filters."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader([messages_dir, LAYOUTS]),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    environment.filters.update(FILTERS)
    return environment


@jinja2.pass_context
def _date(context: jinja2.runtime.Context, value: date, form: str = "long") -> str:
    """Format a date: lv "2027. gada 4. februāris", et "4. veebruar 2027"."""
    return textformat.format_date(value, context["lang"], context["tz"], form)


@jinja2.pass_context
def _date_in(context: jinja2.runtime.Context, value: date) -> str:
    """Format a date inside a sentence: lv "2027. gada 4. februārī"."""
    return textformat.format_date_in(value, context["lang"], context["tz"])


@jinja2.pass_context
def _time(context: jinja2.runtime.Context, value: time | datetime) -> str:
    """Format a time of day: "10:00"."""
    return textformat.format_time(value, context["lang"], context["tz"])


@jinja2.pass_context
def _weekday(context: jinja2.runtime.Context, value: date) -> str:
    """Name the weekday: lv "ceturtdiena", et "neljapäev"."""
    return textformat.format_weekday(value, context["lang"], context["tz"])


@jinja2.pass_context
def _daterange(context: jinja2.runtime.Context, start: date, end: date) -> str:
    """Format an event's span: lv "2027. gada 4. februārī, 10:00–15:30"."""
    return textformat.format_daterange(start, end, context["lang"], context["tz"])


@jinja2.pass_context
def _plural(
    context: jinja2.runtime.Context,
    n: int,
    one: str,
    other: str,
    zero: str | None = None,
    none: str | None = None,
) -> str:
    """Put a number with its CLDR plural form; see textformat.format_plural."""
    return textformat.format_plural(n, context["lang"], one, other, zero=zero, none=none)


@jinja2.pass_context
def _t(context: jinja2.runtime.Context, texts: Mapping[str, str] | str) -> str:
    """Pick the text in the message's language from a per-language mapping."""
    return textformat.pick_language(texts, context["lang"])


@jinja2.pass_context
def _number(context: jinja2.runtime.Context, value: float, decimals: int = 1) -> str:
    """Format a number the language's way: lv/et "4,3", en "4.3"."""
    pattern = "#,##0." + "#" * decimals if decimals else "#,##0"
    locale = textformat.babel_locale(context["lang"])
    return babel.numbers.format_decimal(value, format=pattern, locale=locale)


@jinja2.pass_context
def _percent(context: jinja2.runtime.Context, value: float) -> str:
    """Format a share (0..1) as a whole percentage: lv "52 %", en "52%"."""
    locale = textformat.babel_locale(context["lang"])
    return babel.numbers.format_percent(value, locale=locale)


FILTERS: dict[str, Callable[..., str]] = {
    "date": _date,
    "date_in": _date_in,
    "time": _time,
    "weekday": _weekday,
    "daterange": _daterange,
    "plural": _plural,
    "t": _t,
    "number": _number,
    "percent": _percent,
}
