"""OpenTelemetry tracing for jobplug (extra ``jobplug[otel]``).

::

    from jobplug.ext.otel import TracingPlugin

    worker = jobplug.connect(plugins=[TracingPlugin()])

Producing a job opens a short ``publish <handler>`` span (a child of whatever span is
current, e.g. the web request) and writes its context into the job, in ``job.meta`` under
:data:`META_KEY`: an extra JSON field that travels with the job and that gocraft/work and
other readers ignore. Each try of the job then runs in a ``process <handler>`` span whose
parent is that context, in the worker's process, so one trace follows the job from the
request that enqueued it to every run. The span is current while an ``async def``
handler runs, so the handler's own spans nest under it. Failures set the span's status
to error and record the exception.

The context format is the globally configured propagator's (W3C ``traceparent`` by
default); spans go to the tracer provider given, else the global one.
"""

from __future__ import annotations

import logging
from contextvars import Token
from datetime import datetime
from typing import Any

from jobplug.errors import ConfigurationError
from jobplug.hookspecs import hookimpl
from jobplug.job import Job

try:
    from opentelemetry import context as otel_context
    from opentelemetry import propagate, trace
    from opentelemetry.context import Context
    from opentelemetry.trace import Span, SpanKind, Status, StatusCode
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ConfigurationError(
        "OpenTelemetry tracing needs opentelemetry-api: pip install 'jobplug[otel]'"
    ) from exc

__all__ = [
    "META_KEY",
    "TracingPlugin",
]

log = logging.getLogger("jobplug.otel")

#: Field of the job (``job.meta``) holding the propagated trace context.
META_KEY = "trace_context"
SYSTEM = "jobplug"


class TracingPlugin:
    """A pluggy plugin: one span per enqueue and per try, linked by the job's trace context.

    :param tracer_provider: where spans go; default: the global provider.
    """

    def __init__(self, tracer_provider: trace.TracerProvider | None = None) -> None:
        from jobplug import __version__

        self.tracer = trace.get_tracer("jobplug", __version__, tracer_provider=tracer_provider)
        self._open: dict[str, tuple[Span, Token[Context]]] = {}  # job id -> (span, token)

    @hookimpl
    def jobplug_job_enqueued(self, job: Job, at: datetime | None) -> None:
        attributes = _attributes(job, "publish")
        if at is not None:
            attributes["jobplug.scheduled_at"] = at.isoformat()
        with self.tracer.start_as_current_span(
            f"publish {job.handler}", kind=SpanKind.PRODUCER, attributes=attributes
        ):
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
        if carrier:
            job.meta[META_KEY] = carrier

    @hookimpl
    def jobplug_job_started(self, job: Job) -> None:
        carrier = job.meta.get(META_KEY)
        parent = propagate.extract(carrier) if _is_carrier(carrier) else None
        span = self.tracer.start_span(
            f"process {job.handler}",
            context=parent,
            kind=SpanKind.CONSUMER,
            attributes=_attributes(job, "process"),
        )
        # The hooks and the handler run in one task: attaching here makes the span
        # current for an async handler, and the end hook detaches it in that same task.
        token = otel_context.attach(trace.set_span_in_context(span, parent))
        stale = self._open.pop(job.id, None)
        if stale is not None:  # the task that ran it earlier was cancelled
            stale[0].end()
        self._open[job.id] = (span, token)

    @hookimpl
    def jobplug_job_succeeded(self, job: Job) -> None:
        self._end(job, None)

    @hookimpl
    def jobplug_job_failed(self, job: Job, error: BaseException, retry_at: datetime) -> None:
        self._end(job, error, {"jobplug.retry_at": retry_at.isoformat()})

    @hookimpl
    def jobplug_job_dead(self, job: Job, error: BaseException | None) -> None:
        self._end(job, error, {"jobplug.dead": True}, reason=job.last_error)

    def _end(
        self,
        job: Job,
        error: BaseException | None,
        attributes: dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> None:
        entry = self._open.pop(job.id, None)
        if entry is None:  # dead without having run (a stray job)
            return
        span, token = entry
        try:
            otel_context.detach(token)
        except Exception:  # another context: the span still ends
            log.debug("trace context of job %s not detached", job.id)
        if attributes:
            span.set_attributes(attributes)
        if error is not None:
            span.record_exception(error)
        if error is not None or reason:
            span.set_status(Status(StatusCode.ERROR, reason or f"{type(error).__name__}"))
        span.end()


def _attributes(job: Job, operation: str) -> dict[str, Any]:
    return {
        "messaging.system": SYSTEM,
        "messaging.operation.type": operation,
        "messaging.destination.name": job.handler,
        "messaging.message.id": job.id,
        "jobplug.queue": job.queue,
        "jobplug.fails": job.fails,
    }


def _is_carrier(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )
