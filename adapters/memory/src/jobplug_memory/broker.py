"""The in-process broker: asyncio, one event loop, nothing on disk.

Ready jobs sit in one deque per handler; delayed and retried jobs in a heap ordered by run
time, promoted when due by whoever fetches; dead jobs in a list. Everything happens on the
loop thread, so no locks: a fetch takes jobs and marks them in flight without awaiting.

``memory://`` gives a fresh broker; ``memory://NAME`` shares one broker per process and
name (a producer and a worker built separately). ``?mode=inline`` runs each performed job
to completion before ``perform`` returns, delays and retry backoff included (for tests).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import logging
import random
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar
from urllib.parse import urlsplit

from jobplug import Broker, Capability, ConsumerConfig, Delivery, HandlerSpec, Job
from jobplug.adapter import Args, Inspector, JobRecord, query_options, utcnow
from jobplug.errors import ConfigurationError, UnknownHandlerError

log = logging.getLogger("jobplug.memory")

_shared: dict[str, MemoryBroker] = {}


@dataclass(order=True)
class _Timed:
    at: float
    seq: int
    kind: str = field(compare=False)  # "scheduled" | "retry"
    job: Job = field(compare=False)


class MemoryBroker(Broker):
    """In-process broker for ``memory://`` (not durable: jobs live as long as the process)."""

    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.DELAYED,
            Capability.DEAD_LETTER,
            Capability.UNIQUE,
            Capability.PAUSE,
            Capability.MAX_CONCURRENCY,
            Capability.PRIORITY,
            Capability.INSPECT,
        }
    )
    in_process: ClassVar[bool] = True

    def __init__(self, url: str = "memory://") -> None:
        super().__init__(url)
        options = query_options(url)
        mode = options.get("mode", "queue")
        if mode not in ("queue", "inline"):
            raise ConfigurationError(f"memory:// mode must be 'queue' or 'inline', got {mode!r}")
        self.inline = mode == "inline"
        self.ready: dict[str, deque[Job]] = {}
        self.timed: list[_Timed] = []
        self.dead: list[JobRecord] = []
        self.paused: set[str] = set()
        self.running: dict[str, int] = {}
        self.unique: dict[str, str] = {}  # unique key -> job id
        self.config: ConsumerConfig | None = None
        # A named broker is shared by every worker of the process that uses its URL, so it
        # counts subscriptions: one worker stopping must not end another's.
        self._subscriptions: list[tuple[ConsumerConfig, int]] = []
        self._seq = itertools.count()
        self._changed = asyncio.Event()

    @classmethod
    def from_url(cls, url: str) -> MemoryBroker:
        name = urlsplit(url).netloc
        if not name:
            return cls(url)
        broker = _shared.get(name)
        if broker is None:
            broker = _shared[name] = cls(url)
        return broker

    async def close(self) -> None:
        """Nothing to release; subscriptions end with ``unsubscribe`` (the broker may be
        shared by name, so a producer closing must not stop a worker's consumption).

        Jobs still queued when no worker consumes any more live only in this process:
        say how many at WARNING, since nothing else will run them.
        """
        if self._subscriptions:
            return
        ready = sum(len(q) for q in self.ready.values())
        if ready or self.timed:
            log.warning(
                "%s closed with %d ready and %d scheduled job(s) that no worker ran; "
                "they are discarded when this process exits (memory:// keeps nothing)",
                self.safe_url,
                ready,
                len(self.timed),
            )

    # -- producing -------------------------------------------------------------------
    async def enqueue(self, jobs: Sequence[Job], at: datetime | None = None) -> None:
        self._check_served(jobs)
        for job in jobs:
            self._put(job, at, "scheduled")
        self._notify()

    async def enqueue_unique(
        self, job: Job, key: Args | None = None, at: datetime | None = None
    ) -> bool:
        self._check_served([job])
        ukey = unique_key(job.handler, job.args if key is None else key)
        if ukey in self.unique:
            return False
        self.unique[ukey] = job.id
        job.meta["unique_key"] = ukey
        await self.enqueue([job], at)
        return True

    def _check_served(self, jobs: Sequence[Job]) -> None:
        """While workers consume, a job none of them serves would never run (nothing outside
        this process can take it): refuse it, as Buffalo's in-process adapter does. Before
        any worker starts (a producer filling the queue first) every name is accepted."""
        if self.config is None:
            return
        handlers = self.config.handlers
        for job in jobs:
            if job.handler not in handlers:
                raise UnknownHandlerError(
                    f"no handler registered for {job.handler!r} on {self.safe_url} "
                    f"(registered: {', '.join(sorted(handlers)) or 'none'})"
                )

    def _put(self, job: Job, at: datetime | None, kind: str) -> None:
        if at is None or self.inline:
            self.ready.setdefault(job.handler, deque()).append(job)
        else:
            heapq.heappush(self.timed, _Timed(at.timestamp(), next(self._seq), kind, job))

    # -- consuming -------------------------------------------------------------------
    async def subscribe(self, config: ConsumerConfig) -> None:
        for index, (known, count) in enumerate(self._subscriptions):
            if known == config:  # inline mode subscribes again on every perform
                self._subscriptions[index] = (known, count + 1)
                break
        else:
            self._subscriptions.append((config, 1))
        self._merge_subscriptions()

    async def unsubscribe(self) -> None:
        if self._subscriptions:
            config, count = self._subscriptions.pop()
            if count > 1:
                self._subscriptions.append((config, count - 1))
        self._merge_subscriptions()

    def _merge_subscriptions(self) -> None:
        if not self._subscriptions:
            self.config = None
            return
        handlers: dict[str, HandlerSpec] = {}
        for config, _ in self._subscriptions:
            handlers.update(config.handlers)
        first = self._subscriptions[0][0]
        self.config = ConsumerConfig(handlers, first.concurrency, first.periodic)

    async def fetch(self, max_jobs: int, timeout: float) -> list[Delivery]:
        deadline = time.monotonic() + timeout
        while True:
            self._promote_due()
            taken = self._take(max_jobs)
            if taken:
                return taken
            now = time.monotonic()
            wait = deadline - now
            if wait <= 0:
                return []
            if self.timed:
                wait = min(wait, max(0.0, self.timed[0].at - time.time()))
            await self._wait_changed(wait)

    def _take(self, max_jobs: int) -> list[Delivery]:
        if self.config is None:
            return []
        out: list[Delivery] = []
        for name in _weighted_order(self.config):
            queue = self.ready.get(name)
            spec = self.config.handlers[name]
            while queue and len(out) < max_jobs and name not in self.paused:
                if spec.max_concurrency and self.running.get(name, 0) >= spec.max_concurrency:
                    break
                job = queue.popleft()
                self.running[name] = self.running.get(name, 0) + 1
                out.append(Delivery(job))
            if len(out) >= max_jobs:
                break
        return out

    def _promote_due(self) -> None:
        now = time.time()
        while self.timed and self.timed[0].at <= now:
            item = heapq.heappop(self.timed)
            self.ready.setdefault(item.job.handler, deque()).append(item.job)

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        for delivery in deliveries:
            self._finish(delivery)
        self._notify()

    async def retry(self, delivery: Delivery, at: datetime) -> None:
        self._finish(delivery)
        self._put(delivery.job, at, "retry")
        self._notify()

    async def bury(self, delivery: Delivery) -> None:
        self._finish(delivery)
        self.dead.append(JobRecord(delivery.job, delivery.job.failed_at or utcnow()))
        self._notify()

    async def release(self, deliveries: Sequence[Delivery]) -> None:
        for delivery in reversed(deliveries):
            self._finish(delivery, keep_unique=True)
            self.ready.setdefault(delivery.job.handler, deque()).appendleft(delivery.job)
        self._notify()

    def _finish(self, delivery: Delivery, keep_unique: bool = False) -> None:
        name = delivery.job.handler
        self.running[name] = max(0, self.running.get(name, 0) - 1)
        ukey = delivery.job.meta.get("unique_key")
        if ukey and not keep_unique and self.unique.get(ukey) == delivery.job.id:
            del self.unique[ukey]

    def _notify(self) -> None:
        self._changed.set()

    async def _wait_changed(self, timeout: float) -> bool:
        """Wait for a change; False on timeout. Unlike ``wait_for`` on Python < 3.12, a
        cancellation arriving together with the change is never swallowed."""
        self._changed.clear()
        waiter = asyncio.ensure_future(self._changed.wait())
        try:
            done, _ = await asyncio.wait({waiter}, timeout=timeout)
        finally:
            waiter.cancel()
        return bool(done)

    # -- control ---------------------------------------------------------------------
    async def pause(self, handler: str) -> None:
        self.paused.add(handler)

    async def unpause(self, handler: str) -> None:
        self.paused.discard(handler)
        self._notify()

    def inspector(self) -> Inspector:
        from jobplug_memory.inspector import MemoryInspector

        return MemoryInspector(self)

    # -- for tests -------------------------------------------------------------------
    def pending(self, include_scheduled: bool = False) -> int:
        """Jobs ready or running (plus delayed and retrying ones if asked)."""
        count = sum(len(q) for q in self.ready.values()) + sum(self.running.values())
        return count + (len(self.timed) if include_scheduled else 0)

    async def join(self, timeout: float = 10.0, include_scheduled: bool = False) -> None:
        """Wait until no job is ready or running (nor delayed, if asked): event-driven.

        Raises ``TimeoutError`` naming what is left after ``timeout`` seconds, e.g. jobs
        for a handler no worker serves.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.pending(include_scheduled):
            remaining = deadline - loop.time()
            if remaining <= 0:
                left = {name: len(q) for name, q in self.ready.items() if q}
                raise TimeoutError(
                    f"jobs still pending after {timeout}s: ready={left} "
                    f"running={ {k: v for k, v in self.running.items() if v} } "
                    f"delayed={len(self.timed)}"
                )
            wait = remaining
            if include_scheduled and self.timed:
                wait = min(wait, max(0.0, self.timed[0].at - time.time()) + 0.001)
            if not await self._wait_changed(wait):
                self._promote_due()
                self._notify()  # wake fetchers for the jobs just promoted


def unique_key(handler: str, args: Args) -> str:
    return f"{handler}:{json.dumps(args, sort_keys=True, separators=(',', ':'))}"


def _weighted_order(config: ConsumerConfig) -> list[str]:
    """Handlers in a random order weighted by priority (as gocraft's priority sampler)."""
    specs = list(config.handlers.values())
    if len(specs) <= 1:
        return [s.name for s in specs]
    keyed = sorted(specs, key=lambda s: random.random() ** (1.0 / s.priority), reverse=True)
    return [s.name for s in keyed]
