"""The adapter interface: what a backend implements so the core :class:`~jobplug.Worker` runs on it.

A broker moves jobs; the core decides what happens to them. The core owns the handler
registry, middleware, concurrency, the retry policy (it computes ``fails``, the error and
the next run time) and shutdown. A broker stores and delivers:

* ``enqueue(jobs, at)`` — write jobs to run now, or at ``at`` (batches are one round trip);
* ``subscribe(config)`` — become a consumer of the handlers in ``config``;
* ``fetch(max_jobs, timeout)`` — up to ``max_jobs`` deliveries, waiting at most ``timeout``
  for the first one; must be safe to cancel (a job the broker took but did not return is
  given back by ``release``/``unsubscribe``, or recovered as after a crash);
* ``ack`` (done), ``retry`` (run again at a time), ``bury`` (dead, kept with its error),
  ``release`` (put back untouched, e.g. on shutdown);
* ``unsubscribe()`` then ``close()``.

Optional features are declared in :attr:`Broker.capabilities`; their methods default to
raising :class:`~jobplug.errors.CapabilityNotSupported`. A payload the broker cannot
decode never reaches the core: the broker dead-letters it with the reason and goes on.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from jobplug.errors import CapabilityNotSupported
from jobplug.job import Args, Job
from jobplug.urls import redact

if TYPE_CHECKING:
    from jobplug.inspect import Inspector


class Capability(str, enum.Enum):
    """Optional features a broker may declare. Undeclared ones raise ``CapabilityNotSupported``."""

    DURABLE = "durable"  # jobs survive the worker process (and a kill -9 mid-job)
    DELAYED = "delayed"  # enqueue(..., at=...) honoured: perform_in / perform_at, retry backoff
    DEAD_LETTER = "dead-letter"  # buried jobs are kept with their error and can be retried
    UNIQUE = "unique"  # enqueue_unique
    PERIODIC = "periodic"  # cron-like periodic jobs in ConsumerConfig.periodic
    PAUSE = "pause"  # pause / unpause a handler
    MAX_CONCURRENCY = "max-concurrency"  # HandlerSpec.max_concurrency enforced across processes
    PRIORITY = "priority"  # HandlerSpec.priority weights fetches between handlers
    INSPECT = "inspect"  # inspector(): queues, pools, scheduled/retry/dead pages, actions


@dataclass(frozen=True)
class HandlerSpec:
    """What a broker needs to know about one registered handler."""

    name: str
    max_fails: int = 4
    priority: int = 1
    max_concurrency: int = 0  # 0 = unlimited
    skip_dead: bool = False


@dataclass(frozen=True)
class PeriodicSpec:
    """Enqueue ``handler`` on the cron schedule ``spec`` (5 or 6 fields, seconds optional)."""

    handler: str
    spec: str


@dataclass(frozen=True)
class ConsumerConfig:
    """Everything a broker needs to become a consumer (``subscribe``)."""

    handlers: Mapping[str, HandlerSpec]
    concurrency: int
    periodic: Sequence[PeriodicSpec] = ()


@dataclass(eq=False)
class Delivery:
    """A job handed to the core by ``fetch``; ``receipt`` is the broker's own handle."""

    job: Job
    receipt: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


class Broker(abc.ABC):
    """Base class of every adapter. Entry point group ``jobplug.adapters``, name = URL scheme.

    Subclasses must accept ``cls(url)`` (or override :meth:`from_url`), never print the
    password of the URL (use :attr:`safe_url`), and raise only :mod:`jobplug.errors`
    exceptions from their methods (wrap driver errors in ``BrokerError`` /
    ``BrokerConnectionError``).
    """

    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    #: True for brokers whose jobs live in this process only (memory://).
    in_process: ClassVar[bool] = False
    #: True when ``perform`` must run the job to completion before returning (tests).
    inline: bool = False

    def __init__(self, url: str) -> None:
        self.url = url

    @classmethod
    def from_url(cls, url: str) -> Broker:
        """Build the broker for ``url``; override when the constructor needs more."""
        return cls(url)

    @property
    def safe_url(self) -> str:
        """The URL with its password redacted: the only form fit for logs and errors."""
        return redact(self.url)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.safe_url}>"

    def supports(self, capability: Capability) -> bool:
        """Whether this broker declares ``capability``."""
        return capability in self.capabilities

    def require(self, capability: Capability) -> None:
        """Raise :class:`~jobplug.errors.CapabilityNotSupported` unless declared."""
        if capability not in self.capabilities:
            raise CapabilityNotSupported(type(self).__name__, capability.value)

    def check_handler_name(self, name: str) -> None:  # noqa: B027 - optional hook
        """Raise :class:`~jobplug.errors.ConfigurationError` if this backend cannot keep
        jobs under ``name`` (called at register and at perform, before anything is written).
        """

    # -- lifecycle -------------------------------------------------------------------
    async def connect(self) -> None:  # noqa: B027 - optional hook, idempotent
        """Open connections. Idempotent; called before the first operation."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release every resource. Idempotent."""

    # -- producing -------------------------------------------------------------------
    @abc.abstractmethod
    async def enqueue(self, jobs: Sequence[Job], at: datetime | None = None) -> None:
        """Write ``jobs`` (already validated) to run now, or at the aware datetime ``at``."""

    async def enqueue_unique(
        self, job: Job, key: Args | None = None, at: datetime | None = None
    ) -> bool:
        """Enqueue unless an equal job (same handler and args, or same ``key``) is pending.

        Returns whether the job was written.
        """
        raise CapabilityNotSupported(type(self).__name__, Capability.UNIQUE.value)

    # -- consuming -------------------------------------------------------------------
    @abc.abstractmethod
    async def subscribe(self, config: ConsumerConfig) -> None:
        """Start consuming the handlers in ``config`` (declare queues, heartbeats, ...)."""

    @abc.abstractmethod
    async def fetch(self, max_jobs: int, timeout: float) -> list[Delivery]:
        """Return 1..max_jobs deliveries, or [] after ``timeout`` seconds without any."""

    @abc.abstractmethod
    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        """The jobs are finished (succeeded or discarded): forget them."""

    @abc.abstractmethod
    async def retry(self, delivery: Delivery, at: datetime) -> None:
        """Run the job again at ``at``. ``delivery.job`` already carries fails/last_error."""

    @abc.abstractmethod
    async def bury(self, delivery: Delivery) -> None:
        """The job is dead: keep it with ``delivery.job.last_error`` for inspection."""

    @abc.abstractmethod
    async def release(self, deliveries: Sequence[Delivery]) -> None:
        """Put the jobs back to run as soon as possible, not counting a failure."""

    @abc.abstractmethod
    async def unsubscribe(self) -> None:
        """Stop consuming; deliveries not yet acked/retried/buried are released."""

    # -- optional control ------------------------------------------------------------
    async def pause(self, handler: str) -> None:
        """Stop handing out jobs of ``handler`` (in every process) until :meth:`unpause`."""
        raise CapabilityNotSupported(type(self).__name__, Capability.PAUSE.value)

    async def unpause(self, handler: str) -> None:
        """Hand out jobs of ``handler`` again after :meth:`pause`."""
        raise CapabilityNotSupported(type(self).__name__, Capability.PAUSE.value)

    async def discard_handler(self, handler: str) -> None:  # noqa: B027 - optional, no-op
        """Remove what the backend keeps for ``handler``: its queue with any jobs still
        waiting in it, its locks and counters, its registration. For tools that make a
        throwaway handler (``jobplug bench``) and must leave nothing behind; call it once
        no worker serves ``handler``. A backend that keeps nothing per handler need not
        override this no-op."""

    def check_periodic(self, spec: str) -> None:  # noqa: B027 - optional hook
        """Raise :class:`~jobplug.errors.InvalidScheduleError` naming ``spec`` unless this
        broker can run that schedule; called by ``Worker.every`` (after it checked the
        ``periodic`` capability) so that a bad spec fails where it is written, not later in
        a background task. A broker that declares ``periodic`` should parse ``spec`` here."""

    def inspector(self) -> Inspector:
        """Read and manage queues, pools and scheduled/retry/dead jobs."""
        raise CapabilityNotSupported(type(self).__name__, Capability.INSPECT.value)
