"""jobplug: background jobs with pluggable backends.

::

    import jobplug

    worker = jobplug.connect()            # $WORKER_URL, else memory://

    @worker.handler("send_email")
    async def send_email(args):
        ...

    await worker.perform(jobplug.Job("send_email", {"to": "a@example.com"}))
"""

from jobplug.broker import Broker, Capability, ConsumerConfig, Delivery, HandlerSpec, PeriodicSpec
from jobplug.errors import (
    BrokerConnectionError,
    BrokerError,
    CapabilityNotSupported,
    ConfigurationError,
    Discard,
    DuplicateSchemeError,
    InvalidArgsError,
    InvalidScheduleError,
    JobNotFoundError,
    JobplugError,
    MalformedJobError,
    Retry,
    UnknownHandlerError,
    UnknownSchemeError,
    WorkerStateError,
)
from jobplug.hookspecs import hookimpl
from jobplug.inspect import Inspector
from jobplug.job import Args, Job
from jobplug.middleware import CallNext, Middleware
from jobplug.worker import State, Worker, connect

__version__ = "0.1.0"

__all__ = [
    "Args",
    "Broker",
    "BrokerConnectionError",
    "BrokerError",
    "CallNext",
    "Capability",
    "CapabilityNotSupported",
    "ConfigurationError",
    "ConsumerConfig",
    "Delivery",
    "Discard",
    "DuplicateSchemeError",
    "HandlerSpec",
    "Inspector",
    "InvalidArgsError",
    "InvalidScheduleError",
    "Job",
    "JobNotFoundError",
    "JobplugError",
    "MalformedJobError",
    "Middleware",
    "PeriodicSpec",
    "Retry",
    "State",
    "UnknownHandlerError",
    "UnknownSchemeError",
    "Worker",
    "WorkerStateError",
    "connect",
    "hookimpl",
]
