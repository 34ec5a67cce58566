"""The dashboard on RabbitMQ: what AMQP can list works, the rest is said, never a failure."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from jobplug import Broker, Job
from jobplug.errors import UnknownSchemeError
from jobplug.registry import broker_class, broker_from_url


@pytest.fixture
async def amqp_broker(request: pytest.FixtureRequest, namespace: str) -> AsyncIterator[Broker]:
    try:
        broker_class("amqp://")
    except UnknownSchemeError:
        pytest.skip("the AMQP adapter is not installed")
    server = request.getfixturevalue("amqp_server")
    broker = broker_from_url(f"{server}?namespace={namespace}")
    try:
        yield broker
    finally:
        await broker.unsubscribe()
        await broker.close()
        await broker.delete_topology()  # type: ignore[attr-defined]


async def test_dashboard_on_amqp(amqp_broker: Broker, fill_backend: Any, make_client: Any) -> None:
    filled = await fill_backend(amqp_broker, dead=3)
    await amqp_broker.unsubscribe()  # nothing prefetched: queue depths are exact
    await amqp_broker.enqueue([Job(filled.handler, {"n": "ready"})])
    async with make_client(amqp_broker) as client:

        async def depth() -> int:
            queues = {q["job_name"]: q for q in (await client.get("/queues")).json()}
            return int(queues[filled.handler]["count"])

        assert await depth() == 1
        dead = (await client.get("/dead_jobs")).json()
        assert dead["count"] == 3 and {j["id"] for j in dead["jobs"]} == {j.id for j in filled.dead}
        first, second, _ = dead["jobs"]
        retried = await client.post(f"/retry_dead_job/{first['died_at']}/{first['id']}")
        assert retried.json() == {"status": "ok"}
        assert await depth() == 2
        deleted = await client.post(f"/delete_dead_job/{second['died_at']}/{second['id']}")
        assert deleted.json() == {"status": "ok"}
        missing = await client.post(f"/delete_dead_job/{second['died_at']}/{second['id']}")
        assert missing.status_code == 404
        assert (await client.get("/dead_jobs")).json()["count"] == 1
        assert (await client.post("/retry_all_dead_jobs")).json()["status"] == "ok"
        assert await depth() == 3
        assert (await client.post("/delete_all_dead_jobs")).json()["status"] == "ok"
        assert (await client.get("/dead_jobs")).json() == {"count": 0, "jobs": []}

        # what AMQP cannot list or do: a clear 501 in the API, a notice on the page
        for path in ("/worker_pools", "/busy_workers", "/scheduled_jobs", "/retry_jobs"):
            response = await client.get(path)
            assert response.status_code == 501 and "AmqpBroker" in response.json()["error"]
        assert (await client.post(f"/pause/{filled.handler}")).status_code == 501
        for path, what in [
            ("/ui/processes", "worker pools"),
            ("/ui/scheduled", "scheduled jobs"),
            ("/ui/retry", "retry jobs"),
        ]:
            page = await client.get(path)
            assert page.status_code == 200 and f"This backend cannot list {what}." in page.text
        for path in ("/ui/queues", "/ui/dead"):
            page = await client.get(path)
            assert page.status_code == 200 and "cannot list" not in page.text
        stats = (await client.get("/stats")).json()
        assert stats == {"queued": 3, "busy": None, "scheduled": None, "retry": None, "dead": 0}


async def test_queues_page_on_amqp_has_no_pause_and_an_unknown_latency(
    amqp_broker: Broker, make_client: Any
) -> None:
    await amqp_broker.enqueue([Job("send_email", {"n": 1})])
    async with make_client(amqp_broker) as client:
        page = (await client.get("/ui/queues")).text
        assert '<tr data-handler="send_email">' in page
        assert "/pause/" not in page and ">Pause<" not in page  # AMQP cannot pause
        assert '<td class="num" data-field="latency"' in page
        latency = page.split('data-field="latency"', 1)[1].split("</td>", 1)[0]
        assert "unknown" in latency and "0 s" not in latency
        (queue,) = (await client.get("/queues")).json()
        assert queue["count"] == 1 and queue["latency"] is None


async def test_a_dashboard_that_knows_no_handler_says_how_to_name_them(
    amqp_broker: Broker, make_client: Any, namespace: str
) -> None:
    await amqp_broker.enqueue([Job("send_email", {"n": 1})])  # a job waits
    viewer = broker_from_url(amqp_broker.url)  # another process: knows no handler
    try:
        async with make_client(viewer) as client:
            page = (await client.get("/ui/queues")).text
            assert "No queues yet" not in page
            assert "?handlers=" in page
            response = await client.get("/queues")
            assert response.status_code == 501 and "?handlers=" in response.json()["error"]
            assert (await client.get("/stats")).json()["queued"] is None
        shown = broker_from_url(f"{amqp_broker.url}&handlers=send_email")
        async with make_client(shown) as client:
            page = (await client.get("/ui/queues")).text
            assert '<tr data-handler="send_email">' in page
        await shown.close()
    finally:
        await viewer.close()
