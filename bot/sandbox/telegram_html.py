"""Telegram's HTML parse mode: visible text plus entities, and the errors Telegram gives.

Follows the parser of Telegram's own library (tdlib): only Telegram's tags, the four named
entities and numeric ones, lenient attributes, errors that name a UTF-8 byte offset. Entity
offsets and lengths are in UTF-16 code units, as in the Bot API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "tg-spoiler": "spoiler", "span": "spoiler", "a": "text_link", "code": "code", "pre": "pre",
    "blockquote": "blockquote", "tg-emoji": "custom_emoji",
}  # fmt: skip
NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPACES = " \t\r\n\f\v"
_TOKEN = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")


class HtmlError(ValueError):
    """The reason Telegram gives after "can't parse entities: "."""


def utf16_length(text: str) -> int:
    """Return the length of `text` in UTF-16 code units, Telegram's unit for text."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


@dataclass
class _Open:
    tag: str
    argument: str
    offset: int
    start: int  # index into the output, for <a> without href


@dataclass
class _Parser:
    source: str
    pos: int = 0
    out: list[str] = field(default_factory=list)
    length: int = 0
    stack: list[_Open] = field(default_factory=list)
    entities: list[dict[str, Any]] = field(default_factory=list)

    def run(self) -> tuple[str, list[dict[str, Any]]]:
        while self.pos < len(self.source):
            char = self.source[self.pos]
            if char == "&" and self._entity():
                continue
            if char != "<":
                self._emit(char)
                self.pos += 1
            elif self.source.startswith("</", self.pos):
                self._end_tag()
            else:
                self._start_tag()
        if self.stack:
            tag = self.stack[-1].tag
            raise HtmlError(f'Can\'t find end tag corresponding to start tag "{tag}"')
        for entity in self.entities:
            if entity["type"] == "code":
                entity.pop("language", None)  # a language only counts inside <pre>
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    def _emit(self, text: str) -> None:
        self.out.append(text)
        self.length += utf16_length(text)

    def _byte(self, index: int) -> int:
        return len(self.source[:index].encode("utf-8", "surrogatepass"))

    def _entity(self) -> bool:
        decoded, end = decode_entity(self.source, self.pos)
        if decoded is None:
            return False
        self._emit(decoded)
        self.pos = end
        return True

    def _skip_spaces(self) -> None:
        while self.pos < len(self.source) and self.source[self.pos] in _SPACES:
            self.pos += 1

    def _peek(self) -> str:
        return self.source[self.pos] if self.pos < len(self.source) else ""

    def _start_tag(self) -> None:
        begin = self.pos
        self.pos += 1
        while self._peek() not in ("", ">") and self._peek() not in _SPACES:
            self.pos += 1
        if not self._peek():
            raise HtmlError(f"Unclosed start tag at byte offset {self._byte(begin)}")
        tag = self.source[begin + 1 : self.pos].lower()
        if tag not in TAGS:
            raise HtmlError(f'Unsupported start tag "{tag}" at byte offset {self._byte(begin)}')
        argument = ""
        while self._peek() != ">":
            argument = self._attribute(tag, begin) or argument
        self.pos += 1
        if tag == "span" and argument != "spoiler":
            raise HtmlError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {self._byte(begin)}'
            )
        self.stack.append(_Open(tag, argument, self.length, len(self.out)))

    def _attribute(self, tag: str, begin: int) -> str | None:
        """Read one attribute; return the tag's argument if this attribute carries it."""
        self._skip_spaces()
        if self._peek() == ">":
            return None
        if not self._peek():
            raise HtmlError(f"Unclosed start tag at byte offset {self._byte(begin)}")
        name_start = self.pos
        while self._peek() not in ("", "=", ">") and self._peek() not in _SPACES:
            self.pos += 1
        name = self.source[name_start : self.pos]
        if not name:
            raise HtmlError(
                f'Empty attribute name in the tag "{tag}" at byte offset {self._byte(begin)}'
            )
        self._skip_spaces()
        if self._peek() != "=":
            if tag == "blockquote" and name == "expandable":
                return "expandable"
            raise HtmlError(
                f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                f"at byte offset {self._byte(begin)}"
            )
        self.pos += 1
        self._skip_spaces()
        if not self._peek():
            raise HtmlError(f'Unclosed start tag "{tag}" at byte offset {self._byte(begin)}')
        value = self._attribute_value()
        if not self._peek():
            raise HtmlError(f"Unclosed start tag at byte offset {self._byte(begin)}")
        return _argument(tag, name, value)

    def _attribute_value(self) -> str:
        quote = self._peek()
        if quote not in ("'", '"'):
            start = self.pos
            while self._peek() and self._peek() in _TOKEN:
                self.pos += 1
            if self._peek() not in ("", ">") and self._peek() not in _SPACES:
                raise HtmlError(f"Unexpected end of name token at byte offset {self._byte(start)}")
            return self.source[start : self.pos].lower()
        self.pos += 1
        value: list[str] = []
        while self._peek() not in ("", quote):
            decoded, end = decode_entity(self.source, self.pos)
            if self._peek() == "&" and decoded is not None:
                value.append(decoded)
                self.pos = end
            else:
                value.append(self._peek())
                self.pos += 1
        if self._peek() == quote:
            self.pos += 1
        return "".join(value)

    def _end_tag(self) -> None:
        begin = self.pos
        if not self.stack:
            raise HtmlError(f"Unexpected end tag at byte offset {self._byte(begin)}")
        self.pos += 2
        while self._peek() not in ("", ">") and self._peek() not in _SPACES:
            self.pos += 1
        name = self.source[begin + 2 : self.pos].lower()
        self._skip_spaces()
        if self._peek() != ">":
            raise HtmlError(f"Unclosed end tag at byte offset {self._byte(begin)}")
        self.pos += 1
        opened = self.stack.pop()
        if name and name != opened.tag:
            expected, found = f"</{opened.tag}>", f"</{name}>"
            raise HtmlError(
                f"Unmatched end tag at byte offset {self._byte(begin)}, "
                f'expected "{expected}", found "{found}"'
            )
        if self.length > opened.offset:
            self._close(opened)

    def _close(self, opened: _Open) -> None:
        entity: dict[str, Any] = {
            "type": TAGS[opened.tag],
            "offset": opened.offset,
            "length": self.length - opened.offset,
        }
        if opened.tag == "a":
            entity["url"] = opened.argument or "".join(self.out[opened.start :]).strip()
            if not entity["url"]:
                return
        elif opened.tag == "tg-emoji":
            if not opened.argument.isdigit() or int(opened.argument) == 0:
                raise HtmlError("Invalid custom emoji identifier specified")
            entity["custom_emoji_id"] = opened.argument
        elif opened.tag == "blockquote" and opened.argument == "expandable":
            entity["type"] = "expandable_blockquote"
        elif opened.tag in ("pre", "code") and self._merge_pre(entity, opened):
            return
        self.entities.append(entity)

    def _merge_pre(self, entity: dict[str, Any], opened: _Open) -> bool:
        """Fold <pre><code class="language-x"> into one pre entity with a language."""
        last = self.entities[-1] if self.entities else None
        same_span = last is not None and (last["offset"], last["length"]) == (
            entity["offset"],
            entity["length"],
        )
        if opened.tag == "code" and opened.argument:
            entity["language"] = opened.argument
            if same_span and last is not None and last["type"] == "pre":
                last["language"] = opened.argument
                return True
            return False
        if same_span and last is not None and last["type"] == "code" and "language" in last:
            last["type"] = "pre"
            return True
        return False


def _argument(tag: str, name: str, value: str) -> str | None:
    if tag == "a" and name == "href":
        return value
    if tag == "code" and name == "class" and value.startswith("language-"):
        return value.removeprefix("language-")
    if tag == "span" and name == "class" and value.startswith("tg-"):
        return value.removeprefix("tg-")
    if tag == "tg-emoji" and name == "emoji-id":
        return value
    return None


def decode_entity(source: str, pos: int) -> tuple[str | None, int]:
    """Decode the HTML entity at `pos` the way Telegram does; (None, pos) if it is not one."""
    end = pos + 1
    if source.startswith("&#", pos):
        hexadecimal = source.startswith("&#x", pos)
        end += 2 if hexadecimal else 1
        digits = "0123456789abcdefABCDEF" if hexadecimal else "0123456789"
        while end < len(source) and source[end] in digits:
            end += 1
        number = source[pos + (3 if hexadecimal else 2) : end]
        code = int(number, 16 if hexadecimal else 10) if number else 0
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return None, pos
        if 0xD800 <= code <= 0xDFFF:
            raise HtmlError(
                "Text contains invalid Unicode characters after decoding HTML entities, "
                "check for unmatched surrogate code units"
            )
        decoded = chr(code)
    else:
        while end < len(source) and source[end].isascii() and source[end].isalpha():
            end += 1
        named = NAMED_ENTITIES.get(source[pos + 1 : end])
        if named is None:
            return None, pos
        decoded = named
    return decoded, end + 1 if source.startswith(";", end) else end


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Return the visible text and its entities, or raise HtmlError as Telegram would."""
    return _Parser(source).run()
