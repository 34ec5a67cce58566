"""``CronSchedule.next`` for field schedules: robfig/cron v3's ``SpecSchedule.Next``, field by
field, in the schedule's time zone with Go's time arithmetic (DST gaps and repeats)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING

from jobplug.errors import InvalidScheduleError
from jobplug_redis.cron_fields import STAR

if TYPE_CHECKING:
    from jobplug_redis.cron import CronSchedule

#: How far ``next`` searches. A satisfiable spec fires within 8 years (29 February across 2100).
_YEAR_LIMIT = 10

_UTC = timezone.utc


def next_spec(s: CronSchedule, after: datetime) -> datetime:
    zone = s.tz or _UTC
    # From the upcoming whole second, settle the fields from the month down. Moving a field
    # first resets the ones below it (once per search, as robfig's ``added``); a field that
    # wraps around (a new year, month, day, hour) sends the search back to the month.
    t = (after.replace(microsecond=0) + timedelta(seconds=1)).astimezone(zone)
    added = False
    year_limit = t.year + _YEAR_LIMIT
    while t.year <= year_limit:
        for attr, first, reset, advance in _STEPS:
            wrapped = False
            while not _matches(s, t, attr):
                if not added:
                    added = True
                    t = reset(t, zone)
                t = advance(t, zone)
                if getattr(t, attr) == first:
                    wrapped = True
                    break
            if wrapped:
                break
        else:
            return t.astimezone(_UTC)
    raise InvalidScheduleError(f"cron spec {s.spec!r} has no run time after {after}")


def _matches(s: CronSchedule, t: datetime, attr: str) -> bool:
    if attr == "day":
        return _day_matches(s, t)
    return bool(getattr(s, attr) >> getattr(t, attr) & 1)


def _add_month(t: datetime, zone: tzinfo) -> datetime:
    years, month0 = divmod(t.month, 12)  # (t.month - 1) + 1
    day = date(t.year + years, month0 + 1, 1) + timedelta(days=t.day - 1)  # Go normalises
    return _wall(zone, day.year, day.month, day.day, t.hour, t.minute, t.second)


def _add_day(t: datetime, zone: tzinfo) -> datetime:
    day = t.date() + timedelta(days=1)
    t = _wall(zone, day.year, day.month, day.day, t.hour, t.minute, t.second)
    if t.hour != 0:  # midnight skipped or doubled by a DST change
        t = _shift(t, zone, timedelta(hours=24 - t.hour if t.hour > 12 else -t.hour))
    return t


_Move = Callable[[datetime, tzinfo], datetime]


def _by(delta: timedelta) -> _Move:
    return lambda t, zone: _shift(t, zone, delta)


#: (field, its first value, truncate the fields below it, step it forward)
_STEPS: tuple[tuple[str, int, _Move, _Move], ...] = (
    ("month", 1, lambda t, z: _wall(z, t.year, t.month, 1), _add_month),
    ("day", 1, lambda t, z: _wall(z, t.year, t.month, t.day), _add_day),
    ("hour", 0, lambda t, z: _wall(z, t.year, t.month, t.day, t.hour), _by(timedelta(hours=1))),
    ("minute", 0, lambda t, z: t.replace(second=0), _by(timedelta(minutes=1))),
    ("second", 0, lambda t, z: t, _by(timedelta(seconds=1))),
)


def _day_matches(s: CronSchedule, t: datetime) -> bool:
    dom_match = bool(s.dom >> t.day & 1)
    dow_match = bool(s.dow >> ((t.weekday() + 1) % 7) & 1)  # Go: Sunday is 0
    if s.dom & STAR or s.dow & STAR:
        return dom_match and dow_match
    return dom_match or dow_match


def _wall(zone: tzinfo, y: int, mo: int, d: int, h: int = 0, mi: int = 0, sec: int = 0) -> datetime:
    """A wall-clock time in ``zone``, normalised as Go's ``time.Date`` (a time in a DST gap
    moves forward by the gap)."""
    return datetime(y, mo, d, h, mi, sec, tzinfo=zone).astimezone(_UTC).astimezone(zone)


def _shift(t: datetime, zone: tzinfo, delta: timedelta) -> datetime:
    """Absolute time arithmetic (Go's ``Add``), not Python's wall-clock arithmetic."""
    return (t.astimezone(_UTC) + delta).astimezone(zone)
