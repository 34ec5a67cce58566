"""Server-rendered pages: content, escaping, paging, detail, and backends that cannot list."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from jobplug import Broker, Job
from jobplug.errors import BrokerError, CapabilityNotSupported
from jobplug.inspect import BusyWorker, Inspector, Page, PoolInfo
from jobplug.job import utcnow
from jobplug_memory.broker import MemoryBroker
from jobplug_memory.inspector import MemoryInspector

XSS_ARGS = {"html": "<script>alert('args')</script>", "attr": '" onmouseover="alert(1)'}
XSS_ERROR = "<img src=x onerror=alert('err')>"
PAGES = ["/ui/queues", "/ui/processes", "/ui/scheduled", "/ui/retry", "/ui/dead"]


def assert_escaped(html: str) -> None:
    assert "<script>alert" not in html and "<img src=x" not in html
    assert '" onmouseover="' not in html
    # every script tag on the page is our own external one
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/app.js" defer>']


async def test_every_page_renders(
    memory_broker: Broker, fill_backend: Any, make_client: Any
) -> None:
    await fill_backend(memory_broker, ready=3, scheduled=2, retry=2, dead=2)
    async with make_client(memory_broker) as client:
        home = await client.get("/")
        assert home.status_code == 307 and home.headers["location"] == "/ui/queues"
        for path in PAGES:
            response = await client.get(path)
            assert response.status_code == 200, path
            assert response.headers["content-type"].startswith("text/html")
            assert memory_broker.safe_url in response.text
        queues = (await client.get("/ui/queues")).text
        assert '<tr data-handler="send_email">' in queues
        assert '<td class="num" data-field="count">3</td>' in queues  # right-aligned numbers
        assert 'action="/pause/send_email?next=/ui/queues"' in queues
        dead = (await client.get("/ui/dead")).text
        # relative time, absolute on hover
        assert re.search(r'<time datetime="[\dT:-]+Z" title="[\d :-]+ UTC">just now</time>', dead)
        assert 'data-count="dead">2<' in dead
        assert "Retry all" in dead and "Delete all" in dead


async def test_job_args_and_errors_render_as_text(
    memory_broker: Broker, fill_backend: Any, make_client: Any
) -> None:
    for kind in ("dead", "retry", "scheduled"):
        await fill_backend(memory_broker, **{kind: 1}, args=XSS_ARGS, error=XSS_ERROR)
    async with make_client(memory_broker) as client:
        for kind in ("dead", "retry", "scheduled"):
            listing = (await client.get(f"/ui/{kind}")).text
            assert_escaped(listing)
            assert "&lt;script&gt;alert(&#39;args&#39;)&lt;/script&gt;" in listing
            if kind != "scheduled":
                assert "&lt;img src=x onerror=alert(&#39;err&#39;)&gt;" in listing
            link = re.search(rf'href="(/ui/job/{kind}/\d+/[0-9a-f]+)"', listing)
            assert link, listing
            detail = await client.get(link.group(1))
            assert detail.status_code == 200
            assert_escaped(detail.text)
            assert "&lt;script&gt;" in detail.text


async def test_paging_and_detail_lookup_beyond_the_first_page(
    memory_broker: Broker, fill_backend: Any, make_client: Any
) -> None:
    await fill_backend(memory_broker, dead=45)
    async with make_client(memory_broker) as client:
        first = (await client.get("/ui/dead")).text
        assert first.count("<tr data-job-id=") == 20
        assert 'page <span class="num">1</span> of <span class="num">3</span>' in first
        assert 'href="/ui/dead?page=2" rel="next"' in first
        last = (await client.get("/ui/dead?page=3")).text
        assert last.count("<tr data-job-id=") == 5
        assert 'rel="prev"' in last and 'rel="next"' not in last
        # forms on page 3 come back to page 3
        assert "next=/ui/dead%3Fpage%3D3" in last
        jobs = (await client.get("/dead_jobs", params={"page": 3})).json()["jobs"]
        # a detail link without the page hint is found by scanning
        found = await client.get(f"/ui/job/dead/{jobs[-1]['died_at']}/{jobs[-1]['id']}")
        assert found.status_code == 200 and jobs[-1]["id"] in found.text
        missing = await client.get("/ui/job/dead/1/ffffffffffffffffffffffff")
        assert missing.status_code == 404 and "Job not found" in missing.text
        assert (await client.get("/ui/job/nonsense/1/abc")).status_code == 404


async def test_job_detail_shows_everything(
    memory_broker: Broker, fill_backend: Any, make_client: Any
) -> None:
    filled = await fill_backend(memory_broker, dead=1, args={"to": "a@example.com", "n": [1, 2]})
    job = filled.dead[0]
    async with make_client(memory_broker) as client:
        item = (await client.get("/dead_jobs")).json()["jobs"][0]
        html = (await client.get(f"/ui/job/dead/{item['died_at']}/{job.id}")).text
        assert '<pre class="args">{\n  &#34;n&#34;: [\n    1,\n    2\n  ],' in html
        assert '<pre class="error">boom</pre>' in html
        assert "<dt>Fails</dt>" in html and ">4</dd>" in html
        assert f'action="/retry_dead_job/{item["died_at"]}/{job.id}?next=/ui/dead"' in html


async def test_job_detail_shows_the_traceback_as_text(
    backend: Broker, fill_backend: Any, make_client: Any
) -> None:
    tb = 'Traceback (most recent call last):\n  File "<app>", line 1, in <module>\nKeyError: 1'
    filled = await fill_backend(backend, dead=1, error="KeyError: 1", traceback=tb)
    async with make_client(backend) as client:
        item = (await client.get("/dead_jobs")).json()["jobs"][0]
        assert item["err"] == "KeyError: 1" and item["err_traceback"] == tb
        html = (await client.get(f"/ui/job/dead/{item['died_at']}/{filled.dead[0].id}")).text
    assert '<pre class="error">KeyError: 1</pre>' in html
    assert (
        '<h2>Traceback</h2>\n<pre class="traceback">Traceback (most recent call last):\n'
        "  File &#34;&lt;app&gt;&#34;, line 1, in &lt;module&gt;\nKeyError: 1</pre>"
    ) in html


async def test_flash_messages_are_fixed_texts(memory_broker: Broker, make_client: Any) -> None:
    async with make_client(memory_broker) as client:
        assert "Job queued again." in (await client.get("/ui/dead?done=retried")).text
        odd = (await client.get("/ui/dead?done=<b>hi</b>&failed=x")).text
        assert "hi" not in odd and 'class="flash' not in odd


class _Limited(MemoryInspector):
    """Like a RabbitMQ backend: queues yes, the sets and the processes no."""

    async def pools(self) -> list[PoolInfo]:
        raise CapabilityNotSupported("LimitedBroker", "inspect.pools")

    async def busy(self) -> list[BusyWorker]:
        raise CapabilityNotSupported("LimitedBroker", "inspect.busy")

    async def scheduled(self, page: int = 1) -> Page:
        raise CapabilityNotSupported("LimitedBroker", "inspect.scheduled")

    async def retries(self, page: int = 1) -> Page:
        raise CapabilityNotSupported("LimitedBroker", "inspect.retries")

    async def dead(self, page: int = 1) -> Page:
        raise CapabilityNotSupported("LimitedBroker", "inspect.dead")

    async def retry_all_dead(self) -> int:
        raise CapabilityNotSupported("LimitedBroker", "inspect.retry_all_dead")


class _Broken(MemoryInspector):
    async def queues(self) -> Any:
        raise BrokerError("backend unreachable at redis://***@db:6379")


def _broker_with(inspector: type[Inspector] | None) -> Broker:
    class Custom(MemoryBroker):
        def inspector(self) -> Inspector:
            if inspector is None:
                return super(MemoryBroker, self).inspector()  # Broker's: not supported
            return inspector(self)  # type: ignore[call-arg]

    return Custom("memory://")


async def test_what_a_backend_cannot_list_is_said_not_failed(make_client: Any) -> None:
    broker = _broker_with(_Limited)
    await broker.enqueue([Job("visible", {})])
    async with make_client(broker) as client:
        assert "visible" in (await client.get("/ui/queues")).text
        for path, what in [
            ("/ui/processes", "worker pools"),
            ("/ui/scheduled", "scheduled jobs"),
            ("/ui/retry", "retry jobs"),
            ("/ui/dead", "dead jobs"),
        ]:
            response = await client.get(path)
            assert response.status_code == 200
            assert f"This backend cannot list {what}" in response.text
        detail = await client.get("/ui/job/dead/1/abc")
        assert detail.status_code == 200 and "This backend cannot list dead jobs" in detail.text
        for path in ("/worker_pools", "/busy_workers", "/dead_jobs", "/retry_jobs"):
            response = await client.get(path)
            assert response.status_code == 501 and "error" in response.json()
        assert (await client.post("/retry_all_dead_jobs")).status_code == 501
        flagged = await client.post("/retry_all_dead_jobs", params={"next": "/ui/dead"})
        assert flagged.headers["location"] == "/ui/dead?failed=unsupported"
        stats = (await client.get("/stats")).json()
        assert stats == {"queued": 1, "busy": None, "scheduled": None, "retry": None, "dead": None}


async def test_a_backend_without_inspect(make_client: Any) -> None:
    async with make_client(_broker_with(None)) as client:
        page = await client.get("/ui/queues")
        assert page.status_code == 200 and "This backend cannot list queues" in page.text
        assert (await client.get("/queues")).status_code == 501
        assert (await client.get("/stats")).status_code == 501


async def test_backend_failure_is_shown_redacted_and_logged(
    make_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    async with make_client(_broker_with(_Broken)) as client:
        page = await client.get("/ui/queues")
        assert "Could not read queues: backend unreachable at redis://***@db:6379" in page.text
        api = await client.get("/queues")
        assert api.status_code == 500
        assert api.json() == {"error": "backend unreachable at redis://***@db:6379"}
    logged = [r.getMessage() for r in caplog.records if r.name == "jobplug.ui"]
    assert (
        logged == ["dashboard: the backend failed: backend unreachable at redis://***@db:6379"] * 2
    )


class _Busy(MemoryInspector):
    async def pools(self) -> list[PoolInfo]:
        now = utcnow()
        return [
            PoolInfo("pool1", "web-1", 4242, now - timedelta(hours=2), now, 8, ("a", "b"), ("w1",))
        ]

    async def busy(self) -> list[BusyWorker]:
        job = Job("a", XSS_ARGS)
        return [BusyWorker("w1", "pool1", job, utcnow() - timedelta(minutes=3))]


async def test_processes_page_and_busy_workers_json(make_client: Any) -> None:
    async with make_client(_broker_with(_Busy)) as client:
        html = (await client.get("/ui/processes")).text
        assert_escaped(html)
        assert "web-1" in html and '<td class="num">4242</td>' in html
        assert ">3 min ago</time>" in html and ">2 h ago</time>" in html
        busy = (await client.get("/busy_workers")).json()
        assert busy[0]["job_name"] == "a" and busy[0]["is_busy"] is True
        assert busy[0]["args_json"] == (
            '{"html":"<script>alert(\'args\')</script>","attr":"\\" onmouseover=\\"alert(1)"}'
        )
        pools = (await client.get("/worker_pools")).json()
        assert pools[0]["host"] == "web-1" and pools[0]["worker_ids"] == ["w1"]


@pytest.mark.parametrize("path", ["/static/app.js", "/static/style.css"])
async def test_static_assets(memory_broker: Broker, make_client: Any, path: str) -> None:
    async with make_client(memory_broker) as client:
        response = await client.get(path)
        assert response.status_code == 200 and len(response.content) > 500


async def test_pause_form_works_for_any_handler_name(
    memory_broker: Broker, fill_backend: Any, make_client: Any
) -> None:
    name = "reports/daily digest?#é"
    await fill_backend(memory_broker, name, ready=1)
    async with make_client(memory_broker) as client:
        html = (await client.get("/ui/queues")).text
        action = re.search(r'<form method="post" action="(/pause/[^"]+)"', html)
        assert action, html
        assert "?" not in action.group(1).split("?next=")[0] and "#" not in action.group(1)
        response = await client.post(action.group(1).replace("&amp;", "&"))
        assert response.status_code == 303
        assert response.headers["location"] == "/ui/queues?done=paused"
        queues = {q["job_name"]: q for q in (await client.get("/queues")).json()}
        assert queues[name]["paused"] is True
        assert "Resume" in (await client.get("/ui/queues")).text


async def test_job_detail_shows_args_as_stored(
    redis_server: str, namespace: str, drop_redis: Any, make_client: Any
) -> None:
    """A Go producer writes ``"args":null`` for nil args: the page shows null, not {}."""
    import json
    import time

    import redis.asyncio as aioredis

    from jobplug.registry import broker_from_url

    died = int(time.time()) - 60
    member = json.dumps({"name": "ping", "id": "1" * 24, "t": died - 5, "args": None})
    raw = aioredis.Redis.from_url(redis_server)
    await raw.zadd(f"{namespace}:dead", {member: died})
    await raw.aclose()
    broker = broker_from_url(f"{redis_server}/0?namespace={namespace}")
    try:
        async with make_client(broker) as client:
            html = (await client.get(f"/ui/job/dead/{died}/{'1' * 24}")).text
        assert '<pre class="args">null</pre>' in html, html
    finally:
        await broker.close()
        await drop_redis(f"{redis_server}/0", namespace)
