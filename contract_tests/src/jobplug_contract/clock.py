"""Run each contract test in a time zone that is not UTC.

Run times cross the broker as aware datetimes and epoch seconds; an adapter that reads one
as local time is right only where local time is UTC (most CI machines). Under an offset
of a few hours and minutes such a job runs hours early, or not within the test.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

#: POSIX TZ strings (no tz database needed): UTC+05:45, or UTC-03:30 where that is local.
ZONES = ("<+0545>-05:45", "<-0330>+03:30")


def _offset_of(zone: str) -> float:
    sign = 1 if zone[1] == "+" else -1
    hours, minutes = int(zone[2:4]), int(zone[4:6])
    return sign * (hours * 3600 + minutes * 60)


@contextmanager
def non_utc_zone() -> Iterator[str | None]:
    """Set ``TZ`` (inherited by child processes too) for the block; yields the zone used."""
    if not hasattr(time, "tzset"):  # Windows: local time cannot be switched in-process
        yield None
        return
    here = -time.altzone if time.daylight and time.localtime().tm_isdst else -time.timezone
    zone = next(z for z in ZONES if _offset_of(z) != here)
    before = os.environ.get("TZ")
    os.environ["TZ"] = zone
    time.tzset()
    try:
        yield zone
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()
