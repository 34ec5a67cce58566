"""Drain/enqueue throughput of one worker process on Redis (no-op jobs).

    python adapters/redis/tools/drain.py [--url redis://127.0.0.1:6379/0] [--jobs 100000]
        [--concurrency 200] [--queues 1]

Enqueues ``--jobs`` jobs with ``perform_many`` (batches of 1000), then starts one worker
and times how long it takes to run them all. Uses its own namespace and deletes it.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from typing import Any

import redis.asyncio as aioredis

from jobplug import Job, Worker


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--queues", type=int, default=1)
    opts = parser.parse_args()
    namespace = f"drain{uuid.uuid4().hex[:8]}"
    url = f"{opts.url}?namespace={namespace}"
    names = [f"noop{i}" for i in range(opts.queues)]
    done = 0
    finished = asyncio.Event()

    async def noop(args: dict[str, Any]) -> None:
        nonlocal done
        done += 1
        if done == opts.jobs:
            finished.set()

    producer = Worker(url=url)
    t0 = time.perf_counter()
    for start in range(0, opts.jobs, 1000):
        count = min(1000, opts.jobs - start)
        await producer.perform_many(
            [Job(names[(start + i) % len(names)], {"i": start + i}) for i in range(count)]
        )
    enqueue_s = time.perf_counter() - t0
    await producer.broker.close()
    worker = Worker(url=url, concurrency=opts.concurrency)
    for name in names:
        worker.register(name, noop)
    t0 = time.perf_counter()
    async with worker:
        await finished.wait()
        drain_s = time.perf_counter() - t0
    print(f"enqueue: {opts.jobs / enqueue_s:,.0f} jobs/s ({opts.jobs} jobs in {enqueue_s:.2f}s)")
    print(f"drain:   {opts.jobs / drain_s:,.0f} jobs/s ({opts.jobs} jobs in {drain_s:.2f}s)")
    client = aioredis.Redis.from_url(opts.url)
    keys = [k async for k in client.scan_iter(match=f"{namespace}:*", count=1000)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


if __name__ == "__main__":
    asyncio.run(main())
