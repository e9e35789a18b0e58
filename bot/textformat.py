"""Locale-aware dates, times, date ranges, plurals and per-language texts, built on Babel.

Every function takes the language code of the text it goes into (lv, et, en) and, where a
moment in time is shown, the time zone to show it in. Aware datetimes are converted to that
zone; plain dates and times are shown as they are (they are already local wall-clock values).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time, tzinfo
from functools import cache

from babel import Locale
from babel import dates as babel_dates
from babel.numbers import format_decimal, format_percent

# English is shown the British way: "4 February 2027" and 24-hour times.
BABEL_LOCALES = {"lv": "lv", "et": "et", "en": "en_GB"}

# CLDR has no Latvian locative, which a date inside a sentence needs ("4. februārī"):
# the one hand-written piece of date formatting.
LATVIAN_LOCATIVE_MONTHS = (
    "janvārī",
    "februārī",
    "martā",
    "aprīlī",
    "maijā",
    "jūnijā",
    "jūlijā",
    "augustā",
    "septembrī",
    "oktobrī",
    "novembrī",
    "decembrī",
)

# Characters that surround the dash between the two halves of a CLDR interval pattern.
_INTERVAL_SEPARATOR = " \u2009\u00a0–—-"
_SHORT_MONTH = re.compile(r"(?<!M)MMM(?!M)")


@cache
def babel_locale(language: str) -> Locale:
    """Return the Babel locale that texts in this language are formatted with."""
    return Locale.parse(BABEL_LOCALES.get(language, language))


def local_date(value: date, zone: tzinfo) -> date:
    """Return the calendar date of a date or an aware datetime in the given zone."""
    if isinstance(value, datetime):
        return _to_zone(value, zone).date()
    return value


def format_date(value: date, language: str, zone: tzinfo, form: str = "long") -> str:
    """Format a date (or aware datetime) in Babel's `form`: short, medium, long, full."""
    return babel_dates.format_date(local_date(value, zone), form, locale=babel_locale(language))


def format_date_in(value: date, language: str, zone: tzinfo) -> str:
    """Format a long date as it reads inside a sentence ("2027. gada 4. februārī")."""
    day = local_date(value, zone)
    return _locative(format_date(day, language, zone), day.month, language)


def format_time(value: time | datetime, language: str, zone: tzinfo) -> str:
    """Format a time of day ("10:00"); aware datetimes are first converted to the zone."""
    if isinstance(value, datetime):
        value = _to_zone(value, zone).time()
    return babel_dates.format_time(value, "short", locale=babel_locale(language))


def format_weekday(value: date, language: str, zone: tzinfo) -> str:
    """Return the weekday name of a date or aware datetime ("ceturtdiena")."""
    day = local_date(value, zone)
    return babel_dates.format_date(day, "EEEE", locale=babel_locale(language))


def format_daterange(start: date, end: date, language: str, zone: tzinfo) -> str:
    """Format the span of an event, with times when given aware datetimes.

    One day: "2027. gada 4. februārī, 10:00–15:30". Several days follow CLDR's interval
    pattern for day-month-year with full month names, each side with its time:
    "2027. gada 30. jūnijā, 10:00 – 1. jūlijā, 14:00", "30 June, 10:00 – 1 July 2027, 14:00".
    """
    first, last = local_date(start, zone), local_date(end, zone)
    moments = isinstance(start, datetime) and isinstance(end, datetime)
    if last < first or (moments and end < start):
        raise ValueError(f"date range ends ({end}) before it starts ({start})")
    if first == last:
        sides = [format_date_in(first, language, zone)]
    else:
        sides = _interval_sides(first, last, language)
    if not (isinstance(start, datetime) and isinstance(end, datetime)):
        return " – ".join(sides)
    local_start, local_end = _to_zone(start, zone), _to_zone(end, zone)
    if first == last:
        times = babel_dates.format_interval(
            local_start.time(), local_end.time(), "Hm", locale=babel_locale(language)
        )
        return f"{sides[0]}, {times}"
    start_time, end_time = (
        format_time(moment, language, zone) for moment in (local_start, local_end)
    )
    return f"{sides[0]}, {start_time} – {sides[1]}, {end_time}"


def format_plural(
    n: int,
    language: str,
    one: str,
    other: str,
    zero: str | None = None,
    none: str | None = None,
) -> str:
    """Put a number with the word form that CLDR's plural rules choose for it.

    lv: plural(21, "dalībnieks", "dalībnieki", none="dalībnieku") -> "21 dalībnieks";
    11 -> "11 dalībnieki"; 0 -> "0 dalībnieku". et: one="osaleja", other="osalejat".

    - `zero` is CLDR's Latvian "zero" category (0, 10-20, 30, 40, ... 100, 111, ...), whose
      nouns read like `other` in everyday Latvian, so it falls back to `other` when not given.
    - `none` overrides exactly n == 0 (like ICU's `=0`): "0 dalībnieku" takes the genitive.
    - A form that contains "{n}" is a whole phrase and gets the number in that place, so a verb
      can agree with the number too: "Dalību apstiprinājis {n} dalībnieks." Any other form is
      shown after the number.
    """
    category = babel_locale(language).plural_form(abs(n))
    forms = {"one": one, "zero": zero or other}
    form = none if n == 0 and none is not None else forms.get(category, other)
    number = format_decimal(n, locale=babel_locale(language))
    return form.replace("{n}", number) if "{n}" in form else f"{number} {form}"


def format_number(value: float, language: str, digits: int = 1) -> str:
    """Format a number with the language's decimal sign: lv/et "4,3", en "4.3"."""
    pattern = "#,##0." + "0" * digits if digits else "#,##0"
    return format_decimal(value, pattern, locale=babel_locale(language))


def format_share(share: float, language: str) -> str:
    """Format a share of 0..1 as a whole percentage the language's way: lv "45%", et "45%"."""
    return format_percent(share, locale=babel_locale(language))


def pick_language(texts: Mapping[str, str] | str, language: str) -> str:
    """Return the text in this language from {"lv": ..., "et": ..., "en": ...}.

    Falls back to Latvian, then to any language given; a plain string is returned as it is.
    """
    if isinstance(texts, str):
        return texts
    for candidate in (language, "lv", *texts):
        if texts.get(candidate):
            return texts[candidate]
    raise ValueError(f"no text in any language: {texts!r}")


def _to_zone(value: datetime, zone: tzinfo) -> datetime:
    # Stored times are UTC; a naive one would be shown in the wrong zone without a trace.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()}: give an aware datetime")
    return value.astimezone(zone)


def _locative(text: str, month: int, language: str) -> str:
    if language != "lv":
        return text
    nominative = babel_dates.get_month_names("wide", locale=babel_locale("lv"))[month]
    return text.replace(nominative, LATVIAN_LOCATIVE_MONTHS[month - 1])


def _interval_sides(first: date, last: date, language: str) -> list[str]:
    """Format both ends of a several-day interval with CLDR's day-month-year interval pattern."""
    locale = babel_locale(language)
    patterns = locale.interval_formats.get("yMMMd")
    if not patterns:
        long = locale.date_formats["long"].pattern
        pairs = [(long, first), (long, last)]
    else:
        # Month patterns for a same-month range too, so that each side names its month.
        field = "y" if first.year != last.year else "M"
        pairs = list(zip(patterns[field], (first, last), strict=True))
    sides = []
    for pattern, day in pairs:
        # CLDR lets an interval pattern widen MMM to MMMM; full month names read better.
        full = _SHORT_MONTH.sub("MMMM", pattern)
        text = babel_dates.format_date(day, full, locale=locale).rstrip(_INTERVAL_SEPARATOR)
        sides.append(_locative(text, day.month, language))
    return sides
