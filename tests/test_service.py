"""`expertbot run` with real credentials sends the queue, and SIGTERM drains what is in flight."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from sqlalchemy import func, select

from bench.common import populate
from bot.db.models import OutboxMessage
from bot.db.session import Database
from bot.sandbox.mail_server import MailServer

ROOT = Path(__file__).resolve().parents[1]


async def test_sigterm_stops_the_service_with_every_message_sent_or_queued(
    sqlite_url: str, tmp_path: Path
) -> None:
    database = Database(sqlite_url)
    await populate(database, 200, channel="email")
    async with MailServer() as mail:
        mail.faults.delay = 0.02
        env = {
            **os.environ,
            "EXPERTBOT_DATABASE_URL": sqlite_url,
            "EXPERTBOT_SMTP_HOST": "127.0.0.1",
            "EXPERTBOT_SMTP_PORT": str(mail.port),
            "EXPERTBOT_SMTP_SECURITY": "none",
            "EXPERTBOT_SMTP_PASSWORD": "smtp-secret-value",
            "EXPERTBOT_SECRET_KEY": "service-test-signing-key-0123456789",
            "EXPERTBOT_QUIET_HOURS": "",
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
        await mail.wait_for(10, timeout=30)
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
        received = len(mail.messages)
    text = output.decode()
    assert process.returncode == 0, text
    assert "mode: live: sending by email" in text and "sandbox" not in text
    assert "every message is sent or still queued" in text
    assert "smtp-secret-value" not in text
    async with database.session_scope() as session:
        counts = dict(
            (
                await session.execute(
                    select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
                )
            ).all()
        )
    await database.dispose()
    assert "sending" not in counts
    assert counts.get("sent", 0) == received
    assert 10 <= received < 200
    assert counts.get("sent", 0) + counts.get("queued", 0) == 200
