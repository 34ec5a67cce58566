"""The testing helpers: JobTester assertions, drain, and the pytest plugin's fixtures."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from unittest.mock import ANY

import pytest

from jobplug import ConfigurationError, Job, Worker
from jobplug.testing import JobTester
from jobplug_memory import MemoryBroker

FAST = {"backoff": lambda job: 0.01}


async def test_inline_fixture_runs_jobs_at_perform(
    jobplug_worker: Worker, jobplug_jobs: JobTester
) -> None:
    sent: list[str] = []

    @jobplug_worker.handler("send_email")
    async def send_email(args: dict[str, Any]) -> None:
        sent.append(args["to"])

    await jobplug_worker.perform(Job("send_email", {"to": "a@example.com"}))
    assert sent == ["a@example.com"]  # inline: done before perform returned
    job = jobplug_jobs.assert_performed("send_email", args={"to": "a@example.com"})
    assert job.handler == "send_email"
    jobplug_jobs.assert_enqueued("send_email", times=1)
    jobplug_jobs.assert_performed("send_email", args={"to": ANY})
    jobplug_jobs.assert_not_performed("other")
    jobplug_jobs.assert_not_performed("send_email", args={"to": "b@example.com"})


async def test_assertion_failures_say_what_was_recorded(
    jobplug_worker: Worker, jobplug_jobs: JobTester
) -> None:
    jobplug_worker.register("ping", lambda args: None)
    with pytest.raises(AssertionError, match="recorded: nothing"):
        jobplug_jobs.assert_performed("ping")
    await jobplug_worker.perform(Job("ping", {"n": 1}))
    await jobplug_worker.perform(Job("ping", {"n": 2}))
    with pytest.raises(AssertionError) as info:
        jobplug_jobs.assert_performed("ping", args={"n": 3})
    assert "with args {'n': 3}" in str(info.value)
    assert "succeeded ping {'n': 2}" in str(info.value)
    with pytest.raises(AssertionError, match="1 time"):
        jobplug_jobs.assert_performed("ping", times=1)
    assert jobplug_jobs.assert_performed("ping", times=2).args == {"n": 2}
    with pytest.raises(AssertionError, match="not to be performed"):
        jobplug_jobs.assert_not_performed("ping")


async def test_failures_retries_and_dead_are_recorded(
    jobplug_worker: Worker, jobplug_jobs: JobTester
) -> None:
    def flaky(args: dict[str, Any]) -> None:
        raise RuntimeError("smtp down")

    jobplug_worker.register("flaky", flaky, max_fails=3, **FAST)
    await jobplug_worker.perform(Job("flaky", {"id": 7}))  # inline: retries run at once too
    jobplug_jobs.assert_failed("flaky", args={"id": 7}, times=2)
    dead = jobplug_jobs.assert_dead("flaky", times=1)
    assert dead.fails == 3 and dead.last_error == "RuntimeError: smtp down"
    jobplug_jobs.assert_not_performed("flaky")
    assert [j.fails for j in jobplug_jobs.failed()] == [1, 2]  # snapshots, not the live job


def test_sync_test_with_the_sync_facade(jobplug_worker: Worker, jobplug_jobs: JobTester) -> None:
    jobplug_worker.register("add", lambda args: args["a"] + args["b"])
    jobplug_worker.sync.perform(Job("add", {"a": 1, "b": 2}))
    jobplug_jobs.assert_performed("add", args={"a": 1, "b": 2})


async def test_drain_runs_queued_jobs_here_in_order() -> None:
    worker = Worker(MemoryBroker(), load_plugins=False)
    order: list[int] = []

    @worker.handler("step")
    async def step(args: dict[str, Any]) -> None:
        order.append(args["n"])
        if args["n"] == 1:  # jobs enqueued by a handler are drained too
            await worker.perform(Job("step", {"n": 10}))

    with JobTester(worker) as jobs:
        for n in (1, 2, 3):
            await worker.perform(Job("step", {"n": n}))
        assert order == []  # queue mode: nothing ran yet
        jobs.assert_enqueued("step", times=3)
        assert await jobs.drain() == 4
        assert order == [1, 2, 3, 10]
        jobs.assert_performed("step", times=4)
        assert await jobs.drain() == 0
    await worker.stop()


async def test_drain_waits_for_scheduled_jobs_only_when_asked() -> None:
    worker = Worker(MemoryBroker(), load_plugins=False)
    worker.register("later", lambda args: None)
    with JobTester(worker) as jobs:
        started = time.monotonic()
        await worker.perform_in(Job("later"), 0.2)
        assert await jobs.drain() == 0
        jobs.assert_not_performed("later")
        assert await jobs.drain(include_scheduled=True) == 1
        assert time.monotonic() - started >= 0.2
        jobs.assert_performed("later")
    await worker.stop()


async def test_drain_times_out_on_jobs_nobody_serves() -> None:
    broker = MemoryBroker()
    producer = Worker(broker, load_plugins=False)
    await producer.perform(Job("orphan"))
    worker = Worker(broker, load_plugins=False)
    worker.register("mine", lambda args: None)
    with JobTester(worker) as jobs, pytest.raises(TimeoutError):
        await jobs.drain(timeout=0.1, include_scheduled=True)


async def test_drain_on_a_started_worker_waits_for_the_broker() -> None:
    worker = Worker(MemoryBroker(), load_plugins=False, fetch_timeout=0.05)
    gate = asyncio.Event()

    @worker.handler("slow")
    async def slow(args: dict[str, Any]) -> None:
        await gate.wait()

    with JobTester(worker) as jobs:
        async with worker:
            await worker.perform(Job("slow"))
            with pytest.raises(TimeoutError):
                await jobs.drain(timeout=0.05)
            gate.set()
            await jobs.drain(timeout=5)
            jobs.assert_performed("slow", times=1)
        with pytest.raises(ConfigurationError, match="stopped"):
            await jobs.drain()


async def test_drain_on_a_producer_waits_for_the_worker_sharing_its_broker() -> None:
    broker = MemoryBroker()
    producer = Worker(broker, load_plugins=False)
    consumer = Worker(broker, load_plugins=False, fetch_timeout=0.05)
    consumer.register("job", lambda args: None)
    with JobTester(producer) as produced, JobTester(consumer) as consumed:
        async with consumer:
            await producer.perform(Job("job"))
            assert await produced.drain(timeout=5) == 0  # the consumer ran it
            consumed.assert_performed("job")
            await producer.perform(Job("job"))  # and it still consumes afterwards
            await produced.drain(timeout=5)
            consumed.assert_performed("job", times=2)
        produced.assert_enqueued("job", times=2)


async def test_detached_tester_records_nothing(jobplug_worker: Worker) -> None:
    jobplug_worker.register("x", lambda args: None)
    tester = JobTester(jobplug_worker)
    tester.close()
    tester.close()
    await jobplug_worker.perform(Job("x"))
    assert tester.performed() == []


class TestQueueModeByOverride:
    @pytest.fixture
    def jobplug_url(self) -> str:
        return "memory://"

    async def test_override_gives_a_queue(
        self, jobplug_worker: Worker, jobplug_jobs: JobTester
    ) -> None:
        jobplug_worker.register("q", lambda args: None)
        await jobplug_worker.perform(Job("q"))
        jobplug_jobs.assert_not_performed("q")
        await jobplug_jobs.drain()
        jobplug_jobs.assert_performed("q")
