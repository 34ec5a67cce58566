"""The OpenTelemetry plugin: a span per job, trace context carried from producer to worker."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from jobplug import Job, Worker
from jobplug.ext.otel import META_KEY, TracingPlugin
from jobplug_memory import MemoryBroker


class Tracing:
    """A private tracer provider recording finished spans (the global one is left alone)."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.tracer = self.provider.get_tracer("test")

    def plugin(self) -> TracingPlugin:
        return TracingPlugin(tracer_provider=self.provider)

    def spans(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.exporter.get_finished_spans() if s.name == name]

    def one(self, name: str) -> ReadableSpan:
        found = self.spans(name)
        assert len(found) == 1, [s.name for s in self.exporter.get_finished_spans()]
        return found[0]


@pytest.fixture
def tracing() -> Iterator[Tracing]:
    t = Tracing()
    yield t
    t.provider.shutdown()


def assert_child(child: ReadableSpan, parent: ReadableSpan) -> None:
    assert child.context is not None and parent.context is not None
    assert child.context.trace_id == parent.context.trace_id
    assert child.parent is not None and child.parent.span_id == parent.context.span_id


def pair(tracing: Tracing, broker: MemoryBroker) -> tuple[Worker, Worker]:
    """A producer and a consumer with their own plugins, as two processes would have."""
    producer = Worker(broker, load_plugins=False, plugins=[tracing.plugin()])
    consumer = Worker(broker, load_plugins=False, plugins=[tracing.plugin()], fetch_timeout=0.05)
    return producer, consumer


async def test_one_trace_from_request_to_handler(tracing: Tracing) -> None:
    broker = MemoryBroker()
    producer, consumer = pair(tracing, broker)

    @consumer.handler("send_email")
    async def send_email(args: dict[str, Any]) -> None:
        with tracing.tracer.start_as_current_span("smtp"):
            pass

    job = Job("send_email", {"to": "a@example.com"})
    with tracing.tracer.start_as_current_span("POST /signup"):
        await producer.perform(job)
    assert set(job.meta[META_KEY]) >= {"traceparent"}
    decoded = Job.decode(job.encode())  # the context is an extra JSON field of the job
    assert decoded.meta[META_KEY] == job.meta[META_KEY]
    async with consumer:
        await broker.join(timeout=5)

    request, publish = tracing.one("POST /signup"), tracing.one("publish send_email")
    process, smtp = tracing.one("process send_email"), tracing.one("smtp")
    assert_child(publish, request)
    assert_child(process, publish)
    assert_child(smtp, process)  # the handler's own spans nest under the job's
    assert publish.kind is SpanKind.PRODUCER and process.kind is SpanKind.CONSUMER
    assert process.attributes is not None
    assert process.attributes["messaging.message.id"] == job.id
    assert process.attributes["messaging.destination.name"] == "send_email"
    assert process.status.status_code is StatusCode.UNSET


async def test_inline_mode_gives_the_caller_its_context_back(tracing: Tracing) -> None:
    worker = Worker(MemoryBroker("memory://?mode=inline"), load_plugins=False)
    worker.plugin_manager.register(tracing.plugin())
    worker.register("x", lambda args: None)
    with tracing.tracer.start_as_current_span("request") as request:
        await worker.perform(Job("x"))  # runs here, in this task
        assert trace.get_current_span() is request
    assert_child(tracing.one("process x"), tracing.one("publish x"))
    assert_child(tracing.one("publish x"), tracing.one("request"))


async def test_each_try_is_a_span_and_failures_are_errors(tracing: Tracing) -> None:
    broker = MemoryBroker()
    producer, consumer = pair(tracing, broker)
    tries: list[int] = []

    @consumer.handler("charge", backoff=lambda job: 0.01)
    def charge(args: dict[str, Any]) -> None:
        tries.append(1)
        if len(tries) == 1:
            raise RuntimeError("card declined")

    with tracing.tracer.start_as_current_span("checkout"):
        await producer.perform(Job("charge"))
    async with consumer:
        await broker.join(timeout=5, include_scheduled=True)

    publish = tracing.one("publish charge")
    first, second = tracing.spans("process charge")
    assert_child(first, publish)
    assert_child(second, publish)
    assert first.status.status_code is StatusCode.ERROR
    assert [e.name for e in first.events] == ["exception"]
    assert first.attributes is not None and "jobplug.retry_at" in first.attributes
    assert second.status.status_code is StatusCode.UNSET
    assert second.attributes is not None and second.attributes["jobplug.fails"] == 1


async def test_dead_job_span_has_the_reason(tracing: Tracing) -> None:
    broker = MemoryBroker()
    producer, consumer = pair(tracing, broker)

    def always(args: dict[str, Any]) -> None:
        raise ValueError("nope")

    consumer.register("doomed", always, max_fails=1)
    await producer.perform(Job("doomed"))
    async with consumer:
        await broker.join(timeout=5)
    span = tracing.one("process doomed")
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "ValueError: nope"
    assert span.attributes is not None and span.attributes["jobplug.dead"] is True


@pytest.mark.parametrize("meta", [{}, {META_KEY: "garbage"}, {META_KEY: {"traceparent": "x"}}])
async def test_jobs_without_a_usable_context_start_a_new_trace(
    tracing: Tracing, meta: dict[str, Any]
) -> None:
    broker = MemoryBroker()
    plain = Worker(broker, load_plugins=False)  # a producer without tracing (or a Go one)
    consumer = Worker(broker, load_plugins=False, plugins=[tracing.plugin()], fetch_timeout=0.05)
    consumer.register("x", lambda args: None)
    job = Job("x")
    job.meta.update(meta)
    await plain.perform(job)
    async with consumer:
        await broker.join(timeout=5)
    span = tracing.one("process x")
    assert span.parent is None
    assert span.status.status_code is StatusCode.UNSET


async def test_trace_propagates_across_a_redis_round_trip(
    tracing: Tracing, redis_server: str, namespace: str, drop_redis: Any
) -> None:
    url = f"{redis_server}/0?namespace={namespace}"
    producer = Worker(url=url, load_plugins=False, plugins=[tracing.plugin()])
    consumer = Worker(url=url, load_plugins=False, plugins=[tracing.plugin()], fetch_timeout=0.1)
    ran = asyncio.Event()

    @consumer.handler("send_email")
    async def send_email(args: dict[str, Any]) -> None:
        with tracing.tracer.start_as_current_span("smtp"):
            ran.set()

    try:
        with tracing.tracer.start_as_current_span("POST /signup"):
            await producer.perform(Job("send_email", {"to": "a@example.com"}))
        stored = await _raw_jobs(redis_server, f"{namespace}:jobs:send_email")
        assert len(stored) == 1  # gocraft's job JSON, plus one extra field
        assert {"name", "id", "t", "args", META_KEY} == set(stored[0])
        assert stored[0][META_KEY]["traceparent"].startswith("00-")
        async with consumer:
            await asyncio.wait_for(ran.wait(), 10)
    finally:
        await producer.stop()
        await drop_redis(redis_server, namespace)

    request, publish = tracing.one("POST /signup"), tracing.one("publish send_email")
    process, smtp = tracing.one("process send_email"), tracing.one("smtp")
    assert_child(publish, request)
    assert_child(process, publish)
    assert_child(smtp, process)


async def _raw_jobs(redis_url: str, key: str) -> list[dict[str, Any]]:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis_url)
    try:
        return [json.loads(raw) for raw in await client.lrange(key, 0, -1)]
    finally:
        await client.aclose()
