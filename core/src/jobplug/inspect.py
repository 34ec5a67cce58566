"""The ``inspect`` capability: read and manage a backend's jobs (CLI, dashboard).

Pages hold :data:`PAGE_SIZE` jobs, newest first for dead jobs, soonest first for
scheduled and retry jobs, as in gocraft/work's client. Every method may raise
:class:`~jobplug.errors.CapabilityNotSupported` for what the backend cannot list (a
RabbitMQ queue cannot be paged without consuming it, for instance).
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from jobplug.job import Job

#: Jobs per page of :meth:`Inspector.scheduled`, ``retries`` and ``dead``.
PAGE_SIZE = 20


@dataclass(frozen=True)
class QueueInfo:
    """One handler's queue: ready jobs, how long the oldest waited, paused."""

    handler: str
    count: int
    #: seconds the oldest ready job has waited; 0 when empty; None when the backend cannot
    #: tell (AMQP sees a queue's depth, not the age of its jobs)
    latency: float | None
    paused: bool = False


@dataclass(frozen=True)
class PoolInfo:
    """One worker process (gocraft's worker pool) as its heartbeat describes it."""

    pool_id: str
    host: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime
    concurrency: int
    handlers: tuple[str, ...]
    worker_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class BusyWorker:
    """A worker slot running ``job`` since ``started_at``."""

    worker_id: str
    pool_id: str
    job: Job
    started_at: datetime


@dataclass(frozen=True)
class JobRecord:
    """A job at rest in the scheduled, retry or dead set; ``at`` is its score
    (run-at time for scheduled/retry, time of death for dead). ``stored`` is the job's
    JSON object as the backend holds it, where that differs from :meth:`Job.to_dict`
    (another writer's ``"args": null``, say); ``jobplug inspect --json`` shows it."""

    job: Job
    at: datetime
    stored: dict[str, Any] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Page:
    """One page of jobs at rest; ``total`` counts every page's jobs."""

    items: Sequence[JobRecord]
    total: int
    page: int = 1
    page_size: int = PAGE_SIZE
    extra: dict[str, str] = field(default_factory=dict)


class Inspector(abc.ABC):
    """Read-and-manage view of one backend. Job identity is ``(at, job id)``, as gocraft's."""

    @abc.abstractmethod
    async def queues(self) -> list[QueueInfo]:
        """One entry per known handler queue: ready jobs, latency, paused."""

    @abc.abstractmethod
    async def pools(self) -> list[PoolInfo]:
        """The live worker pools (processes) and their heartbeats."""

    @abc.abstractmethod
    async def busy(self) -> list[BusyWorker]:
        """The jobs running right now, one per busy worker slot."""

    @abc.abstractmethod
    async def scheduled(self, page: int = 1) -> Page:
        """A page of delayed jobs, soonest first."""

    @abc.abstractmethod
    async def retries(self, page: int = 1) -> Page:
        """A page of jobs waiting for a retry, soonest first."""

    @abc.abstractmethod
    async def dead(self, page: int = 1) -> Page:
        """A page of dead jobs, newest first."""

    @abc.abstractmethod
    async def retry_dead(self, job_id: str, at: datetime | None = None) -> None:
        """Move one dead job back to its queue (JobNotFoundError if absent)."""

    @abc.abstractmethod
    async def delete_dead(self, job_id: str, at: datetime | None = None) -> None:
        """Delete one dead job (JobNotFoundError if absent)."""

    @abc.abstractmethod
    async def retry_all_dead(self) -> int:
        """Move every dead job back to its queue; return how many."""

    @abc.abstractmethod
    async def delete_all_dead(self) -> int:
        """Delete every dead job; return how many."""

    @abc.abstractmethod
    async def delete_scheduled(self, job_id: str, at: datetime | None = None) -> None:
        """Delete one scheduled job (JobNotFoundError if absent)."""

    @abc.abstractmethod
    async def delete_retry(self, job_id: str, at: datetime | None = None) -> None:
        """Delete one job waiting for a retry (JobNotFoundError if absent)."""

    @abc.abstractmethod
    async def pause(self, handler: str) -> None:
        """Stop handing out jobs of ``handler`` in every process."""

    @abc.abstractmethod
    async def unpause(self, handler: str) -> None:
        """Hand out jobs of ``handler`` again."""


#: A lookup by job id scans at most this many pages when the page hint misses.
MAX_SCAN_PAGES = 500


def lister(inspector: Inspector, kind: str) -> Callable[[int], Awaitable[Page]]:
    """The page method of ``inspector`` for ``kind``: ``scheduled``, ``retry`` or ``dead``."""
    listers: dict[str, Callable[[int], Awaitable[Page]]] = {
        "scheduled": inspector.scheduled,
        "retry": inspector.retries,
        "dead": inspector.dead,
    }
    return listers[kind]


async def find_record(
    inspector: Inspector, kind: str, job_id: str, at: int | None = None, hint: int = 1
) -> JobRecord | None:
    """The record with ``job_id`` in a listing (the one at epoch second ``at`` first, if
    several): the hinted page first, then page by page."""
    pages_of = lister(inspector, kind)

    def match(page: Page) -> JobRecord | None:
        same_id = [r for r in page.items if r.job.id == job_id]
        exact = [r for r in same_id if at is not None and int(r.at.timestamp()) == at]
        best = exact or same_id
        return best[0] if best else None

    first = await pages_of(hint)
    found = match(first)
    pages = min(-(-first.total // max(1, first.page_size)), MAX_SCAN_PAGES)
    for number in range(1, pages + 1):
        if found is not None:
            break
        if number != hint:
            found = match(await pages_of(number))
    return found
