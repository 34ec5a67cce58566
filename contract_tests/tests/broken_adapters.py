"""Deliberately broken adapters: the suite must fail each one on the right tests.

Each is a small subclass of a correct adapter (memory or the SQLite example) with one
defect a real adapter could plausibly have. ``SETUPS`` maps a name to a function building
the contract setup for one test.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from jobplug import BrokerConnectionError, Capability, Delivery, Job
from jobplug.job import Args
from jobplug_contract import AdapterSetup, unique_name
from jobplug_memory import MemoryBroker
from jobplug_sqlite import SqliteBroker
from jobplug_sqlite.contract import contract_setup
from jobplug_sqlite.store import Store


class AcksBeforeRunning(SqliteBroker):
    """Deletes each job as it hands it out: a worker that dies mid-job loses it."""

    async def fetch(self, max_jobs: int, timeout: float) -> list[Delivery]:
        deliveries = await super().fetch(max_jobs, timeout)
        if deliveries:
            await self.ack(deliveries)
        return deliveries


class RunsDelayedNow(MemoryBroker):
    """Ignores the run time of delayed jobs."""

    async def enqueue(self, jobs: Sequence[Job], at: datetime | None = None) -> None:
        await super().enqueue(jobs, None)


class DropsFailedJobs(MemoryBroker):
    """Forgets a job whose handler failed instead of scheduling its retry."""

    async def retry(self, delivery: Delivery, at: datetime) -> None:
        await self.ack([delivery])


class LeaksDriverError(SqliteBroker):
    """Opens its database without wrapping the driver's errors."""

    async def connect(self) -> None:
        sqlite3.connect(self.path).close()  # raises sqlite3.OperationalError as it is
        await super().connect()


class LeaksPassword(MemoryBroker):
    """Says which URL it could not reach, password and all."""

    async def connect(self) -> None:
        if "unreachable" in self.url:
            raise BrokerConnectionError(f"cannot reach {self.url}")
        await super().connect()


class DeliversTwice(MemoryBroker):
    """Hands every job out twice."""

    async def fetch(self, max_jobs: int, timeout: float) -> list[Delivery]:
        deliveries = await super().fetch(max_jobs, timeout)
        return deliveries + [Delivery(d.job) for d in deliveries]


class HidesUnique(MemoryBroker):
    """Implements unique jobs without declaring them (an undeclared capability must raise)."""

    capabilities: ClassVar[frozenset[Capability]] = MemoryBroker.capabilities - {Capability.UNIQUE}

    async def enqueue_unique(
        self, job: Job, key: Args | None = None, at: datetime | None = None
    ) -> bool:
        await self.enqueue([job], at)
        return True


def memory(cls: type[MemoryBroker]) -> Callable[[Path], AdapterSetup]:
    def build(tmp_path: Path) -> AdapterSetup:
        return AdapterSetup(url=f"memory://{unique_name('broken-')}", broker_class=cls, wait=3)

    return build


def sqlite(cls: type[SqliteBroker]) -> Callable[[Path], AdapterSetup]:
    def build(tmp_path: Path) -> AdapterSetup:
        return replace(contract_setup(f"sqlite:///{tmp_path}/jobs.db"), broker_class=cls, wait=3)

    return build


def leaky(tmp_path: Path) -> AdapterSetup:
    setup = memory(LeaksPassword)(tmp_path)
    return replace(setup, unreachable_url="memory://user:s3cret-pw@unreachable/")


SETUPS: dict[str, Callable[[Path], AdapterSetup]] = {
    "acks_before_running": sqlite(AcksBeforeRunning),
    "runs_delayed_now": memory(RunsDelayedNow),
    "drops_failed_jobs": memory(DropsFailedJobs),
    "leaks_driver_error": sqlite(LeaksDriverError),
    "leaks_password": leaky,
    "delivers_twice": memory(DeliversTwice),
    "hides_unique": memory(HidesUnique),
}

__all__ = ["SETUPS", "Store"]
