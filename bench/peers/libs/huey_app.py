"""huey: RedisHuey, one consumer process with 8 worker threads."""

from __future__ import annotations

import sys

from benchkit import CONCURRENCY, QUEUE, REDIS_URL, hit
from huey import RedisHuey

SETTINGS = f"{CONCURRENCY} threads"

huey = RedisHuey(QUEUE, url=REDIS_URL, results=False, utc=True)


@huey.task()
def task() -> None:
    hit()


def produce(n: int) -> None:
    for _ in range(n):
        task()


def worker_argv() -> list[str]:
    return [
        sys.executable, "-m", "huey.bin.huey_consumer", "huey_app.huey", "-w",
        str(CONCURRENCY), "-k", "thread", "-q",
    ]  # fmt: skip
