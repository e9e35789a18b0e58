"""Take due outbox rows, send them through their channel, and record what happened."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from jinja2 import TemplateError
from sqlalchemy import update
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Contact, OutboxMessage
from bot.db.session import Database
from bot.services.clock import Clock
from bot.services.delivery import outbox
from bot.services.delivery.compose import Composer, Unreachable
from bot.services.delivery.port import Outgoing, Sender, SendResult
from bot.services.delivery.stats import STATS

log = logging.getLogger("expertbot.dispatcher")


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, then give up."""

    max_attempts: int = 8
    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=2)
    jitter: float = 0.2

    def delay(self, attempt: int) -> timedelta:
        seconds = min(self.base.total_seconds() * 2 ** (attempt - 1), self.cap.total_seconds())
        return timedelta(seconds=seconds * random.uniform(1 - self.jitter, 1 + self.jitter))


@dataclass
class Prepared:
    """One claimed row and what became of it before sending: a message, or why there is none."""

    row: OutboxMessage
    contact: Contact | None = None
    message: Outgoing | None = None
    skip: str | None = None  # cancelled: the channel is closed (Telegram falls back to email)
    failure: str | None = None  # failed: it cannot be composed


class Dispatcher:
    """Claim due rows in batches, send each batch concurrently, record it in one transaction.

    Several batches are in flight at once so that the senders, which enforce the rate
    limits, always have work; duplicates after a crash are bounded by what was in flight.
    The claim also loads the batch's contacts and chats (one query); messages are composed
    in a read-only transaction, only kinds whose builder writes in a writing one. The write
    lock is held for the claim and the record, each a few statements.
    """

    def __init__(
        self,
        database: Database,
        senders: Mapping[str, Sender],
        composer: Composer,
        clock: Clock,
        policy: outbox.DeliveryPolicy,
        *,
        batch: int = 64,
        parallel: int = 2,
        lease: timedelta = timedelta(minutes=5),
        retry: RetryPolicy | None = None,
        poll_seconds: float = 1.0,
        recover_every: timedelta = timedelta(minutes=1),
        record_backoff: float = 0.2,
        renew_every: float | None = None,
    ) -> None:
        self.database = database
        self.senders = dict(senders)
        self.composer = composer
        self.clock = clock
        self.policy = policy
        self.batch = batch
        self.parallel = parallel
        self.lease = lease
        self.retry = retry or RetryPolicy()
        self.poll_seconds = poll_seconds
        self.recover_every = recover_every
        self.record_backoff = record_backoff
        # While a batch is out (a long 429 pause, a slow relay), its lease is renewed this
        # often (seconds), so that no worker or instance takes its rows for stale ones.
        self.renew_every = renew_every or lease.total_seconds() / 3
        self.wake = asyncio.Event()
        self._next_recovery: datetime | None = None

    @property
    def in_flight_bound(self) -> int:
        return self.batch * self.parallel

    async def recover(self) -> int:
        """Requeue rows a crashed worker or process left in `sending` (at-least-once)."""
        async with self.database.session_scope() as session:
            count = await outbox.recover_stale(session, now=self.clock.now())
        if count:
            log.warning("requeued %d message(s) left sending by a stopped process", count)
        return count

    async def recover_when_due(self) -> int:
        """Recover stale leases once every `recover_every` of the clock (the first call does)."""
        now = self.clock.now()
        if self._next_recovery is not None and now < self._next_recovery:
            return 0
        # Set before the await: the other workers of this dispatcher do not run it too.
        self._next_recovery = now + self.recover_every
        return await self.recover()

    async def claim(self, limit: int) -> list[OutboxMessage]:
        return (await self._claim(limit))[0]

    async def _claim(self, limit: int) -> tuple[list[OutboxMessage], dict[int, outbox.Recipient]]:
        """Claim due rows and load their contacts and chats (one more query, same transaction)."""
        async with self.database.session_scope() as session:
            rows = await outbox.claim_due(
                session,
                now=self.clock.now(),
                limit=limit,
                lease=self.lease,
                channels=tuple(self.senders),
            )
            found = await outbox.recipients(session, {r.contact_id for r in rows}) if rows else {}
        return rows, found

    async def process_batch(self) -> int:
        """Claim, prepare, send and record one batch; return how many rows it held."""
        rows, found = await self._claim(self.batch)
        if not rows:
            return 0
        done = asyncio.Event()
        renewing = asyncio.create_task(self._renew_leases([r.id for r in rows], done))
        try:
            try:
                prepared = await self._prepare_all(rows, found)
            except Exception:  # nothing was sent: the batch waits for its lease, then goes again
                log.exception("a batch of %d message(s) failed; it will be retried", len(rows))
                return len(rows)
            results = await asyncio.gather(*(self._send(p.message) for p in prepared))
            await self._record_until_done(list(zip(prepared, results, strict=True)))
        finally:
            done.set()
            await renewing
        return len(rows)

    async def _renew_leases(self, ids: list[int], done: asyncio.Event) -> None:
        """Renew the lease of a batch's rows until `done` (sent and recorded)."""
        while True:
            try:
                await asyncio.wait_for(done.wait(), self.renew_every)
                return
            except TimeoutError:
                pass
            try:
                async with self.database.session_scope() as session:
                    until = self.clock.now() + self.lease
                    await outbox.extend_leases(session, ids, until=until)
            except Exception:  # a busy database: the next round tries again
                log.warning("could not renew the lease of %d message(s)", len(ids), exc_info=True)

    async def run_until_idle(self) -> int:
        """Send everything due now and wait for it; return how many rows were handled."""
        handled = 0
        while True:
            counts = await asyncio.gather(*(self.process_batch() for _ in range(self.parallel)))
            if not any(counts):
                return handled
            handled += sum(counts)

    async def run(self, stop: asyncio.Event) -> None:
        """Dispatch until `stop` is set; batches already claimed are finished (drained).

        Leases left by a crashed worker or process are recovered at start and then once a
        `recover_every` while running.
        """
        await asyncio.gather(*(self._worker(stop) for _ in range(self.parallel)))

    async def _worker(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.recover_when_due()
                if await self.process_batch():
                    continue
            except Exception:
                # Claiming failed (SQLite busy past its timeout, a lost connection): nothing
                # was claimed, so wait a poll and try again rather than stop the service.
                log.exception("could not claim due messages; trying again")
            signals = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self.wake.wait())]
            await asyncio.wait(
                signals, timeout=self.poll_seconds, return_when=asyncio.FIRST_COMPLETED
            )
            for signal in signals:
                signal.cancel()
            self.wake.clear()

    async def _send(self, message: Outgoing | None) -> SendResult | None:
        if message is None:
            return None
        try:
            return await self.senders[message.channel].send(message)
        except Exception as error:  # a sender bug must not lose the row
            log.exception("sender %s failed on message %s", message.channel, message.outbox_id)
            return SendResult("retry", reason=f"internal error: {type(error).__name__}")

    async def _prepare_all(
        self, rows: list[OutboxMessage], found: dict[int, outbox.Recipient]
    ) -> list[Prepared]:
        prepared = [Prepared(row) for row in rows]
        writing = []
        # A session begins its transaction at its first query: kinds that need none (a
        # broadcast) are composed without one.
        async with self.database.read_scope() as session:
            for item in prepared:
                recipient = found.get(item.row.contact_id)
                if recipient is None:
                    item.skip = "gone"
                    continue
                item.contact = recipient.contact
                item.skip = outbox.closed_reason(
                    recipient.contact, item.row.channel, chat_id=recipient.chat_id
                )
                if item.skip:
                    continue
                if self.composer.writes(item.row.kind):
                    writing.append((item, recipient))
                    continue
                await self._compose(session, item, recipient)
        if writing:
            async with self.database.session_scope() as session:
                for item, recipient in writing:
                    await self._compose(session, item, recipient, savepoint=True)
        return prepared

    async def _compose(
        self,
        session: AsyncSession,
        item: Prepared,
        recipient: outbox.Recipient,
        *,
        savepoint: bool = False,
    ) -> None:
        row = item.row
        try:
            if savepoint:  # a builder that fails after writing leaves nothing behind
                async with session.begin_nested():
                    item.message = await self._composed(session, row, recipient)
            else:
                item.message = await self._composed(session, row, recipient)
            return
        except Unreachable as gone:
            item.skip = str(gone)
            return
        except (TemplateError, LookupError, ValueError) as error:
            log.error("message %s (%s) cannot be rendered: %s", row.id, row.kind, error)
            item.failure = f"template error: {error}"
        except Exception as error:  # one broken row must not hold up its batch
            log.exception("message %s (%s) cannot be composed", row.id, row.kind)
            item.failure = f"internal error: {error!r}"
        if not savepoint:
            # A failed query ends a PostgreSQL transaction: the next row starts a new one.
            await session.rollback()

    async def _composed(
        self, session: AsyncSession, row: OutboxMessage, recipient: outbox.Recipient
    ) -> Outgoing:
        return await self.composer.compose(
            session, row, contact=recipient.contact, chat_id=recipient.chat_id
        )

    async def _record_until_done(self, done: list[tuple[Prepared, SendResult | None]]) -> None:
        """Record a sent batch, trying again while the database refuses (busy, reconnecting).

        What was sent must be recorded, never sent again: left `sending`, the rows would go
        out a second time once their lease ran out. So this keeps trying for up to a lease.
        """
        now = self.clock.now()
        for item, result in done:
            if item.message is not None and result is not None:
                STATS.record(item.row.channel, result.outcome, at=now)
        started = time.monotonic()
        delay = self.record_backoff
        while True:
            try:
                await self._record_all(done)
                return
            except Exception as error:
                if not _transient(error):
                    # One row the database refuses (a contact deleted meanwhile) must not keep
                    # the rest unrecorded until they go again: record them one by one.
                    log.warning("recording a batch failed; recording its rows one by one")
                    await self._record_each(done)
                    return
                waited = time.monotonic() - started
                if waited + delay > self.lease.total_seconds():
                    log.exception(
                        "could not record a batch of %d message(s) for %.0f s; after their "
                        "lease they will be sent again",
                        len(done),
                        waited,
                    )
                    return
                log.warning(
                    "could not record a sent batch of %d message(s); trying again in %.1f s",
                    len(done),
                    delay,
                    exc_info=True,
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    async def _record_each(self, done: list[tuple[Prepared, SendResult | None]]) -> None:
        """Record what was sent first, in one transaction, then every other row on its own."""
        sent = [pair for pair in done if _was_sent(pair)]
        rest = [pair for pair in done if not _was_sent(pair)]
        for part in ([sent] if sent else []) + [[pair] for pair in rest]:
            try:
                await self._record_all(part)
            except Exception:
                ids = [item.row.id for item, _ in part]
                log.exception("could not record message(s) %s", ids)

    async def _record_all(self, done: list[tuple[Prepared, SendResult | None]]) -> None:
        now = self.clock.now()
        async with self.database.session_scope() as session:
            sent = [
                (item.row, item.message, result)
                for item, result in done
                if item.message is not None and result is not None and result.outcome == "sent"
            ]
            if sent:
                await outbox.mark_many_sent(session, self._sent_values(sent))
            for item, result in done:
                if item.skip is not None:
                    await self._skip(session, item.row, item.contact, item.skip)
                elif item.failure is not None:
                    await outbox.mark_failed(session, item.row.id, now=now, error=item.failure)
                elif item.message is not None and result is not None and result.outcome != "sent":
                    await self._record(session, item.row, item.message, result)

    def _sent_values(
        self, sent: list[tuple[OutboxMessage, Outgoing, SendResult]]
    ) -> list[dict[str, Any]]:
        now = self.clock.now()
        values = []
        for row, message, result in sent:
            values.append(
                {
                    "id": row.id,
                    "status": "sent",
                    "sent_at": now,
                    "provider_id": result.provider_id,
                    "language": message.language,
                    "subject": message.subject if row.channel == "email" else None,
                    "rendered_text": message.body,
                    "last_error": None,
                    "updated_at": now,
                }
            )
        return values

    async def _skip(
        self, session: AsyncSession, row: OutboxMessage, contact: Contact | None, reason: str
    ) -> None:
        now = self.clock.now()
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row.id)
            .values(status="cancelled", last_error=f"skipped: {reason}", updated_at=now)
        )
        if contact is not None and row.channel == "telegram":
            await self._fall_back(session, row, contact)

    async def _fall_back(self, session: AsyncSession, row: OutboxMessage, contact: Contact) -> None:
        """Send a Telegram message by email instead, under its own dedupe key."""
        result = await outbox.enqueue(
            session,
            contact=contact,
            channel="email",
            kind=row.kind,
            dedupe_key=f"{row.dedupe_key}:fallback-email",
            now=self.clock.now(),
            policy=self.policy,
            params=row.params,
            event_id=row.event_id,
            survey_id=row.survey_id,
            recommendation_id=row.recommendation_id,
            urgent=row.urgent,
        )
        if result.status == "queued":
            self.wake.set()

    async def _record(
        self, session: AsyncSession, row: OutboxMessage, message: Outgoing, result: SendResult
    ) -> None:
        now = self.clock.now()
        if result.outcome == "rate_limited":
            wait = timedelta(seconds=result.retry_after or 1)
            await outbox.mark_retry(
                session, row.id, now=now, at=now + wait, error=result.reason, counts=False
            )
        elif result.outcome == "retry":
            await self._retry_or_fail(session, row, result.reason)
        elif result.outcome == "unreachable":
            await self._unreachable(session, row, result)
        elif result.outcome == "misconfigured":
            # Not this message's fault and not worth retrying until the settings change; the
            # sender logged it once, the row says how to send it again.
            await outbox.mark_failed(session, row.id, now=now, error=result.reason)
        else:
            # Ids and the error only: the text is the person's business (it stays on the row).
            log.error(
                "message %s (%s, %s, contact %s) rejected: %s",
                row.id,
                row.kind,
                row.channel,
                row.contact_id,
                result.reason[:300],
            )
            await outbox.mark_failed(
                session, row.id, now=now, error=result.reason, text=message.body
            )

    async def _retry_or_fail(self, session: AsyncSession, row: OutboxMessage, reason: str) -> None:
        now = self.clock.now()
        if row.attempts >= self.retry.max_attempts:
            error = f"gave up after {row.attempts} attempts: {reason}"
            await outbox.mark_failed(session, row.id, now=now, error=error)
            return
        at = now + self.retry.delay(row.attempts)
        await outbox.mark_retry(session, row.id, now=now, at=at, error=reason)

    async def _unreachable(
        self, session: AsyncSession, row: OutboxMessage, result: SendResult
    ) -> None:
        now = self.clock.now()
        column = "telegram_state" if row.channel == "telegram" else "email_state"
        state = result.state or ("inactive" if row.channel == "telegram" else "bounced")
        await session.execute(
            update(Contact).where(Contact.id == row.contact_id).values({column: state})
        )
        await outbox.mark_failed(session, row.id, now=now, error=result.reason)
        contact = await session.get(Contact, row.contact_id)
        if row.channel == "telegram" and contact is not None:
            await session.refresh(contact)
            await self._fall_back(session, row, contact)


def _was_sent(pair: tuple[Prepared, SendResult | None]) -> bool:
    item, result = pair
    return item.message is not None and result is not None and result.outcome == "sent"


def _transient(error: Exception) -> bool:
    """Whether the database may take the same writes a moment later (busy, reconnecting)."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, OperationalError | InterfaceError | TimeoutError | OSError)
