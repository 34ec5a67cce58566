"""pytest fixtures for testing jobplug jobs, loaded automatically (entry point ``pytest11``).

* ``jobplug_url``: the backend URL of ``jobplug_worker``; ``memory://?mode=inline`` (each
  ``perform`` runs the job to completion before it returns). Override it in a
  ``conftest.py`` to test with a queue (``memory://``) and :meth:`JobTester.drain`.
* ``jobplug_worker``: a fresh :class:`~jobplug.Worker` on ``jobplug_url``; register the
  handlers under test on it.
* ``jobplug_jobs``: a :class:`~jobplug.testing.JobTester` recording ``jobplug_worker``'s
  jobs: ``jobplug_jobs.assert_performed("send_email", args={...})``.

To watch an application's own worker instead, use ``JobTester(app_worker)`` in a fixture.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jobplug.testing import JobTester
from jobplug.worker import Worker

__all__ = [
    "INLINE_URL",
    "jobplug_jobs",
    "jobplug_url",
    "jobplug_worker",
]

#: The default ``jobplug_url``: each ``perform`` runs its job before it returns.
INLINE_URL = "memory://?mode=inline"


@pytest.fixture
def jobplug_url() -> str:
    """The backend URL of ``jobplug_worker`` (inline memory by default)."""
    return INLINE_URL


@pytest.fixture
def jobplug_worker(jobplug_url: str) -> Iterator[Worker]:
    """A fresh worker on ``jobplug_url``, with no handlers registered yet."""
    worker = Worker(url=jobplug_url, fetch_timeout=0.05)
    yield worker
    # A sync facade used by the test owns a loop thread and the broker connection.
    if worker._sync is not None:
        worker._sync.close()


@pytest.fixture
def jobplug_jobs(jobplug_worker: Worker) -> Iterator[JobTester]:
    """Records ``jobplug_worker``'s jobs for assertions; drains pending ones on demand."""
    with JobTester(jobplug_worker) as tester:
        yield tester
