"""Storage limitation (GDPR art. 5(1)(e)): old delivery records lose what they said.

An outbox row that has been finished (sent, failed or cancelled) for longer than the retention
period keeps only what the counts need: who it went to (the contact's id), the kind, channel,
status, attempts, language, the event, survey or recommendation it belonged to, and its dates.
The text sent, the subject, the values it was rendered from (a broadcast's own words, names,
links), the provider's message id (an email's Message-ID names the person's mail server
exchange) and error texts (a refusal may quote the address or the message) are removed.
Rows still queued or being sent are never touched: they are work, not records.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, case, cast, func, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import OutboxMessage

FINISHED = ("sent", "failed", "cancelled")
# Put in place of an error text, so a failed row still says it failed and why it says no more.
REMOVED = "details removed after the retention period"


def cutoff(now: datetime, days: int) -> datetime:
    """Return the moment before which finished deliveries lose their contents."""
    return now - timedelta(days=days)


async def forget_old_deliveries(session: AsyncSession, *, now: datetime, days: int) -> int:
    """Remove bodies and personal details from deliveries finished more than `days` ago.

    Returns how many rows were cleared now (rows cleared on an earlier day do not count).
    """
    finished_at = func.coalesce(OutboxMessage.sent_at, OutboxMessage.updated_at)
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status.in_(FINISHED), finished_at < cutoff(now, days))
        .where(
            or_(
                OutboxMessage.rendered_text.is_not(None),
                OutboxMessage.subject.is_not(None),
                OutboxMessage.provider_id.is_not(None),
                OutboxMessage.last_error.is_not(None) & (OutboxMessage.last_error != REMOVED),
                cast(OutboxMessage.params, String) != "{}",
            )
        )
        .values(
            rendered_text=None,
            subject=None,
            provider_id=None,
            params={},
            last_error=case((OutboxMessage.last_error.is_(None), None), else_=REMOVED),
            # The row's dates are records too: the clean-up must not make it look recent.
            updated_at=OutboxMessage.updated_at,
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
