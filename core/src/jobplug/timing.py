"""Turning ``perform_in`` delays and ``perform_at`` times into aware UTC datetimes."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

from jobplug.errors import InvalidScheduleError
from jobplug.handlers import seconds


def check_aware(when: datetime) -> datetime:
    if not isinstance(when, datetime):
        raise InvalidScheduleError(f"expected a datetime, got {type(when).__name__}")
    if when.tzinfo is None or when.tzinfo.utcoffset(when) is None:
        raise InvalidScheduleError(
            f"naive datetime {when.isoformat()}: pass an aware one, e.g. datetime.now(timezone.utc)"
        )
    return when.astimezone(timezone.utc)


def at_from_delay(delay: timedelta | float) -> datetime | None:
    if not isinstance(delay, (int, float, timedelta)) or isinstance(delay, bool):
        raise InvalidScheduleError(f"delay must be a timedelta or seconds, got {delay!r}")
    secs = seconds(delay)
    if not math.isfinite(secs):
        raise InvalidScheduleError(f"delay must be finite, got {delay!r}")
    if secs <= 0:
        return None
    return datetime.now(timezone.utc) + timedelta(seconds=secs)
