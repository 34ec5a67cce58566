"""The periodic enqueuer: Go's exact member bytes, its timing rule, and no doubled runs."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from datetime import datetime, timezone

import pytest
from redis.asyncio import Redis
from redis_test_servers import free_port

from jobplug import PeriodicSpec
from jobplug.errors import BrokerConnectionError, InvalidScheduleError
from jobplug_redis.cron import CronSchedule
from jobplug_redis.periodic import (
    enqueue_periodic,
    enqueue_periodic_if_due,
    go_json_string,
    last_enqueue_key,
    periodic_loop,
    periodic_member,
    run_times,
    scheduled_key,
    should_enqueue,
)

# gocraft/work's own periodic_enqueuer_test: now = 1468359453, these three specs
GO_NOW = 1468359453
GO_SPECS = [
    PeriodicSpec("foo", "0/29 * * * * *"),
    PeriodicSpec("bar", "3/49 * * * * *"),
    PeriodicSpec("baz", "* * * 2 * *"),
]
GO_EXPECTED = [
    ("bar", 1468359472),
    ("foo", 1468359478),
    ("foo", 1468359480),
    ("bar", 1468359483),
    ("foo", 1468359509),
    ("bar", 1468359532),
    ("foo", 1468359538),
    ("foo", 1468359540),
    ("bar", 1468359543),
    ("foo", 1468359569),
    ("bar", 1468359592),
    ("foo", 1468359598),
    ("foo", 1468359600),
    ("bar", 1468359603),
    ("foo", 1468359629),
    ("bar", 1468359652),
    ("foo", 1468359658),
    ("foo", 1468359660),
    ("bar", 1468359663),
    ("foo", 1468359689),
]
SPEC_OF = {"foo": "0/29 * * * * *", "bar": "3/49 * * * * *"}


def go_bytes(name: str, epoch: int) -> bytes:
    """The member as gocraft writes it, spelled out by hand (reference 2 and 4.9)."""
    spec = SPEC_OF[name]
    return (
        f'{{"name":"{name}","id":"periodic:{name}:{spec}:{epoch}","t":{epoch},"args":null}}'
    ).encode()


def dt(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc)


@pytest.fixture
async def client(redis_server: str, namespace: str) -> AsyncIterator[Redis]:
    r = Redis.from_url(redis_server)
    yield r
    keys = [k async for k in r.scan_iter(match=f"{namespace}:*")]
    if keys:
        await r.delete(*keys)
    await r.aclose()


@pytest.fixture
def prefix(namespace: str) -> str:
    return f"{namespace}:"


# -- exact bytes ---------------------------------------------------------------------------


def test_member_bytes_match_the_reference() -> None:
    assert periodic_member("calculate_caches", "0 0 * * * *", 1468360800) == (
        b'{"name":"calculate_caches","id":"periodic:calculate_caches:0 0 * * * *:1468360800",'
        b'"t":1468360800,"args":null}'
    )
    assert periodic_member("bar", "3/49 * * * * *", 1468359472) == (
        b'{"name":"bar","id":"periodic:bar:3/49 * * * * *:1468359472","t":1468359472,"args":null}'
    )


def test_member_bytes_use_go_string_escaping() -> None:
    member = periodic_member('a<b>&"c\\', "@every 1h", 5)
    assert member == (
        b'{"name":"a\\u003cb\\u003e\\u0026\\"c\\\\",'
        b'"id":"periodic:a\\u003cb\\u003e\\u0026\\"c\\\\:@every 1h:5","t":5,"args":null}'
    )
    json.loads(member)  # still plain JSON


@pytest.mark.parametrize(
    ("text", "go"),
    [
        ("caf\u00e9", '"caf\u00e9"'),  # non-ASCII stays raw UTF-8
        ("a\u2028b\u2029", '"a\\u2028b\\u2029"'),
        ("tab\tnl\n", '"tab\\tnl\\n"'),
        ("\x01", '"\\u0001"'),
        ("a/b", '"a/b"'),  # Go does not escape "/" (Lua cjson does)
    ],
)
def test_go_json_string(text: str, go: str) -> None:
    assert go_json_string(text) == go


def test_keys() -> None:
    assert scheduled_key("work:") == "work:scheduled"
    assert last_enqueue_key("work:") == "work:last_periodic_enqueue"
    assert scheduled_key("") == "scheduled"
    assert last_enqueue_key("") == "last_periodic_enqueue"


# -- timing --------------------------------------------------------------------------------


def test_run_times_use_a_strict_four_minute_horizon() -> None:
    every = CronSchedule.parse("@every 1m")
    assert run_times(every, 1000) == [1060, 1120, 1180]  # 1240 is not before the horizon
    assert run_times(CronSchedule.parse("@every 3m59s"), 1000) == [1239]
    assert run_times(CronSchedule.parse("@every 4m"), 1000) == []  # gocraft #35, kept
    assert run_times(CronSchedule.parse("* * * * * *"), 1000) == list(range(1001, 1240))


@pytest.mark.parametrize(
    ("last", "now", "expected"),
    [
        (None, 100, True),
        (100, 100, False),
        (100, 102, False),  # gocraft: last < now - 2 (seconds, not minutes)
        (100, 103, True),
        (GO_NOW + 1, GO_NOW + 1 + 2 + 10, True),  # gocraft's own test
    ],
)
def test_should_enqueue(last: int | None, now: int, expected: bool) -> None:
    assert should_enqueue(last, now) is expected
    assert should_enqueue(last, dt(now)) is expected


def test_should_enqueue_rejects_naive_now() -> None:
    with pytest.raises(InvalidScheduleError):
        should_enqueue(1, datetime(2024, 1, 1))


# -- against Redis -------------------------------------------------------------------------


async def test_gocraft_golden_run(client: Redis, prefix: str) -> None:
    added = await enqueue_periodic(client, prefix, GO_SPECS, now=dt(GO_NOW))
    assert added == 20
    rows = await client.zrange(f"{prefix}scheduled", 0, -1, withscores=True)
    assert [(m, int(s)) for m, s in rows] == [(go_bytes(n, e), e) for n, e in GO_EXPECTED]
    assert all(s == int(s) for _, s in rows)
    assert await client.get(f"{prefix}last_periodic_enqueue") == str(GO_NOW).encode()

    # a second run a second later adds nothing and moves last_periodic_enqueue
    assert await enqueue_periodic(client, prefix, GO_SPECS, now=dt(GO_NOW + 1)) == 0
    assert await client.zcard(f"{prefix}scheduled") == 20
    assert await client.get(f"{prefix}last_periodic_enqueue") == str(GO_NOW + 1).encode()


async def test_a_bad_spec_is_skipped_by_name_and_the_others_run(
    client: Redis, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    specs = [PeriodicSpec("ok", "* * * * * *"), PeriodicSpec("bad", "61 * * * *")]
    with caplog.at_level(logging.ERROR, logger="jobplug_redis.periodic"):
        assert await enqueue_periodic(client, prefix, specs, now=dt(GO_NOW)) == 239
    rows = await client.zrange(f"{prefix}scheduled", 0, -1)
    assert {json.loads(m)["name"] for m in rows} == {"ok"}
    [line] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "bad" in line.getMessage() and "'61 * * * *'" in line.getMessage()


async def test_no_specs_still_records_the_run(client: Redis, prefix: str) -> None:
    assert await enqueue_periodic(client, prefix, [], now=dt(GO_NOW)) == 0
    assert await client.get(f"{prefix}last_periodic_enqueue") == str(GO_NOW).encode()


async def test_a_go_peer_and_python_never_double_a_run(client: Redis, prefix: str) -> None:
    # a Go pool ran at GO_NOW: it wrote its members (hand-built bytes) and its timestamp
    go_members = {go_bytes(n, e): e for n, e in GO_EXPECTED}
    await client.zadd(f"{prefix}scheduled", go_members)  # type: ignore[arg-type]
    await client.set(f"{prefix}last_periodic_enqueue", GO_NOW)
    # Python pools run 1 s and 130 s later; their horizons overlap Go's
    assert await enqueue_periodic(client, prefix, GO_SPECS, now=dt(GO_NOW + 1)) == 0
    added = await enqueue_periodic(client, prefix, GO_SPECS, now=dt(GO_NOW + 130))
    rows = await client.zrange(f"{prefix}scheduled", 0, -1, withscores=True)
    runs = [(json.loads(m)["name"], int(s)) for m, s in rows]
    assert len(runs) == len(set(runs)) == 20 + added
    assert added == len([e for n, e in runs if e >= GO_NOW + 240])
    assert sorted(e for _, e in runs)[-1] < GO_NOW + 130 + 240


async def test_two_processes_at_once_never_double_a_run(
    client: Redis, prefix: str, redis_server: str
) -> None:
    # another OS process (as a second worker host would) and this one, concurrently
    code = textwrap.dedent(
        f"""
        import asyncio
        from datetime import datetime, timezone
        from jobplug import PeriodicSpec
        from jobplug_redis.periodic import enqueue_periodic
        from redis.asyncio import Redis

        async def main():
            r = Redis.from_url({redis_server!r})
            specs = [PeriodicSpec("tick", "*/7 * * * * *"), PeriodicSpec("hour", "@hourly")]
            now = datetime.fromtimestamp({GO_NOW + 5}, timezone.utc)
            print(await enqueue_periodic(r, {prefix!r}, specs, now=now))
            await r.aclose()

        asyncio.run(main())
        """
    )
    other = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    specs = [PeriodicSpec("tick", "*/7 * * * * *"), PeriodicSpec("hour", "@hourly")]
    mine = await asyncio.gather(
        *(enqueue_periodic(client, prefix, specs, now=dt(GO_NOW + d)) for d in (0, 3, 5))
    )
    out, err = await asyncio.wait_for(other.communicate(), 60)
    assert other.returncode == 0, err.decode()
    rows = await client.zrange(f"{prefix}scheduled", 0, -1, withscores=True)
    runs = [(json.loads(m)["name"], int(s)) for m, s in rows]
    assert len(runs) == len(set(runs))
    tick = CronSchedule.parse("*/7 * * * * *")
    expected = set(run_times(tick, GO_NOW)) | set(run_times(tick, GO_NOW + 5))
    assert {e for n, e in runs if n == "tick"} == expected
    assert sum(mine) + int(out) == len(runs)


async def test_enqueue_if_due_follows_last_periodic_enqueue(client: Redis, prefix: str) -> None:
    specs = [PeriodicSpec("tick", "0 * * * * *")]
    assert await enqueue_periodic_if_due(client, prefix, specs, now=dt(GO_NOW)) == 4
    assert await enqueue_periodic_if_due(client, prefix, specs, now=dt(GO_NOW + 2)) is None
    assert await enqueue_periodic_if_due(client, prefix, specs, now=dt(GO_NOW + 60)) == 1
    await client.set(f"{prefix}last_periodic_enqueue", "garbage")  # Go: an error means "go"
    assert await enqueue_periodic_if_due(client, prefix, specs, now=dt(GO_NOW + 61)) == 0


async def test_loop_enqueues_at_once_and_stops(client: Redis, prefix: str) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(
        periodic_loop(client, prefix, [PeriodicSpec("t", "* * * * * *")], stop)
    )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while not await client.exists(f"{prefix}last_periodic_enqueue"):
        assert loop.time() < deadline, "the loop never enqueued"
        await asyncio.sleep(0.01)
    assert await client.zcard(f"{prefix}scheduled") >= 238
    stop.set()
    await asyncio.wait_for(task, 5)


async def test_loop_outlives_a_bad_spec(client: Redis, prefix: str) -> None:
    stop = asyncio.Event()
    specs = [PeriodicSpec("t", "nope"), PeriodicSpec("u", "* * * * * *")]
    task = asyncio.create_task(periodic_loop(client, prefix, specs, stop))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while not await client.exists(f"{prefix}last_periodic_enqueue"):
        assert loop.time() < deadline and not task.done(), "the loop never enqueued"
        await asyncio.sleep(0.01)
    assert await client.zcard(f"{prefix}scheduled") >= 238
    stop.set()
    await asyncio.wait_for(task, 5)


async def test_unreachable_redis_is_a_jobplug_error() -> None:
    r = Redis.from_url(f"redis://:hunter2@127.0.0.1:{free_port()}/0")
    try:
        with pytest.raises(BrokerConnectionError) as info:
            await enqueue_periodic(r, "x:", [PeriodicSpec("t", "* * * * *")])
        assert "hunter2" not in str(info.value)
    finally:
        await r.aclose()
