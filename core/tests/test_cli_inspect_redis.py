"""``jobplug inspect``/``retry-dead``/``pause`` against real Redis data in gocraft/work's
wire format, written here by hand (skipped unless the redis:// adapter is installed)."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import row, run


@pytest.fixture
def redis_url(redis_server: str, namespace: str) -> Iterator[str]:
    from jobplug.registry import installed_adapters

    if "redis" not in installed_adapters():
        pytest.skip("the redis:// adapter (jobplug-redis) is not installed")
    yield f"{redis_server}/0?namespace={namespace}"
    import redis

    client = redis.Redis.from_url(redis_server)
    keys = list(client.scan_iter(match=f"{namespace}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def _redis(redis_url: str) -> Any:
    import redis

    return redis.Redis.from_url(redis_url.split("?")[0])


def _gocraft(name: str, job_id: str, t: int, **extra: Any) -> str:
    fields = {"name": name, "id": job_id, "t": t, "args": {"n": 1}, **extra}
    return json.dumps(fields, separators=(",", ":"))


def test_redis_queues_and_pause(redis_url: str, namespace: str) -> None:
    r, ns, t = _redis(redis_url), f"{namespace}:", int(time.time()) - 3 * 3600
    r.sadd(f"{ns}known_jobs", "send_email")
    r.lpush(f"{ns}jobs:send_email", _gocraft("send_email", "a" * 24, t))
    r.lpush(f"{ns}jobs:send_email", _gocraft("send_email", "b" * 24, t + 60))
    assert run("pause", "send_email", "--url", redis_url).exit_code == 0
    assert r.exists(f"{ns}jobs:send_email:paused")
    (queue,) = json.loads(run("inspect", "queues", "--url", redis_url, "--json").output)
    assert (queue["handler"], queue["count"], queue["paused"]) == ("send_email", 2, True)
    assert 3 * 3600 - 5 < queue["latency"] < 3 * 3600 + 60
    assert run("unpause", "send_email", "--url", redis_url).exit_code == 0
    assert not r.exists(f"{ns}jobs:send_email:paused")
    table = run("inspect", "queues", "--url", redis_url).output
    assert re.search(r"│\s{4}2 │\s+3h", row(table, "send_email")), table


def test_redis_dead_page_and_retry_dead(redis_url: str, namespace: str) -> None:
    r, ns, died = _redis(redis_url), f"{namespace}:", int(time.time()) - 60
    r.sadd(f"{ns}known_jobs", "flaky")
    members = {
        _gocraft("flaky", f"{i:024x}", died - 100, fails=4, err=f"boom {i}", failed_at=died + i): (
            died + i
        )
        for i in range(25)
    }
    r.zadd(f"{ns}dead", members)
    page = json.loads(run("inspect", "dead", "--url", redis_url, "--json", "--page", "2").output)
    assert (page["page"], page["total"], len(page["jobs"])) == (2, 25, 5)
    first = json.loads(run("inspect", "dead", "--url", redis_url, "--json").output)["jobs"][0]
    assert first["name"] == "flaky" and first["fails"] == 4 and first["err"].startswith("boom")
    target = f"{3:024x}"
    one = run("retry-dead", target, "--at", str(died + 3), "--url", redis_url)
    assert one.exit_code == 0, one.output
    assert r.zcard(f"{ns}dead") == 24
    (queued,) = [json.loads(m) for m in r.lrange(f"{ns}jobs:flaky", 0, -1)]
    assert queued["id"] == target and "fails" not in queued
    assert run("retry-dead", "--all", "--url", redis_url).output.strip() == "retried 24 dead jobs"
    assert r.zcard(f"{ns}dead") == 0 and r.llen(f"{ns}jobs:flaky") == 25
    missing = run("retry-dead", target, "--url", redis_url)
    assert missing.exit_code == 1 and "JobNotFoundError" in missing.output


def test_redis_scheduled_and_retry_pages(redis_url: str, namespace: str) -> None:
    r, ns, at = _redis(redis_url), f"{namespace}:", int(time.time()) + 3 * 3600 + 30
    r.zadd(f"{ns}scheduled", {_gocraft("report", f"{i:024x}", at - 10): at for i in range(3)})
    r.zadd(f"{ns}retry", {_gocraft("flaky", "c" * 24, at - 10, fails=1, err="x"): at})
    scheduled = run("inspect", "scheduled", "--url", redis_url)
    assert "(in 3h)" in row(scheduled.output, "report") and "3 jobs" in scheduled.output
    (retry,) = json.loads(run("inspect", "retry", "--url", redis_url, "--json").output)["jobs"]
    assert (retry["retry_at"], retry["err"], retry["fails"]) == (at, "x", 1)


def test_redis_pools_and_busy_from_gocraft_heartbeats(redis_url: str, namespace: str) -> None:
    r, ns, now = _redis(redis_url), f"{namespace}:", int(time.time())
    pool_id = "e" * 24
    r.sadd(f"{ns}worker_pools", pool_id)
    heartbeat = {
        "heartbeat_at": now - 2,
        "started_at": now - 7500,
        "job_names": "report,resize",
        "concurrency": 10,
        "worker_ids": "aaa,bbb",
        "host": "go-host",
        "pid": 4242,
    }
    r.hset(f"{ns}worker_pools:{pool_id}", mapping=heartbeat)
    observation = {"job_name": "resize", "job_id": "d" * 24, "started_at": now - 75}
    r.hset(f"{ns}worker:aaa", mapping={**observation, "args": '{"w":640}'})
    (pool,) = json.loads(run("inspect", "pools", "--url", redis_url, "--json").output)
    assert (pool["pool_id"], pool["host"], pool["pid"], pool["concurrency"]) == (
        pool_id,
        "go-host",
        4242,
        10,
    )
    assert pool["handlers"] == ["report", "resize"] and pool["heartbeat_at"] == now - 2
    table = run("inspect", "pools", "--url", redis_url).output
    assert re.search(r"│\s+4242 │\s+10 │ report, resize │\s+2h 5m ago │", row(table, "go-host"))
    (busy,) = json.loads(run("inspect", "busy", "--url", redis_url, "--json").output)
    assert (busy["worker_id"], busy["pool_id"], busy["started_at"]) == ("aaa", pool_id, now - 75)
    assert busy["job"]["name"] == "resize" and busy["job"]["args"] == {"w": 640}
    since = row(run("inspect", "busy", "--url", redis_url).output, "aaa")
    assert re.search(r"│ \{\"w\": 640\} │\s+1m 1\ds ago │", since), since  # allow slow runs


def test_redis_unreachable_is_one_redacted_line() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    from jobplug.registry import installed_adapters

    if "redis" not in installed_adapters():
        pytest.skip("the redis:// adapter (jobplug-redis) is not installed")
    result = run("inspect", "queues", "--url", f"redis://:pw123@127.0.0.1:{port}/0")
    assert result.exit_code == 1
    assert "BrokerConnectionError" in result.output and "pw123" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_redis_dead_shows_args_as_stored_and_prints_characters(
    redis_url: str, namespace: str
) -> None:
    r, ns, died = _redis(redis_url), f"{namespace}:", int(time.time()) - 60
    go_nil = json.dumps({"name": "ping", "id": "1" * 24, "t": died - 5, "args": None})
    accented = _gocraft("greet", "2" * 24, died - 5, args={"city": "Zürich"}, err="é")
    r.zadd(f"{ns}dead", {go_nil: died, accented: died - 1})
    jobs = json.loads(run("inspect", "dead", "--url", redis_url, "--json").output)["jobs"]
    by_id = {job["id"]: job for job in jobs}
    assert by_id["1" * 24]["args"] is None  # as a Go producer wrote it, not {}
    assert by_id["2" * 24]["args"] == {"city": "Zürich"}
    table = run("inspect", "dead", "--url", redis_url).output
    assert '{"city": "Zürich"}' in row(table, "greet"), table
    assert "\\u00fc" not in table


def test_redis_dead_job_detail_shows_the_traceback(redis_url: str) -> None:
    import asyncio

    import jobplug

    def render_invoice(args: dict[str, Any]) -> None:
        raise ValueError(f"no template for {args['lang']}")

    async def fail_once() -> str:
        worker = jobplug.Worker(url=redis_url, load_plugins=False)
        worker.register("invoice", render_invoice, max_fails=1)
        job = jobplug.Job("invoice", {"lang": "xx"})
        async with worker:
            await worker.perform(job)
            inspector = worker.broker.inspector()
            deadline = time.monotonic() + 10
            while not (await inspector.dead()).total:
                assert time.monotonic() < deadline, "the job never died"
                await asyncio.sleep(0.02)
        return job.id

    job_id = asyncio.run(fail_once())
    shown = run("inspect", "dead", job_id, "--url", redis_url)
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0] == f"Dead job {job_id}"
    assert "  Error:     ValueError: no template for xx" in lines
    assert "Traceback (most recent call last):" in lines
    assert "    raise ValueError(f\"no template for {args['lang']}\")" in lines
    assert lines[-1] == "ValueError: no template for xx"
    data = json.loads(run("inspect", "dead", job_id, "--url", redis_url, "--json").output)
    assert data["err"] == "ValueError: no template for xx"
    assert data["err_traceback"].endswith("ValueError: no template for xx")
    missing = run("inspect", "dead", "f" * 24, "--url", redis_url)
    assert missing.exit_code == 1 and "no job 'ffffffffffffffffffffffff'" in missing.output
