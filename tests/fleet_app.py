"""The worker app of the fleet test: one good handler, and handlers that poison their jobs
in every way a handler can. Run as ``jobplug worker fleet_app:worker``."""

from __future__ import annotations

import os
from typing import Any

import redis

import jobplug

worker = jobplug.connect()  # $WORKER_URL
tally = redis.Redis.from_url(os.environ["FLEET_TALLY_URL"])
key = os.environ["FLEET_KEY"]


def no_wait(job: jobplug.Job) -> float:
    return 0.0


@worker.handler("good", backoff=no_wait)
def good(args: dict[str, Any]) -> None:
    tally.sadd(f"{key}:done", args["n"])
    tally.incr(f"{key}:runs")


@worker.handler("idle")
def idle(args: dict[str, Any]) -> None:
    """On Redis, another producer's list sits on this type's pause flag."""
    tally.incr(f"{key}:idle")


class Odd(BaseException):
    pass


def raiser(error: BaseException) -> Any:
    def handler(args: dict[str, Any]) -> None:
        raise error

    return handler


for name, error in [
    ("exits", SystemExit(3)),
    ("interrupts", KeyboardInterrupt()),
    ("odd", Odd("a custom BaseException")),
    ("fails", RuntimeError("always")),
]:
    worker.register(name, raiser(error), max_fails=2, backoff=no_wait)
