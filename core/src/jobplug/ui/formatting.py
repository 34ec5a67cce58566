"""Jinja filters: how numbers, times and JSON look on the dashboard.

Everything here returns plain text; the templates escape it (autoescape is on), so no
filter ever builds markup from job data.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from jinja2 import Environment

_UNITS = (("d", 86400), ("h", 3600), ("min", 60), ("s", 1))


def iso(when: datetime) -> str:
    """Machine form for ``<time datetime=...>`` (the page's script reads it)."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def absolute(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(seconds: float | None) -> str:
    """``45 s``, ``3 min 20 s``, ``2 h 5 min``: the two largest units; ``unknown`` for None."""
    if seconds is None:
        return "unknown"
    total = int(max(0.0, seconds))
    for index, (unit, size) in enumerate(_UNITS):
        if total >= size or size == 1:
            major, rest = divmod(total, size)
            text = f"{major} {unit}"
            if index + 1 < len(_UNITS):
                minor_unit, minor_size = _UNITS[index + 1]
                minor = rest // minor_size
                if minor:
                    text += f" {minor} {minor_unit}"
            return text
    return "0 s"  # unreachable: the last unit has size 1


def relative(when: datetime, now: datetime | None = None) -> str:
    """``3 min ago`` or ``in 2 h``; the page's script keeps it current."""
    now = now or datetime.now(timezone.utc)
    delta = (now - when).total_seconds()
    if abs(delta) < 1:
        return "just now"
    coarse = " ".join(duration(abs(delta)).split(" ")[:2])  # one unit; the hover has the rest
    return f"{coarse} ago" if delta > 0 else f"in {coarse}"


def number(value: int) -> str:
    return f"{value:,}"


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


def short_json(value: Any, limit: int = 100) -> str:
    text = json.dumps(value, separators=(", ", ": "), ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def short_text(value: str | None, limit: int = 100) -> str:
    text = " ".join((value or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def install(env: Environment) -> None:
    env.filters.update(
        iso=iso,
        absolute=absolute,
        relative=relative,
        duration=duration,
        number=number,
        pretty_json=pretty_json,
        short_json=short_json,
        short_text=short_text,
    )
