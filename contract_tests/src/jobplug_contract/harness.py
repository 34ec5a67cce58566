"""The harness a contract test gets: builds brokers and workers for the adapter under test,
names handlers uniquely, and tears everything down (workers stopped, backend cleaned)."""

from __future__ import annotations

import uuid
from typing import Any

from jobplug import Broker, Capability, Inspector, Worker
from jobplug.adapter import broker_class
from jobplug_contract.recorder import Recorder
from jobplug_contract.setup import AdapterSetup


class Harness:
    def __init__(self, setup: AdapterSetup) -> None:
        self.setup = setup
        self.broker_class: type[Broker] = setup.broker_class or broker_class(setup.url)
        self.capabilities: frozenset[Capability] = frozenset(self.broker_class.capabilities)
        self.recorder = Recorder()
        self._workers: list[Worker] = []
        self._brokers: list[Broker] = []
        self._prefix = f"h{uuid.uuid4().hex[:8]}"

    @property
    def url(self) -> str:
        return self.setup.url

    @property
    def wait(self) -> float:
        """Seconds any single expected event may take (the adapter's setup says)."""
        return self.setup.wait

    @property
    def adapter_name(self) -> str:
        return self.broker_class.__name__

    def declares(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def name(self, label: str) -> str:
        """A handler name unique to this test (tests never see each other's jobs)."""
        return f"{self._prefix}_{label}"

    def broker(self, url: str | None = None) -> Broker:
        """A new broker instance for the test's URL (closed at teardown)."""
        broker = self.broker_class.from_url(url or self.url)
        self._brokers.append(broker)
        return broker

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
