"""Jobs whose list sits on another job type's state key, and how the worker clears them.

gocraft keeps a job type's state beside its list: ``jobs:<name>:paused``, ``:lock``,
``:lock_info``, ``:max_concurrency``. A producer that enqueues a job *named* ``x:lock``
(Go, redis-cli, a typo; jobplug refuses such names) pushes its list onto ``x``'s lock
counter, and from then on ``x`` cannot be fetched (or, for ``:paused``, looks paused). No
worker may run those jobs: their names are refused at register. So the worker of ``x``
moves them to the dead set, saying why, and ``x`` runs again; nothing is lost.
"""

from __future__ import annotations

import logging
import time

from jobplug.adapter import new_job_id
from jobplug_redis import codec
from jobplug_redis.connection import Client, driver_errors
from jobplug_redis.keys import Keys

log = logging.getLogger("jobplug.redis")


async def clear_collisions(client: Client, keys: Keys, name: str, safe_url: str) -> int:
    """Move every job found in a list on ``name``'s state keys to dead; return how many."""
    moved = 0
    for suffix, key in keys.state(name).items():
        with driver_errors(safe_url, "clear a colliding job list"):
            kind = await client.type(key)
            if kind not in (b"list", "list"):
                continue
            raws = await client.lrange(key, 0, -1)
            if not raws:
                continue
            now = int(time.time())
            reason = (
                f"its list is {key}, the {suffix!r} key of job type {name!r}: a job name "
                f"ending in ':{suffix}' collides with gocraft's keys and cannot be run"
            )
            dead = {codec.malformed_record(name, new_job_id(), r, reason, now): now for r in raws}
            await client.zadd(keys.dead, dead)
            # Only what was read and is now dead: a job pushed meanwhile is on the left.
            await client.ltrim(key, 0, -len(raws) - 1)
        log.error("moved %d job(s) from %s to dead: %s", len(raws), key, reason)
        moved += len(raws)
    return moved
