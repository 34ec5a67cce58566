"""Delivery: at-least-once across a killed worker process, no double delivery between two
workers, routing by handler, and brokers that close and come back."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from jobplug import Capability, Job
from jobplug_contract.base import contract
from jobplug_contract.harness import Harness
from jobplug_contract.suite.lifecycle import noop


class DeliveryContract:
    @contract(Capability.DURABLE, timeout=120)
    async def test_job_survives_worker_killed_mid_job(self, h: Harness) -> None:
        """A worker process killed mid-job: its job runs again elsewhere. Meanwhile a job
        acked long ago must never come back (an ack that does not delete is lost work done
        twice), and a job still running in a live worker must not be handed out again
        (leases or heartbeats must be renewed while a job runs)."""
        killed, done, long = h.name("kill9"), h.name("finished"), h.name("long")
        release = asyncio.Event()

        async def long_running(args: dict[str, Any]) -> None:
            await release.wait()

        holder = h.worker("holder")
        holder.register(done, noop)
        holder.register(long, long_running)
        await holder.start()
        await holder.perform(Job(done, {"token": "finished"}))
        await h.recorder.wait(lambda: bool(h.recorder.finished(done)), h.wait, "a first job")
        await holder.perform(Job(long, {"token": "long"}))
        await h.recorder.wait(lambda: bool(h.recorder.of(long)), h.wait, "the long job to start")
        started = time.monotonic()

        child = h.spawn([killed])
        await child.ready()
        job = Job(killed, {"token": "survivor", "hang": True})
        await holder.perform(job)
        await child.wait_for(
            lambda: bool(child.events("start")), 30, "the worker process to start the job"
        )
        await child.kill()

        rescuer = h.worker("rescuer")
        for name in (killed, done, long):
            rescuer.register(name, noop)
        async with rescuer:
            await h.recorder.wait(
                lambda: bool(h.recorder.finished(killed)),
                h.setup.redelivery_timeout + 5,
                "the killed worker's job to be handed out again",
            )
            # One more round through the rescuer: whatever came back with the killed job
            # is handed out by now.
            await rescuer.perform(Job(killed, {"token": "sentinel"}))
            await h.recorder.wait(
                lambda: "sentinel" in h.recorder.tokens(killed), h.wait, "a later job"
            )
            held = time.monotonic() - started
            release.set()
            await h.recorder.wait(lambda: bool(h.recorder.finished(long)), h.wait, "the long job")
        run = h.recorder.of(killed)[0]
        assert run.job_id == job.id, "another job ran instead of the killed worker's"
        assert run.args == {"token": "survivor", "hang": True}, f"its args changed: {run.args}"
        finished = h.recorder.of(done)
        assert len(finished) == 1, (
            f"a job that had finished and been acked ran {len(finished)} times: ack must "
            "remove the job for good (it came back when its lease or heartbeat expired)"
        )
        longs = h.recorder.of(long)
        assert len(longs) == 1, (
            f"a job still running in a live worker was handed out again ({len(longs)} runs in "
            f"{held:.1f}s): leases or heartbeats must be renewed while a job runs"
        )

    @contract()
    async def test_two_workers_never_run_one_job_twice(self, h: Harness) -> None:
        name = h.name("shared")
        count = 120

        async def work(args: dict[str, Any]) -> None:
            await asyncio.sleep((args["token"] % 4) / 1000)

        first, second = h.worker("a", concurrency=4), h.worker("b", concurrency=4)
        for worker in (first, second):
            worker.register(name, work)
        await first.start()
        await second.start()
        # A producer of its own that comes and goes while the workers run: its stop()
        # closes only its own connection, never the workers' subscriptions.
        producer = h.worker("producer")
        await producer.perform_many([Job(name, {"token": i}) for i in range(count // 2)])
        await producer.stop()
        await first.perform_many([Job(name, {"token": i}) for i in range(count // 2, count)])
        await h.recorder.wait(
            lambda: len({r.args["token"] for r in h.recorder.finished(name)}) == count,
            h.wait * 2,
            f"{count} jobs over two workers",
        )
        await first.stop()
        await second.stop()
        tokens = h.recorder.tokens(name)
        twice = sorted({t for t in tokens if tokens.count(t) > 1})
        assert not twice, f"jobs run more than once: {twice[:10]}"
        workers = {r.worker for r in h.recorder.of(name)}
        assert workers, "no job ran"

    @contract()
    async def test_worker_only_receives_its_own_handlers(self, h: Harness) -> None:
        mine, other = h.name("mine"), h.name("other")
        worker = h.worker("mine")
        worker.register(mine, noop)
        await worker.perform(Job(other, {"token": "other"}))
        await worker.perform(Job(mine, {"token": "mine"}))
        async with worker:
            await h.recorder.wait(lambda: bool(h.recorder.finished(mine)), h.wait, "own job")
        assert not h.recorder.of(other), "ran a job of a handler it did not register"
        assert not h.recorder.dead, "a job of another handler was dead-lettered"
        helper = h.worker("other")
        helper.register(other, noop)
        async with helper:
            await h.recorder.wait(
                lambda: bool(h.recorder.finished(other)), h.wait, "the other handler's job, kept"
            )

    @contract()
    async def test_close_is_idempotent_and_a_new_broker_sees_the_jobs(self, h: Harness) -> None:
        name = h.name("reopen")
        producer = h.worker("producer")
        await producer.perform_many([Job(name, {"token": i}) for i in range(3)])
        await producer.stop()
        await producer.broker.close()  # again: closing twice is harmless
        broker = h.broker()
        await broker.connect()
        await broker.close()
        await broker.close()
        worker = h.worker()
        worker.register(name, noop)
        async with worker:
            await h.recorder.wait(
                lambda: sorted(h.recorder.tokens(name)) == [0, 1, 2], h.wait, "the three jobs"
            )
