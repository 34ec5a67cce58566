"""Perform: exact args round trip, validation before writing, delays not early nor late."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from jobplug import Capability, InvalidArgsError, InvalidScheduleError, Job
from jobplug_contract.base import contract
from jobplug_contract.harness import Harness
from jobplug_contract.suite.lifecycle import noop

#: Clock slack allowed below a job's run time (float rounding, not scheduling).
EARLY_SLACK = 0.01


def edge_args() -> dict[str, dict[str, Any]]:
    """Args that catch lossy encodings: unicode, nesting, size, numbers at JSON's edges."""
    deep: Any = "bottom"
    for level in range(30):
        deep = {f"l{level}": [deep]}
    return {
        "unicode": {
            "text": 'héllo wörld — 日本語 🎉 \u2028\u2029 tab\t nl\n quote" back\\ nul\u0000',
            "keys": {"": 1, "with space": 2, "ünï": 3, "1": 4, "🔑": 5},
        },
        "nested": {"deep": deep, "mixed": [1, "a", None, True, False, [], {}, [[{}]]]},
        "large": {"blob": "0123456789abcdé🎉" * 32768},  # ~ 640 KB of UTF-8
        "numbers": {
            "int53": 2**53,
            "int53_plus_1": 2**53 + 1,  # not representable as a double
            "neg53": -(2**53),
            "int64": 2**63 - 1,
            "neg64": -(2**63),
            "zero": 0,
            "float": 0.1,
            "one_float": 1.0,
            "neg_zero": -0.0,
            "tiny": 5e-324,
            "huge": 1.7976931348623157e308,
            "exp": 6.02214076e23,
        },
        "empty": {},
    }


def difference(expected: Any, got: Any, path: str = "args") -> str | None:
    """Where ``got`` differs from ``expected`` as a JSON value, or None.

    Numbers compare by exact value, as JSON numbers do (``1`` and ``1.0`` are one number;
    an integer that went through a float and lost digits is caught); booleans are not
    numbers; strings, keys and nesting must match exactly.
    """
    if isinstance(expected, bool) or isinstance(got, bool):
        same = type(expected) is type(got) and expected == got
        return None if same else f"{path}: {got!r} != {expected!r}"
    if isinstance(expected, (int, float)) and isinstance(got, (int, float)):
        return None if expected == got else f"{path}: {got!r} != {expected!r}"
    if isinstance(expected, dict) and isinstance(got, dict):
        if set(expected) != set(got):
            return f"{path}: keys {sorted(got)[:5]} != {sorted(expected)[:5]}"
        for key in expected:
            found = difference(expected[key], got[key], f"{path}[{key!r}]")
            if found:
                return found
        return None
    if isinstance(expected, list) and isinstance(got, list):
        if len(expected) != len(got):
            return f"{path}: {len(got)} items != {len(expected)}"
        for index, (a, b) in enumerate(zip(expected, got, strict=True)):
            found = difference(a, b, f"{path}[{index}]")
            if found:
                return found
        return None
    if type(expected) is not type(got) or expected != got:
        return f"{path}: {str(got)[:60]!r} != {str(expected)[:60]!r}"
    return None


class PerformContract:
    @contract()
    async def test_args_round_trip_exactly(self, h: Harness) -> None:
        name = h.name("args")
        cases = edge_args()
        worker = h.worker()
        worker.register(name, noop)
        jobs = {label: Job(name, args) for label, args in cases.items()}
        await worker.perform_many([jobs["unicode"], jobs["nested"]])
        for label in ("large", "numbers", "empty"):
            await worker.perform(jobs[label])
        meta = {"trace": {"id": "0af7651916cd43dd8448eb211c80319c", "n": 2**53 + 1}, "v": "ü"}
        labelled = Job(name, {"token": "labelled"}, queue="critical", meta=meta)
        await worker.perform(labelled)
        async with worker:
            await h.recorder.wait(
                lambda: len(h.recorder.finished(name)) >= len(jobs) + 1,
                h.wait * 2,
                "every args case",
            )
        by_id = {r.job_id: r for r in h.recorder.of(name)}
        for label, job in jobs.items():
            assert job.id in by_id, f"job {label!r} ran under another id"
            got = by_id[job.id]
            changed = difference(cases[label], got.args)
            assert changed is None, f"args {label!r} changed: {changed}"
        got = by_id[labelled.id]
        assert got.queue == "critical", (
            f"Job.queue was lost on the way: {got.queue!r} arrived, 'critical' was sent"
        )
        for key, value in meta.items():
            lost = difference(value, got.meta.get(key), f"meta[{key!r}]")
            assert key in got.meta and lost is None, (
                f"Job.meta was lost on the way: {lost or f'meta[{key!r}] missing'} "
                "(extra fields must travel with the job)"
            )

    @contract()
    async def test_invalid_args_are_rejected_before_anything_is_written(self, h: Harness) -> None:
        name = h.name("invalid")
        worker = h.worker(concurrency=1)
        worker.register(name, noop)
        with pytest.raises(InvalidArgsError):
            await worker.perform(Job(name, {"when": datetime.now(timezone.utc)}))
        with pytest.raises(InvalidArgsError):
            await worker.perform_many([Job(name, {"token": "good"}), Job(name, {"x": {1, 2}})])
        with pytest.raises(InvalidArgsError):
            await worker.perform(Job(name, {"nan": float("nan")}))
        await worker.perform(Job(name, {"token": "sentinel"}))
        async with worker:
            await h.recorder.wait(
                lambda: "sentinel" in h.recorder.tokens(name), h.wait, "the sentinel job"
            )
        assert h.recorder.tokens(name) == ["sentinel"], "a rejected batch was partly written"

    @contract()
    async def test_naive_datetime_and_non_positive_delays(self, h: Harness) -> None:
        name = h.name("now")
        worker = h.worker()
        worker.register(name, noop)
        with pytest.raises(InvalidScheduleError):
            await worker.perform_at(Job(name), datetime.now())
        await worker.perform_in(Job(name, {"token": "zero"}), 0)
        await worker.perform_in(Job(name, {"token": "negative"}), timedelta(seconds=-5))
        yesterday = datetime.now(timezone.utc) - timedelta(days=1)
        await worker.perform_at(Job(name, {"token": "past"}), yesterday)
        async with worker:
            await h.recorder.wait(
                lambda: len(h.recorder.finished(name)) >= 3,
                h.wait,
                "jobs delayed by <= 0 to run now",
            )

    @contract(Capability.DELAYED)
    async def test_perform_in_and_at_run_not_early_and_not_late(self, h: Harness) -> None:
        name = h.name("delayed")
        worker = h.worker()
        worker.register(name, noop)
        bound = h.late_bound
        window: dict[str, tuple[float, float]] = {}  # token -> (due no earlier, no later)
        async with worker:
            before = time.time()
            await worker.perform_in(Job(name, {"token": "in"}), 1.0)
            window["in"] = (before + 1.0, time.time() + 1.0)
            at = datetime.now(timezone.utc) + timedelta(seconds=1.37)  # not a whole second
            await worker.perform_at(Job(name, {"token": "at"}), at)
            window["at"] = (at.timestamp(), at.timestamp())
            before = time.time()
            await worker.perform_in(Job(name, {"token": "td"}), timedelta(milliseconds=1500))
            window["td"] = (before + 1.5, time.time() + 1.5)
            await h.recorder.wait(
                lambda: len(h.recorder.of(name)) >= 3, 1.5 + bound + 5, "the delayed jobs"
            )
        for run in h.recorder.of(name):
            token = str(run.args["token"])
            earliest, latest = window[token]
            assert run.started >= earliest - EARLY_SLACK, (
                f"job {token!r} ran {earliest - run.started:.3f}s early"
            )
            assert run.started <= latest + bound, (
                f"job {token!r} ran {run.started - latest:.3f}s late (bound {bound}s)"
            )
