"""The Prometheus plugin: counters, run times and queue gauges, scraped over real HTTP."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from jobplug import ConfigurationError, Job, Worker
from jobplug.ext.prometheus import MetricsServer, PrometheusMetrics, enable, install, serve
from jobplug_memory import MemoryBroker

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@dataclasses.dataclass
class Order:
    order_id: int


def sample(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(server: MetricsServer) -> Samples:
    async with httpx.AsyncClient() as http:
        reply = await http.get(server.url, timeout=5)
    reply.raise_for_status()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(reply.text)
        for s in family.samples
    }


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def server(registry: CollectorRegistry) -> Iterator[MetricsServer]:
    running = serve(0, "127.0.0.1", registry)
    assert running.port > 0
    yield running
    running.close()


async def test_job_counters_and_run_times_over_http(
    registry: CollectorRegistry, server: MetricsServer
) -> None:
    broker = MemoryBroker()
    worker = Worker(broker, load_plugins=False, fetch_timeout=0.05)
    install(worker, registry, queue_interval=0)
    worker.register("ship", lambda order: None)

    @worker.handler("flaky", max_fails=2, backoff=lambda job: 0.01)
    def flaky(args: dict[str, int]) -> None:
        raise RuntimeError("carrier down")

    @worker.handler("typed")
    def typed(order: Order) -> None:
        pass

    await worker.perform_many([Job("ship", {"n": n}) for n in range(3)])
    await worker.perform(Job("flaky"))
    await worker.perform(Job("typed", {"wrong": 1}))  # does not fit Order: dead at once
    async with worker:
        await broker.join(timeout=5, include_scheduled=True)
    got = await scrape(server)

    assert sample(got, "jobplug_jobs_enqueued_total", handler="ship") == 3
    assert sample(got, "jobplug_jobs_enqueued_total", handler="flaky") == 1  # retries are not
    assert sample(got, "jobplug_jobs_started_total", handler="ship") == 3
    assert sample(got, "jobplug_jobs_succeeded_total", handler="ship") == 3
    assert sample(got, "jobplug_jobs_started_total", handler="flaky") == 2
    assert sample(got, "jobplug_jobs_failed_total", handler="flaky") == 1
    assert sample(got, "jobplug_jobs_dead_total", handler="flaky") == 1
    assert sample(got, "jobplug_jobs_dead_total", handler="typed") == 1
    assert sample(got, "jobplug_jobs_succeeded_total", handler="flaky") == 0
    hist = "jobplug_job_duration_seconds_count"
    assert sample(got, hist, handler="ship", outcome="succeeded") == 3
    assert sample(got, hist, handler="flaky", outcome="failed") == 1
    assert sample(got, hist, handler="flaky", outcome="dead") == 1
    assert sample(got, "jobplug_job_duration_seconds_sum", handler="ship", outcome="succeeded") > 0
    for handler in ("ship", "flaky", "typed"):
        assert sample(got, "jobplug_jobs_in_progress", handler=handler) == 0


async def test_queue_gauges_refresh_while_the_worker_runs(
    registry: CollectorRegistry, server: MetricsServer
) -> None:
    broker = MemoryBroker()
    worker = Worker(broker, load_plugins=False, fetch_timeout=0.05)
    plugin = PrometheusMetrics(registry, queue_interval=0.02)
    worker.plugin_manager.register(plugin)
    worker.register("held", lambda args: None)
    await broker.pause("held")
    await worker.perform_many([Job("held"), Job("held")])
    await worker.perform_in(Job("held"), 3600)

    async with worker:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while True:
            got = await scrape(server)
            if sample(got, "jobplug_queue_depth", handler="held") == 2:
                break
            assert loop.time() < deadline, "queue depth never reached the endpoint"
            await asyncio.sleep(0.02)
        assert sample(got, "jobplug_jobs_waiting", set="scheduled") == 1
        assert sample(got, "jobplug_jobs_waiting", set="dead") == 0
        assert sample(got, "jobplug_queue_latency_seconds", handler="held") >= 0
        await broker.unpause("held")
        await broker.join(timeout=5)
        await plugin.refresh_queues(worker)
        assert sample(await scrape(server), "jobplug_queue_depth", handler="held") == 0
    assert plugin._pollers == {}  # the poller stopped with the worker


async def test_plugins_on_one_registry_share_metrics(registry: CollectorRegistry) -> None:
    first, second = PrometheusMetrics(registry), PrometheusMetrics(registry)
    assert first.metrics is second.metrics
    first.jobplug_job_enqueued(Job("a"))
    second.jobplug_job_enqueued(Job("a"))
    assert registry.get_sample_value("jobplug_jobs_enqueued_total", {"handler": "a"}) == 2


def test_serve_on_a_busy_port_is_a_clear_error(registry: CollectorRegistry) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ConfigurationError, match=f"cannot serve metrics on 127.0.0.1:{port}"):
            serve(port, "127.0.0.1", registry)


async def test_inline_workers_get_no_queue_poller(registry: CollectorRegistry) -> None:
    worker = Worker(MemoryBroker("memory://?mode=inline"), load_plugins=False)
    plugin = install(worker, registry, queue_interval=0.01)
    worker.register("x", lambda args: None)
    async with worker:
        await worker.perform(Job("x"))
        assert plugin._pollers == {}
    assert registry.get_sample_value("jobplug_jobs_succeeded_total", {"handler": "x"}) == 1


def one_handler_worker() -> Worker:
    worker = Worker(MemoryBroker(), load_plugins=False, fetch_timeout=0.05)
    worker.register("x", lambda args: None)
    return worker


async def run_one_job_and_scrape(worker: Worker, server: MetricsServer) -> Samples:
    try:
        await worker.perform(Job("x"))
        async with worker:
            await worker.broker.join(timeout=5)  # type: ignore[attr-defined]
        return await scrape(server)
    finally:
        server.close()


async def test_enable_installs_and_serves(registry: CollectorRegistry) -> None:
    worker = one_handler_worker()
    got = await run_one_job_and_scrape(worker, enable(worker, 0, "127.0.0.1", registry))
    assert sample(got, "jobplug_jobs_succeeded_total", handler="x") == 1


async def test_enable_serves_the_registry_of_the_apps_own_plugin(
    registry: CollectorRegistry,
) -> None:
    worker = one_handler_worker()
    install(worker, registry)
    got = await run_one_job_and_scrape(worker, enable(worker, 0))
    assert sum(isinstance(p, PrometheusMetrics) for p in worker.plugin_manager.get_plugins()) == 1
    assert sample(got, "jobplug_jobs_succeeded_total", handler="x") == 1


async def test_queue_gauges_on_redis(
    registry: CollectorRegistry,
    server: MetricsServer,
    redis_server: str,
    namespace: str,
    drop_redis: Any,
) -> None:
    worker = Worker(url=f"{redis_server}/0?namespace={namespace}", load_plugins=False)
    plugin = install(worker, registry, queue_interval=0)
    ran: list[int] = []
    worker.register("held", lambda args: ran.append(args["n"]))
    try:
        await worker.perform_many([Job("held", {"n": n}) for n in range(3)])
        await worker.broker.pause("held")
        async with worker:
            await plugin.refresh_queues(worker)
            assert sample(await scrape(server), "jobplug_queue_depth", handler="held") == 3
            await worker.broker.unpause("held")
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 10
            while len(ran) < 3:
                assert loop.time() < deadline, f"ran only {ran}"
                await asyncio.sleep(0.01)
            await plugin.refresh_queues(worker)
            got = await scrape(server)
        assert sample(got, "jobplug_queue_depth", handler="held") == 0
        assert sample(got, "jobplug_jobs_succeeded_total", handler="held") == 3
    finally:
        await drop_redis(redis_server, namespace)
