"""Logging that never shows a secret: httpx logs request URLs, and URLs carry the bot token."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime


class Redact(logging.Filter):
    """Replace every known secret in a record's final text with ********."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Every length: a short password is still a password (longest first, so that a
        # secret containing another is masked whole).
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        text = record.getMessage()
        clean = text
        for secret in self.secrets:
            clean = clean.replace(secret, "********")
        if record.exc_info and record.exc_text is None:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            for secret in self.secrets:
                record.exc_text = record.exc_text.replace(secret, "********")
        if clean != text:
            record.msg, record.args = clean, None
        return True


class JsonLines(logging.Formatter):
    """One JSON object a line (EXPERTBOT_LOG_FORMAT=json): time, level, logger, message, exc."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False)


def configure(secrets: Iterable[str], level: int = logging.INFO, fmt: str = "text") -> None:
    """Log to stderr with secrets redacted, as text or JSON lines; keep httpx's per-request
    lines out."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonLines()
        if fmt == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler.addFilter(Redact(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "apscheduler", "aiosqlite", "mail.log"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def add_redaction(handler: logging.Handler, secrets: Iterable[str]) -> None:
    handler.addFilter(Redact(secrets))
