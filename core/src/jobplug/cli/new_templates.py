"""Templates of ``jobplug new worker`` (``str.format`` fields: name, args_class, module)."""

HANDLER_TEMPLATE = '''\
"""The ``{name}`` job.

Register the handler on your worker, then enqueue jobs from anywhere::

    from {module} import {args_class}, job, register

    register(worker)
    await worker.perform(job({args_class}(user_id=42)))
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import jobplug

log = logging.getLogger(__name__)

#: The handler name producers put in ``jobplug.Job(...)``, in any language.
HANDLER = "{name}"


@dataclasses.dataclass
class {args_class}:
    """The job's args, checked and converted before the handler runs.

    Args travel as JSON: keep to str, int, float, bool, None, and lists and
    dicts of them. Args that do not fit kill the job at once, with the reason
    (no retry could fix them).
    """

    user_id: int
    note: str = ""


async def {name}(args: {args_class}) -> None:
    """Run one ``{name}`` job.

    Raise to have it retried later (up to ``max_fails`` times, then it is dead
    and kept for inspection); raise ``jobplug.Retry(in_=seconds)`` to choose
    when, or ``jobplug.Discard`` to drop it. A plain ``def`` works too (it runs
    in a thread).
    """
    log.info("{name} user_id=%s", args.user_id)


def register(worker: jobplug.Worker, **options: Any) -> None:
    """Register the handler on ``worker``.

    Options: max_fails, backoff, priority, max_concurrency, skip_dead.
    """
    worker.register(HANDLER, {name}, **options)


def job(args: {args_class}) -> jobplug.Job:
    """A job to pass to ``worker.perform`` (or ``perform_in`` / ``perform_at``)."""
    return jobplug.Job(HANDLER, dataclasses.asdict(args))
'''

TEST_TEMPLATE = '''\
"""Tests of the ``{name}`` job, run through an inline in-memory worker.

``memory://?mode=inline`` runs each job to completion before ``perform``
returns, retries included: the tests need no running worker, no service and
no waiting.
"""

from __future__ import annotations

from collections.abc import Iterator

import jobplug
import pytest
from jobplug.testing import JobTester

from {module} import HANDLER, {args_class}, job, register


@pytest.fixture
def jobs() -> Iterator[JobTester]:
    worker = jobplug.Worker(url="memory://?mode=inline")
    register(worker)
    with JobTester(worker) as tester:
        yield tester
    worker.sync.close()


def test_{name}_runs(jobs: JobTester) -> None:
    jobs.worker.sync.perform(job({args_class}(user_id=42)))
    jobs.assert_performed(HANDLER, args={{"user_id": 42, "note": ""}})


def test_{name}_rejects_args_that_do_not_fit(jobs: JobTester) -> None:
    jobs.worker.sync.perform(jobplug.Job(HANDLER, {{"user": "42"}}))
    jobs.assert_dead(HANDLER)
    jobs.assert_not_performed(HANDLER)
'''
