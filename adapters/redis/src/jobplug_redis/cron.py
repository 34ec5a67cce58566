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

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jobplug.errors import InvalidScheduleError

_STAR = 1 << 63  # robfig's marker: the field was written as a full-range * or ?

_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTHS = {n: i + 1 for i, n in enumerate(_MONTH_NAMES)}
_WEEKDAYS = {n: i for i, n in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}


@dataclass(frozen=True)
class _Bounds:
    name: str
    low: int
    high: int
    names: dict[str, int] | None = None


_FIELDS = (
    _Bounds("second", 0, 59),
    _Bounds("minute", 0, 59),
    _Bounds("hour", 0, 23),
    _Bounds("day-of-month", 1, 31),
    _Bounds("month", 1, 12, _MONTHS),
    _Bounds("day-of-week", 0, 6, _WEEKDAYS),
)

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

#: How far ``next`` searches. A satisfiable spec fires within 8 years (29 February across 2100).
_YEAR_LIMIT = 10

_GO_INT = re.compile(r"[+-]?[0-9]+")
_GO_DURATION_UNITS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,
    "\u03bcs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_DURATION_PART = re.compile(r"([0-9]*)(?:\.([0-9]*))?([^0-9.]*)")
_MAX_NS = (1 << 63) - 1
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
        return _next_spec(self, utc)


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
            return CronSchedule(spec, every=_every(body[len("@every ") :]), tz=zone)
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
        _field(text, bounds) for text, bounds in zip(fields, _FIELDS, strict=True)
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


def _field(text: str, bounds: _Bounds) -> int:
    bits = 0
    for expr in text.split(","):
        if expr:  # Go's FieldsFunc drops empty items: "1,,2" is "1,2"
            bits |= _range(expr, bounds)
    if not bits & ~_STAR:
        raise InvalidScheduleError(f"{bounds.name} field {text!r} selects no value")
    return bits


def _range(expr: str, bounds: _Bounds) -> int:
    range_and_step = expr.split("/")
    low_high = range_and_step[0].split("-")
    extra = 0
    if low_high[0] in ("*", "?"):
        # robfig ignores anything after "*-"; so do we, to accept the same specs
        start, end, extra = bounds.low, bounds.high, _STAR
    else:
        start = _int_or_name(low_high[0], bounds)
        if len(low_high) == 1:
            end = start
        elif len(low_high) == 2:
            end = _int_or_name(low_high[1], bounds)
        else:
            raise InvalidScheduleError(f"too many hyphens: {expr}")
    if len(range_and_step) == 1:
        step = 1
    elif len(range_and_step) == 2:
        step = _int(range_and_step[1])
        if len(low_high) == 1:  # "N/step" means "N-max/step"
            end = bounds.high
        if step > 1:
            extra = 0
    else:
        raise InvalidScheduleError(f"too many slashes: {expr}")
    if start < bounds.low:
        raise InvalidScheduleError(
            f"{bounds.name}: beginning of range ({start}) below minimum ({bounds.low}): {expr}"
        )
    if end > bounds.high:
        raise InvalidScheduleError(
            f"{bounds.name}: end of range ({end}) above maximum ({bounds.high}): {expr}"
        )
    if start > end:
        raise InvalidScheduleError(
            f"{bounds.name}: beginning of range ({start}) beyond end of range ({end}): {expr}"
        )
    if step == 0:
        raise InvalidScheduleError(f"step of range should be a positive number: {expr}")
    bits = 0
    for value in range(start, end + 1, step):
        bits |= 1 << value
    return bits | extra


def _int_or_name(text: str, bounds: _Bounds) -> int:
    if bounds.names is not None:
        named = bounds.names.get(text.lower())
        if named is not None:
            return named
    return _int(text)


def _int(text: str) -> int:
    if not _GO_INT.fullmatch(text):
        raise InvalidScheduleError(f"failed to parse int from {text!r}")
    value = int(text)
    if value < 0:
        raise InvalidScheduleError(f"negative number ({value}) not allowed: {text}")
    return value


def _every(text: str) -> timedelta:
    """robfig's ``Every``: a Go duration, truncated to whole seconds, at least one second."""
    try:
        nanos = _go_duration(text)
    except InvalidScheduleError as exc:
        raise InvalidScheduleError(f"failed to parse duration @every {text}: {exc}") from None
    seconds = max(1, nanos // 1_000_000_000) if nanos > 0 else 1
    return timedelta(seconds=seconds)


def _go_duration(text: str) -> int:
    """Go's ``time.ParseDuration``, in nanoseconds."""
    original, rest = text, text
    negative = rest[:1] == "-"
    if rest[:1] in ("-", "+"):
        rest = rest[1:]
    if rest == "0":
        return 0
    if not rest:
        raise InvalidScheduleError(f"invalid duration {original!r}")
    total = 0
    while rest:
        match = _DURATION_PART.match(rest)
        assert match is not None  # the pattern matches the empty string
        whole, frac, unit = match.group(1), match.group(2), match.group(3)
        if not whole and not frac:
            raise InvalidScheduleError(f"invalid duration {original!r}")
        scale = _GO_DURATION_UNITS.get(unit)
        if scale is None:
            what = "missing unit" if not unit else f"unknown unit {unit!r}"
            raise InvalidScheduleError(f"{what} in duration {original!r}")
        total += int(whole or 0) * scale
        if frac:
            total += int(frac) * scale // 10 ** len(frac)
        if total > _MAX_NS:
            raise InvalidScheduleError(f"invalid duration {original!r}")
        rest = rest[match.end() :]
    return -total if negative else total


def _check_satisfiable(s: CronSchedule) -> None:
    # Only the "both fields" rule with a free weekday can name days that never exist.
    if s.dom & _STAR or not s.dow & _STAR:
        return
    for month in range(1, 13):
        if s.month >> month & 1 and any(
            s.dom >> d & 1 for d in range(1, _MONTH_MAX_DAYS[month - 1] + 1)
        ):
            return
    raise InvalidScheduleError("the day-of-month never occurs in the selected months")


# -- next(): robfig's SpecSchedule.Next, field by field ------------------------------------


def _next_spec(s: CronSchedule, after: datetime) -> datetime:
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
    if s.dom & _STAR or s.dow & _STAR:
        return dom_match and dow_match
    return dom_match or dow_match


def _wall(zone: tzinfo, y: int, mo: int, d: int, h: int = 0, mi: int = 0, sec: int = 0) -> datetime:
    """A wall-clock time in ``zone``, normalised as Go's ``time.Date`` (a time in a DST gap
    moves forward by the gap)."""
    return datetime(y, mo, d, h, mi, sec, tzinfo=zone).astimezone(_UTC).astimezone(zone)


def _shift(t: datetime, zone: tzinfo, delta: timedelta) -> datetime:
    """Absolute time arithmetic (Go's ``Add``), not Python's wall-clock arithmetic."""
    return (t.astimezone(_UTC) + delta).astimezone(zone)
