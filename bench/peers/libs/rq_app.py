"""RQ: SimpleWorker (runs jobs in the worker process, no fork per job), burst mode."""

from __future__ import annotations

import sys

from benchkit import QUEUE, REDIS_URL, hit

SETTINGS = "SimpleWorker, 1 job at a time"


def task() -> None:
    hit()


def produce(n: int) -> None:
    from redis import Redis
    from rq import Queue

    queue = Queue(QUEUE, connection=Redis.from_url(REDIS_URL))
    for _ in range(n):
        queue.enqueue(task, result_ttl=0)


def worker_argv() -> list[str]:
    return [
        sys.executable, "-m", "rq.cli", "worker", "--burst", "--url", REDIS_URL,
        "--worker-class", "rq.SimpleWorker", "--logging_level", "WARNING", QUEUE,
    ]  # fmt: skip
