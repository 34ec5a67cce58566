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
    try:
        return when.astimezone(timezone.utc)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-12:00 is in year 10000 in UTC
        raise InvalidScheduleError(f"{when.isoformat()} is past the year 9999 in UTC") from None


def at_from_delay(delay: timedelta | float) -> datetime | None:
    if not isinstance(delay, (int, float, timedelta)) or isinstance(delay, bool):
        raise InvalidScheduleError(f"delay must be a timedelta or seconds, got {delay!r}")
    secs = seconds(delay)
    if not math.isfinite(secs):
        raise InvalidScheduleError(f"delay must be finite, got {delay!r}")
    if secs <= 0:
        return None
    try:
        return datetime.now(timezone.utc) + timedelta(seconds=secs)
    except OverflowError:
        raise InvalidScheduleError(f"a delay of {secs:.0f}s ends past the year 9999") from None
