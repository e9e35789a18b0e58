"""Telegram entities as the playground shows them: escaped, nested, UTF-16 offsets."""

from __future__ import annotations

from bot.playground.chat_html import to_html


def test_text_is_escaped_and_line_breaks_kept() -> None:
    assert to_html('<b>Rīga</b> & "Valga"\nrīt', []) == (
        "&lt;b&gt;Rīga&lt;/b&gt; &amp; &quot;Valga&quot;<br>rīt"
    )


def test_entities_nest_and_count_in_utf16_units() -> None:
    text = "😀 Piedalīšos svarīgi"
    entities = [
        {"type": "bold", "offset": 3, "length": 18},
        {"type": "italic", "offset": 14, "length": 7},
    ]
    assert to_html(text, entities) == "😀 <b>Piedalīšos <i>svarīgi</i></b>"


def test_links_keep_only_safe_schemes() -> None:
    safe = to_html(
        "atvērt", [{"type": "text_link", "offset": 0, "length": 6, "url": "https://a.lv/?x=1&y=2"}]
    )
    assert safe == (
        '<a href="https://a.lv/?x=1&amp;y=2" target="_blank" rel="noopener noreferrer">atvērt</a>'
    )
    unsafe = [{"type": "text_link", "offset": 0, "length": 6, "url": "javascript:alert(1)"}]
    assert to_html("atvērt", unsafe) == "atvērt"


def test_empty_and_unknown_entities_change_nothing() -> None:
    entities = [
        {"type": "bold", "offset": 2, "length": 0},
        {"type": "mention", "offset": 0, "length": 3},
    ]
    assert to_html("abc", entities) == "abc"
    assert to_html(None, None) == ""
