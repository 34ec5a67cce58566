"""The contract users program against: :class:`Worker` and :func:`connect`.

Six operations, as in Buffalo's ``worker.Worker``, with its open questions settled:

* ``register(name, handler, **options)`` (also ``@worker.handler(name)``) is a plain method;
* ``perform``/``perform_in``/``perform_at`` enqueue; they are allowed before ``start`` (a
  worker that never starts is a pure producer) and are an error after ``stop``;
* ``start()`` returns once the worker is consuming; ``stop()`` stops fetching and lets
  running jobs finish within the grace period; ``async with worker:`` does both;
* ``run()`` blocks until SIGINT/SIGTERM/SIGQUIT, then stops gracefully (a second signal
  forces: running jobs are put back at once).
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta, timezone
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from jobplug import loops
from jobplug.broker import Broker, Capability, ConsumerConfig, PeriodicSpec
from jobplug.errors import (
    CapabilityNotSupported,
    ConfigurationError,
    UnknownHandlerError,
    WorkerStateError,
)
from jobplug.handlers import Registration, make_registration
from jobplug.job import Args, Job
from jobplug.middleware import CallNext, Middleware, build_chain
from jobplug.plugins import call as call_hook
from jobplug.plugins import make_manager
from jobplug.registry import broker_from_url
from jobplug.runtime import Consumer
from jobplug.signals import serve_until_signal
from jobplug.summary import describe_counts, report_every
from jobplug.timing import at_from_delay, check_aware

if TYPE_CHECKING:
    from jobplug.sync import SyncWorker

log = logging.getLogger("jobplug.worker")
F = TypeVar("F", bound=Callable[..., Any])


class State(str, enum.Enum):
    """A worker's lifecycle: new, running, stopping, stopped (a worker runs once)."""

    NEW = "new"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"


class Worker:
    """Registers handlers, enqueues jobs and runs them on one :class:`~jobplug.Broker`.

    :param broker: the backend; default: built from ``url``.
    :param url: the backend URL; default ``$WORKER_URL``, else ``memory://``.
    :param concurrency: jobs run at once by this process (asyncio tasks; sync handlers
        share a thread pool of this size).
    :param grace: seconds ``stop()`` lets running jobs finish before putting them back.
    :param middleware: ``async def mw(job, call_next)`` callables, outermost first.
    :param plugins: extra pluggy plugins, besides the ``jobplug.plugins`` entry points.
    :param summary_interval: seconds between the INFO lines summing up what the jobs did
        (per-job lines are DEBUG); 0 turns them off (the totals at stop remain).
    """

    def __init__(
        self,
        broker: Broker | None = None,
        *,
        url: str | None = None,
        concurrency: int = 10,
        grace: float = 30.0,
        middleware: Iterable[Middleware] = (),
        plugins: Iterable[object] = (),
        load_plugins: bool = True,
        fetch_timeout: float = 1.0,
        summary_interval: float = 60.0,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {concurrency}")
        self.broker = broker if broker is not None else broker_from_url(url)
        self.concurrency = concurrency
        self.grace = grace
        self.fetch_timeout = fetch_timeout
        self.summary_interval = summary_interval
        self._summary: asyncio.Task[None] | None = None
        self.middleware: list[Middleware] = list(middleware)
        self.periodic: list[PeriodicSpec] = []
        self.plugin_manager = make_manager(plugins, load_entry_points=load_plugins)
        self._handlers: dict[str, Registration] = {}
        self._state = State.NEW
        self._connected = False
        self._consumer: Consumer | None = None
        self._force = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._inline_lock: asyncio.Lock | None = None
        self._sync: SyncWorker | None = None
        call_hook(self.plugin_manager, "jobplug_configure_worker", worker=self)

    def __repr__(self) -> str:
        return f"<Worker {self._state.value} {self.broker!r} handlers={sorted(self._handlers)}>"

    @property
    def state(self) -> State:
        """Where the worker is in its lifecycle."""
        return self._state

    @property
    def handlers(self) -> dict[str, Registration]:
        """A copy of the registered handlers, by name."""
        return dict(self._handlers)

    # -- registration ----------------------------------------------------------------
    def register(self, name: str, handler: Callable[..., Any], **options: Any) -> None:
        """Register ``handler`` for jobs named ``name``.

        Options: ``max_fails`` (default 4), ``backoff`` (``f(job) -> seconds``),
        ``priority`` (1..100000), ``max_concurrency`` (0 = unlimited), ``skip_dead``.
        """
        if name in self._handlers:
            raise ValueError(f"a handler is already registered for {name!r}")
        if self._state is not State.NEW and not self.broker.inline:
            raise WorkerStateError(
                f"register {name!r} before start(); the worker is {self._state.value}"
            )
        registration = make_registration(name, handler, dict(options))
        self.broker.check_handler_name(name)
        self._handlers[name] = registration

    def handler(self, name: str | None = None, **options: Any) -> Callable[[F], F]:
        """Decorator form of :meth:`register`; the name defaults to the function's name."""

        def decorate(func: F) -> F:
            self.register(name or func.__name__, func, **options)
            return func

        return decorate

    def use(self, middleware: Middleware) -> None:
        """Append a middleware (innermost so far)."""
        self.middleware.append(middleware)

    def every(self, spec: str, handler: str) -> None:
        """Enqueue ``handler`` on the cron schedule ``spec`` (needs the periodic capability).

        Raises :class:`~jobplug.errors.InvalidScheduleError` naming ``spec`` if the broker
        cannot parse it.
        """
        self.broker.require(Capability.PERIODIC)
        if not isinstance(handler, str) or not handler:
            raise ConfigurationError(f"every() needs a handler name, got {handler!r}")
        self.broker.check_periodic(spec)
        self.periodic.append(PeriodicSpec(handler=handler, spec=spec))

    # -- producing -------------------------------------------------------------------
    async def perform(self, job: Job) -> None:
        """Enqueue ``job`` to run as soon as possible."""
        await self._enqueue([job], None)

    async def perform_many(self, jobs: Sequence[Job]) -> None:
        """Enqueue several jobs in one round trip; all are validated before any is written."""
        await self._enqueue(list(jobs), None)

    async def perform_in(self, job: Job, delay: timedelta | float) -> None:
        """Enqueue ``job`` to run after ``delay`` (a timedelta or seconds; <= 0 means now)."""
        await self._enqueue([job], at_from_delay(delay))

    async def perform_at(self, job: Job, when: datetime) -> None:
        """Enqueue ``job`` to run at ``when``, an aware datetime (a past one means now)."""
        await self._enqueue([job], check_aware(when))

    async def perform_unique(
        self, job: Job, *, key: Args | None = None, at: datetime | None = None
    ) -> bool:
        """Enqueue unless an equal job is pending (same handler and args, or same ``key``).

        Returns whether the job was enqueued. Needs the ``unique`` capability.
        """
        self.broker.require(Capability.UNIQUE)
        self._check_can_perform([job])
        await self._ensure_connected()
        when = check_aware(at) if at is not None else None
        call_hook(self.plugin_manager, "jobplug_job_enqueued", job=job, at=when)
        written = await self.broker.enqueue_unique(job, key, when)
        if written and self.broker.inline:
            await self._run_inline()
        return written

    async def _enqueue(self, jobs: list[Job], at: datetime | None) -> None:
        self._check_can_perform(jobs)
        if at is not None and at <= datetime.now(timezone.utc):
            at = None
        if at is not None and not self.broker.inline:
            self.broker.require(Capability.DELAYED)
        await self._ensure_connected()
        for job in jobs:
            call_hook(self.plugin_manager, "jobplug_job_enqueued", job=job, at=at)
        await self.broker.enqueue(jobs, at)
        if self.broker.inline:
            await self._run_inline()

    def _check_can_perform(self, jobs: Sequence[Job]) -> None:
        if self._state is State.STOPPED:
            raise WorkerStateError("the worker is stopped; perform is not allowed after stop()")
        for job in jobs:
            if not isinstance(job, Job):
                raise TypeError(f"perform takes a jobplug.Job, got {type(job).__name__}")
            job.validate()
            if self.broker.inline and job.handler not in self._handlers:
                raise UnknownHandlerError(
                    f"no handler registered for {job.handler!r} "
                    f"(registered: {', '.join(sorted(self._handlers)) or 'none'})"
                )
        for name in {job.handler for job in jobs}:
            self.broker.check_handler_name(name)

    # -- consuming -------------------------------------------------------------------
    async def start(self) -> None:
        """Connect and start consuming the registered handlers; returns once consuming."""
        if self._state is not State.NEW:
            raise WorkerStateError(f"start() on a worker that is {self._state.value}")
        self._check_capabilities()
        self._loop = asyncio.get_running_loop()
        await self._ensure_connected()
        if not self.broker.inline:
            self._consumer = self._make_consumer()
            await self._consumer.start()
            if self.summary_interval > 0:
                self._summary = asyncio.create_task(
                    report_every(self._consumer.counts, self.summary_interval),
                    name="jobplug-summary",
                )
        self._state = State.RUNNING
        log.info("worker started on %s handlers=%s", self.broker.safe_url, ",".join(self._handlers))
        call_hook(self.plugin_manager, "jobplug_worker_started", worker=self)

    async def stop(self, grace: float | None = None) -> None:
        """Stop fetching; wait up to ``grace`` seconds for running jobs; close the broker."""
        if self._state in (State.STOPPING, State.STOPPED):
            return
        self._state = State.STOPPING
        if self._summary is not None:
            self._summary.cancel()
        try:
            if self._consumer is not None:
                await self._consumer.stop(self.grace if grace is None else grace, self._force)
                call_hook(self.plugin_manager, "jobplug_worker_stopped", worker=self)
        finally:
            self._state = State.STOPPED
            await self.broker.close()
            if self._consumer is not None:
                log.info("worker stopped: %s", describe_counts(self._consumer.counts))
            else:
                log.info("worker stopped")

    def force_stop(self) -> None:
        """Make a running ``stop()`` put running jobs back now instead of waiting."""
        self._force.set()

    @property
    def forced(self) -> bool:
        """Whether the last stop was forced (running jobs were put back, not finished)."""
        return self._force.is_set()

    @property
    def put_back(self) -> int:
        """How many jobs were still running when ``stop()`` ended (forced or grace over):
        they were given back to the broker, though a sync handler's thread may still run."""
        return self._consumer.put_back if self._consumer is not None else 0

    async def __aenter__(self) -> Worker:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def run(self, loop: str | None = None) -> None:
        """Start, block until SIGINT/SIGTERM/SIGQUIT, stop gracefully (second signal forces).

        ``loop``: ``auto`` (uvloop when installed), ``asyncio`` or ``uvloop``; see
        :mod:`jobplug.loops`.
        """
        loops.run(self.serve, loop)

    async def serve(self) -> None:
        """The coroutine behind :meth:`run`, for callers that own the event loop."""
        await serve_until_signal(self)

    @property
    def sync(self) -> SyncWorker:
        """Blocking facade (``perform``, ``perform_in``, ...) for producers in sync code."""
        if self._sync is None:
            from jobplug.sync import SyncWorker

            self._sync = SyncWorker(self)
        return self._sync

    # -- internals -------------------------------------------------------------------
    async def _ensure_connected(self) -> None:
        if not self._connected:
            await self.broker.connect()
            self._connected = True

    def _check_capabilities(self) -> None:
        for reg in self._handlers.values():
            if reg.spec.priority != 1:
                self.broker.require(Capability.PRIORITY)
            if reg.spec.max_concurrency and not self.broker.supports(Capability.MAX_CONCURRENCY):
                raise CapabilityNotSupported(type(self.broker).__name__, "max-concurrency")
        if self.periodic:
            self.broker.require(Capability.PERIODIC)
            for periodic in self.periodic:  # appended directly, without every()
                self.broker.check_periodic(periodic.spec)

    def _config(self) -> ConsumerConfig:
        return ConsumerConfig(
            handlers={name: reg.spec for name, reg in self._handlers.items()},
            concurrency=self.concurrency,
            periodic=tuple(self.periodic),
        )

    def _make_consumer(self) -> Consumer:
        middleware = self.middleware

        def chain(endpoint: CallNext) -> CallNext:
            return build_chain(middleware, endpoint)

        return Consumer(
            self.broker,
            self._handlers,
            chain,
            self.plugin_manager,
            self._config(),
            self.fetch_timeout,
        )

    async def _run_inline(self) -> None:
        """Inline mode: run every pending job to completion before perform returns."""
        if self._inline_lock is None:
            self._inline_lock = asyncio.Lock()
        if self._inline_lock.locked():  # a handler performing a job: the outer drain runs it
            return
        async with self._inline_lock:
            consumer = self._make_consumer()
            await self.broker.subscribe(self._config())
            while deliveries := await self.broker.fetch(self.concurrency, 0):
                for delivery in deliveries:
                    await consumer.process(delivery)
                await consumer.flush()


def connect(url: str | None = None, **options: Any) -> Worker:
    """A :class:`Worker` for ``url``, else ``$WORKER_URL``, else ``memory://``."""
    return Worker(url=url, **options)
