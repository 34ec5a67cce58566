"""Cron parsing and next-run times with robfig/cron v3 semantics (SecondOptional)."""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta, timezone

import pytest

from jobplug.errors import InvalidScheduleError
from jobplug_redis.cron import CronSchedule

UTC = timezone.utc


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[arg-type,misc]


def nexts(spec: str, after: datetime, n: int) -> list[datetime]:
    schedule = CronSchedule.parse(spec)
    out = []
    for _ in range(n):
        after = schedule.next(after)
        out.append(after)
    return out


# -- parsing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("five", "six"),
    [
        ("* * * * *", "0 * * * * *"),
        ("5 4 * * *", "0 5 4 * * *"),
        ("*/15 9-17 * * MON-FRI", "0 */15 9-17 * * 1-5"),
        ("0 0 1 jan,Jul ?", "0 0 0 1 1,7 *"),
    ],
)
def test_five_fields_mean_second_zero(five: str, six: str) -> None:
    a, b = CronSchedule.parse(five), CronSchedule.parse(six)
    assert (a.second, a.minute, a.hour, a.dom, a.month, a.dow) == (
        b.second,
        b.minute,
        b.hour,
        b.dom,
        b.month,
        b.dow,
    )


@pytest.mark.parametrize(
    ("spec", "after", "expected"),
    [
        ("0/29 * * * * *", at(2016, 7, 12, 21, 37, 33), at(2016, 7, 12, 21, 37, 58)),
        ("3/49 * * * * *", at(2016, 7, 12, 21, 37, 33), at(2016, 7, 12, 21, 37, 52)),
        ("0 0 * * * *", at(2016, 7, 12, 21, 37, 33), at(2016, 7, 12, 22)),
        ("@hourly", at(2016, 7, 12, 21, 0, 0), at(2016, 7, 12, 22)),
        ("@daily", at(2016, 7, 12, 21), at(2016, 7, 13)),
        ("@midnight", at(2016, 7, 12, 21), at(2016, 7, 13)),
        ("@weekly", at(2016, 7, 12, 21), at(2016, 7, 17)),  # a Sunday
        ("@monthly", at(2016, 7, 12, 21), at(2016, 8, 1)),
        ("@yearly", at(2016, 7, 12, 21), at(2017, 1, 1)),
        ("@annually", at(2016, 7, 12, 21), at(2017, 1, 1)),
        ("0 0 12 * * SUN", at(2016, 7, 12), at(2016, 7, 17, 12)),
        ("0 0 12 * * sat", at(2016, 7, 12), at(2016, 7, 16, 12)),
        ("0 0 0 * DEC *", at(2016, 7, 12), at(2016, 12, 1)),
        ("0 0 0 * Feb-mar *", at(2016, 7, 12), at(2017, 2, 1)),
        ("30 * * * * ?", at(2016, 7, 12, 0, 0, 30), at(2016, 7, 12, 0, 1, 30)),
        ("1,,2 * * * * *", at(2016, 7, 12, 0, 0, 1), at(2016, 7, 12, 0, 0, 2)),
        ("0 50/20 * * * *", at(2016, 7, 12, 0, 51), at(2016, 7, 12, 1, 50)),
        ("TZ=UTC 0 0 * * * *", at(2016, 7, 12, 21, 1), at(2016, 7, 12, 22)),
        ("CRON_TZ=Europe/Paris 0 0 9 * * *", at(2024, 1, 10), at(2024, 1, 10, 8)),
        ("CRON_TZ=Europe/Paris 0 0 9 * * *", at(2024, 7, 10), at(2024, 7, 10, 7)),
        ("TZ=Asia/Kolkata 0 0 0 * * *", at(2024, 7, 10), at(2024, 7, 10, 18, 30)),
    ],
)
def test_next(spec: str, after: datetime, expected: datetime) -> None:
    got = CronSchedule.parse(spec).next(after)
    assert got == expected
    assert got.tzinfo == UTC


def test_step_and_range_forms() -> None:
    s = CronSchedule.parse("0 1-10/3 */20 5/10 * *")
    assert [m for m in range(60) if s.minute >> m & 1] == [1, 4, 7, 10]
    assert [h for h in range(24) if s.hour >> h & 1] == [0, 20]
    assert [d for d in range(32) if s.dom >> d & 1] == [5, 15, 25]


def test_star_dash_is_star_as_robfig() -> None:
    assert CronSchedule.parse("*-5 * * * *").minute == CronSchedule.parse("* * * * *").minute


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty spec"),
        ("* * * *", "expected 5 to 6 fields"),
        ("* * * * * * *", "expected 5 to 6 fields"),
        ("60 * * * * *", "above maximum (59)"),
        ("* 24 * * *", "above maximum (23)"),
        ("* * 0 * *", "below minimum (1)"),
        ("* * 32 * *", "above maximum (31)"),
        ("* * * 13 *", "above maximum (12)"),
        ("* * * * 7", "above maximum (6)"),  # robfig has no 7 for Sunday
        ("* * * * MONDAY", "failed to parse int"),
        ("5-1 * * * *", "beyond end of range"),
        ("*/0 * * * *", "positive number"),
        ("1-2-3 * * * *", "too many hyphens"),
        ("1/2/3 * * * *", "too many slashes"),
        ("-1 * * * *", "failed to parse int"),
        ("1_0 * * * *", "failed to parse int"),
        ("x * * * *", "failed to parse int"),
        (", * * * *", "selects no value"),
        ("0 0 30 2 *", "never occurs"),
        ("0 0 31 4,6,9,11 *", "never occurs"),
        ("@reboot", "unrecognized descriptor"),
        ("@every", "unrecognized descriptor"),
        ("@hourly ", "unrecognized descriptor"),
        ("@every 1x", "unknown unit"),
        ("@every 10", "missing unit"),
        ("@every ", "invalid duration"),
        ("@every .s", "invalid duration"),
        ("TZ=Nowhere/Atlantis * * * * *", "unknown time zone"),
        ("TZ=UTC", "followed by a space"),
        ("TZ=Local * * * * *", "not supported"),
    ],
)
def test_parse_errors(spec: str, message: str) -> None:
    with pytest.raises(InvalidScheduleError, match="invalid cron spec") as info:
        CronSchedule.parse(spec)
    assert message in str(info.value)
    assert repr(spec) in str(info.value)


def test_invalid_schedule_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        CronSchedule.parse("nope")


def test_naive_datetime_is_rejected() -> None:
    with pytest.raises(InvalidScheduleError, match="aware"):
        CronSchedule.parse("* * * * *").next(datetime(2024, 1, 1))


# -- @every --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("duration", "seconds"),
    [
        ("1h30m", 5400),
        ("90s", 90),
        ("1.5s", 1),  # truncated to whole seconds
        ("2.9m", 174),
        ("500ms", 1),  # under a second: one second
        ("0", 1),
        ("-5m", 1),
        ("+2s", 2),
        ("1h1m1s1ms1us1ns", 3661),
        ("1\u00b5s", 1),
        (".5h", 1800),
        ("1.h", 3600),
    ],
)
def test_every_duration(duration: str, seconds: int) -> None:
    s = CronSchedule.parse(f"@every {duration}")
    assert s.every == timedelta(seconds=seconds)


def test_every_is_relative_to_the_truncated_second() -> None:
    s = CronSchedule.parse("@every 1m")
    assert s.next(at(2024, 1, 1, 0, 0, 10, 999_999)) == at(2024, 1, 1, 0, 1, 10)


# -- the day-of-month / day-of-week rule ---------------------------------------------------


def test_dom_and_dow_both_restricted_means_either() -> None:
    # 2024-03-01 is a Friday; Mondays are 4, 11, 18, 25
    got = nexts("0 0 0 1 * MON", at(2024, 2, 28), 4)
    assert [d.day for d in got] == [1, 4, 11, 18]


def test_dow_star_means_dom_only() -> None:
    assert [d.day for d in nexts("0 0 0 1,15 * *", at(2024, 3, 2), 3)] == [15, 1, 15]


def test_dom_star_means_dow_only() -> None:
    assert [d.day for d in nexts("0 0 0 * * MON", at(2024, 2, 28), 2)] == [4, 11]


def test_question_mark_is_a_star() -> None:
    assert [d.day for d in nexts("0 0 0 ? * MON", at(2024, 2, 28), 2)] == [4, 11]


def test_star_step_one_keeps_the_star_but_larger_steps_do_not() -> None:
    # "*/1" is still a star: both must match -> only the 13th when it is... any weekday
    assert [d.day for d in nexts("0 0 0 13 * */1", at(2024, 3, 1), 2)] == [13, 13]
    # "*/2" (Sun, Tue, Thu, Sat) is not a star: the 13th OR those weekdays
    got = nexts("0 0 0 13 * */2", at(2024, 3, 1), 4)  # 2024-03-01 is a Friday
    assert [d.day for d in got] == [2, 3, 5, 7]
    # a full explicit range is not a star either: every day matches through the OR
    assert [d.day for d in nexts("0 0 0 1-31 * MON", at(2024, 3, 1), 3)] == [2, 3, 4]


# -- calendar edges ------------------------------------------------------------------------


def test_31st_skips_short_months() -> None:
    got = nexts("0 0 0 31 * *", at(2024, 1, 31), 4)
    assert [(d.month, d.day) for d in got] == [(3, 31), (5, 31), (7, 31), (8, 31)]


def test_30th_skips_february() -> None:
    assert nexts("0 0 30 * *", at(2023, 1, 30), 2) == [at(2023, 3, 30), at(2023, 4, 30)]


def test_leap_day() -> None:
    assert nexts("0 0 29 2 *", at(2023, 6, 1), 2) == [at(2024, 2, 29), at(2028, 2, 29)]


def test_leap_day_across_2100_which_is_not_leap() -> None:
    assert CronSchedule.parse("0 0 29 2 *").next(at(2096, 3, 1)) == at(2104, 2, 29)


def test_last_second_of_the_year_wraps() -> None:
    assert CronSchedule.parse("* * * * * *").next(at(2023, 12, 31, 23, 59, 59)) == at(2024, 1, 1)
    assert CronSchedule.parse("0 0 0 1 1 *").next(at(2023, 12, 31, 23, 59, 59)) == at(2024, 1, 1)


def test_strictly_after() -> None:
    s = CronSchedule.parse("0 * * * * *")
    assert s.next(at(2024, 1, 1, 0, 1)) == at(2024, 1, 1, 0, 2)
    assert s.next(at(2024, 1, 1, 0, 0, 59, 999_999)) == at(2024, 1, 1, 0, 1)


def test_aware_non_utc_input() -> None:
    plus2 = timezone(timedelta(hours=2))
    got = CronSchedule.parse("0 0 * * * *").next(datetime(2024, 1, 1, 10, 30, tzinfo=plus2))
    assert got == at(2024, 1, 1, 9)


def test_weekday_in_february_of_a_leap_year() -> None:
    # Thursdays in Feb 2024: 1, 8, 15, 22, 29
    got = nexts("0 0 12 * 2 THU", at(2024, 1, 31), 6)
    assert [(d.month, d.day) for d in got] == [(2, 1), (2, 8), (2, 15), (2, 22), (2, 29), (2, 6)]


# -- daylight saving time (robfig's algorithm: absolute hours, wall-clock days) ------------


def test_dst_spring_forward_skips_a_missing_time() -> None:
    # 2024-03-10 02:30 does not exist in New York
    s = CronSchedule.parse("TZ=America/New_York 0 30 2 * * *")
    assert s.next(at(2024, 3, 10, 5)) == at(2024, 3, 11, 6, 30)  # 02:30 EDT


def test_dst_fall_back_runs_a_repeated_time_twice() -> None:
    # 2024-11-03 01:30 happens at 05:30 UTC (EDT) and again at 06:30 UTC (EST)
    s = CronSchedule.parse("TZ=America/New_York 0 30 1 * * *")
    first = s.next(at(2024, 11, 3, 4))
    assert first == at(2024, 11, 3, 5, 30)
    assert s.next(first) == at(2024, 11, 3, 6, 30)
    assert s.next(at(2024, 11, 3, 6, 30)) == at(2024, 11, 4, 6, 30)


# -- an independent oracle on random specs -------------------------------------------------


def _oracle(s: CronSchedule, after: datetime) -> datetime:
    """Day by day, then the first matching (h, m, s) after ``after``: no field carrying."""
    star = 1 << 63
    both = bool(s.dom & star or s.dow & star)
    hours = [h for h in range(24) if s.hour >> h & 1]
    minutes = [m for m in range(60) if s.minute >> m & 1]
    seconds = [x for x in range(60) if s.second >> x & 1]
    day = after.date()
    floor = after.replace(microsecond=0)
    for _ in range(366 * 9):
        dom_ok = bool(s.dom >> day.day & 1)
        dow_ok = bool(s.dow >> day.isoweekday() % 7 & 1)
        if s.month >> day.month & 1 and ((dom_ok and dow_ok) if both else (dom_ok or dow_ok)):
            for h in hours:
                for m in minutes:
                    for x in seconds:
                        candidate = datetime(day.year, day.month, day.day, h, m, x, tzinfo=UTC)
                        if candidate > floor:
                            return candidate
        day += timedelta(days=1)
    raise AssertionError("oracle found nothing")


def _random_field(rng: random.Random, low: int, high: int) -> str:
    def one() -> str:
        kind = rng.randrange(6)
        a = rng.randint(low, high)
        b = rng.randint(a, high)
        if kind == 0:
            return "*"
        if kind == 1:
            return str(a)
        if kind == 2:
            return f"{a}-{b}"
        if kind == 3:
            return f"*/{rng.randint(1, high - low + 1)}"
        if kind == 4:
            return f"{a}/{rng.randint(1, 10)}"
        return f"{a}-{b}/{rng.randint(1, 5)}"

    return ",".join(one() for _ in range(rng.randint(1, 3)))


def test_next_agrees_with_a_brute_force_oracle() -> None:
    rng = random.Random(20240229)
    bounds = [(0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (0, 6)]
    checked = 0
    while checked < 400:
        spec = " ".join(_random_field(rng, lo, hi) for lo, hi in bounds)
        try:
            schedule = CronSchedule.parse(spec)
        except InvalidScheduleError:
            continue  # e.g. 31 in months that lack it
        after = at(2023, 1, 1) + timedelta(seconds=rng.randrange(3 * 366 * 86400))
        after = after.replace(microsecond=rng.randrange(1_000_000))
        t = after
        for _ in range(3):
            expected = _oracle(schedule, t)
            assert schedule.next(t) == expected, (spec, t)
            t = expected
        checked += 1


# -- robfig/cron's own test vectors (spec_test.go: TestActivation, TestNext) ---------------


def _go_time(text: str) -> tuple[datetime, str | None]:
    """robfig's getTime: "Mon Jul 9 14:45 2012" (here: UTC) or ISO with an offset, optionally
    prefixed "TZ=Zone " (the time's zone, which a zone-less spec then runs in)."""
    zone = None
    if text.startswith("TZ="):
        zone, text = text[3:].split(" ", 1)
    for fmt in ("%a %b %d %H:%M %Y", "%a %b %d %H:%M:%S %Y"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC), zone
        except ValueError:
            pass
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z"), zone


ACTIVATION = [
    ("Mon Jul 9 15:00 2012", "0/15 * * * *", True),
    ("Mon Jul 9 15:45 2012", "0/15 * * * *", True),
    ("Mon Jul 9 15:40 2012", "0/15 * * * *", False),
    ("Mon Jul 9 15:05 2012", "5/15 * * * *", True),
    ("Mon Jul 9 15:20 2012", "5/15 * * * *", True),
    ("Mon Jul 9 15:50 2012", "5/15 * * * *", True),
    ("Sun Jul 15 15:00 2012", "0/15 * * Jul *", True),
    ("Sun Jul 15 15:00 2012", "0/15 * * Jun *", False),
    ("Sun Jul 15 08:30 2012", "30 08 ? Jul Sun", True),
    ("Sun Jul 15 08:30 2012", "30 08 15 Jul ?", True),
    ("Mon Jul 16 08:30 2012", "30 08 ? Jul Sun", False),
    ("Mon Jul 16 08:30 2012", "30 08 15 Jul ?", False),
    ("Mon Jul 9 15:00 2012", "@hourly", True),
    ("Mon Jul 9 15:04 2012", "@hourly", False),
    ("Mon Jul 9 15:00 2012", "@daily", False),
    ("Mon Jul 9 00:00 2012", "@daily", True),
    ("Mon Jul 9 00:00 2012", "@weekly", False),
    ("Sun Jul 8 00:00 2012", "@weekly", True),
    ("Sun Jul 8 01:00 2012", "@weekly", False),
    ("Sun Jul 8 00:00 2012", "@monthly", False),
    ("Sun Jul 1 00:00 2012", "@monthly", True),
    ("Sun Jul 15 00:00 2012", "* * 1,15 * Sun", True),
    ("Fri Jun 15 00:00 2012", "* * 1,15 * Sun", True),
    ("Wed Aug 1 00:00 2012", "* * 1,15 * Sun", True),
    ("Sun Jul 15 00:00 2012", "* * */10 * Sun", True),
    ("Sun Jul 15 00:00 2012", "* * * * Mon", False),
    ("Mon Jul 9 00:00 2012", "* * 1,15 * *", False),
    ("Sun Jul 15 00:00 2012", "* * 1,15 * *", True),
    ("Sun Jul 15 00:00 2012", "* * */2 * Sun", True),
]


@pytest.mark.parametrize(("when", "spec", "fires"), ACTIVATION)
def test_robfig_activation(when: str, spec: str, fires: bool) -> None:
    t, _ = _go_time(when)
    assert (CronSchedule.parse(spec).next(t - timedelta(seconds=1)) == t) is fires


NY = "America/New_York"
ROBFIG_NEXT = [
    ("Mon Jul 9 14:45 2012", "0 0/15 * * * *", "Mon Jul 9 15:00 2012"),
    ("Mon Jul 9 14:59 2012", "0 0/15 * * * *", "Mon Jul 9 15:00 2012"),
    ("Mon Jul 9 14:59:59 2012", "0 0/15 * * * *", "Mon Jul 9 15:00 2012"),
    ("Mon Jul 9 15:45 2012", "0 20-35/15 * * * *", "Mon Jul 9 16:20 2012"),
    ("Mon Jul 9 23:46 2012", "0 */15 * * * *", "Tue Jul 10 00:00 2012"),
    ("Mon Jul 9 23:45 2012", "0 20-35/15 * * * *", "Tue Jul 10 00:20 2012"),
    ("Mon Jul 9 23:35:51 2012", "15/35 20-35/15 * * * *", "Tue Jul 10 00:20:15 2012"),
    ("Mon Jul 9 23:35:51 2012", "15/35 20-35/15 1/2 * * *", "Tue Jul 10 01:20:15 2012"),
    ("Mon Jul 9 23:35:51 2012", "15/35 20-35/15 10-12 * * *", "Tue Jul 10 10:20:15 2012"),
    ("Mon Jul 9 23:35:51 2012", "15/35 20-35/15 1/2 */2 * *", "Thu Jul 11 01:20:15 2012"),
    ("Mon Jul 9 23:35:51 2012", "15/35 20-35/15 * 9-20 * *", "Wed Jul 10 00:20:15 2012"),
    ("Mon Jul 9 23:35:51 2012", "15/35 20-35/15 * 9-20 Jul *", "Wed Jul 10 00:20:15 2012"),
    ("Mon Jul 9 23:35 2012", "0 0 0 9 Apr-Oct ?", "Thu Aug 9 00:00 2012"),
    ("Mon Jul 9 23:35 2012", "0 0 0 */5 Apr,Aug,Oct Mon", "Tue Aug 1 00:00 2012"),
    ("Mon Jul 9 23:35 2012", "0 0 0 */5 Oct Mon", "Mon Oct 1 00:00 2012"),
    ("Mon Jul 9 23:35 2012", "0 0 0 * Feb Mon", "Mon Feb 4 00:00 2013"),
    ("Mon Jul 9 23:35 2012", "0 0 0 * Feb Mon/2", "Fri Feb 1 00:00 2013"),
    ("Mon Dec 31 23:59:45 2012", "0 * * * * *", "Tue Jan 1 00:00:00 2013"),
    ("Mon Jul 9 23:35 2012", "0 0 0 29 Feb ?", "Mon Feb 29 00:00 2016"),
    ("2012-03-11T00:00:00-0500", f"TZ={NY} 0 30 2 11 Mar ?", "2013-03-11T02:30:00-0400"),
    ("2012-03-11T00:00:00-0500", f"TZ={NY} 0 0 * * * ?", "2012-03-11T01:00:00-0500"),
    ("2012-03-11T01:00:00-0500", f"TZ={NY} 0 0 * * * ?", "2012-03-11T03:00:00-0400"),
    ("2012-03-11T03:00:00-0400", f"TZ={NY} 0 0 * * * ?", "2012-03-11T04:00:00-0400"),
    ("2012-03-11T04:00:00-0400", f"TZ={NY} 0 0 * * * ?", "2012-03-11T05:00:00-0400"),
    ("2012-03-11T00:00:00-0500", f"CRON_TZ={NY} 0 0 * * * ?", "2012-03-11T01:00:00-0500"),
    ("2012-03-11T01:00:00-0500", f"CRON_TZ={NY} 0 0 * * * ?", "2012-03-11T03:00:00-0400"),
    ("2012-03-11T03:00:00-0400", f"CRON_TZ={NY} 0 0 * * * ?", "2012-03-11T04:00:00-0400"),
    ("2012-03-11T04:00:00-0400", f"CRON_TZ={NY} 0 0 * * * ?", "2012-03-11T05:00:00-0400"),
    ("2012-03-11T00:00:00-0500", f"TZ={NY} 0 0 1 * * ?", "2012-03-11T01:00:00-0500"),
    ("2012-03-11T01:00:00-0500", f"TZ={NY} 0 0 1 * * ?", "2012-03-12T01:00:00-0400"),
    ("2012-03-11T00:00:00-0500", f"TZ={NY} 0 0 2 * * ?", "2012-03-12T02:00:00-0400"),
    ("2012-11-04T00:00:00-0400", f"TZ={NY} 0 30 2 04 Nov ?", "2012-11-04T02:30:00-0500"),
    ("2012-11-04T01:45:00-0400", f"TZ={NY} 0 30 1 04 Nov ?", "2012-11-04T01:30:00-0500"),
    ("2012-11-04T00:00:00-0400", f"TZ={NY} 0 0 * * * ?", "2012-11-04T01:00:00-0400"),
    ("2012-11-04T01:00:00-0400", f"TZ={NY} 0 0 * * * ?", "2012-11-04T01:00:00-0500"),
    ("2012-11-04T01:00:00-0500", f"TZ={NY} 0 0 * * * ?", "2012-11-04T02:00:00-0500"),
    ("2012-11-04T00:00:00-0400", f"TZ={NY} 0 0 1 * * ?", "2012-11-04T01:00:00-0400"),
    ("2012-11-04T01:00:00-0400", f"TZ={NY} 0 0 1 * * ?", "2012-11-04T01:00:00-0500"),
    ("2012-11-04T01:00:00-0500", f"TZ={NY} 0 0 1 * * ?", "2012-11-05T01:00:00-0500"),
    ("2012-11-04T00:00:00-0400", f"TZ={NY} 0 0 2 * * ?", "2012-11-04T02:00:00-0500"),
    ("2012-11-04T02:00:00-0500", f"TZ={NY} 0 0 2 * * ?", "2012-11-05T02:00:00-0500"),
    ("2012-11-04T00:00:00-0400", f"TZ={NY} 0 0 3 * * ?", "2012-11-04T03:00:00-0500"),
    ("2012-11-04T03:00:00-0500", f"TZ={NY} 0 0 3 * * ?", "2012-11-05T03:00:00-0500"),
    # robfig runs a zone-less spec in the zone of the time given; here that needs TZ=
    (f"TZ={NY} 2012-11-04T01:00:00-0400", "0 0 * * * ?", "2012-11-04T01:00:00-0500"),
    (f"TZ={NY} 2012-11-04T01:00:00-0400", "0 0 1 * * ?", "2012-11-04T01:00:00-0500"),
    (f"TZ={NY} 2012-11-04T00:00:00-0400", "0 0 2 * * ?", "2012-11-04T02:00:00-0500"),
    (f"TZ={NY} 2012-11-04T00:00:00-0400", "0 0 3 3 * ?", "2012-12-03T03:00:00-0500"),
    # midnight does not exist on some DST days in Sao Paulo (robfig #157)
    ("2018-10-17T05:00:00-0400", "TZ=America/Sao_Paulo 0 0 9 10 * ?", "2018-11-10T06:00:00-0500"),
    ("2018-02-14T05:00:00-0500", "TZ=America/Sao_Paulo 0 0 9 22 * ?", "2018-02-22T07:00:00-0500"),
]


@pytest.mark.parametrize(("when", "spec", "expected"), ROBFIG_NEXT)
def test_robfig_next(when: str, spec: str, expected: str) -> None:
    t, zone = _go_time(when)
    if zone is not None:
        spec = f"TZ={zone} {spec}"
    assert CronSchedule.parse(spec).next(t) == _go_time(expected)[0]


@pytest.mark.parametrize("spec", ["0 0 0 30 Feb ?", "0 0 0 31 Apr ?"])
def test_robfig_unsatisfiable_specs_are_rejected(spec: str) -> None:
    # robfig's Next returns the zero time for these, which would loop gocraft's enqueuer
    with pytest.raises(InvalidScheduleError, match="never occurs"):
        CronSchedule.parse(spec)


@pytest.mark.parametrize(
    ("spec", "after", "expected"),
    [
        ("CRON_TZ=UTC  0 5 * * * *", at(2024, 1, 1), at(2024, 1, 1, 0, 5)),  # two spaces
        ("TZ=UTC  @midnight", at(2024, 1, 1, 1), at(2024, 1, 2)),
        ("TZ=Asia/Tokyo @midnight", at(2024, 1, 1, 1), at(2024, 1, 1, 15)),
        ("5 5 * * * *", at(2024, 1, 1), at(2024, 1, 1, 0, 5, 5)),
    ],
)
def test_robfig_parse_schedule_forms(spec: str, after: datetime, expected: datetime) -> None:
    assert CronSchedule.parse(spec).next(after) == expected


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("5--5", "too many hyphens"),
        ("jan-x", "failed to parse int from"),
        ("*/-12", "negative number"),
        ("*//2", "too many slashes"),
        ("5-3", "beyond end of range"),
        ("*/0", "should be a positive number"),
    ],
)
def test_robfig_range_errors(field: str, message: str) -> None:
    with pytest.raises(InvalidScheduleError, match=re.escape(message)):
        CronSchedule.parse(f"{field} * * * *")


def test_robfig_parse_errors() -> None:
    for spec, message in [
        ("* 5 j * * *", "failed to parse int from"),
        ("@every Xm", "failed to parse duration"),
        ("@unrecognized", "unrecognized descriptor"),
    ]:
        with pytest.raises(InvalidScheduleError, match=re.escape(message)):
            CronSchedule.parse(spec)
