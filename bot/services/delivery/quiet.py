"""When a non-urgent message may reach a person: outside their quiet hours."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config import QuietHours


def next_allowed(moment: datetime, zone: ZoneInfo, quiet: QuietHours | None) -> datetime:
    """Return `moment`, or the end of the quiet window it falls in (in the person's zone)."""
    if quiet is None:
        return moment
    local = moment.astimezone(zone)
    if not quiet.contains(local.time()):
        return moment
    end = local.replace(hour=quiet.end.hour, minute=quiet.end.minute, second=0, microsecond=0)
    if end <= local:
        end += timedelta(days=1)
    # Rebuild from the wall-clock so a daylight-saving change in between is respected.
    wall = datetime.combine(end.date(), quiet.end, tzinfo=zone)
    return wall.astimezone(moment.tzinfo)
