"""Settings come from EXPERTBOT_* variables or .env; bad ones stop start-up with one clear line."""

from __future__ import annotations

import subprocess
import sys
from datetime import time
from pathlib import Path

import pytest

from bot.config import Settings, SettingsError, load_settings, parse_quiet_hours
from tests.conftest import Cli


def test_defaults_need_no_environment_at_all() -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite:///expertbot.db"
    assert settings.async_database_url == "sqlite+aiosqlite:///expertbot.db"
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert (settings.web_host, settings.web_port) == ("127.0.0.1", 8080)
    assert settings.timezone == "Europe/Riga"
    assert str(settings.quiet) == "20:00-08:00"
    assert settings.sandbox


def test_settings_are_read_from_a_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "EXPERTBOT_TIMEZONE=Europe/Tallinn\nEXPERTBOT_SMTP_HOST=mail.example\n", encoding="utf-8"
    )
    settings = load_settings()
    assert settings.timezone == "Europe/Tallinn"
    assert not settings.sandbox


def test_the_api_url_is_a_server_root_without_a_trailing_slash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EXPERTBOT_TELEGRAM_API_URL", "http://127.0.0.1:8081/")
    assert load_settings().telegram_api_url == "http://127.0.0.1:8081"


def test_postgres_urls_map_onto_asyncpg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXPERTBOT_DATABASE_URL", "postgres://bot:pw@db/expertbot")
    assert load_settings().async_database_url == "postgresql+asyncpg://bot:pw@db/expertbot"


@pytest.mark.parametrize(
    ("variable", "value", "hint"),
    [
        ("EXPERTBOT_SMTP_PORT", "abc", "port number such as 587"),
        ("EXPERTBOT_TIMEZONE", "Europe/Rigaa", "IANA zone name such as Europe/Riga"),
        ("EXPERTBOT_QUIET_HOURS", "8pm-8am", "HH:MM-HH:MM"),
        ("EXPERTBOT_DATABASE_URL", "mysql://x", "sqlite:///expertbot.db or postgresql://"),
        ("EXPERTBOT_TELEGRAM_API_URL", "api.telegram.org", "server root"),
        ("EXPERTBOT_MAIL_FROM", "nobody", "an address such as"),
    ],
)
def test_a_malformed_setting_names_the_variable_and_the_fix(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, hint: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.count("\n") == 0
    assert message.startswith(variable + ":")
    assert hint in message


def test_a_bad_setting_stops_the_command_with_exit_status_2(cli: Cli) -> None:
    result = cli("contacts", "list", EXPERTBOT_SMTP_PORT="abc")
    assert result.exit_code == 2
    assert "EXPERTBOT_SMTP_PORT" in result.output and "587" in result.output
    assert "Traceback" not in result.output


def test_config_show_masks_every_secret(cli: Cli) -> None:
    result = cli(
        "config",
        "show",
        EXPERTBOT_TELEGRAM_TOKEN="123456:SECRET-TOKEN",
        EXPERTBOT_SMTP_PASSWORD="mail-pässword",
        EXPERTBOT_SECRET_KEY="signing-key-value",
        EXPERTBOT_DATABASE_URL="postgresql://bot:db-password@127.0.0.1/expertbot",
    )
    assert result.exit_code == 0, result.output
    for secret in ("SECRET-TOKEN", "mail-pässword", "signing-key-value", "db-password"):
        assert secret not in result.output
    assert "EXPERTBOT_TELEGRAM_TOKEN" in result.output and "********" in result.output
    assert "postgresql://bot:********@127.0.0.1/expertbot" in result.output
    assert "Mode: live" in result.output


def test_quiet_hours_cross_midnight_and_empty_turns_them_off() -> None:
    quiet = parse_quiet_hours("20:00-08:00")
    assert quiet is not None
    assert quiet.contains(time(23, 30)) and quiet.contains(time(7, 59))
    assert not quiet.contains(time(8, 0)) and not quiet.contains(time(19, 59))
    assert parse_quiet_hours("") is None
    assert Settings(quiet_hours="").quiet is None


def test_python_dash_m_bot_is_the_same_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--help"], capture_output=True, text=True, check=True
    )
    assert "contacts" in result.stdout and "Usage: expertbot" in result.stdout
