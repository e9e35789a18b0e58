"""A Telegram message's text and entities as safe HTML for the playground's chat view."""

from __future__ import annotations

from html import escape
from typing import Any

TAGS = {
    "bold": "b",
    "italic": "i",
    "underline": "u",
    "strikethrough": "s",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "expandable_blockquote": "blockquote",
    "spoiler": "span",
}
SAFE_SCHEMES = ("http://", "https://", "tg://", "mailto:")


def _open_tag(entity: dict[str, Any], text: str) -> tuple[str, str]:
    kind = entity.get("type", "")
    if kind in ("text_link", "url"):
        href = entity.get("url") if kind == "text_link" else text
        if href and href.startswith(SAFE_SCHEMES):
            attrs = f'href="{escape(href)}" target="_blank" rel="noopener noreferrer"'
            return f"<a {attrs}>", "</a>"
        return "", ""
    tag = TAGS.get(kind)
    if tag is None:
        return "", ""
    extra = ' class="spoiler"' if kind == "spoiler" else ""
    return f"<{tag}{extra}>", f"</{tag}>"


def _python_index(text: str) -> list[int]:
    """Map every UTF-16 offset (Telegram's unit) to an index into the Python string."""
    index = []
    for position, char in enumerate(text):
        index.extend([position] * (2 if ord(char) > 0xFFFF else 1))
    index.append(len(text))
    return index


def to_html(text: str | None, entities: list[dict[str, Any]] | None) -> str:
    """Escape the text, mark its entities up with a small set of tags and keep line breaks."""
    if not text:
        return ""
    index = _python_index(text)
    opens: dict[int, list[tuple[int, str]]] = {}
    closes: dict[int, list[str]] = {}
    for entity in sorted(entities or [], key=lambda e: (e["offset"], -e["length"])):
        if entity.get("length", 0) <= 0:
            continue
        start = index[min(entity["offset"], len(index) - 1)]
        end = index[min(entity["offset"] + entity["length"], len(index) - 1)]
        opening, closing = _open_tag(entity, text[start:end])
        if opening:
            opens.setdefault(start, []).append((end, opening))
            closes.setdefault(end, []).insert(0, closing)
    parts: list[str] = []
    for position in range(len(text) + 1):
        parts.extend(closes.get(position, []))
        parts.extend(tag for _, tag in opens.get(position, []))
        if position < len(text):
            parts.append(escape(text[position]).replace("\n", "<br>"))
    return "".join(parts)
