"""Failures: retries with fail counts, backoff honoured, dead after max_fails, and the
``Retry``/``Discard`` signals. ``backoff=`` keeps the retries fast."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from jobplug import Capability, Discard, Job, Retry
from jobplug_contract.base import contract
from jobplug_contract.harness import Harness
from jobplug_contract.suite.lifecycle import noop

EARLY_SLACK = 0.01


def no_backoff(job: Job) -> float:
    return 0.0


class Boom(Exception):
    """The error the suite's failing handlers raise (its text must reach the dead job)."""


class FailuresContract:
    @contract()
    async def test_failed_job_is_retried_with_its_fail_count(self, h: Harness) -> None:
        name = h.name("flaky")
        calls = 0

        async def flaky(args: dict[str, Any]) -> None:
            nonlocal calls
            calls += 1
            if calls <= 2:
                raise Boom(f"failure number {calls}")

        worker = h.worker()
        worker.register(name, flaky, max_fails=5, backoff=no_backoff)
        job = Job(name, {"token": "flaky", "n": [1, 2]})
        await worker.perform(job)
        async with worker:
            await h.recorder.wait(
                lambda: "ok" in [r.outcome for r in h.recorder.finished(name)],
                h.wait,
                "two failures then a success",
            )
        runs = h.recorder.of(name)
        outcomes = [r.outcome for r in runs]
        assert outcomes == ["error", "error", "ok"], f"the runs ended: {outcomes}"
        fails = [r.fails for r in runs]
        assert fails == [0, 1, 2], f"fails over the runs: {fails}; each failure must count"
        assert {r.job_id for r in runs} == {job.id}, "a retry must keep the job's id"
        assert all(r.args == {"token": "flaky", "n": [1, 2]} for r in runs), "args changed"
        assert not h.recorder.dead, "a job that succeeded on its third run went dead"

    @contract()
    async def test_job_is_dead_after_max_fails(self, h: Harness) -> None:
        name = h.name("doomed")

        async def doomed(args: dict[str, Any]) -> None:
            raise Boom("always fails")

        worker = h.worker()
        worker.register(name, doomed, max_fails=3, backoff=no_backoff)
        job = Job(name, {"token": "doomed"})
        await worker.perform(job)
        async with worker:
            await h.recorder.wait(lambda: bool(h.recorder.dead), h.wait, "the job to go dead")
        assert len(h.recorder.of(name)) == 3, "max_fails=3 means exactly three runs"
        dead = h.recorder.dead[0]
        assert dead.job_id == job.id, "another job went dead"
        assert dead.fails == 3, f"the dead job has fails={dead.fails}, not 3"
        reason = dead.reason or ""
        assert "always fails" in reason, f"the dead job lost its error: {reason!r}"

    @contract()
    async def test_retry_signal_counts_a_failure_and_runs_again(self, h: Harness) -> None:
        name = h.name("retry")

        async def retrying(args: dict[str, Any]) -> None:
            if not h.recorder.of(name)[:-1]:  # first run
                raise Retry("not yet", in_=0)

        worker = h.worker()
        worker.register(name, retrying, max_fails=3)  # default backoff: Retry(in_=0) wins
        await worker.perform(Job(name, {"token": "r"}))
        async with worker:
            await h.recorder.wait(
                lambda: "ok" in [r.outcome for r in h.recorder.finished(name)],
                h.wait,
                "a Retry then a success",
            )
        outcomes = [r.outcome for r in h.recorder.of(name)]
        assert outcomes == ["error", "ok"], f"the runs ended: {outcomes}"
        fails = [r.fails for r in h.recorder.of(name)]
        assert fails == [0, 1], f"fails over the runs: {fails}; Retry counts one failure"

    @contract()
    async def test_discard_drops_the_job(self, h: Harness) -> None:
        name = h.name("discard")

        async def discarding(args: dict[str, Any]) -> None:
            if args.get("token") == "discard":
                raise Discard()

        worker = h.worker(concurrency=1)
        worker.register(name, discarding, backoff=no_backoff)
        await worker.perform(Job(name, {"token": "discard"}))
        await worker.perform(Job(name, {"token": "after"}))
        async with worker:
            await h.recorder.wait(lambda: "after" in h.recorder.tokens(name), h.wait, "a later job")
        assert h.recorder.tokens(name).count("discard") == 1, "a discarded job ran again"
        assert not h.recorder.dead, "a discarded job must not go dead"

    @contract(Capability.DELAYED)
    async def test_retry_waits_for_the_backoff(self, h: Harness) -> None:
        name = h.name("backoff")

        async def once(args: dict[str, Any]) -> None:
            if len(h.recorder.of(name)) == 1:
                raise Boom("first try fails")

        worker = h.worker()
        worker.register(name, once, backoff=lambda job: timedelta(seconds=0.8))
        job = Job(name, {"token": "b"})
        await worker.perform(job)
        async with worker:
            await h.recorder.wait(
                lambda: len(h.recorder.finished(name)) >= 2, h.wait, "the retry after the backoff"
            )
        failed_at = h.recorder.failed_at[(job.id, 1)].timestamp()
        second = h.recorder.of(name)[1].started
        assert second >= failed_at + 0.8 - EARLY_SLACK, (
            f"retried {failed_at + 0.8 - second:.3f}s before its backoff was over"
        )
        bound = h.late_bound
        late = second - (failed_at + 0.8)
        assert late <= bound, f"retried {late:.3f}s after its backoff (bound {bound}s)"

    @contract(Capability.DELAYED)
    async def test_retry_signal_delay_is_honoured(self, h: Harness) -> None:
        name = h.name("retry_in")

        async def later(args: dict[str, Any]) -> None:
            if len(h.recorder.of(name)) == 1:
                raise Retry("later", in_=timedelta(seconds=0.7))

        worker = h.worker()
        worker.register(name, later, backoff=no_backoff)
        job = Job(name)
        await worker.perform(job)
        async with worker:
            await h.recorder.wait(lambda: len(h.recorder.finished(name)) >= 2, h.wait, "the retry")
        failed_at = h.recorder.failed_at[(job.id, 1)].timestamp()
        early = failed_at + 0.7 - h.recorder.of(name)[1].started
        assert early <= EARLY_SLACK, f"retried {early:.3f}s before Retry(in_=0.7s) was over"


__all__ = ["Boom", "FailuresContract", "no_backoff", "noop"]
