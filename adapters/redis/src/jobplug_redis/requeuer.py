"""Moving due jobs from ``<ns>scheduled`` and ``<ns>retry`` to their queues.

gocraft's requeuer script moves a due job only if this pool registered its name, and
dead-letters it otherwise ("unknown job when requeueing", issues #86/#117), which kills
jobs that another, live pool serves. It also re-encodes jobs with Lua's cjson (numbers
cut to 14 digits, ``\\/``). We instead move every due job to ``<ns>jobs:<name>``, where
any pool serving that name (Go or Python) fetches it, and re-encode it in Python in
gocraft's byte layout with ``t`` set to now, as gocraft does. A member is moved only by
the call that removed it from the zset, so concurrent requeuers never double a job. A
member that is not a job goes to dead with the reason.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

from jobplug.adapter import new_job_id
from jobplug.errors import MalformedJobError
from jobplug_redis import codec
from jobplug_redis.connection import Client
from jobplug_redis.keys import Keys

BATCH = 200


async def requeue_due(client: Client, keys: Keys, script: object, now: int | None = None) -> int:
    """Move due jobs of both zsets; returns how many moved (loops until none are due)."""
    stamp = int(time.time()) if now is None else now
    total = 0
    for zset in (keys.scheduled, keys.retry):
        while True:
            members = await client.zrangebyscore(zset, "-inf", stamp, start=0, num=BATCH)
            if not members:
                break
            dests: list[str] = [zset]
            args: list[object] = []
            for member in members:
                try:
                    job, args_null = codec.decode_job(member)
                except MalformedJobError as exc:
                    payload = codec.malformed_record("", new_job_id(), member, str(exc), stamp)
                    dests.append(keys.dead)
                    args += [member, "z", payload, stamp]
                    continue
                job.enqueued_at = datetime.fromtimestamp(stamp, timezone.utc)
                dests.append(keys.jobs(job.handler))
                args += [member, "l", codec.encode_job(job, args_null)]
            total += int(await script(keys=dests, args=args))  # type: ignore[operator]
            if len(members) < BATCH:
                break
    return total


async def next_due(client: Client, keys: Keys) -> float | None:
    """The earliest score in either zset, or None when both are empty."""
    pipe = client.pipeline(transaction=False)
    pipe.zrange(keys.scheduled, 0, 0, withscores=True)
    pipe.zrange(keys.retry, 0, 0, withscores=True)
    firsts = await pipe.execute()
    scores = [float(items[0][1]) for items in firsts if items]
    return min(scores) if scores else None
