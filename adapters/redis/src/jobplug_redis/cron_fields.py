"""Parsing the parts of a cron spec as robfig/cron v3 does: one field's text into a bit set
(``*``/``?``, ``N``, ``N-M``, ``/step``, month and weekday names), and ``@every``'s Go
duration into a :class:`~datetime.timedelta`. Error wording follows robfig's parser."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from jobplug.errors import InvalidScheduleError

STAR = 1 << 63  # robfig's marker: the field was written as a full-range * or ?

_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTHS = {n: i + 1 for i, n in enumerate(_MONTH_NAMES)}
_WEEKDAYS = {n: i for i, n in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}


@dataclass(frozen=True)
class Bounds:
    """One field's name (for errors), its range, and the names it accepts."""

    name: str
    low: int
    high: int
    names: dict[str, int] | None = None


FIELDS = (
    Bounds("second", 0, 59),
    Bounds("minute", 0, 59),
    Bounds("hour", 0, 23),
    Bounds("day-of-month", 1, 31),
    Bounds("month", 1, 12, _MONTHS),
    Bounds("day-of-week", 0, 6, _WEEKDAYS),
)

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


def parse_field(text: str, bounds: Bounds) -> int:
    """The bit set of the values a comma list selects (plus :data:`STAR` for a bare ``*``)."""
    bits = 0
    for expr in text.split(","):
        if expr:  # Go's FieldsFunc drops empty items: "1,,2" is "1,2"
            bits |= _range(expr, bounds)
    if not bits & ~STAR:
        raise InvalidScheduleError(f"{bounds.name} field {text!r} selects no value")
    return bits


def _range(expr: str, bounds: Bounds) -> int:
    range_and_step = expr.split("/")
    low_high = range_and_step[0].split("-")
    extra = 0
    if low_high[0] in ("*", "?"):
        # robfig ignores anything after "*-"; so do we, to accept the same specs
        start, end, extra = bounds.low, bounds.high, STAR
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


def _int_or_name(text: str, bounds: Bounds) -> int:
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


def parse_every(text: str) -> timedelta:
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
