"""Cron schedules with the semantics of robfig/cron v3, as gocraft/work parses them.

gocraft/work builds its parser with ``SecondOptional | Minute | Hour | Dom | Month | Dow |
Descriptor``, so a spec has 5 fields (minute hour dom month dow) or 6 (seconds first), or
is a descriptor (``@yearly``/``@annually``, ``@monthly``, ``@weekly``, ``@daily``/``@midnight``,
``@hourly``, ``@every <Go duration>``). A field is a comma list of ``*``/``?``, ``N``, ``N-M``,
each with an optional ``/step`` (``N/step`` means ``N-max/step``). Months and weekdays take
names (``jan``..``dec``, ``sun``..``sat``, any case); weekdays run 0 (Sunday) to 6.

The day rule is robfig's: if the day-of-month or day-of-week field holds a ``*`` or ``?``
(stepless, or with step 1), a day must match both fields; otherwise it matches either.
So ``0 0 1 * MON`` fires on the 1st *and* on every Monday, ``0 0 * * MON`` only on Mondays.

A ``TZ=Zone`` or ``CRON_TZ=Zone`` prefix evaluates the schedule in that IANA zone. Without
one the schedule runs in UTC. gocraft uses the Go process's local zone: run Go peers with
``TZ=UTC`` or write ``CRON_TZ=UTC`` in the spec, else run times (and periodic job ids) differ.

Two deliberate departures, both where robfig would hang gocraft's enqueuer in a loop (its
``Next`` returns the zero time, which is always "before" the horizon): a field that selects
nothing (``","``) and a day-of-month that no selected month has (``0 0 30 2 *``) are parse
errors here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jobplug.errors import InvalidScheduleError
from jobplug_redis.cron_fields import FIELDS, STAR, parse_every, parse_field
from jobplug_redis.cron_next import next_spec

_DESCRIPTORS = {
    "@yearly": "0 0 0 1 1 *",
    "@annually": "0 0 0 1 1 *",
    "@monthly": "0 0 0 1 * *",
    "@weekly": "0 0 0 * * 0",
    "@daily": "0 0 0 * * *",
    "@midnight": "0 0 0 * * *",
    "@hourly": "0 0 * * * *",
}

#: Longest day of each month in any year (February counts its leap day).
_MONTH_MAX_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

_UTC = timezone.utc


@dataclass(frozen=True)
class CronSchedule:
    """A parsed schedule. Build it with :meth:`parse`; ask :meth:`next` for run times."""

    spec: str
    second: int = 0
    minute: int = 0
    hour: int = 0
    dom: int = 0
    month: int = 0
    dow: int = 0
    every: timedelta | None = None  # set for ``@every``; the bit fields are then unused
    tz: tzinfo | None = None  # None: UTC

    @classmethod
    def parse(cls, spec: str) -> CronSchedule:
        """Parse ``spec``; :class:`~jobplug.errors.InvalidScheduleError` says what is wrong."""
        return _parse_cached(spec)

    def next(self, after: datetime) -> datetime:
        """The first run time strictly after ``after`` (aware), in UTC, on a whole second."""
        if after.tzinfo is None or after.utcoffset() is None:
            raise InvalidScheduleError(
                f"cron schedule {self.spec!r}: next() needs an aware datetime, got naive {after}"
            )
        utc = after.astimezone(_UTC)
        if self.every is not None:
            return utc.replace(microsecond=0) + self.every
        return next_spec(self, utc)


@lru_cache(maxsize=256)
def _parse_cached(spec: str) -> CronSchedule:
    try:
        return _parse(spec)
    except InvalidScheduleError as exc:
        raise InvalidScheduleError(f"invalid cron spec {spec!r}: {exc}") from None


def _parse(spec: str) -> CronSchedule:
    if not isinstance(spec, str) or not spec:
        raise InvalidScheduleError("empty spec string")
    zone: tzinfo | None = None
    body = spec
    if spec.startswith(("TZ=", "CRON_TZ=")):
        space = spec.find(" ")
        if space < 0:
            raise InvalidScheduleError("a TZ= prefix must be followed by a space and a schedule")
        zone = _load_zone(spec[spec.index("=") + 1 : space])
        body = spec[space:].strip()
    if body.startswith("@"):
        if body.startswith("@every "):
            return CronSchedule(spec, every=parse_every(body[len("@every ") :]), tz=zone)
        expanded = _DESCRIPTORS.get(body)
        if expanded is None:
            raise InvalidScheduleError(f"unrecognized descriptor: {body}")
        fields = expanded.split()
    else:
        fields = body.split()
        if len(fields) not in (5, 6):
            raise InvalidScheduleError(
                f"expected 5 to 6 fields (seconds optional), found {len(fields)}"
            )
        if len(fields) == 5:
            fields.insert(0, "0")
    second, minute, hour, dom, month, dow = (
        parse_field(text, bounds) for text, bounds in zip(fields, FIELDS, strict=True)
    )
    schedule = CronSchedule(spec, second, minute, hour, dom, month, dow, tz=zone)
    _check_satisfiable(schedule)
    return schedule


def _load_zone(name: str) -> tzinfo:
    if name in ("", "UTC"):
        return _UTC
    if name == "Local":
        raise InvalidScheduleError("TZ=Local is not supported: name the zone, e.g. TZ=Europe/Paris")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidScheduleError(f"unknown time zone {name!r}") from None


def _check_satisfiable(s: CronSchedule) -> None:
    # Only the "both fields" rule with a free weekday can name days that never exist.
    if s.dom & STAR or not s.dow & STAR:
        return
    for month in range(1, 13):
        if s.month >> month & 1 and any(
            s.dom >> d & 1 for d in range(1, _MONTH_MAX_DAYS[month - 1] + 1)
        ):
            return
    raise InvalidScheduleError("the day-of-month never occurs in the selected months")
