"""Settings from EXPERTBOT_* environment variables or a .env file."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from functools import cached_property
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PREFIX = "EXPERTBOT_"
DEFAULT_DATABASE_URL = "sqlite:///expertbot.db"

# What to tell a person whose setting is wrong, by setting name.
FIXES: dict[str, str] = {
    "database_url": "use e.g. sqlite:///expertbot.db or postgresql://user:pass@host/dbname",
    "telegram_api_url": "use the server root, e.g. https://api.telegram.org",
    "public_url": "use the address people open, e.g. https://expertbot.example.lv",
    "smtp_port": "use a port number such as 587 (STARTTLS) or 465 (TLS)",
    "smtp_security": "use auto, starttls, tls or none",
    "web_port": "use a port number such as 8080",
    "mail_from": "use an address such as Expert network <tikls@km.example>",
    "timezone": "use an IANA zone name such as Europe/Riga or Europe/Tallinn",
    "quiet_hours": "use HH:MM-HH:MM such as 20:00-08:00, or leave it empty to turn quiet hours off",
    "telegram_rate": "use a number of messages per second between 1 and 30",
    "default_language": "use lv, et or en",
    "telegram_bot_username": "use the bot's username without @, e.g. ekspertu_tikls_bot",
    "invite_days": "use a number of days between 1 and 365",
    "telegram_webhook": "use true or false",
    "digest_time": "use a local time such as 08:00",
    "retention_days": "use a number of days of at least 30, e.g. 730 (two years)",
    "backup_dir": "use a directory the service may write to, e.g. /var/backups/expertbot",
    "backup_keep": "use how many daily backups to keep, e.g. 14",
    "metrics_token": "use a long random text, e.g. from: openssl rand -hex 32",
    "log_format": "use text or json",
    "trusted_proxies": "use the reverse proxy's addresses separated by commas, e.g. 127.0.0.1",
}


@dataclass(frozen=True)
class QuietHours:
    """A daily window, possibly across midnight, in which non-urgent messages wait."""

    start: time
    end: time

    def contains(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


_QUIET = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*-\s*([01]?\d|2[0-3]):([0-5]\d)\s*$")


def parse_quiet_hours(text: str) -> QuietHours | None:
    """Read 'HH:MM-HH:MM'; an empty text means no quiet hours."""
    if not text.strip():
        return None
    match = _QUIET.match(text)
    if not match:
        raise ValueError(f"{text!r} is not HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if (h1, m1) == (h2, m2):
        raise ValueError("start and end are the same")
    return QuietHours(time(h1, m1), time(h2, m2))


def async_database_url(url: str) -> str:
    """Map a plain database URL onto the async driver the service uses."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        return "postgresql+asyncpg://" + url[len("postgresql://") :]
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url[len("sqlite://") :]
    return url


class Settings(BaseSettings):
    """Everything the service reads from its environment."""

    model_config = SettingsConfigDict(
        env_prefix=PREFIX, env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = DEFAULT_DATABASE_URL
    telegram_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    telegram_rate: float = Field(default=25.0, gt=0, le=30)
    telegram_bot_username: str | None = None
    telegram_webhook: bool = False
    invite_days: int = Field(default=30, ge=1, le=365)
    digest_time: time = time(8, 0)
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["auto", "starttls", "tls", "none"] = "auto"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    mail_from: str = "expertbot@localhost"
    public_url: str = "http://127.0.0.1:8080"
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=1, le=65535)
    secret_key: SecretStr | None = None
    timezone: str = "Europe/Riga"
    quiet_hours: str = "20:00-08:00"
    default_language: str = "lv"
    # Operations (issue 18): retention of delivery records, backups, metrics, log lines.
    retention_days: int = Field(default=730, ge=30, le=36500)
    backup_dir: str | None = None
    backup_keep: int = Field(default=14, ge=1, le=3650)
    metrics_token: SecretStr | None = None
    log_format: Literal["text", "json"] = "text"
    # Addresses of reverse proxies whose X-Forwarded-For is believed (console rate limits).
    trusted_proxies: str = "127.0.0.1,::1"

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgres")):
            raise ValueError("only sqlite:// and postgresql:// URLs are supported")
        return value

    @field_validator("telegram_api_url", "public_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/")

    @field_validator("telegram_bot_username")
    @classmethod
    def _bot_username(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.removeprefix("@")
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{4,31}", value):
            raise ValueError(f"{value!r} is not a Telegram username")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a known time zone") from None
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str) -> str:
        parse_quiet_hours(value)
        return value

    @field_validator("default_language")
    @classmethod
    def _language(cls, value: str) -> str:
        if value not in ("lv", "et", "en"):
            raise ValueError(f"{value!r} is not lv, et or en")
        return value

    @field_validator("mail_from")
    @classmethod
    def _mail_from(cls, value: str) -> str:
        from email.utils import parseaddr

        if "@" not in parseaddr(value)[1]:
            raise ValueError(f"{value!r} has no email address")
        return value

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def quiet(self) -> QuietHours | None:
        return parse_quiet_hours(self.quiet_hours)

    @property
    def async_database_url(self) -> str:
        return async_database_url(self.database_url)

    @property
    def sandbox(self) -> bool:
        """True when there is neither a bot token nor a mail server: nothing may leave."""
        return self.telegram_token is None and not self.smtp_host

    def masked(self) -> dict[str, str]:
        """Return every setting as text, secrets and URL passwords hidden."""
        shown: dict[str, str] = {}
        for name in type(self).model_fields:
            value: Any = getattr(self, name)
            if isinstance(value, SecretStr):
                text = "********"
            elif value is None:
                text = "(not set)"
            else:
                text = str(value)
            if name == "database_url":
                text = re.sub(r"(://[^:/@]+:)[^@]+@", r"\1********@", text)
            shown[PREFIX + name.upper()] = text
        return shown


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line per problem."""


MIN_SECRET_KEY_BYTES = 32
MAKE_SECRET_KEY = 'python3 -c "import secrets; print(secrets.token_urlsafe(48))"'


def require_signing_key(settings: Settings) -> None:
    """Refuse live email without a strong EXPERTBOT_SECRET_KEY: every email link is signed
    with it, so without one each email would fail at send time."""
    if not settings.smtp_host:
        return
    key = settings.secret_key.get_secret_value() if settings.secret_key is not None else ""
    size = len(key.encode("utf-8"))
    if size >= MIN_SECRET_KEY_BYTES:
        return
    found = "is not set" if not key else f"has only {size} bytes"
    raise SettingsError(
        f"{PREFIX}SECRET_KEY: {found}; sending email needs a signing key of at least "
        f"{MIN_SECRET_KEY_BYTES} bytes (every link in an email is signed with it). Make one "
        f"with: {MAKE_SECRET_KEY} and set it as {PREFIX}SECRET_KEY in the environment or .env."
    )


def describe_errors(error: ValidationError) -> str:
    """Turn pydantic's report into one line per variable with the fix."""
    lines = []
    for item in error.errors():
        name = str(item["loc"][0]) if item["loc"] else "?"
        reason = str(item["msg"]).removeprefix("Value error, ")
        fix = FIXES.get(name, "check its value")
        lines.append(f"{PREFIX}{name.upper()}: {reason}; {fix}.")
    return "\n".join(lines)


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, raising SettingsError with a readable line per problem."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(describe_errors(error)) from None
