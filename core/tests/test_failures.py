"""Failing jobs: retries with backoff, dead jobs, ``Retry``/``Discard``, ``skip_dead``."""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timedelta, timezone
from typing import Any

from jobplug import Discard, Job, Retry, Worker, hookimpl
from jobplug.handlers import default_backoff

from .conftest import memory

FAST = {"backoff": lambda job: 0.01}


async def test_a_failing_handler_is_retried_then_dead_with_its_error(worker: Worker) -> None:
    calls = 0

    def boom(args: dict[str, Any]) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError(f"boom {calls}")

    worker.register("boom", boom, max_fails=3, **FAST)
    await worker.perform(Job("boom"))
    async with worker:
        await memory(worker).join(include_scheduled=True)
    assert calls == 3
    [dead] = memory(worker).dead
    assert dead.job.fails == 3
    assert dead.job.last_error == "RuntimeError: boom 3"
    assert dead.job.failed_at is not None


async def test_default_policy_is_four_fails_and_gocraft_backoff(worker: Worker) -> None:
    seen: list[datetime] = []

    class Spy:
        @hookimpl
        def jobplug_job_failed(
            self, job: Job, error: BaseException, duration: float, retry_at: datetime
        ) -> None:
            seen.append(retry_at)

    worker.plugin_manager.register(Spy())
    worker.register("boom", lambda args: 1 / 0)
    assert worker.handlers["boom"].spec.max_fails == 4
    await worker.perform(Job("boom"))
    async with worker:
        await memory(worker).join()
    # first failure: 1**4 + 15 + rand(0..29) * 2 -> between 16 and 74 seconds from now
    [retry_at] = seen
    delay = (retry_at - datetime.now(timezone.utc)).total_seconds()
    assert 14 < delay <= 74
    random.seed(1)
    values = {default_backoff(Job("x", fails=3)) for _ in range(500)}
    assert min(values) == 3**4 + 15 and max(values) == 3**4 + 15 + 29 * 4
    assert all((v - 96) % 4 == 0 for v in values)


async def test_a_failing_backoff_function_still_retries_the_job(worker: Worker) -> None:
    def broken_backoff(job: Job) -> float:
        raise ValueError("bad backoff")

    worker.register("boom", lambda args: 1 / 0, backoff=broken_backoff)
    await worker.perform(Job("boom"))
    async with worker:
        await memory(worker).join()
    broker = memory(worker)
    assert broker.pending() == 0  # not stuck running
    [retry] = broker.timed
    assert retry.kind == "retry" and retry.job.fails == 1
    assert 14 < retry.at - retry.job.failed_at.timestamp() <= 74  # the default backoff


async def test_retry_times_beyond_datetime_or_without_a_zone_do_not_strand_the_job(
    worker: Worker,
) -> None:
    async def too_far(args: dict[str, Any]) -> None:
        raise Retry(in_=1e30)

    async def naive(args: dict[str, Any]) -> None:
        raise Retry(at=datetime(2000, 1, 1))  # no time zone: the moment is unknown

    worker.register("too_far", too_far)
    worker.register("naive", naive)
    await worker.perform_many([Job("too_far"), Job("naive")])
    async with worker:
        await memory(worker).join()
    broker = memory(worker)
    assert broker.pending() == 0
    wait = {t.job.handler: t.at - t.job.failed_at.timestamp() for t in broker.timed}
    assert wait["too_far"] > 50 * 365 * 86400  # as late as a datetime allows
    assert 14 < wait["naive"] <= 74  # the backoff, as for a plain failure


async def test_retry_and_discard_steer_the_job(worker: Worker) -> None:
    attempts: list[int] = []

    async def flaky(args: dict[str, Any]) -> None:
        attempts.append(len(attempts))
        if len(attempts) < 3:
            raise Retry("not yet", in_=timedelta(milliseconds=10))

    async def drop(args: dict[str, Any]) -> None:
        raise Discard()

    worker.register("flaky", flaky)
    worker.register("drop", drop)
    await worker.perform_many([Job("flaky"), Job("drop")])
    async with worker:
        await memory(worker).join(include_scheduled=True)
    assert attempts == [0, 1, 2]
    assert memory(worker).dead == []


async def test_retry_counts_toward_max_fails(worker: Worker) -> None:
    async def again(args: dict[str, Any]) -> None:
        raise Retry(in_=0)

    worker.register("again", again, max_fails=2)
    await worker.perform(Job("again"))
    async with worker:
        await memory(worker).join(include_scheduled=True)
    [dead] = memory(worker).dead
    assert dead.job.fails == 2 and "retry requested" in (dead.job.last_error or "")


async def test_skip_dead_drops_instead_of_keeping(worker: Worker) -> None:
    worker.register("boom", lambda a: 1 / 0, max_fails=1, skip_dead=True)
    await worker.perform(Job("boom"))
    async with worker:
        await memory(worker).join()
    assert memory(worker).dead == [] and memory(worker).pending(True) == 0


async def test_a_handler_raising_cancelled_error_fails_instead_of_vanishing(
    worker: Worker,
) -> None:
    async def cancels(args: dict[str, Any]) -> None:
        raise asyncio.CancelledError()  # e.g. a library's own timeout leaking out

    worker.register("cancels", cancels, max_fails=2, **FAST)
    await worker.perform(Job("cancels"))
    async with worker:
        await memory(worker).join(include_scheduled=True)
    [dead] = memory(worker).dead
    assert dead.job.fails == 2 and dead.job.last_error == "CancelledError"
