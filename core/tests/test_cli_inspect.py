"""``jobplug inspect|retry-dead|pause|unpause`` on a shared named memory broker."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from click.testing import CliRunner, Result

from jobplug import ConsumerConfig, Delivery, HandlerSpec, Job
from jobplug.broker import Broker
from jobplug.cli import cli
from jobplug.cli import inspect as inspect_cli
from jobplug.errors import BrokerConnectionError
from jobplug.inspect import BusyWorker, PoolInfo
from jobplug_memory import MemoryBroker
from jobplug_memory.inspector import MemoryInspector

NOW = datetime.now(timezone.utc)


@pytest.fixture(autouse=True)
def _fresh_now() -> None:
    """Times in the tables are relative to the real clock: take NOW when each test starts."""
    global NOW
    NOW = datetime.now(timezone.utc)


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "220", **(env or {})})


@pytest.fixture
def url() -> str:
    return f"memory://cli-{uuid.uuid4().hex[:10]}"


def shared(url: str) -> MemoryBroker:
    broker = MemoryBroker.from_url(url)
    assert isinstance(broker, MemoryBroker)
    return broker


def fill(url: str, *, ready: int = 0, dead: int = 0, retry: int = 0, scheduled: int = 0) -> None:
    """Put jobs in every state through the broker's own API, as a worker would."""
    broker = shared(url)

    async def go() -> None:
        old = NOW - timedelta(hours=3)
        await broker.enqueue([Job("send_email", {"n": i}, enqueued_at=old) for i in range(ready)])
        later = NOW + timedelta(hours=3, seconds=30)
        await broker.enqueue([Job("report", {"n": i}) for i in range(scheduled)], at=later)
        failing = [Job("flaky", {"n": i}) for i in range(dead + retry)]
        await broker.enqueue(failing)
        await broker.subscribe(ConsumerConfig({"flaky": HandlerSpec("flaky")}, concurrency=1))
        deliveries = await broker.fetch(dead + retry, 0)
        for index, delivery in enumerate(deliveries):
            job = delivery.job
            job.fails, job.last_error = 4, f"boom {index}"
            job.failed_at = NOW - timedelta(minutes=index)
            if index < dead:
                await broker.bury(delivery)
            else:
                await broker.retry(delivery, NOW + timedelta(hours=3, seconds=30))
        await broker.unsubscribe()

    asyncio.run(go())


def row(output: str, text: str) -> str:
    return next(line for line in output.splitlines() if text in line)


# -- inspect -------------------------------------------------------------------------------


def test_queues_table_right_aligns_numbers_and_shows_latency(url: str) -> None:
    fill(url, ready=3)
    asyncio.run(shared(url).pause("send_email"))
    result = run("inspect", "queues", "--url", url)
    assert result.exit_code == 0, result.output
    line = row(result.output, "send_email")
    assert re.search(r"│\s{4}3 │\s+3h │ paused", line), line
    assert "Handler" in result.output and "Latency" in result.output


def test_queues_json(url: str) -> None:
    fill(url, ready=2)
    result = run("inspect", "queues", "--url", url, "--json")
    assert result.exit_code == 0, result.output
    (queue,) = json.loads(result.output)
    assert queue["handler"] == "send_email" and queue["count"] == 2
    assert queue["paused"] is False and 3 * 3600 - 5 < queue["latency"] < 3 * 3600 + 60


def test_worker_url_is_the_default(url: str) -> None:
    fill(url, ready=1)
    result = run("inspect", "queues", "--json", env={"WORKER_URL": url})
    assert [q["handler"] for q in json.loads(result.output)] == ["send_email"]


def test_dead_pages_newest_first_with_errors(url: str) -> None:
    fill(url, dead=25)
    first = run("inspect", "dead", "--url", url)
    assert first.exit_code == 0, first.output
    assert "Died at" in first.output and "page 1 of 2 (25 jobs)" in first.output
    assert "boom 0" in first.output and "boom 19" in first.output
    assert "boom 20" not in first.output
    assert re.search(r"│\s+4 │ boom 0 ", row(first.output, "boom 0 ")), first.output
    assert "ago)" in row(first.output, "boom 3 ")

    second = run("inspect", "dead", "--url", url, "--page", "2", "--json")
    data = json.loads(second.output)
    assert (data["page"], data["page_size"], data["total"]) == (2, 20, 25)
    assert [j["err"] for j in data["jobs"]] == [f"boom {i}" for i in range(20, 25)]
    job = data["jobs"][0]
    assert list(job)[:3] == ["died_at", "name", "id"]
    assert job["name"] == "flaky" and job["fails"] == 4 and isinstance(job["died_at"], int)

    past = run("inspect", "dead", "--url", url, "--page", "3")
    assert past.exit_code == 0 and "page 3 is empty" in past.output
    assert run("inspect", "dead", "--url", url, "--page", "0").exit_code == 2


def test_scheduled_and_retry_show_relative_run_times(url: str) -> None:
    fill(url, scheduled=2, retry=1)
    scheduled = run("inspect", "scheduled", "--url", url)
    assert scheduled.exit_code == 0, scheduled.output
    assert "Run at" in scheduled.output and "(in 3h)" in row(scheduled.output, "report")
    assert "page 1 of 1 (2 jobs)" in scheduled.output
    retry = run("inspect", "retry", "--url", url, "--json")
    (job,) = json.loads(retry.output)["jobs"]
    assert job["name"] == "flaky" and job["err"] == "boom 0" and "retry_at" in job


def test_empty_sets_say_so(url: str) -> None:
    for what, message in [
        ("queues", "no queues"),
        ("pools", "no worker pools"),
        ("busy", "no busy workers"),
        ("scheduled", "no scheduled jobs"),
        ("retry", "no retry jobs"),
        ("dead", "no dead jobs"),
    ]:
        result = run("inspect", what, "--url", url)
        assert result.exit_code == 0 and message in result.output, (what, result.output)
        assert run("inspect", what, "--url", url, "--json").exit_code == 0


def test_pools_and_busy_tables(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    broker = shared(url)
    started = NOW - timedelta(hours=2, minutes=5)
    job = Job("resize", {"w": 640}, id="f" * 24)

    class Fleet(MemoryInspector):  # the memory broker has one process: show a fleet
        async def pools(self) -> list[PoolInfo]:
            return [
                PoolInfo(
                    "p" * 24,
                    "web-1",
                    4242,
                    started,
                    NOW - timedelta(seconds=3),
                    16,
                    ("report", "resize"),
                    ("w1", "w2"),
                ),
            ]

        async def busy(self) -> list[BusyWorker]:
            return [BusyWorker("w1", "p" * 24, job, NOW - timedelta(seconds=75))]

    monkeypatch.setattr(broker, "inspector", lambda: Fleet(broker))
    pools = run("inspect", "pools", "--url", url)
    line = row(pools.output, "web-1")
    assert re.search(r"│\s+4242 │\s+16 │ report, resize │\s+2h 5m ago │\s+3s ago │", line), line
    (pool,) = json.loads(run("inspect", "pools", "--url", url, "--json").output)
    assert pool["handlers"] == ["report", "resize"] and pool["worker_ids"] == ["w1", "w2"]
    assert pool["started_at"] == int(started.timestamp())
    busy = run("inspect", "busy", "--url", url)
    assert re.search(r"│ w1 .* resize .* \{\"w\": 640\} │\s+1m 1\ds ago │", row(busy.output, "w1"))
    (worker,) = json.loads(run("inspect", "busy", "--url", url, "--json").output)
    assert worker["job"]["id"] == "f" * 24 and worker["job"]["args"] == {"w": 640}


# -- control -------------------------------------------------------------------------------


def test_retry_dead_one_then_all(url: str) -> None:
    fill(url, dead=3)
    broker = shared(url)
    victim = broker.dead[0].job.id
    one = run("retry-dead", victim, "--url", url)
    assert one.exit_code == 0 and f"retried dead job {victim}" in one.output
    assert len(broker.dead) == 2 and [j.id for j in broker.ready["flaky"]] == [victim]
    rest = run("retry-dead", "--all", "--url", url)
    assert rest.exit_code == 0 and "retried 2 dead jobs" in rest.output
    assert not broker.dead and len(broker.ready["flaky"]) == 3


def test_retry_dead_accepts_the_time_it_died(url: str) -> None:
    fill(url, dead=1)
    record = shared(url).dead[0]
    epoch = str(int(record.at.timestamp()))
    assert run("retry-dead", record.job.id, "--at", epoch, "--url", url).exit_code == 0
    bad = run("retry-dead", record.job.id, "--at", "2024-01-01T00:00:00", "--url", url)
    assert bad.exit_code == 1 and "no UTC offset" in bad.output


def test_retry_dead_needs_an_id_or_all(url: str) -> None:
    assert run("retry-dead", "--url", url).exit_code == 2
    assert run("retry-dead", "abc", "--all", "--url", url).exit_code == 2


def test_unknown_dead_job_is_one_clear_line(url: str) -> None:
    result = run("retry-dead", "nope", "--url", url)
    assert result.exit_code == 1
    assert result.output.strip() == "Error: JobNotFoundError: no dead job with id 'nope'"


def test_pause_and_unpause(url: str) -> None:
    broker = shared(url)
    assert run("pause", "send_email", "--url", url).output.strip() == "paused send_email"
    assert broker.paused == {"send_email"}
    assert run("unpause", "send_email", "--url", url).output.strip() == "unpaused send_email"
    assert broker.paused == set()


# -- errors --------------------------------------------------------------------------------


def test_unknown_scheme_is_one_redacted_line() -> None:
    result = run("inspect", "queues", "--url", "nope://admin:s3cret@host/0")
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1
    assert "UnknownSchemeError" in result.output and "s3cret" not in result.output
    assert "Traceback" not in result.output


class _Stub(Broker):
    """A broker without the inspect capability, or one that cannot reach its backend."""

    behaviour = "plain"

    async def connect(self) -> None:
        if self.behaviour == "refused":
            raise ConnectionRefusedError(111, f"Connection refused ({self.url})")
        if self.behaviour == "wrapped":
            raise BrokerConnectionError(f"cannot connect to {self.url}")
        if self.behaviour == "hang":
            await asyncio.Event().wait()

    async def close(self) -> None:
        pass

    async def enqueue(self, jobs: Sequence[Job], at: datetime | None = None) -> None:
        pass

    async def subscribe(self, config: ConsumerConfig) -> None:
        pass

    async def fetch(self, max_jobs: int, timeout: float) -> list[Delivery]:
        return []

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        pass

    async def retry(self, delivery: Delivery, at: datetime) -> None:
        pass

    async def bury(self, delivery: Delivery) -> None:
        pass

    async def release(self, deliveries: Sequence[Delivery]) -> None:
        pass

    async def unsubscribe(self) -> None:
        pass


@pytest.mark.parametrize(
    ("behaviour", "args", "message"),
    [
        ("plain", ["inspect", "dead"], "CapabilityNotSupported: _Stub does not support 'inspect'"),
        ("plain", ["pause", "h"], "CapabilityNotSupported"),
        ("refused", ["inspect", "queues"], "BrokerConnectionError: cannot reach stub://u:***@h"),
        (
            "wrapped",
            ["retry-dead", "--all"],
            "BrokerConnectionError: cannot connect to stub://u:***",
        ),
        (
            "hang",
            ["inspect", "pools", "--timeout", "200ms"],
            "no answer from stub://u:***@h/0 within 0.2s",
        ),
    ],
)
def test_backend_errors_are_one_redacted_line(
    monkeypatch: pytest.MonkeyPatch, behaviour: str, args: list[str], message: str
) -> None:
    monkeypatch.setattr(_Stub, "behaviour", behaviour)
    monkeypatch.setattr(inspect_cli, "broker_from_url", _Stub)
    result = run(*args, "--url", "stub://u:pw123@h/0")
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "pw123" not in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


# -- against Redis (gocraft/work's wire format, written here by hand) ----------------------


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
    r, ns, t = _redis(redis_url), f"{namespace}:", int(NOW.timestamp()) - 3 * 3600
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
    r, ns, died = _redis(redis_url), f"{namespace}:", int(NOW.timestamp()) - 60
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
    r, ns, at = _redis(redis_url), f"{namespace}:", int(NOW.timestamp()) + 3 * 3600 + 30
    r.zadd(f"{ns}scheduled", {_gocraft("report", f"{i:024x}", at - 10): at for i in range(3)})
    r.zadd(f"{ns}retry", {_gocraft("flaky", "c" * 24, at - 10, fails=1, err="x"): at})
    scheduled = run("inspect", "scheduled", "--url", redis_url)
    assert "(in 3h)" in row(scheduled.output, "report") and "3 jobs" in scheduled.output
    (retry,) = json.loads(run("inspect", "retry", "--url", redis_url, "--json").output)["jobs"]
    assert (retry["retry_at"], retry["err"], retry["fails"]) == (at, "x", 1)


def test_redis_pools_and_busy_from_gocraft_heartbeats(redis_url: str, namespace: str) -> None:
    r, ns, now = _redis(redis_url), f"{namespace}:", int(NOW.timestamp())
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
