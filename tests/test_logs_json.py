"""EXPERTBOT_LOG_FORMAT=json: one JSON object a line, secrets still masked."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot import logsetup
from tests.test_onboarding import free_port

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "7000000001:AAAAjsonjsonjsonjsonjsonjsonjson"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_time_level_logger_message_and_the_masked_exception(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    logsetup.configure(["s3cret-password"], fmt="json")
    log = logging.getLogger("expertbot.test")
    log.info("login as %s with %s", "ilze", "s3cret-password")
    try:
        raise RuntimeError("SMTP said no to s3cret-password\nsecond line")
    except RuntimeError:
        log.exception("sending failed")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert set(first) == {"time", "level", "logger", "message"}
    assert first["level"] == "INFO" and first["logger"] == "expertbot.test"
    assert first["message"] == "login as ilze with ********"
    assert first["time"].endswith("+00:00") and "T" in first["time"]
    assert second["level"] == "ERROR" and second["message"] == "sending failed"
    assert second["exc"].startswith("Traceback") and "RuntimeError: SMTP said no" in second["exc"]
    assert "s3cret-password" not in "\n".join(lines)


def test_text_stays_the_default(restore_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    logsetup.configure([])
    logging.getLogger("expertbot.test").warning("plain")
    line = capsys.readouterr().err.strip()
    assert line.endswith("WARNING expertbot.test: plain") and not line.startswith("{")


async def test_expertbot_run_logs_json_lines_while_telegram_is_unreachable(
    sqlite_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "EXPERTBOT_DATABASE_URL": sqlite_url,
        "EXPERTBOT_LOG_FORMAT": "json",
        "EXPERTBOT_TELEGRAM_TOKEN": TOKEN,
        "EXPERTBOT_TELEGRAM_API_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens
        "EXPERTBOT_WEB_PORT": str(port),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(60):
            while not any("Telegram not reachable" in line for line in lines):
                line = (await process.stderr.readline()).decode()
                assert line, "run stopped: " + "".join(lines)
                lines.append(line)
            async with httpx.AsyncClient() as client:
                health = await client.get(f"http://127.0.0.1:{port}/healthz")
        process.send_signal(signal.SIGTERM)
        _, rest = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    lines += rest.decode().splitlines(keepends=True)
    assert process.returncode == 0, "".join(lines)
    records = [json.loads(line) for line in lines if line.strip()]
    retry = next(r for r in records if "Telegram not reachable" in r["message"])
    assert retry["level"] == "WARNING" and retry["message"].endswith("retrying in 1 s")
    assert any(r["message"].startswith("web pages on") for r in records)
    assert TOKEN not in "".join(lines) and TOKEN.split(":")[1] not in "".join(lines)
    assert health.status_code == 503
    assert health.json()["channels"]["telegram"]["state"] == "retrying"
