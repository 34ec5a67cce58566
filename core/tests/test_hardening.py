"""A worker that reports running keeps consuming, whatever its broker or handlers raise."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from jobplug import Job, Worker
from jobplug.broker import Delivery
from jobplug_memory import MemoryBroker

from .conftest import memory


class FlakyFetch(MemoryBroker):
    """An adapter with a bug: its first fetch raises something that is not a BrokerError."""

    def __init__(self) -> None:
        super().__init__()
        self.fetches = 0

    async def fetch(self, max_jobs: int, timeout: float) -> list[Delivery]:
        self.fetches += 1
        if self.fetches == 1:
            raise KeyError("adapter bug")
        return await super().fetch(max_jobs, timeout)


async def test_fetching_survives_an_unexpected_adapter_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    worker = Worker(FlakyFetch(), load_plugins=False, grace=1)
    done = asyncio.Event()
    worker.register("h", lambda args: done.set())
    await worker.perform(Job("h"))
    with caplog.at_level(logging.ERROR, logger="jobplug.worker"):
        async with worker:
            await asyncio.wait_for(done.wait(), 10)
    errors = [r for r in caplog.records if "unexpected error" in r.getMessage()]
    assert errors and errors[0].levelno == logging.ERROR
    assert errors[0].exc_info is not None  # the traceback is logged, not only the message


class Custom(BaseException):
    pass


@pytest.mark.parametrize("raised", [SystemExit(3), KeyboardInterrupt(), Custom("odd")])
@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_a_handler_raising_a_base_exception_fails_its_job_until_dead(
    raised: BaseException, kind: str
) -> None:
    worker = Worker(MemoryBroker(), load_plugins=False, grace=1, concurrency=2)
    calls: list[int] = []

    def poison(args: dict[str, Any]) -> None:
        calls.append(1)
        raise raised

    async def apoison(args: dict[str, Any]) -> None:
        poison(args)

    good: list[int] = []
    worker.register(
        "poison", apoison if kind == "async" else poison, max_fails=3, backoff=lambda j: 0
    )
    worker.register("good", lambda args: good.append(args["n"]))
    await worker.perform(Job("poison"))
    async with worker:
        await memory(worker).join(include_scheduled=True)
        await worker.perform(Job("good", {"n": 1}))  # the worker is still alive
        await memory(worker).join()
    assert len(calls) == 3 and good == [1]
    dead = (await worker.broker.inspector().dead()).items
    assert [r.job.handler for r in dead] == ["poison"]
    assert dead[0].job.fails == 3
    assert type(raised).__name__ in (dead[0].job.last_error or "")
