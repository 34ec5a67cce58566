"""``jobplug inspect|retry-dead|pause|unpause`` on a shared named memory broker."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

import pytest

from jobplug import ConsumerConfig, Delivery, HandlerSpec, Job
from jobplug.broker import Broker
from jobplug.cli import inspect as inspect_cli
from jobplug.errors import BrokerConnectionError
from jobplug.inspect import BusyWorker, PoolInfo
from jobplug_memory import MemoryBroker
from jobplug_memory.inspector import MemoryInspector

from .conftest import row, run

NOW = datetime.now(timezone.utc)


@pytest.fixture(autouse=True)
def _fresh_now() -> None:
    """Times in the tables are relative to the real clock: take NOW when each test starts."""
    global NOW
    NOW = datetime.now(timezone.utc)


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


def test_brackets_in_job_data_are_text_not_markup(url: str) -> None:
    broker = shared(url)

    async def go() -> None:
        await broker.enqueue([Job("h[red]", {"k": "[bold]v[/bold]"})])
        await broker.subscribe(ConsumerConfig({"h[red]": HandlerSpec("h[red]")}, concurrency=1))
        (delivery,) = await broker.fetch(1, 0)
        delivery.job.last_error = "bad [bold]x[/bold]"
        await broker.bury(delivery)
        await broker.unsubscribe()

    asyncio.run(go())
    out = run("inspect", "dead", "--url", url).output
    assert "bad [bold]x[/bold]" in out and "h[red]" in out, out
    assert "[bold]v[/bold]" in out, out


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


def test_a_latency_the_backend_cannot_tell_reads_unknown() -> None:
    from jobplug.cli import render
    from jobplug.inspect import QueueInfo

    assert render.latency(QueueInfo("a", 3, None)) == "unknown"
    assert render.latency(QueueInfo("a", 0, 0.0)) == "-"
    assert render.latency(QueueInfo("a", 2, 200.0)) == "3m 20s"
