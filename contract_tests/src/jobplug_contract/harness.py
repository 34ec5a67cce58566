"""The harness a contract test gets: builds brokers and workers for the adapter under test,
names handlers uniquely, and tears everything down (workers stopped, backend cleaned)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import uuid
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import pytest

from jobplug import Broker, Capability, Inspector, Worker
from jobplug.adapter import broker_class
from jobplug_contract.guard import Escape, watch
from jobplug_contract.processes import ChildWorker, spawn_worker
from jobplug_contract.recorder import Recorder
from jobplug_contract.setup import MAX_LATE_BOUND, MAX_WAIT, AdapterSetup

T = TypeVar("T")


class Harness:
    def __init__(self, setup: AdapterSetup) -> None:
        self.setup = setup
        self.broker_class: type[Broker] = setup.broker_class or broker_class(setup.url)
        self.capabilities: frozenset[Capability] = frozenset(self.broker_class.capabilities)
        self.recorder = Recorder()
        self._workers: list[Worker] = []
        self._brokers: list[Broker] = []
        self._prefix = f"h{uuid.uuid4().hex[:8]}"
        self.escapes: list[Escape] = []  # driver errors that left a broker (see guard.py)
        self.failures: list[str] = []  # the broker methods that raised, in order
        self.urls: list[str] = [setup.url]  # every URL used: their passwords must not show
        self._children: list[ChildWorker] = []
        self.properties: list[tuple[str, object]] = []  # the pytest item's user_properties
        self._tmp: Path | None = None

    @property
    def url(self) -> str:
        return self.setup.url

    @property
    def wait(self) -> float:
        """Seconds any single expected event may take (the adapter's setup says, capped)."""
        return min(self.setup.wait, MAX_WAIT)

    @property
    def late_bound(self) -> float:
        """Seconds a delayed job may run late (the adapter's setup says, capped)."""
        return min(self.setup.late_bound, MAX_LATE_BOUND)

    @property
    def in_process(self) -> bool:
        """Whether the adapter's jobs live in one process (memory://): nothing to share."""
        return bool(self.broker_class.in_process)

    @property
    def adapter_name(self) -> str:
        return self.broker_class.__name__

    def declares(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def skip_without(self, hook: str, reason: str) -> NoReturn:
        """Skip because the setup has no ``hook``. Without a registered setup that is a
        gap in the certification, reported as such; with one, the adapter said so."""
        if not self.setup.registered:
            self.properties.append(("jobplug_gap", f"needs the setup's {hook}"))
            pytest.skip(
                f"NOT CERTIFIED: no jobplug.contract setup is registered for this scheme, "
                f"and {reason} needs its {hook}"
            )
        pytest.skip(f"{self.adapter_name}'s setup has no {hook}: {reason} is not tested")

    def name(self, label: str) -> str:
        """A handler name unique to this test (tests never see each other's jobs)."""
        return f"{self._prefix}_{label}"

    def broker(self, url: str | None = None) -> Broker:
        """A new broker instance for the test's URL (closed at teardown)."""
        if url is not None and url not in self.urls:
            self.urls.append(url)
        broker = self.broker_class.from_url(url or self.url)
        watch(broker, self.escapes, self.failures)
        self._brokers.append(broker)
        return broker

    async def within(self, awaitable: Awaitable[T], what: str, timeout: float | None = None) -> T:
        """Await ``awaitable`` at most ``timeout`` (default :attr:`wait`) seconds, failing
        with a message naming ``what``."""
        __tracebackhide__ = True
        limit = self.wait if timeout is None else timeout
        try:
            return await asyncio.wait_for(awaitable, limit)
        except asyncio.TimeoutError:
            raise AssertionError(f"timed out after {limit:.1f}s waiting for {what}") from None

    def spawn(
        self, handlers: list[str], *, concurrency: int = 2, max_concurrency: int = 0
    ) -> ChildWorker:
        """A worker of this adapter in a child process (killed at teardown)."""
        if self._tmp is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="jobplug-contract-"))
        child = spawn_worker(
            self.broker_class,
            self.url,
            handlers,
            self._tmp,
            concurrency=concurrency,
            max_concurrency=max_concurrency,
        )
        self._children.append(child)
        return child

    def inspector(self) -> Inspector:
        """An inspector on a broker of its own, as an operator's tool would have."""
        return self.broker().inspector()

    def worker(self, label: str = "w", url: str | None = None, **options: Any) -> Worker:
        """A worker with its own broker instance, recorded by :attr:`recorder`.

        Defaults suit tests: short fetch timeout, 10 s grace, no entry-point plugins.
        """
        options.setdefault("concurrency", 4)
        options.setdefault("grace", 10.0)
        options.setdefault("fetch_timeout", 0.2)
        middleware = [self.recorder.middleware(label), *options.pop("middleware", ())]
        plugins = [self.recorder, *options.pop("plugins", ())]
        worker = Worker(
            self.broker(url),
            load_plugins=False,
            middleware=middleware,
            plugins=plugins,
            **options,
        )
        self._workers.append(worker)
        return worker

    async def close(self) -> None:
        """Stop every worker (briefly), close every broker, then the adapter's cleanup."""
        errors: list[BaseException] = []
        for child in self._children:
            await child.kill()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
        for worker in self._workers:
            try:
                worker.force_stop()
                await worker.stop(grace=0)
            except Exception as exc:  # keep tearing down; report the first problem
                errors.append(exc)
        for broker in self._brokers:
            try:
                await broker.close()
            except Exception as exc:
                errors.append(exc)
        if self.setup.cleanup_brokers is not None:
            await self.setup.cleanup_brokers(list(self._brokers))
        if self.setup.cleanup is not None:
            await self.setup.cleanup()
        if errors:
            raise errors[0]
