"""jobplug's exceptions: one tree rooted in :class:`JobplugError`.

::

    JobplugError
    ├── ConfigurationError          bad URL, bad option, bad registration
    │   ├── UnknownSchemeError      no installed adapter serves the URL's scheme
    │   └── DuplicateSchemeError    two distributions claim one scheme
    ├── InvalidArgsError (+TypeError)  job args that are not a JSON object
    ├── InvalidScheduleError (+ValueError)  a naive datetime, a bad delay or cron spec
    ├── UnknownHandlerError         no handler registered under that name
    ├── WorkerStateError            operation not allowed now (perform after stop, ...)
    ├── CapabilityNotSupported      the broker does not offer that optional feature
    ├── BrokerError                 the backend failed; the driver's error is ``__cause__``
    │   └── BrokerConnectionError   the backend cannot be reached (URL redacted)
    ├── MalformedJobError           a payload read from a queue is not a valid job
    └── JobNotFoundError            an inspection action named a job that is not there

Two more exceptions are not errors but signals a handler raises to steer its job:
:class:`Retry` (run again later, counting as a failure) and :class:`Discard` (drop the job
now, neither retried nor dead). They derive from ``Exception`` directly so that a
handler's ``except JobplugError`` never swallows them by accident.
"""

from __future__ import annotations

from datetime import datetime, timedelta

__all__ = [
    "BrokerConnectionError",
    "BrokerError",
    "CapabilityNotSupported",
    "ConfigurationError",
    "Discard",
    "DuplicateSchemeError",
    "InvalidArgsError",
    "InvalidScheduleError",
    "JobNotFoundError",
    "JobplugError",
    "MalformedJobError",
    "Retry",
    "UnknownHandlerError",
    "UnknownSchemeError",
    "WorkerStateError",
]


class JobplugError(Exception):
    """Base of every error jobplug raises on purpose."""


class ConfigurationError(JobplugError):
    """The configuration (URL, options, registration) is invalid."""


class UnknownSchemeError(ConfigurationError):
    """No installed adapter serves the URL scheme."""


class DuplicateSchemeError(ConfigurationError):
    """Two installed distributions register the same URL scheme."""


class InvalidArgsError(JobplugError, TypeError):
    """Job args are not a JSON object (rejected before anything is written)."""


class InvalidScheduleError(JobplugError, ValueError):
    """A run time or delay that cannot be honoured (naive datetime, bad cron spec, ...)."""


class UnknownHandlerError(JobplugError):
    """No handler is registered under that name."""


class WorkerStateError(JobplugError):
    """The worker is in a state that forbids the operation (e.g. perform after stop)."""


class CapabilityNotSupported(JobplugError):
    """The broker does not support an optional capability."""

    def __init__(self, broker: str, capability: str) -> None:
        super().__init__(f"{broker} does not support {capability!r}")
        self.broker = broker
        self.capability = capability


class BrokerError(JobplugError):
    """The backend failed. The driver's exception, if any, is ``__cause__``."""


class BrokerConnectionError(BrokerError):
    """The backend cannot be reached. Messages carry redacted URLs only."""


class MalformedJobError(JobplugError):
    """A payload read from a queue is not a valid job (it is dead-lettered with this reason)."""


class JobNotFoundError(JobplugError):
    """An inspection or control action named a job that does not exist."""


class Retry(Exception):
    """Raised by a handler: run this job again after ``in_`` (default: the backoff).

    Counts as a failure: ``fails`` grows and ``max_fails`` still applies.
    """

    def __init__(
        self,
        reason: str = "retry requested",
        *,
        in_: timedelta | float | None = None,
        at: datetime | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.in_ = in_
        self.at = at


class Discard(Exception):
    """Raised by a handler: drop this job now; it is neither retried nor kept dead."""
