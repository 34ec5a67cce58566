"""Optional controls: unique jobs, pause/unpause, max concurrency, priorities, periodic."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from jobplug import Capability, Job
from jobplug_contract.base import contract
from jobplug_contract.harness import Harness
from jobplug_contract.recorder import poll
from jobplug_contract.suite.lifecycle import noop
from jobplug_contract.suite.perform import EARLY_SLACK


def peak_overlap(events: list[dict[str, Any]]) -> int:
    """The most jobs running at once, from start/end events (an end sorts first on a tie:
    a slot freed and taken at the same instant is no overlap)."""
    running = peak = 0
    for event in sorted(events, key=lambda e: (e["t"], e["event"] == "start")):
        running += 1 if event["event"] == "start" else -1
        peak = max(peak, running)
    return peak


class ControlContract:
    @contract(Capability.UNIQUE)
    async def test_unique_jobs_are_enqueued_once_while_pending(self, h: Harness) -> None:
        name = h.name("unique")
        worker = h.worker()
        worker.register(name, noop)

        async def expect(job: Job, written: bool, what: str, key: Any = None) -> None:
            got = await worker.perform_unique(job, key=key)
            assert got is written, f"perform_unique returned {got} for {what}"

        await expect(Job(name, {"token": "a"}), True, "a first unique job")
        await expect(Job(name, {"token": "a"}), False, "an equal job still pending")
        await expect(Job(name, {"token": "b"}), True, "a job with other args")
        keyed = {"order": 7}
        await expect(Job(name, {"token": "k1"}), True, "a first job with a key", keyed)
        await expect(Job(name, {"token": "k2"}), False, "a job with a pending job's key", keyed)
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
        assert tokens in (["a", "a", "b", "k1"], ["a", "a", "b", "k2"]), (
            f"the unique jobs that ran: {tokens}; expected a, a, b and one of k1/k2"
        )

    @contract(Capability.UNIQUE, needs=(Capability.DELAYED,))
    async def test_unique_job_runs_at_its_time(self, h: Harness) -> None:
        name = h.name("unique_at")
        worker = h.worker()
        worker.register(name, noop)
        at = datetime.now(timezone.utc) + timedelta(seconds=1.3)
        job = Job(name, {"token": "later"})
        assert await worker.perform_unique(job, at=at) is True, "the unique job was refused"
        again = await worker.perform_unique(Job(name, {"token": "later"}), at=at)
        assert again is False, "an equal unique job was written while the first one waits"
        bound = h.late_bound
        async with worker:
            await h.recorder.wait(
                lambda: bool(h.recorder.of(name)), 1.3 + bound + h.wait, "the delayed unique job"
            )
        started = h.recorder.of(name)[0].started
        early = at.timestamp() - started
        assert early <= EARLY_SLACK, (
            f"the unique job ran {early:.3f}s before its time: enqueue_unique ignored `at`"
        )
        assert -early <= bound, f"the unique job ran {-early:.3f}s late (bound {bound}s)"

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

    @contract(Capability.PAUSE, timeout=90)
    async def test_pause_holds_in_another_process(self, h: Harness) -> None:
        if h.in_process:
            pytest.skip(f"{h.adapter_name} keeps its jobs in one process: no other process")
        paused, busy = h.name("paused"), h.name("busy")
        child = h.spawn([paused, busy])
        await child.ready()
        control = h.broker()
        await control.connect()
        await control.pause(paused)
        producer = h.worker("producer")
        await producer.perform(Job(paused, {"token": "held"}))
        await producer.perform_many([Job(busy, {"token": i}) for i in range(3)])
        await child.wait_for(
            lambda: len(child.events("end")) >= 3, h.wait, "the other process to run 3 jobs"
        )
        ran = [e for e in child.events("start") if e["handler"] == paused]
        assert not ran, (
            "a job of a paused handler ran in another process: pause must hold in every "
            "process, not only in the one that paused"
        )
        await control.unpause(paused)
        await child.wait_for(
            lambda: any(e["handler"] == paused for e in child.events("end")),
            h.wait,
            "the other process to run the job after unpause",
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

    @contract(Capability.MAX_CONCURRENCY, timeout=90)
    async def test_max_concurrency_holds_across_processes(self, h: Harness) -> None:
        if h.in_process:
            pytest.skip(f"{h.adapter_name} keeps its jobs in one process: no other process")
        name = h.name("capped")
        children = [h.spawn([name], concurrency=4, max_concurrency=2) for _ in range(2)]
        for child in children:
            await child.ready()
        producer = h.worker("producer")
        await producer.perform_many([Job(name, {"token": i, "sleep": 0.1}) for i in range(12)])

        def ends() -> int:
            return sum(len(c.events("end")) for c in children)

        for child in children:  # fail fast if either process died
            await child.wait_for(lambda: ends() >= 12, h.wait * 2, "12 jobs over two processes")
        runs = [e for c in children for e in c.events() if e["event"] in ("start", "end")]
        peak = peak_overlap(runs)
        assert peak <= 2, (
            f"{peak} jobs ran at once over two processes with max_concurrency=2: the limit "
            "must hold across processes, not per process"
        )

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
        assert first.count(high) >= 15, (
            f"only {first.count(high)} of the first 20 jobs were of the priority-1000 handler "
            "(against 30 of priority 1): priority must weight fetches"
        )

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
