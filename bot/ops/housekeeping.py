"""Once a day: retention of delivery records, then (with EXPERTBOT_BACKUP_DIR) a backup.

The scheduler calls `run_daily`; both parts are safe to run twice on the same day (the
retention finds nothing more to clear, the day's backup file is made again in its place).
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import datetime
from pathlib import Path

from bot.config import Settings
from bot.db.session import Database
from bot.ops import backup
from bot.services.delivery.retention import forget_old_deliveries

log = logging.getLogger("expertbot.housekeeping")
DAILY = re.compile(r"^expertbot-\d{4}-\d{2}-\d{2}\.(db|dump)$")


def daily_name(settings: Settings, now: datetime) -> str:
    """Return e.g. expertbot-2027-03-01.db: the local date, the engine's extension."""
    day = now.astimezone(settings.zone).date()
    return f"expertbot-{day.isoformat()}.{backup.extension(settings.database_url)}"


def rotate(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` daily backups in `folder`; return what was deleted.

    Only files named like daily backups are touched: a copy made by hand stays.
    """
    daily = sorted(p for p in folder.iterdir() if p.is_file() and DAILY.match(p.name))
    gone = daily[:-keep] if keep < len(daily) else []
    for path in gone:
        path.unlink()
    return gone


async def daily_backup(settings: Settings, now: datetime) -> Path | None:
    """Write today's backup into EXPERTBOT_BACKUP_DIR and keep the newest EXPERTBOT_BACKUP_KEEP;
    without a backup folder, do nothing and return None."""
    if not settings.backup_dir:
        return None
    folder = Path(settings.backup_dir)
    target = folder / daily_name(settings, now)
    written = await asyncio.to_thread(backup.backup, settings.database_url, target)
    gone = rotate(folder, settings.backup_keep)
    log.info("daily backup written to %s; %d older one(s) removed", written, len(gone))
    return written


async def run_daily(database: Database, settings: Settings, now: datetime) -> None:
    """Clear old delivery records, then make the daily backup (when a folder is set).

    A failed backup is logged, not raised: tomorrow's run tries again, and the service goes on.
    """
    async with database.session_scope() as session:
        cleared = await forget_old_deliveries(session, now=now, days=settings.retention_days)
    if cleared:
        log.info(
            "retention: %d delivery record(s) older than %d days cleared",
            cleared,
            settings.retention_days,
        )
    try:
        await daily_backup(settings, now)
    except (backup.BackupError, OSError) as error:
        log.error("daily backup failed: %s", error)
