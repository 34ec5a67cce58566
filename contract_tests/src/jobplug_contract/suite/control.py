"""Optional controls: unique jobs, pause/unpause, max concurrency, priorities, periodic."""

from __future__ import annotations

import asyncio
from typing import Any

from jobplug import Capability, Job
from jobplug_contract.base import contract
from jobplug_contract.harness import Harness
from jobplug_contract.recorder import poll
from jobplug_contract.suite.lifecycle import noop


class ControlContract:
    @contract(Capability.UNIQUE)
    async def test_unique_jobs_are_enqueued_once_while_pending(self, h: Harness) -> None:
        name = h.name("unique")
        worker = h.worker()
        worker.register(name, noop)
        assert await worker.perform_unique(Job(name, {"token": "a"})) is True
        assert await worker.perform_unique(Job(name, {"token": "a"})) is False
        assert await worker.perform_unique(Job(name, {"token": "b"})) is True  # other args
        keyed = {"order": 7}
        assert await worker.perform_unique(Job(name, {"token": "k1"}), key=keyed) is True
        assert await worker.perform_unique(Job(name, {"token": "k2"}), key=keyed) is False
        async with worker:
            await h.recorder.wait(
                lambda: len(h.recorder.finished(name)) >= 3, h.wait, "the three unique jobs"
            )

            async def enqueued_again() -> bool:
                return await worker.perform_unique(Job(name, {"token": "a"}))

            await poll(enqueued_again, h.wait, "the unique key to be free once the job ran")
            await h.recorder.wait(
                lambda: len(h.recorder.finished(name)) >= 4, h.wait, "the re-enqueued unique job"
            )
        tokens = sorted(h.recorder.tokens(name))
        # With a key, either args may be the ones that run: gocraft/work's unique-by-key
        # updates the pending job's args, the memory broker keeps the first ones.
        assert tokens in (["a", "a", "b", "k1"], ["a", "a", "b", "k2"]), tokens

    @contract(Capability.PAUSE)
    async def test_paused_handler_waits_until_unpaused(self, h: Harness) -> None:
        paused, busy = h.name("paused"), h.name("busy")
        control = h.broker()  # another connection: pause holds in every process
        await control.connect()
        await control.pause(paused)
        worker = h.worker(concurrency=2)
        worker.register(paused, noop)
        worker.register(busy, noop)
        async with worker:
            await worker.perform(Job(paused, {"token": "held"}))
            for i in range(3):
                await worker.perform(Job(busy, {"token": i}))
            await h.recorder.wait(
                lambda: len(h.recorder.finished(busy)) >= 3, h.wait, "the unpaused handler's jobs"
            )
            assert not h.recorder.of(paused), "a paused handler's job ran"
            await control.unpause(paused)
            await h.recorder.wait(
                lambda: bool(h.recorder.finished(paused)), h.wait, "the job after unpause"
            )

    @contract(Capability.MAX_CONCURRENCY)
    async def test_max_concurrency_holds_across_workers(self, h: Harness) -> None:
        name = h.name("capped")
        running, peak = 0, 0

        async def capped(args: dict[str, Any]) -> None:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            try:
                await asyncio.sleep(0.05)  # the job's own duration, so jobs overlap
            finally:
                running -= 1

        workers = [h.worker(label, concurrency=4) for label in ("a", "b")]
        for worker in workers:
            worker.register(name, capped, max_concurrency=2)
            await worker.start()
        await workers[0].perform_many([Job(name, {"token": i}) for i in range(12)])
        await h.recorder.wait(lambda: len(h.recorder.finished(name)) >= 12, h.wait, "12 jobs")
        assert peak <= 2, f"{peak} jobs ran at once with max_concurrency=2"

    @contract(Capability.PRIORITY)
    async def test_higher_priority_handler_is_served_first(self, h: Harness) -> None:
        high, low = h.name("high"), h.name("low")
        worker = h.worker(concurrency=1)
        worker.register(high, noop, priority=1000)
        worker.register(low, noop, priority=1)
        await worker.perform_many([Job(low, {"token": i}) for i in range(30)])
        await worker.perform_many([Job(high, {"token": i}) for i in range(30)])
        async with worker:
            await h.recorder.wait(lambda: len(h.recorder.runs) >= 20, h.wait, "20 jobs")
        first = [r.handler for r in h.recorder.runs[:20]]
        assert first.count(high) >= 15, f"only {first.count(high)} of the first 20 were high"

    @contract(Capability.PERIODIC)
    async def test_periodic_job_is_enqueued_on_schedule(self, h: Harness) -> None:
        name = h.name("tick")
        worker = h.worker()
        worker.register(name, noop)
        worker.every("* * * * * *", name)  # every second
        async with worker:
            await h.recorder.wait(
                lambda: len(h.recorder.finished(name)) >= 2, 10, "two periodic runs"
            )
