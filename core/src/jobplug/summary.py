"""The worker's summary line: what its jobs did, at INFO, instead of a line per job.

Per-job lines of jobs that went well are DEBUG (see :mod:`jobplug.logs`); a running worker
says every ``summary_interval`` seconds, when anything happened, ::

    jobs in the last 60s: 1200 succeeded, 3 failed, 1 dead

and its totals when it stops (``worker stopped: 52000 succeeded, ...``).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Mapping

log = logging.getLogger("jobplug.worker")

#: Outcomes in the order the summary names them.
OUTCOMES = ("succeeded", "discarded", "failed", "dead", "dropped")


def describe_counts(counts: Mapping[str, int]) -> str:
    """``1200 succeeded, 3 failed`` (outcomes that happened), or ``no jobs``."""
    parts = [f"{counts[name]} {name}" for name in OUTCOMES if counts.get(name)]
    return ", ".join(parts) or "no jobs"


async def report_every(counts: Counter[str], interval: float) -> None:
    """Log what changed in ``counts`` every ``interval`` seconds, when anything did."""
    last = Counter(counts)
    while True:
        await asyncio.sleep(interval)
        now = Counter(counts)
        if now != last:
            log.info("jobs in the last %gs: %s", interval, describe_counts(now - last))
        last = now
