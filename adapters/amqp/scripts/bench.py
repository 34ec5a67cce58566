"""Enqueue and drain rates of one process on RabbitMQ.

    python adapters/amqp/scripts/bench.py [--url URL] [--jobs N] [--concurrency C]

Enqueue: ``perform_many`` in batches (pipelined confirms) and ``perform`` one at a time
(one confirm round trip each). Drain: the queue is filled first, then one worker with a
no-op async handler runs until it is empty; the rate counts from ``start()`` returning.
Every queue is deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
import uuid

from jobplug import Job, Worker
from jobplug_amqp import AmqpBroker


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="amqp://guest:guest@127.0.0.1:5672/")
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--single", type=int, default=2_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--queue-type", default="classic")
    opts = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    sep = "&" if "?" in opts.url else "?"
    url = f"{opts.url}{sep}namespace=bench{uuid.uuid4().hex[:6]}&queue_type={opts.queue_type}"
    producer = AmqpBroker(url)
    try:
        await producer.connect()
        jobs = [Job("noop", {"i": i}) for i in range(opts.jobs)]
        start = time.perf_counter()
        for k in range(0, len(jobs), opts.batch):
            await producer.enqueue(jobs[k : k + opts.batch])
        batched = opts.jobs / (time.perf_counter() - start)
        start = time.perf_counter()
        for i in range(opts.single):
            await producer.enqueue([Job("noop", {"i": -i})])
        single = opts.single / (time.perf_counter() - start)
        total = opts.jobs + opts.single

        worker = Worker(producer, concurrency=opts.concurrency, load_plugins=False)
        done = asyncio.Event()
        count = 0

        async def noop(args: dict[str, int]) -> None:
            nonlocal count
            count += 1
            if count == total:
                done.set()

        worker.register("noop", noop)
        start = time.perf_counter()
        await worker.start()
        await asyncio.wait_for(done.wait(), 600)
        drain = total / (time.perf_counter() - start)
        await worker.stop()
        print(
            f"queue_type={opts.queue_type} jobs={total} concurrency={opts.concurrency}\n"
            f"enqueue batched ({opts.batch}/call): {batched:,.0f} jobs/s\n"
            f"enqueue one by one:             {single:,.0f} jobs/s\n"
            f"drain (one worker process):     {drain:,.0f} jobs/s"
        )
    finally:
        producer.known_handlers.add("noop")
        await producer.delete_topology()


if __name__ == "__main__":
    asyncio.run(main())
