"""Extension hooks (pluggy). A plugin is a plain module or object of ``@hookimpl`` functions,
registered through the entry-point group ``jobplug.plugins`` or ``Worker(plugins=[...])``.

Hooks are synchronous and observe: they are called around the job lifecycle for metrics,
tracing and logging. An exception raised by a hook is logged and swallowed, so a plugin can
never lose a job. Hooks run on the event loop: keep them quick.

Example::

    from jobplug import hookimpl

    @hookimpl
    def jobplug_job_succeeded(job, duration):
        statsd.timing(f"jobs.{job.handler}", duration)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from datetime import datetime

    from jobplug.job import Job
    from jobplug.worker import Worker

__all__ = [
    "hookimpl",
    "hookspec",
    "jobplug_configure_worker",
    "jobplug_job_dead",
    "jobplug_job_enqueued",
    "jobplug_job_failed",
    "jobplug_job_started",
    "jobplug_job_succeeded",
    "jobplug_worker_started",
    "jobplug_worker_stopped",
]

PROJECT = "jobplug"
#: Marks the hook specifications below (for jobplug itself).
hookspec = pluggy.HookspecMarker(PROJECT)
#: Marks a plugin's function or method as the implementation of the hook of its name.
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def jobplug_configure_worker(worker: Worker) -> None:
    """The worker was created: register handlers or middleware, read settings."""


@hookspec
def jobplug_worker_started(worker: Worker) -> None:
    """The worker is consuming."""


@hookspec
def jobplug_worker_stopped(worker: Worker) -> None:
    """The worker stopped consuming and every running job has finished or been released."""


@hookspec
def jobplug_job_enqueued(job: Job, at: datetime | None) -> None:
    """``job`` was written to the broker (``at`` is its run time when delayed).

    Called just before the write, so ``job.meta`` may still be changed (trace context).
    """


@hookspec
def jobplug_job_started(job: Job) -> None:
    """A worker is about to run ``job``'s handler."""


@hookspec
def jobplug_job_succeeded(job: Job, duration: float) -> None:
    """The handler returned (or raised ``Discard``) after ``duration`` seconds."""


@hookspec
def jobplug_job_failed(job: Job, error: BaseException, duration: float, retry_at: datetime) -> None:
    """The handler failed; the job will run again at ``retry_at``."""


@hookspec
def jobplug_job_dead(job: Job, error: BaseException | None) -> None:
    """The job failed for the last time and is now dead (dropped instead if ``skip_dead``)."""
