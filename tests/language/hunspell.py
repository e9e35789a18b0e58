"""Hunspell with Debian's dictionaries, asked once per dictionary for a whole batch of words."""

from __future__ import annotations

import codecs
import os
import re
import shutil
import subprocess
import unicodedata
from collections.abc import Iterable
from functools import cache

import pytest

DICTIONARIES = {"lv": "lv_LV", "et": "et_EE", "en": "en_US"}
NOT_INSTALLED = (
    "hunspell or the lv/et/en dictionaries are not installed: "
    "apt-get install hunspell hunspell-lv myspell-et hunspell-en-us"
)


@cache
def missing() -> str | None:
    """Say what is missing for the spell checks, or None when Hunspell and every dictionary work."""
    if shutil.which("hunspell") is None:
        return "no hunspell command on PATH"
    for dictionary in DICTIONARIES.values():
        try:
            _run(dictionary, ["probe"])
        except HunspellError as error:
            return str(error)
    return None


def require() -> None:
    """Skip the calling test where Hunspell is missing; in CI (CI set) fail instead."""
    problem = missing()
    if problem is None:
        return
    reason = f"{NOT_INSTALLED} ({problem})"
    if os.environ.get("CI"):
        pytest.fail(f"the language gate must run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


class HunspellError(RuntimeError):
    """Hunspell could not be run with a dictionary."""


def _run(dictionary: str, words: list[str]) -> set[str]:
    """Return the tokens Hunspell rejects among the words (one per line), in a single call."""
    try:
        result = subprocess.run(
            ["hunspell", "-d", dictionary, "-i", "utf-8", "-l"],
            input="\n".join(words) + "\n",
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=60,
            check=False,
        )
    except OSError as error:
        raise HunspellError(f"cannot run hunspell: {error}") from error
    if result.returncode != 0:
        message = result.stderr.strip() or f"exit status {result.returncode}"
        raise HunspellError(f"hunspell -d {dictionary}: {message}")
    return {line.strip() for line in result.stdout.splitlines() if line.strip()}


@cache
def charset(dictionary: str) -> str | None:
    """Return the Python codec of a dictionary's encoding (its .aff file's SET), if found.

    Hunspell silently passes a word it cannot convert into that encoding (et_EE is ISO 8859-15,
    which has no "ļ"), so such words must be rejected before Hunspell is asked.
    """
    result = subprocess.run(
        ["hunspell", "-D", "-d", dictionary, "-l"],
        input="",
        capture_output=True,
        text=True,
        errors="replace",
        timeout=60,
        check=False,
    )
    lines = result.stderr.splitlines()
    affix = next((line.strip() for line in lines if line.strip().endswith(".aff")), None)
    if affix is None:
        return None
    try:
        with open(affix, "rb") as file:
            for raw in file:
                if raw.startswith(b"SET "):
                    return codecs.lookup(raw[4:].decode("ascii").strip()).name
    except (OSError, LookupError, UnicodeDecodeError):
        return None
    return None


def _encodable(word: str, encoding: str | None) -> bool:
    if encoding is None:
        return True
    try:
        word.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


class Speller:
    """Remember which words each language's dictionary accepts, asking Hunspell in batches."""

    def __init__(self) -> None:
        self._accepted: dict[str, dict[str, bool]] = {language: {} for language in DICTIONARIES}

    def learn(self, words: Iterable[str], languages: Iterable[str] = DICTIONARIES) -> None:
        """Ask each language's dictionary once about every word it has not been asked about."""
        batch = sorted({unicodedata.normalize("NFC", word) for word in words})
        for language in languages:
            known = self._accepted[language]
            new = [word for word in batch if word not in known]
            if not new:
                continue
            encoding = charset(DICTIONARIES[language])
            for word in new:
                if not _encodable(word, encoding):
                    known[word] = False  # letters the dictionary's language does not have
            new = [word for word in new if word not in known]
            rejected = _run(DICTIONARIES[language], new) if new else set()
            for word in new:
                # Hunspell may split a word at an apostrophe and report only a part.
                parts = [word, *re.split(r"[^\w]+", word)]
                known[word] = not any(part in rejected for part in parts if part)

    def accepts(self, language: str, word: str) -> bool:
        """Return whether the language's dictionary knows the word."""
        word = unicodedata.normalize("NFC", word)
        if word not in self._accepted[language]:
            self.learn([word], [language])
        return self._accepted[language][word]
