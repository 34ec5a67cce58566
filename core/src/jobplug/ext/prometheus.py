"""Prometheus metrics for jobplug workers (extra ``jobplug[prometheus]``).

::

    from jobplug.ext import prometheus

    worker = jobplug.connect(plugins=[prometheus.PrometheusMetrics()])
    prometheus.serve(9100)          # or: jobplug worker app:worker --metrics-port 9100

Metrics (label ``handler``; counters get Prometheus' ``_total`` suffix):

* ``jobplug_jobs_enqueued``, ``_started``, ``_succeeded``, ``_failed`` (a failed try that
  will be retried), ``_dead`` (failed for the last time, or args that do not fit);
* ``jobplug_job_duration_seconds`` (histogram, label ``outcome``: succeeded/failed/dead);
* ``jobplug_jobs_in_progress`` (gauge);
* where the broker declares ``inspect``, refreshed while the worker runs:
  ``jobplug_queue_depth`` and ``jobplug_queue_latency_seconds`` per handler queue, and
  ``jobplug_jobs_waiting`` with label ``set`` (scheduled, retry, dead);
* ``jobplug_log_lines_dropped``: log lines this process dropped because its log output
  did not keep up (see :mod:`jobplug.logs`); it only grows.

Counts are per process: Prometheus sums them over the processes it scrapes.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jobplug.broker import Capability
from jobplug.errors import ConfigurationError, JobplugError
from jobplug.hookspecs import hookimpl
from jobplug.job import Job
from jobplug.logs import dropped_lines
from jobplug.worker import State

try:
    import prometheus_client as prom
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ConfigurationError(
        "Prometheus metrics need prometheus-client: pip install 'jobplug[prometheus]'"
    ) from exc

__all__ = [
    "BUCKETS",
    "MetricsServer",
    "PrometheusMetrics",
    "enable",
    "install",
    "serve",
]

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from jobplug.worker import Worker

log = logging.getLogger("jobplug.prometheus")

#: Run-time buckets (seconds): from fast jobs to long batch ones.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900)


class _Metrics:
    """The metric objects of one registry (a registry takes each name once)."""

    def __init__(self, registry: prom.CollectorRegistry) -> None:
        def counter(name: str, doc: str) -> prom.Counter:
            return prom.Counter(f"jobplug_jobs_{name}", doc, ["handler"], registry=registry)

        self.enqueued = counter("enqueued", "Jobs written to the broker.")
        self.started = counter("started", "Jobs whose handler started.")
        self.succeeded = counter("succeeded", "Jobs whose handler returned (or discarded).")
        self.failed = counter("failed", "Failed tries that will be retried.")
        self.dead = counter("dead", "Jobs that failed for the last time or had bad args.")
        self.duration = prom.Histogram(
            "jobplug_job_duration_seconds",
            "Run time of handlers, by outcome.",
            ["handler", "outcome"],
            buckets=BUCKETS,
            registry=registry,
        )
        self.in_progress = prom.Gauge(
            "jobplug_jobs_in_progress", "Jobs running now.", ["handler"], registry=registry
        )
        self.depth = prom.Gauge(
            "jobplug_queue_depth",
            "Jobs ready to run, per handler queue.",
            ["handler"],
            registry=registry,
        )
        self.latency = prom.Gauge(
            "jobplug_queue_latency_seconds",
            "How long the oldest ready job has waited.",
            ["handler"],
            registry=registry,
        )
        self.waiting = prom.Gauge(
            "jobplug_jobs_waiting",
            "Jobs in the scheduled, retry and dead sets.",
            ["set"],
            registry=registry,
        )
        self.log_dropped = prom.Gauge(
            "jobplug_log_lines_dropped",
            "Log lines dropped because the log output did not keep up.",
            registry=registry,
        )
        self.log_dropped.set_function(dropped_lines)


_by_registry: dict[int, _Metrics] = {}
_lock = threading.Lock()


def _metrics_for(registry: prom.CollectorRegistry) -> _Metrics:
    with _lock:
        metrics = _by_registry.get(id(registry))
        if metrics is None:
            metrics = _by_registry[id(registry)] = _Metrics(registry)
        return metrics


class PrometheusMetrics:
    """A pluggy plugin updating the metrics above from the job hooks.

    :param registry: where the metrics live; default: prometheus-client's global one.
        Several plugin objects on one registry share its metrics.
    :param queue_interval: seconds between refreshes of the queue gauges while a worker
        runs (brokers with the ``inspect`` capability only); 0 turns them off.
    """

    def __init__(
        self, registry: prom.CollectorRegistry | None = None, *, queue_interval: float = 15.0
    ) -> None:
        self.registry = registry if registry is not None else prom.REGISTRY
        self.metrics = _metrics_for(self.registry)
        self.queue_interval = queue_interval
        self._running: dict[str, tuple[str, float]] = {}  # job id -> (handler, start)
        self._pollers: dict[int, asyncio.Task[None]] = {}
        self._seen_queues: set[str] = set()

    # -- job events ------------------------------------------------------------------
    @hookimpl
    def jobplug_job_enqueued(self, job: Job) -> None:
        self.metrics.enqueued.labels(job.handler).inc()

    @hookimpl
    def jobplug_job_started(self, job: Job) -> None:
        self.metrics.started.labels(job.handler).inc()
        self.metrics.in_progress.labels(job.handler).inc()
        self._running[job.id] = (job.handler, time.perf_counter())

    @hookimpl
    def jobplug_job_succeeded(self, job: Job) -> None:
        self.metrics.succeeded.labels(job.handler).inc()
        self._finished(job, "succeeded")

    @hookimpl
    def jobplug_job_failed(self, job: Job) -> None:
        self.metrics.failed.labels(job.handler).inc()
        self._finished(job, "failed")

    @hookimpl
    def jobplug_job_dead(self, job: Job) -> None:
        self.metrics.dead.labels(job.handler).inc()
        self._finished(job, "dead")

    def _finished(self, job: Job, outcome: str) -> None:
        entry = self._running.pop(job.id, None)
        if entry is None:  # dead without having run (a stray job): nothing was counted
            return
        handler, started = entry
        self.metrics.in_progress.labels(handler).dec()
        self.metrics.duration.labels(handler, outcome).observe(time.perf_counter() - started)

    # -- queue gauges ----------------------------------------------------------------
    @hookimpl
    def jobplug_worker_started(self, worker: Worker) -> None:
        broker = worker.broker
        if self.queue_interval <= 0 or broker.inline or not broker.supports(Capability.INSPECT):
            return  # (inline workers never consume, so no stop hook would end a poller)
        self._pollers[id(worker)] = asyncio.get_running_loop().create_task(
            self._poll(worker), name="jobplug-prometheus-queues"
        )

    @hookimpl
    def jobplug_worker_stopped(self, worker: Worker) -> None:
        poller = self._pollers.pop(id(worker), None)
        if poller is not None:
            poller.cancel()

    async def _poll(self, worker: Worker) -> None:
        while worker.state is State.RUNNING:
            try:
                await self.refresh_queues(worker)
            except JobplugError as exc:  # the broker may be down for a while: keep trying
                log.warning("queue metrics not refreshed: %s", exc)
            await asyncio.sleep(self.queue_interval)

    async def refresh_queues(self, worker: Worker) -> None:
        """Read the queues of ``worker``'s broker into the gauges now."""
        inspector = worker.broker.inspector()
        queues = await inspector.queues()
        current = {q.handler for q in queues}
        for gone in self._seen_queues - current:
            self.metrics.depth.labels(gone).set(0)
            self.metrics.latency.labels(gone).set(0)
        self._seen_queues = current
        for queue in queues:
            self.metrics.depth.labels(queue.handler).set(queue.count)
            if queue.latency is not None:  # unknown (AMQP): no figure rather than a false 0
                self.metrics.latency.labels(queue.handler).set(queue.latency)
        for name, page in (
            ("scheduled", inspector.scheduled),
            ("retry", inspector.retries),
            ("dead", inspector.dead),
        ):
            self.metrics.waiting.labels(name).set((await page(1)).total)


@dataclass
class MetricsServer:
    """A running ``/metrics`` HTTP endpoint (a daemon thread)."""

    host: str
    port: int
    _server: WSGIServer
    _thread: threading.Thread

    @property
    def url(self) -> str:
        """The address to scrape, ``http://host:port/metrics``."""
        return f"http://{self.host}:{self.port}/metrics"

    def close(self) -> None:
        """Stop serving and wait for the thread."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serve(
    port: int, addr: str = "127.0.0.1", registry: prom.CollectorRegistry | None = None
) -> MetricsServer:
    """Serve the metrics over HTTP on ``addr:port`` in a daemon thread (port 0: any free).

    Loopback by default; ``addr="0.0.0.0"`` lets a Prometheus on another host scrape.
    """
    try:
        server, thread = prom.start_http_server(
            port, addr, registry=registry if registry is not None else prom.REGISTRY
        )
    except OSError as exc:
        raise ConfigurationError(f"cannot serve metrics on {addr}:{port}: {exc}") from None
    return MetricsServer(addr, int(server.server_port), server, thread)


def install(
    worker: Worker,
    registry: prom.CollectorRegistry | None = None,
    *,
    queue_interval: float = 15.0,
) -> PrometheusMetrics:
    """Register a :class:`PrometheusMetrics` plugin on ``worker`` and return it."""
    plugin = PrometheusMetrics(registry, queue_interval=queue_interval)
    worker.plugin_manager.register(plugin)
    return plugin


def enable(
    worker: Worker,
    port: int,
    addr: str = "127.0.0.1",
    registry: prom.CollectorRegistry | None = None,
) -> MetricsServer:
    """Metrics for ``worker``, served on ``addr:port``: what ``--metrics-port`` does.

    A worker that already has a :class:`PrometheusMetrics` plugin keeps it (a second one
    would count every job twice), and without ``registry`` its registry is the one served.
    """
    plugins = worker.plugin_manager.get_plugins()
    existing = next((p for p in plugins if isinstance(p, PrometheusMetrics)), None)
    if registry is None and existing is not None:
        registry = existing.registry
    server = serve(port, addr, registry)
    if existing is None:
        install(worker, registry)
    log.info("metrics on %s", server.url)
    return server
