"""2,000 emails to a local aiosmtpd: our dispatcher (pooled connections) vs aiosmtplib.send each.

Last line: email sent=2000 rate=<msg/s> baseline_rate=<msg/s> ratio_to_baseline=<r> lost=<n>
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named email.py: keep its folder off the path so `import email` is the stdlib's.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import asyncio  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime  # noqa: E402

import aiosmtplib  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bench.common import POLICY, fresh_database, populate  # noqa: E402
from bot.channels.email import EmailSender, SmtpConfig, build_message  # noqa: E402
from bot.db.models import OutboxMessage  # noqa: E402
from bot.db.session import Database  # noqa: E402
from bot.rendering import Renderer  # noqa: E402
from bot.sandbox.mail_server import MailServer  # noqa: E402
from bot.services.clock import SystemClock  # noqa: E402
from bot.services.delivery.compose import Composer  # noqa: E402
from bot.services.delivery.dispatcher import Dispatcher  # noqa: E402
from bot.services.delivery.port import Outgoing  # noqa: E402

N = 2000


async def ours(server: MailServer) -> tuple[float, int]:
    database = Database(await asyncio.to_thread(fresh_database))
    await populate(database, N, channel="email")
    config = SmtpConfig(
        host="127.0.0.1", port=server.port, security="none", mail_from="b@km.example"
    )
    sender = EmailSender(config, pool_size=4)
    dispatcher = Dispatcher(
        database,
        {"email": sender},
        Composer(Renderer()),
        SystemClock(),
        POLICY,
        batch=32,
        parallel=4,
    )
    started = time.perf_counter()
    await dispatcher.run_until_idle()
    elapsed = time.perf_counter() - started
    async with database.session_scope() as session:
        sent = await session.scalar(select(func.count()).where(OutboxMessage.status == "sent"))
    await sender.close()
    await database.dispose()
    return N / elapsed, N - int(sent or 0)


async def baseline(server: MailServer) -> float:
    config = SmtpConfig(
        host="127.0.0.1", port=server.port, security="none", mail_from="b@km.example"
    )
    started = time.perf_counter()
    for n in range(N):
        message = Outgoing(
            outbox_id=n,
            channel="email",
            kind="broadcast",
            contact_id=n,
            address=f"person{n}@bench.example",
            name=f"Dalībnieks Nr. {n}",
            language="lv",
            subject="Ziņa",
            text="Sanāksme Valgā.",
            html="<p>Sanāksme Valgā.</p>",
            telegram="",
        )
        mail = build_message(config, message, datetime.now(UTC))
        await aiosmtplib.send(mail, hostname="127.0.0.1", port=server.port, start_tls=False)
    return N / (time.perf_counter() - started)


async def main() -> None:
    async with MailServer() as server:
        rate, lost = await ours(server)
        ours_received = len(server.messages)
        base = await baseline(server)
    lost = max(lost, N - ours_received)
    print(f"ours: {rate:.0f} msg/s over {server.connections} connection(s) in all runs")
    print(
        f"email sent={N} rate={rate:.1f} baseline_rate={base:.1f} "
        f"ratio_to_baseline={rate / base:.2f} lost={lost}"
    )


if __name__ == "__main__":
    asyncio.run(main())
