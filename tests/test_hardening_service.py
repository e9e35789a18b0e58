"""The service as an unlucky operator meets it: no signing key, a wrong SMTP login, a server
without AUTH, a Telegram 400; and what the log may never keep (secrets, message texts).
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot import logsetup
from bot.app import Service
from bot.channels.email import EmailSender, SmtpConfig
from bot.config import SettingsError, load_settings
from bot.db.models import Contact, OutboxMessage
from bot.db.session import Database
from bot.rendering import Renderer
from bot.sandbox import Fault, TelegramEmulator
from bot.sandbox.mail_server import MailServer
from bot.services.clock import ManualClock
from bot.services.delivery import outbox
from bot.services.delivery.compose import Composer
from bot.services.delivery.dispatcher import Dispatcher
from bot.services.delivery.signed_links import Links
from tests.test_dispatcher_telegram import Harness
from tests.test_onboarding import free_port
from tests.test_outbox import POLICY, add_contact

NOON = datetime(2027, 1, 20, 10, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[1]


# --- item 7: live email needs a signing key ------------------------------------------------


@pytest.mark.parametrize(("key", "found"), [(None, "is not set"), ("k" * 31, "has only 31 bytes")])
async def test_live_email_without_a_strong_key_refuses_to_start(
    sqlite_url: str, key: str | None, found: str
) -> None:
    port = free_port()
    settings = load_settings(
        database_url=sqlite_url, smtp_host="127.0.0.1", web_port=port, secret_key=key
    )
    service, stop = Service(settings), asyncio.Event()
    running = asyncio.create_task(service.run(stop))
    started = asyncio.create_task(service.ready.wait())
    await asyncio.wait({running, started}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    started.cancel()
    if not running.done():
        stop.set()
        await running
        pytest.fail("live email started without a signing key")
    with pytest.raises(SettingsError) as refused:
        running.result()
    message = str(refused.value)
    assert message.startswith(f"EXPERTBOT_SECRET_KEY: {found}; ")
    assert "at least 32 bytes" in message and "secrets.token_urlsafe" in message
    assert not service.ready.is_set() and service.dispatcher is None
    with pytest.raises(OSError):  # nothing listens: the web server never started
        await asyncio.open_connection("127.0.0.1", port)


def test_a_key_of_32_bytes_is_enough_even_in_few_letters() -> None:
    from bot.config import require_signing_key

    require_signing_key(load_settings(smtp_host="mail.example", secret_key="ā" * 16))
    require_signing_key(load_settings())  # no email: no key needed


async def test_expertbot_run_says_how_to_make_a_key(sqlite_url: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "EXPERTBOT_DATABASE_URL": sqlite_url,
        "EXPERTBOT_SMTP_HOST": "127.0.0.1",
        "EXPERTBOT_SMTP_PORT": "1",
        "EXPERTBOT_WEB_PORT": str(free_port()),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    finally:
        if process.returncode is None:  # it started after all: stop it, the test fails
            process.kill()
            await process.wait()
    text = output.decode()
    assert process.returncode != 0, text
    assert "EXPERTBOT_SECRET_KEY: is not set" in text and "secrets.token_urlsafe(48)" in text
    assert "web pages on" not in text


# --- item 7: the log filter masks secrets of any length ------------------------------------


def test_the_log_filter_masks_short_secrets_too() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "login %s failed", ("pw1",), None)
    logsetup.Redact(["pw1", "a-much-longer-secret"]).filter(record)
    assert record.getMessage() == "login ******** failed"


# --- item 9: a Telegram 400 logs ids and the error, never the text -------------------------


@pytest.fixture
async def telegram(sqlite_database: Database) -> AsyncIterator[Harness]:
    async with TelegramEmulator() as emulator, MailServer() as mail:
        harness = Harness(sqlite_database, emulator, mail)
        yield harness
        await harness.close()


async def test_a_telegram_400_logs_ids_and_the_error_not_the_message(
    telegram: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    ilze = await telegram.person()
    telegram.emulator.fail_next(
        Fault.http_error(400, "Bad Request: message is too long"), method="sendMessage"
    )
    await telegram.send(ilze, "private:1", text="Ilzes veselības stāvoklis ir konfidenciāls")
    with caplog.at_level(logging.INFO):
        await telegram.dispatcher.run_until_idle()
    (row,) = await telegram.rows()
    assert row.status == "failed" and "Message is too long" in (row.last_error or "")
    logged = caplog.text
    assert f"message {row.id} " in logged and "Message is too long" in logged
    assert "veselības" not in logged and "konfidenciāls" not in logged


# --- item 11: a wrong SMTP login or no AUTH is a configuration error -----------------------


def mail_config(server: MailServer, **changes: object) -> SmtpConfig:
    values: dict[str, object] = {
        "host": "127.0.0.1",
        "port": server.port,
        "security": "none",
        "mail_from": "Ekspertu tīkls <tikls@km.example>",
        "timeout": 5,
    }
    values.update(changes)
    return SmtpConfig(**values)  # type: ignore[arg-type]


async def emails_through(
    database: Database, sender: EmailSender, count: int
) -> list[OutboxMessage]:
    """Queue `count` emails for one person and let a dispatcher handle them."""
    clock = ManualClock(NOON)
    contact_id = await add_contact(database, chat=None)
    async with database.session_scope() as session:
        contact = await session.get(Contact, contact_id)
        assert contact is not None
        for n in range(count):
            await outbox.enqueue(
                session,
                contact=contact,
                channel="email",
                kind="broadcast",
                dedupe_key=f"mail:{n}",
                now=clock.now(),
                policy=POLICY,
                params={"text": "Sveiki!", "subject": ""},
            )
    links = Links("smtp-tests-signing-key-0123456789abcdef", "https://bot.example")
    dispatcher = Dispatcher(
        database, {"email": sender}, Composer(Renderer(), links), clock, POLICY, batch=2
    )
    await dispatcher.run_until_idle()
    await sender.close()
    async with database.session_scope() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def error_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_refused_login_fails_every_email_at_once_with_one_log_line(
    sqlite_database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    async with MailServer(logins={"bot": "right-password"}) as server:
        sender = EmailSender(mail_config(server, username="bot", password="wrong"))
        with caplog.at_level(logging.INFO):
            rows = await emails_through(sqlite_database, sender, 5)
        connections = server.connections
    assert [r.status for r in rows] == ["failed"] * 5
    assert all(r.attempts == 1 for r in rows)  # no retry
    error = rows[0].last_error or ""
    assert "535" in error and "EXPERTBOT_SMTP_PASSWORD" in error
    assert "expertbot outbox retry --failed" in error
    (line,) = error_lines(caplog)
    assert "refused our login" in line and "wrong" not in line
    assert connections <= 2  # the pool's first tries, then nothing more
    assert not server.messages


async def test_a_server_that_offers_no_login_is_a_configuration_error(
    sqlite_database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    # With a TLS context, the server offers AUTH only after STARTTLS, which "none" never asks.
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    async with MailServer(tls_context=tls, logins={"bot": "pw"}) as server:
        sender = EmailSender(mail_config(server, username="bot", password="pw"))
        with caplog.at_level(logging.INFO):
            rows = await emails_through(sqlite_database, sender, 3)
    assert [r.status for r in rows] == ["failed"] * 3
    error = rows[0].last_error or ""
    assert "does not offer a login" in error and "EXPERTBOT_SMTP_SECURITY=starttls" in error
    assert len(error_lines(caplog)) == 1
