"""Lifecycle: start/stop, the context manager, perform before start and after stop, and
how ``stop()`` treats running jobs (finish within the grace period, else put back)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from jobplug import Job, State, WorkerStateError
from jobplug_contract.base import contract
from jobplug_contract.harness import Harness
from jobplug_contract.setup import BOUND_LIMITS


async def noop(args: dict[str, Any]) -> None:
    return None


class LifecycleContract:
    @contract()
    async def test_context_manager_starts_and_stops(self, h: Harness) -> None:
        name = h.name("life")
        worker = h.worker()
        worker.register(name, noop)
        async with worker:
            assert worker.state.value == State.RUNNING.value, f"inside: {worker.state.value}"
            await worker.perform(Job(name, {"token": 1}))
            await h.recorder.wait(lambda: len(h.recorder.finished(name)) >= 1, h.wait, "the job")
        assert worker.state is State.STOPPED, f"after the block: {worker.state.value}"

    @contract()
    async def test_perform_before_start_and_from_a_pure_producer(self, h: Harness) -> None:
        name = h.name("early")
        producer = h.worker("producer")  # never started: a pure producer
        await producer.perform(Job(name, {"token": "producer"}))
        await producer.stop()
        worker = h.worker()
        worker.register(name, noop)
        await worker.perform(Job(name, {"token": "self"}))  # before its own start
        async with worker:
            await h.recorder.wait(
                lambda: sorted(map(str, h.recorder.tokens(name))) == ["producer", "self"],
                h.wait,
                "both jobs performed before start",
            )

    @contract()
    async def test_perform_after_stop_is_an_error(self, h: Harness) -> None:
        name = h.name("late")
        worker = h.worker()
        worker.register(name, noop)
        await worker.start()
        await worker.stop()
        with pytest.raises(WorkerStateError):
            await worker.perform(Job(name))
        with pytest.raises(WorkerStateError):
            await worker.start()

    @contract()
    async def test_stop_lets_running_job_finish_and_acks_it(self, h: Harness) -> None:
        name, sentinel = h.name("slow"), h.name("sentinel")
        entered, release = asyncio.Event(), asyncio.Event()

        async def slow(args: dict[str, Any]) -> None:
            entered.set()
            await release.wait()

        worker = h.worker(grace=20)
        worker.register(name, slow)
        await worker.start()
        await worker.perform(Job(name, {"token": "slow"}))
        await h.within(entered.wait(), "the job to start")
        stopping = asyncio.ensure_future(worker.stop())
        # stop() must still be waiting while the job runs: give it a few loop turns.
        await asyncio.sleep(0.2)
        assert not stopping.done(), "stop() returned while a job was still running"
        release.set()
        await h.within(stopping, "stop() to return once the job finished")
        outcomes = [r.outcome for r in h.recorder.of(name)]
        assert outcomes == ["ok"], f"the job's runs: {outcomes}; expected one that succeeded"
        # The finished job was acked before stop() returned: a new worker never sees it.
        second = h.worker("second", concurrency=1)
        second.register(name, noop)
        second.register(sentinel, noop)
        async with second:
            await second.perform(Job(sentinel))
            await h.recorder.wait(
                lambda: len(h.recorder.finished(sentinel)) >= 1, h.wait, "sentinel"
            )
        assert len(h.recorder.of(name)) == 1, (
            "a job finished before stop() ran again: it must be acked (deleted) for good"
        )

    @contract()
    async def test_stop_after_grace_puts_running_job_back(self, h: Harness) -> None:
        name = h.name("stuck")
        entered = asyncio.Event()

        async def stuck(args: dict[str, Any]) -> None:
            entered.set()
            await asyncio.Event().wait()  # until cancelled by the end of the grace period

        first = h.worker("first", grace=0.3)
        first.register(name, stuck)
        await first.start()
        job = Job(name, {"token": "stuck"})
        await first.perform(job)
        await h.within(entered.wait(), "the job to start")
        await h.within(first.stop(), "stop() to end after its 0.3 s grace period", 10)
        second = h.worker("second")
        second.register(name, noop)
        async with second:
            await h.recorder.wait(
                lambda: any(r.worker == "second" for r in h.recorder.of(name)),
                h.wait,
                "the job put back at stop() to run again",
            )
        rerun = [r for r in h.recorder.of(name) if r.worker == "second"]
        assert rerun[0].job_id == job.id, "another job ran instead of the one put back"
        assert rerun[0].fails == 0, "a job put back at shutdown must not count a failure"

    @contract()
    async def test_declared_time_bounds_are_sane(self, h: Harness) -> None:
        """The bounds an adapter declares are what the other tests hold it to: a huge
        ``late_bound`` would pass a backend that runs delayed jobs an hour late."""
        wrong = [
            f"{field}={value:g}s (the suite accepts at most {limit:g}s)"
            for field, limit in BOUND_LIMITS.items()
            if not 0 < (value := getattr(h.setup, field)) <= limit
        ]
        assert not wrong, "the setup declares time bounds above the sane maximum: " + "; ".join(
            wrong
        )
