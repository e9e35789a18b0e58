"""Telegram's rules for message texts and captions: parse modes, trimming, length limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.sandbox.telegram_errors import ApiError, bad_request, not_implemented
from bot.sandbox.telegram_html import HtmlError, parse_html, utf16_length


@dataclass(frozen=True)
class FormattedText:
    """A text as the chat shows it, with the markup it was sent with."""

    text: str
    entities: list[dict[str, Any]]
    source: str
    parse_mode: str | None


def format_text(
    source: str,
    parse_mode: str | None,
    entities: list[dict[str, Any]] | None,
    *,
    limit: int,
    what: str = "message",
) -> FormattedText:
    """Parse a text or caption as Telegram does and enforce its length after parsing."""
    text, parsed = _parse(source, parse_mode)
    if entities is not None:
        parsed = entities  # explicit entities take the place of a parse mode
    text, parsed = _strip(text, parsed)
    if what == "message" and not text:
        raise bad_request("message text is empty")
    if utf16_length(text) > limit:
        raise bad_request(
            "message is too long" if what == "message" else "message caption is too long"
        )
    return FormattedText(text, parsed, source, parse_mode)


def _parse(source: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    mode = (parse_mode or "").lower()
    if not mode:
        return source, []
    if mode in ("markdown", "markdownv2"):
        raise not_implemented(f"parse_mode {parse_mode}")
    if mode != "html":
        raise bad_request("unsupported parse_mode")
    try:
        return parse_html(source)
    except HtmlError as error:
        raise ApiError(400, f"Bad Request: can't parse entities: {error}") from None


def _strip(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Drop leading and trailing white space as Telegram does, moving entities with the text."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    shift = utf16_length(text[: len(text) - len(text.lstrip())])
    end = utf16_length(stripped)
    moved = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        stop = min(entity["offset"] + entity["length"] - shift, end)
        if stop > start:
            moved.append({**entity, "offset": start, "length": stop - start})
    return stripped, moved
