"""How times, durations and JSON read on the dashboard."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from jobplug.ui.formatting import absolute, duration, iso, number, relative, short_json, short_text

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s"),
        (-5, "0 s"),
        (45.9, "45 s"),
        (60, "1 min"),
        (200, "3 min 20 s"),
        (3600, "1 h"),
        (7500, "2 h 5 min"),
        (90061, "1 d 1 h"),
        (None, "unknown"),  # a backend that cannot tell (AMQP)
    ],
)
def test_duration(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text


def test_relative_and_absolute() -> None:
    assert relative(NOW, NOW) == "just now"
    assert relative(NOW - timedelta(seconds=200), NOW) == "3 min ago"
    assert relative(NOW + timedelta(hours=2, minutes=5), NOW) == "in 2 h"
    assert relative(NOW - timedelta(days=3, hours=4), NOW) == "3 d ago"
    assert absolute(NOW) == "2026-01-02 03:04:05 UTC"
    assert iso(NOW.astimezone(timezone(timedelta(hours=2)))) == "2026-01-02T03:04:05Z"


def test_numbers_and_json() -> None:
    assert number(1234567) == "1,234,567"
    assert short_json({"b": 1, "a": "é"}) == '{"a": "é", "b": 1}'
    assert short_json({"k": "x" * 200}, limit=20).endswith("…")
    assert len(short_json({"k": "x" * 200}, limit=20)) == 20
    assert short_text("line one\n  line two") == "line one line two"
    assert short_text(None) == ""
