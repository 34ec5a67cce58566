"""The API for adapter authors: everything a backend package needs from jobplug.

An adapter (``jobplug-redis``, ``jobplug-amqp``, a third party's ``jobplug-sqs``) imports
from three modules only: :mod:`jobplug` (the user-facing contract), :mod:`jobplug.errors`
(the exceptions it may raise) and this one. Every other module of ``jobplug-core`` is
internal and may change in any release; the names below follow the version range an
adapter declares (``jobplug-core>=0.1,<0.2``)::

    from jobplug.adapter import Broker, Capability, ConsumerConfig, Delivery, Job
    from jobplug.errors import BrokerConnectionError

    class SqsBroker(Broker):
        capabilities = frozenset({Capability.DURABLE, Capability.DELAYED})
        ...

What each group is for:

* the interface: :class:`Broker`, :class:`Capability`, :class:`HandlerSpec`,
  :class:`PeriodicSpec`, :class:`ConsumerConfig`, :class:`Delivery`;
* jobs: :class:`Job` (with its portable JSON form), :data:`Args`, :func:`new_job_id`,
  :func:`utcnow`;
* the ``inspect`` capability: :class:`Inspector` and the records its pages hold;
* URLs: :func:`redact` (passwords never reach a log or an error), :func:`scheme_of`,
  :func:`query_options`, :func:`parse_bool`;
* discovery (for tools that build brokers, like the conformance suite):
  :func:`broker_from_url`, :func:`broker_class`, :func:`adapter_for_scheme`.
"""

from jobplug.broker import Broker, Capability, ConsumerConfig, Delivery, HandlerSpec, PeriodicSpec
from jobplug.inspect import (
    PAGE_SIZE,
    BusyWorker,
    Inspector,
    JobRecord,
    Page,
    PoolInfo,
    QueueInfo,
)
from jobplug.job import Args, Job, new_job_id, utcnow
from jobplug.registry import AdapterInfo, adapter_for_scheme, broker_class, broker_from_url
from jobplug.urls import parse_bool, query_options, redact, scheme_of

__all__ = [
    "PAGE_SIZE",
    "AdapterInfo",
    "Args",
    "Broker",
    "BusyWorker",
    "Capability",
    "ConsumerConfig",
    "Delivery",
    "HandlerSpec",
    "Inspector",
    "Job",
    "JobRecord",
    "Page",
    "PeriodicSpec",
    "PoolInfo",
    "QueueInfo",
    "adapter_for_scheme",
    "broker_class",
    "broker_from_url",
    "new_job_id",
    "parse_bool",
    "query_options",
    "redact",
    "scheme_of",
    "utcnow",
]
