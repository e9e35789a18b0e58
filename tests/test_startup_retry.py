"""Telegram down at start-up (issue 17, item 2): email and the web go on, Telegram's start-up
is tried again with backoff, /healthz says so, and Telegram joins in once it answers.

The service runs for real against the Bot API emulator and aiosmtpd; only the pause between
attempts is the test's (it waits for the test's word instead of for seconds to pass).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.app import Service
from bot.config import load_settings
from bot.db.session import Database
from bot.sandbox import Fault, TelegramEmulator
from bot.sandbox.mail_server import MailServer
from bot.services.clock import ManualClock
from bot.telegram.startup import backoff
from bot.web.app import webhook_secret
from tests.test_onboarding import NOW, free_port
from tests.test_outbox import add_contact, queue

KEY = "startup-retry-tests-signing-key-0123456789"
ROOT = Path(__file__).resolve().parents[1]


class Gate:
    """The pause between start-up attempts: it lasts until the test opens the gate."""

    def __init__(self) -> None:
        self.asked: list[float] = []
        self.waiting = asyncio.Event()  # someone is waiting at the gate
        self.opened = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        self.asked.append(seconds)
        self.waiting.set()
        await self.opened.wait()


class Running:
    def __init__(self, service: Service, emulator: TelegramEmulator, mail: MailServer) -> None:
        self.service, self.emulator, self.mail = service, emulator, mail
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.gate = Gate()
        service.telegram_pause = self.gate.sleep

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.service.settings.web_port}"

    async def start(self) -> None:
        self.task = asyncio.create_task(self.service.run(self.stop))
        started = asyncio.create_task(self.service.ready.wait())
        await asyncio.wait({self.task, started}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        if self.task.done():
            self.task.result()
        assert self.service.ready.is_set(), "the service did not get ready"

    async def health(self) -> tuple[int, dict[str, Any]]:
        async with httpx.AsyncClient() as client:
            answer = await client.get(f"{self.url}/healthz")
        return answer.status_code, answer.json()

    async def close(self) -> None:
        self.stop.set()
        if self.task is not None:
            await asyncio.wait_for(self.task, 20)


@pytest.fixture
async def running(sqlite_database: Database) -> AsyncIterator[Running]:
    async with TelegramEmulator() as emulator, MailServer() as mail:
        settings = load_settings(
            database_url=sqlite_database.url,
            telegram_token=emulator.token,
            telegram_api_url=emulator.base_url,
            smtp_host="127.0.0.1",
            smtp_port=mail.port,
            smtp_security="none",
            secret_key=KEY,
            web_port=free_port(),
            quiet_hours="",
        )
        run = Running(Service(settings, ManualClock(NOW)), emulator, mail)
        yield run
        await run.close()


async def test_telegram_failing_at_start_leaves_email_and_the_web_working_until_it_answers(
    running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    emulator, service = running.emulator, running.service
    emulator.fail_next(Fault.server_error(), method="getMe", times=3)
    with caplog.at_level(logging.INFO, logger="expertbot"):
        await running.start()

        # Telegram is down: the web answers, /healthz says what is wrong, email goes out.
        status, body = await running.health()
        assert status == 503 and body["status"] == "down"
        assert body["down"] == ["channels.telegram"]
        telegram = body["channels"]["telegram"]
        assert telegram["state"] == "retrying" and telegram["attempts"] == 1
        assert "Internal Server Error" in telegram["last_error"]
        assert emulator.token not in str(body)
        assert body["database"] == {"status": "ok"}
        assert body["channels"]["email"]["status"] == "ok"
        assert service.database is not None and service.dispatcher is not None
        ilze = await add_contact(service.database, chat=None)
        await queue(
            service.database,
            ilze,
            "startup:mail",
            now=NOW,
            params={"subject": "Sanāksme", "text": "Sveiki!"},
        )
        service.dispatcher.wake.set()
        [mail] = await running.mail.wait_for(1, timeout=10)
        assert mail.recipients == ["ilze.kalnina@jelgava.example"]

        # Telegram answers again: the next attempts (after 1, 2 and 4 s) bring it in.
        running.gate.opened.set()
        await asyncio.wait_for(service.telegram.joined.wait(), 10)
    assert running.gate.asked == [1, 2, 4]
    retried = [r.getMessage() for r in caplog.records if "not reachable" in r.getMessage()]
    assert retried == [
        f"Telegram not reachable (NetworkError: Internal Server Error); retrying in {s} s"
        for s in (1, 2, 4)
    ]
    assert service.bot_username == emulator.bot_username
    status, body = await running.health()
    assert status == 200 and body["status"] == "ok"
    assert body["channels"]["telegram"]["state"] == "up"
    assert body["channels"]["email"]["last_result"] == "sent"

    # Telegram works: a person who writes to the bot gets an answer.
    anna = emulator.user(2002, "Anna", language_code="lv")
    await anna.send("/help")
    assert (await anna.wait_for_message()).text
    assert emulator.calls_to("setMyCommands")


@pytest.mark.parametrize(
    ("method", "fault"),
    [
        ("setMyCommands", Fault.drop()),
        ("deleteWebhook", Fault.bad_gateway()),
        ("getMe", Fault.drop()),
    ],
)
async def test_any_failing_start_up_call_is_tried_again(
    running: Running, method: str, fault: Fault
) -> None:
    running.emulator.fail_next(fault, method=method)
    running.gate.opened.set()
    await running.start()
    service = running.service
    await asyncio.wait_for(service.telegram.joined.wait(), 10)
    assert service.telegram.attempts == 2 and running.gate.asked == [1]
    status, _ = await running.health()
    assert status == 200


async def test_webhook_mode_retries_set_webhook_and_asks_telegram_to_resend_meanwhile(
    sqlite_database: Database,
) -> None:
    async with TelegramEmulator() as emulator, MailServer() as mail:
        port = free_port()
        settings = load_settings(
            database_url=sqlite_database.url,
            telegram_token=emulator.token,
            telegram_api_url=emulator.base_url,
            telegram_webhook=True,
            public_url=f"http://127.0.0.1:{port}",
            secret_key=KEY,
            web_port=port,
        )
        running = Running(Service(settings, ManualClock(NOW)), emulator, mail)
        emulator.fail_next(Fault.server_error(), method="setWebhook")
        try:
            await running.start()
            assert running.service.telegram.state == "retrying"
            async with httpx.AsyncClient() as client:
                early = await client.post(
                    f"{running.url}/telegram",
                    json={"update_id": 1},
                    headers={"X-Telegram-Bot-Api-Secret-Token": webhook_secret(KEY)},
                )
            assert early.status_code == 503  # Telegram keeps the update and sends it again
            running.gate.opened.set()
            await asyncio.wait_for(running.service.telegram.joined.wait(), 10)
            assert len(emulator.calls_to("setWebhook")) == 2
        finally:
            await running.close()


async def test_a_refused_token_is_not_retried_and_the_rest_runs(
    sqlite_database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    async with TelegramEmulator() as emulator, MailServer() as mail:
        wrong = "7000000001:AAAAwrongwrongwrongwrongwrongwro"
        settings = load_settings(
            database_url=sqlite_database.url,
            telegram_token=wrong,
            telegram_api_url=emulator.base_url,
            smtp_host="127.0.0.1",
            smtp_port=mail.port,
            smtp_security="none",
            secret_key=KEY,
            web_port=free_port(),
        )
        running = Running(Service(settings, ManualClock(NOW)), emulator, mail)
        try:
            with caplog.at_level(logging.INFO, logger="expertbot"):
                await running.start()
            status, body = await running.health()
        finally:
            await running.close()
    assert status == 503 and body["channels"]["telegram"]["state"] == "refused"
    assert running.gate.asked == []  # not tried again
    assert "Telegram refused the bot token" in caplog.text and wrong not in caplog.text
    assert wrong not in str(body)


def test_the_pause_between_attempts_doubles_up_to_a_minute() -> None:
    assert [backoff(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]


async def test_run_with_a_database_folder_that_does_not_exist_says_so_in_one_line(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "no-such-folder" / "expertbot.db"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "EXPERTBOT_DATABASE_URL": f"sqlite:///{missing}",
        "EXPERTBOT_SMTP_HOST": "127.0.0.1",
        "EXPERTBOT_SECRET_KEY": KEY,
        "EXPERTBOT_WEB_PORT": str(free_port()),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    text = output.decode()
    assert process.returncode == 1, text
    assert "Traceback" not in text
    [line] = [line for line in text.splitlines() if "Error" in line]
    assert f"the folder {missing.parent} does not exist" in line
