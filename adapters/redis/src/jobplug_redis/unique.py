"""Unique jobs on the consuming side: the marker is released when the job starts.

gocraft's worker ``GET``s and ``DEL``s ``<ns>unique:<name>:<json>\\n`` (we ``GETDEL``) when a
unique job starts, so the same job may be enqueued again while it runs. A by-key marker
holds the latest job enqueued under that key: its args replace the fetched ones. The
receipt keeps the fetched bytes for the in-progress ``LREM`` (gocraft removed the marker's
bytes instead, leaving the entry behind: PR #181).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from jobplug.adapter import Delivery
from jobplug.errors import BrokerError, MalformedJobError
from jobplug_redis import codec
from jobplug_redis.connection import Client, driver_errors

log = logging.getLogger("jobplug.redis")


async def take_unique_markers(
    client: Client, prefix: str, safe_url: str, deliveries: Sequence[Delivery]
) -> None:
    pipe = client.pipeline(transaction=False)
    for delivery in deliveries:
        job = delivery.job
        args = None if delivery.receipt.args_null else job.args
        key = job.meta.get("unique_key") or codec.unique_key(prefix, job.handler, args)
        pipe.getdel(key)
    try:
        with driver_errors(safe_url, "unique release"):
            values = await pipe.execute()
    except BrokerError as exc:
        log.warning("could not release unique markers: %s", exc)
        return
    for delivery, value in zip(deliveries, values, strict=True):
        if value is None or value == b"1":
            continue
        try:
            latest, _ = codec.decode_job(value)
        except MalformedJobError:
            continue
        delivery.job.args = latest.args
