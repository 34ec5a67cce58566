"""The ``inspect`` capability: queues, scheduled/retry/dead pages, and their actions."""

from __future__ import annotations

from typing import Any

import pytest

from jobplug import Capability, CapabilityNotSupported, Inspector, Job, JobNotFoundError
from jobplug.adapter import JobRecord, Page
from jobplug_contract.base import contract
from jobplug_contract.harness import Harness
from jobplug_contract.recorder import poll
from jobplug_contract.suite.failures import Boom, no_backoff
from jobplug_contract.suite.lifecycle import noop

MAX_PAGES = 50


async def listable(listing: Any, what: str) -> None:
    """Skip, with the reason, when the inspector cannot list ``what`` at all (allowed:
    a RabbitMQ queue cannot be paged without consuming it, for instance)."""
    try:
        await listing(1)
    except CapabilityNotSupported as exc:
        pytest.skip(f"the inspector does not list {what}: {exc}")


async def find(listing: Any, job_id: str) -> JobRecord | None:
    """Look for ``job_id`` in a paged listing (``inspector.dead`` etc.)."""
    for number in range(1, MAX_PAGES + 1):
        page: Page = await listing(number)
        record: JobRecord
        for record in page.items:
            if record.job.id == job_id:
                return record
        if number * page.page_size >= page.total or not page.items:
            return None
    return None


async def appears(h: Harness, listing: Any, job_id: str, what: str) -> JobRecord:
    found: list[JobRecord] = []

    async def probe() -> bool:
        record = await find(listing, job_id)
        if record is not None:
            found.append(record)
        return record is not None

    await poll(probe, h.wait, what)
    return found[0]


async def fails(args: dict[str, Any]) -> None:
    if not args.get("heal"):
        raise Boom(f"cannot do {args.get('token')}")


class InspectContract:
    @contract(Capability.INSPECT)
    async def test_queues_count_waiting_jobs(self, h: Harness) -> None:
        name = h.name("waiting")
        producer = h.worker("producer")
        await producer.perform_many([Job(name, {"token": i}) for i in range(3)])
        if h.declares(Capability.DELAYED):  # waiting for its time, not in the queue yet
            await producer.perform_in(Job(name, {"token": "later"}), 3600)
        # The producer's own inspector: a backend may only know the queues its process
        # touched (AMQP cannot list queues; it is told them with ?handlers=).
        inspector = producer.broker.inspector()

        seen: list[int] = []

        async def counted() -> bool:
            info = next((q for q in await inspector.queues() if q.handler == name), None)
            if info is None:
                return False
            seen.append(info.count)
            # latency None: the backend cannot tell
            return info.count == 3 and (info.latency is None or info.latency >= 0)

        try:
            await poll(counted, h.wait, f"queues() to show 3 jobs for {name}")
        except AssertionError:
            if seen and seen[-1] == 4:
                raise AssertionError(
                    "queues() counts a job that is not due yet (performed in 1 h) as queued: "
                    f"it shows 4 jobs for {name}, 3 are ready"
                ) from None
            raise AssertionError(
                f"queues() shows {seen[-1:] or 'no'} jobs for {name}, not 3"
            ) from None
        for listing in (inspector.pools, inspector.busy):
            try:
                listed = await listing()
            except CapabilityNotSupported:
                continue  # allowed for what a backend cannot list
            assert isinstance(listed, list), f"{listing.__name__}() returned {listed!r}"

    @contract(Capability.INSPECT, needs=(Capability.DELAYED,))
    async def test_scheduled_page_and_delete(self, h: Harness) -> None:
        name = h.name("later")
        producer = h.worker("producer")
        job, other = Job(name, {"token": "later"}), Job(name, {"token": "other"})
        await producer.perform_in(job, 3600)
        await producer.perform_in(other, 3600)
        inspector = h.inspector()
        await listable(inspector.scheduled, "scheduled jobs")
        record = await appears(h, inspector.scheduled, job.id, "the job in scheduled()")
        assert record.job.args == {"token": "later"}, f"scheduled() shows args {record.job.args}"
        await appears(h, inspector.scheduled, other.id, "the other job in scheduled()")
        await inspector.delete_scheduled(job.id, record.at)
        gone = await find(inspector.scheduled, job.id)
        assert gone is None, "delete_scheduled(id) left the job in scheduled()"
        kept = await find(inspector.scheduled, other.id)
        assert kept is not None, "delete_scheduled(id) deleted another scheduled job too"
        with pytest.raises(JobNotFoundError):
            await inspector.delete_scheduled(job.id, record.at)

    @contract(Capability.INSPECT, needs=(Capability.DELAYED,))
    async def test_retry_page_and_delete(self, h: Harness) -> None:
        name = h.name("retrying")
        worker = h.worker()
        worker.register(name, fails, backoff=lambda job: 3600.0)
        job = Job(name, {"token": "r"})
        await worker.perform(job)
        inspector = h.inspector()
        await listable(inspector.retries, "retrying jobs")
        async with worker:
            await h.recorder.wait(lambda: bool(h.recorder.finished(name)), h.wait, "the failure")
            record = await appears(h, inspector.retries, job.id, "the job in retries()")
        assert record.job.fails == 1, f"retries() shows fails={record.job.fails}, not 1"
        error = record.job.last_error or ""
        assert "cannot do r" in error, f"retries() lost the job's error: {error!r}"
        await inspector.delete_retry(job.id, record.at)
        gone = await find(inspector.retries, job.id)
        assert gone is None, "delete_retry(id) left the job in retries()"

    @contract(Capability.DEAD_LETTER, needs=(Capability.INSPECT,))
    async def test_dead_page_retry_and_delete(self, h: Harness) -> None:
        name = h.name("dead")
        worker = h.worker()
        worker.register(name, fails, max_fails=1)
        doomed, revived = Job(name, {"token": "doomed"}), Job(name, {"token": "revived"})
        bystander = Job(name, {"token": "bystander"})
        await worker.perform_many([doomed, revived, bystander])
        inspector: Inspector = h.inspector()
        async with worker:
            await h.recorder.wait(lambda: len(h.recorder.dead) >= 3, h.wait, "three dead jobs")
            record = await appears(h, inspector.dead, doomed.id, "the dead job in dead()")
            error = record.job.last_error or ""
            assert "cannot do doomed" in error, f"dead() lost the job's error: {error!r}"
            again = await appears(h, inspector.dead, revived.id, "the other dead job")
            again.job.args["heal"] = True  # local copy only: retry_dead uses the stored job
            await inspector.retry_dead(revived.id, again.at)
            await h.recorder.wait(
                lambda: h.recorder.tokens(name).count("revived") >= 2,
                h.wait,
                "the retried dead job to run",
            )
            await inspector.delete_dead(doomed.id, record.at)
            gone = await find(inspector.dead, doomed.id)
            assert gone is None, "delete_dead(id) left the job in dead()"
            kept = await find(inspector.dead, bystander.id)
            assert kept is not None, "delete_dead(id) deleted other dead jobs too"
            with pytest.raises(JobNotFoundError):
                await inspector.delete_dead(doomed.id, record.at)
            with pytest.raises(JobNotFoundError):
                await inspector.retry_dead("0" * 24)

    @contract(Capability.DEAD_LETTER, needs=(Capability.INSPECT,))
    async def test_bulk_dead_actions(self, h: Harness) -> None:
        if not h.setup.isolated:
            pytest.skip("the backend is shared (no contract setup registered): no bulk actions")
        name = h.name("bulk")
        worker = h.worker()
        worker.register(name, fails, max_fails=1)
        await worker.perform_many([Job(name, {"token": i}) for i in range(3)])
        inspector = h.inspector()
        async with worker:
            await h.recorder.wait(lambda: len(h.recorder.dead) >= 3, h.wait, "three dead jobs")

            async def all_dead() -> bool:
                return (await inspector.dead()).total == 3

            await poll(all_dead, h.wait, "dead() to list three jobs")
            retried = await inspector.retry_all_dead()
            assert retried == 3, f"retry_all_dead() returned {retried}, not 3"
            await h.recorder.wait(lambda: len(h.recorder.dead) >= 6, h.wait, "them to die again")
            await poll(all_dead, h.wait, "dead() to list them again")
            deleted = await inspector.delete_all_dead()
            assert deleted == 3, f"delete_all_dead() returned {deleted}, not 3"
            left = (await inspector.dead()).total
            assert left == 0, f"dead() still lists {left} jobs after delete_all_dead()"

    @contract(Capability.DEAD_LETTER, needs=(Capability.INSPECT,))
    async def test_dead_pages_are_distinct(self, h: Harness) -> None:
        if not h.setup.isolated:
            pytest.skip("the backend is shared (no contract setup registered): pages mix tests")
        name = h.name("pages")
        worker = h.worker(concurrency=8)
        worker.register(name, fails, max_fails=1)
        inspector = h.inspector()
        size = (await inspector.dead()).page_size
        count = size + 3
        await worker.perform_many([Job(name, {"token": i}) for i in range(count)])
        async with worker:
            await h.recorder.wait(
                lambda: len(h.recorder.dead) >= count, h.wait, f"{count} dead jobs"
            )

            async def listed() -> bool:
                return (await inspector.dead()).total == count

            await poll(listed, h.wait, f"dead() to list {count} jobs")
        first, second = await inspector.dead(1), await inspector.dead(2)
        one = {r.job.id for r in first.items}
        two = {r.job.id for r in second.items}
        assert len(one) == size, f"dead(1) holds {len(one)} jobs, not a full page of {size}"
        assert not one & two, (
            f"dead(page=2) repeats {len(one & two)} jobs of page 1: the page number is ignored"
        )
        assert len(two) == 3, f"dead(page=2) holds {len(two)} jobs, not the last 3 of {count}"

    @contract(Capability.INSPECT, needs=(Capability.PAUSE,))
    async def test_inspector_pause_shows_in_queues(self, h: Harness) -> None:
        name = h.name("held")
        producer = h.worker("producer")
        await producer.perform(Job(name))
        inspector = h.inspector()
        await inspector.pause(name)

        async def shows(paused: bool) -> bool:
            infos = {q.handler: q for q in await inspector.queues()}
            return name in infos and infos[name].paused is paused

        await poll(lambda: shows(True), h.wait, "queues() to show the handler paused")
        await inspector.unpause(name)
        await poll(lambda: shows(False), h.wait, "queues() to show the handler unpaused")


__all__ = ["InspectContract", "no_backoff", "noop"]
