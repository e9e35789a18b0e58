"""2,000 emails to a local aiosmtpd: our dispatcher (pooled connections) vs what the sink takes.

The mail server runs in a child process. Three runs against it, each with its own server:
- ours: the outbox through `Dispatcher.run_until_idle` and `EmailSender` (four pooled
  connections, each reused for many messages, reconnected after an error);
- sink: what the server accepts at most: one pre-built message sent over and over on four
  connections at once, nothing rendered, nothing recorded;
- baseline: `aiosmtplib.send` one message per connection, one after another.

Last line (printed even when a run fails): email sent=<n> rate=<msg/s> sink_rate=<msg/s>
    ratio_to_sink=<r> baseline_rate=<msg/s> ratio_to_baseline=<r> lost=<n>
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named email.py: keep its folder off the path so `import email` is the stdlib's.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse  # noqa: E402
import asyncio  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from collections.abc import Awaitable, Callable  # noqa: E402
from datetime import UTC, datetime  # noqa: E402

import aiosmtplib  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bench.common import POLICY, RemoteMail, fresh_database, populate  # noqa: E402
from bot.channels.email import EmailSender, SmtpConfig, build_message  # noqa: E402
from bot.db.models import OutboxMessage  # noqa: E402
from bot.db.session import Database  # noqa: E402
from bot.rendering import Renderer  # noqa: E402
from bot.services.clock import SystemClock  # noqa: E402
from bot.services.delivery.compose import Composer  # noqa: E402
from bot.services.delivery.dispatcher import Dispatcher  # noqa: E402
from bot.services.delivery.port import Outgoing  # noqa: E402

POOL = 4  # connections, ours and the sink's
PARALLEL = 2
NAN = float("nan")


def config(port: int) -> SmtpConfig:
    return SmtpConfig(host="127.0.0.1", port=port, security="none", mail_from="b@km.example")


def sample(n: int) -> Outgoing:
    return Outgoing(
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


async def ours(n: int, port: int) -> tuple[float, int]:
    """Return our rate and how many rows were not sent."""
    database = Database(await asyncio.to_thread(fresh_database))
    await populate(database, n, channel="email")
    sender = EmailSender(config(port), pool_size=POOL)
    dispatcher = Dispatcher(
        database, {"email": sender}, Composer(Renderer()), SystemClock(), POLICY
    )
    started = time.perf_counter()
    await dispatcher.run_until_idle()
    elapsed = time.perf_counter() - started
    async with database.read_scope() as session:
        sent = await session.scalar(select(func.count()).where(OutboxMessage.status == "sent"))
    await sender.close()
    await database.dispose()
    return n / elapsed, n - int(sent or 0)


async def sink(n: int, port: int) -> float:
    """Send one pre-built message n times over POOL connections: the most the server takes."""
    mail = build_message(config(port), sample(0), datetime.now(UTC))
    clients = [
        aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False) for _ in range(POOL)
    ]
    for client in clients:
        await client.connect()

    async def lane(client: aiosmtplib.SMTP, count: int) -> None:
        for _ in range(count):
            await client.send_message(mail, sender="b@km.example", recipients=["x@bench.example"])

    started = time.perf_counter()
    await asyncio.gather(*(lane(c, n // POOL) for c in clients))
    elapsed = time.perf_counter() - started
    for client in clients:
        await client.quit()
    return (n // POOL * POOL) / elapsed


async def baseline(n: int, port: int) -> float:
    started = time.perf_counter()
    for k in range(n):
        mail = build_message(config(port), sample(k), datetime.now(UTC))
        await aiosmtplib.send(mail, hostname="127.0.0.1", port=port, start_tls=False)
    return n / (time.perf_counter() - started)


async def against_server(run: Callable[[int], Awaitable[object]]) -> tuple[object, int, int]:
    """Run against a fresh server; return the run's answer, messages received, connections."""
    server = await RemoteMail().start()
    try:
        answer = await run(server.port)
        received, connections = await server.finish()
    finally:
        server.kill()
    return answer, received, connections


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000, help="messages")
    n = parser.parse_args().n
    rate, lost, sink_rate, base_rate = NAN, n, NAN, NAN
    try:
        (rate, unsent), received, connections = await against_server(lambda p: ours(n, p))  # type: ignore[misc]
        lost = max(unsent, n - received)
        print(f"ours: {rate:.0f} msg/s over {connections} connection(s), {received} received")
    except Exception:
        traceback.print_exc()
    try:
        sink_rate, _, _ = await against_server(lambda p: sink(n, p))  # type: ignore[assignment]
        print(f"sink: {sink_rate:.0f} msg/s, one message again and again on {POOL} connections")
    except Exception:
        traceback.print_exc()
    try:
        base_rate, _, _ = await against_server(lambda p: baseline(n, p))  # type: ignore[assignment]
        print(f"baseline: {base_rate:.0f} msg/s, aiosmtplib.send with one connection each")
    except Exception:
        traceback.print_exc()
    print(
        f"email sent={n - lost} rate={rate:.1f} sink_rate={sink_rate:.1f} "
        f"ratio_to_sink={rate / sink_rate:.2f} baseline_rate={base_rate:.1f} "
        f"ratio_to_baseline={rate / base_rate:.2f} lost={lost}"
    )


if __name__ == "__main__":
    asyncio.run(main())
