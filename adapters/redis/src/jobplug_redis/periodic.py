"""gocraft/work's periodic enqueuer, byte for byte.

Every process that serves periodic jobs runs the same loop: about every 2 minutes (plus up
to 29 s of jitter), if ``<ns>last_periodic_enqueue`` is missing or stale, it ZADDs every run
of every periodic job due within the next 4 minutes to ``<ns>scheduled`` (score = run time,
member = the job JSON), then records the time. The requeuer later moves due members to
their queues like any scheduled job.

No lock is needed because one run always has the same member bytes
(``{"name":N,"id":"periodic:N:SPEC:EPOCH","t":EPOCH,"args":null}``) in every process, Go or
Python: a second ZADD of an existing member only rewrites its score with the same value.
That is why this module must match Go's ``encoding/json`` output exactly.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from redis import exceptions as redis_errors

from jobplug.adapter import PeriodicSpec
from jobplug.errors import BrokerConnectionError, BrokerError, InvalidScheduleError
from jobplug_redis.cron import CronSchedule

if TYPE_CHECKING:
    from typing import TypeAlias

    from redis.asyncio import Redis
    from redis.asyncio.cluster import RedisCluster

    Client: TypeAlias = Redis | RedisCluster

log = logging.getLogger(__name__)

#: gocraft's ``periodicEnqueuerSleep``: the loop wakes this often (plus jitter).
SLEEP = timedelta(minutes=2)
#: gocraft adds ``rand.Intn(30)`` seconds to every sleep.
JITTER_SECONDS = 30
#: gocraft's ``periodicEnqueuerHorizon``: runs due before ``now + HORIZON`` are scheduled.
HORIZON = timedelta(minutes=4)
#: gocraft compares ``last < now - int64(periodicEnqueuerSleep/time.Minute)``, i.e. 2
#: *seconds* (a unit slip upstream), kept so that Go and Python pools agree on staleness.
STALE_AFTER_SECONDS = int(SLEEP / timedelta(minutes=1))


def scheduled_key(prefix: str) -> str:
    return f"{prefix}scheduled"


def last_enqueue_key(prefix: str) -> str:
    return f"{prefix}last_periodic_enqueue"


def go_json_string(text: str) -> str:
    """``text`` as Go's ``encoding/json`` writes a string (HTML-safe, U+2028/9 escaped)."""
    encoded = json.dumps(text, ensure_ascii=False)
    return (
        encoded.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def periodic_job_id(name: str, spec: str, epoch: int) -> str:
    """gocraft's ``makeUniquePeriodicID``."""
    return f"periodic:{name}:{spec}:{epoch}"


def periodic_member(name: str, spec: str, epoch: int) -> bytes:
    """The exact ``<ns>scheduled`` member Go writes for the run of ``name`` at ``epoch``."""
    job_id = periodic_job_id(name, spec, epoch)
    # Go omits an empty name (``omitempty``); a PeriodicSpec always has one, but match anyway
    head = f'{{"name":{go_json_string(name)},' if name else "{"
    text = f'{head}"id":{go_json_string(job_id)},"t":{epoch},"args":null}}'
    return text.encode("utf-8", "surrogatepass")


def run_times(schedule: CronSchedule, now: int) -> list[int]:
    """Epochs of the runs in ``(now, now + HORIZON)``, as gocraft's loop picks them."""
    start = datetime.fromtimestamp(now, timezone.utc)
    horizon = start + HORIZON
    out: list[int] = []
    t = schedule.next(start)
    while t < horizon:
        out.append(int(t.timestamp()))
        t = schedule.next(t)
    return out


def should_enqueue(last: int | None, now: datetime | int | None = None) -> bool:
    """gocraft's ``shouldEnqueue``: no (or an unreadable) last run, or one over 2 s old."""
    if last is None:
        return True
    return last < _epoch(now) - STALE_AFTER_SECONDS


def next_sleep() -> float:
    """Seconds until the loop's next check: 2 minutes plus gocraft's 0..29 s jitter."""
    return SLEEP.total_seconds() + random.randrange(JITTER_SECONDS)


async def enqueue_periodic(
    client: Client,
    prefix: str,
    specs: Sequence[PeriodicSpec],
    now: datetime | None = None,
) -> int:
    """Schedule every run of ``specs`` within the horizon; return how many were new.

    ``prefix`` is the namespace prefix with its colon (``"jobplug:"``, or ``""``). A spec
    that cannot be parsed (``Worker.every`` refuses those, but a config can be built by
    hand) is logged at ERROR, naming it, and skipped: the other periodic jobs still run.
    """
    epoch = _epoch(now)
    members: dict[bytes, int] = {}
    for spec in specs:
        try:
            times = run_times(CronSchedule.parse(spec.spec), epoch)
        except Exception as exc:  # one bad entry must not stop the others
            log.error("periodic job %s skipped: %s", spec.handler, exc)
            continue
        for at in times:
            members[periodic_member(spec.handler, spec.spec, at)] = at
    try:
        # one round trip, not atomic: like Go's sequence of ZADDs, any order is safe
        pipe = client.pipeline(transaction=False)
        if members:
            pipe.zadd(scheduled_key(prefix), members)
        pipe.set(last_enqueue_key(prefix), epoch)
        results = await pipe.execute()
    except redis_errors.ConnectionError as exc:
        raise BrokerConnectionError(f"periodic enqueue: Redis unreachable: {exc}") from exc
    except redis_errors.RedisError as exc:
        raise BrokerError(f"periodic enqueue failed: {exc}") from exc
    return int(results[0]) if members else 0


async def last_enqueue(client: Client, prefix: str) -> int | None:
    """``<ns>last_periodic_enqueue`` as an int; None if missing or not an integer (as Go)."""
    try:
        raw = await client.get(last_enqueue_key(prefix))
    except redis_errors.ConnectionError as exc:
        raise BrokerConnectionError(f"periodic enqueue: Redis unreachable: {exc}") from exc
    except redis_errors.RedisError as exc:
        raise BrokerError(f"periodic enqueue failed: {exc}") from exc
    try:
        return int(raw) if raw is not None else None
    except (TypeError, ValueError):
        return None


async def enqueue_periodic_if_due(
    client: Client, prefix: str, specs: Sequence[PeriodicSpec], now: datetime | None = None
) -> int | None:
    """One turn of gocraft's loop: enqueue if :func:`should_enqueue`; None if skipped."""
    if not should_enqueue(await last_enqueue(client, prefix), now):
        return None
    return await enqueue_periodic(client, prefix, specs, now)


async def periodic_loop(
    client: Client, prefix: str, specs: Sequence[PeriodicSpec], stop: asyncio.Event
) -> None:
    """Run gocraft's periodic enqueuer until ``stop`` is set; errors are logged, not raised
    (a bad spec is skipped with an ERROR line naming it, see :func:`enqueue_periodic`)."""
    while not stop.is_set():
        try:
            await enqueue_periodic_if_due(client, prefix, specs)
        except BrokerError as exc:
            log.warning("periodic enqueue: %s", exc)
        except Exception:
            log.exception("periodic enqueue failed")
        try:
            await asyncio.wait_for(stop.wait(), next_sleep())
        except asyncio.TimeoutError:
            pass


def _epoch(now: datetime | int | None) -> int:
    if now is None:
        now = datetime.now(timezone.utc)
    if isinstance(now, int):
        return now
    if now.tzinfo is None:
        raise InvalidScheduleError(f"now must be an aware datetime, got naive {now}")
    return math.floor(now.timestamp())
