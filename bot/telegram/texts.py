"""The bot's own words: reply templates and labels in lv, et and en."""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.rendering import build_environment, default_messages_dir, labels

LANGUAGES = ("lv", "et", "en")


class Texts:
    """Render `messages/<lang>/replies/<name>.html` and look up labels from labels.yaml."""

    def __init__(self, messages_dir: Path | None = None, timezone: str = "Europe/Riga") -> None:
        self.environment = build_environment(messages_dir or default_messages_dir())
        self.zone = ZoneInfo(timezone)

    @cached_property
    def labels(self) -> dict[str, Any]:
        return labels()

    def render(self, reply: str, language: str, /, **values: Any) -> str:
        """Render one reply; at most one empty line in a row."""
        language = language if language in LANGUAGES else "en"
        template = self.environment.get_template(f"{language}/replies/{reply}.html")
        text = template.render({**values, "lang": language, "tz": self.zone})
        return re.sub(r"\n{3,}", "\n\n", text).strip()

    def label(self, group: str, key: str, language: str) -> str:
        return str(self.labels[group][key][language if language in LANGUAGES else "en"])

    def button(self, key: str, language: str) -> str:
        return self.label("buttons", key, language)

    def commands(self, language: str) -> list[tuple[str, str]]:
        return [(name, texts[language]) for name, texts in self.labels["commands"].items()]
