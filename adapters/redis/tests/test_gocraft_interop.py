"""Against a real gocraft/work program (tools/gocraft_peer), when one is built.

Set ``JOBPLUG_GOCRAFT_PEER`` to the binary (``go build`` in tools/gocraft_peer against
github.com/gocraft/work); without it the test is skipped. It checks both directions: Go
enqueues and jobplug runs (plain, unique, scheduled); jobplug enqueues and Go runs and
buries; Go's client parses jobplug's heartbeats, observer hashes and queues; each side's
reaper recovers the job of the other side's SIGKILLed worker.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import pytest

from jobplug import Job, Worker

PEER = os.environ.get("JOBPLUG_GOCRAFT_PEER", "")


async def peer(namespace: str, mode: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        PEER, namespace, mode, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    return out.decode()


def line(output: str, tag: str) -> str:
    return next(x for x in output.splitlines() if x.startswith(tag + " "))[len(tag) + 1 :]


@pytest.mark.skipif(not PEER, reason="JOBPLUG_GOCRAFT_PEER (a built gocraft/work peer) not set")
async def test_gocraft_and_jobplug_run_each_others_jobs(
    redis_server: str, namespace: str, raw: Any, wait: Any
) -> None:
    url = f"{redis_server}/0?namespace={namespace}"
    ran: list[dict[str, Any]] = []
    worker = Worker(url=url, concurrency=3)

    @worker.handler("py_job")
    async def py_job(args: dict[str, Any]) -> None:
        ran.append(args)

    @worker.handler("py_unique")
    async def py_unique(args: dict[str, Any]) -> None:
        ran.append(args)

    gate = asyncio.Event()

    @worker.handler("py_slow")
    async def py_slow(args: dict[str, Any]) -> None:
        await gate.wait()

    await peer(namespace, "enqueue")
    # the same unique key bytes on both sides: Go's pending unique job blocks ours
    assert not await worker.perform_unique(Job("py_unique", {"k": "v"}))
    async with worker:
        await wait(lambda: asyncio.sleep(0, len(ran) == 7), timeout=10)
        await worker.perform(Job("py_slow", {"a": 1}))
        await wait(lambda: _observed(raw, namespace), timeout=5)
        report = await peer(namespace, "client")
        gate.set()
    assert {"i": 0, "s": "<go&>"} in ran and {"k": "v"} in ran and {"i": 100, "s": "later"} in ran
    [pool] = json.loads(line(report, "POOLS"))
    assert pool["job_names"] == ["py_job", "py_slow", "py_unique"]
    assert len(pool["worker_ids"]) == 3
    assert pool["concurrency"] == 3 and pool["pid"] == os.getpid()
    [busy] = [o for o in json.loads(line(report, "OBS")) if o["is_busy"]]
    assert busy["job_name"] == "py_slow" and busy["args_json"] == '{"a":1}'
    queues = {q["job_name"]: q["count"] for q in json.loads(line(report, "QUEUES"))}
    assert queues == {"py_job": 0, "py_slow": 0, "py_unique": 0}

    producer = Worker(url=url)
    await producer.perform_many([Job("go_job", {"n": i, "html": "<b>"}) for i in range(3)])
    await producer.perform(Job("go_fail", {"x": 1.5}))
    output = await peer(namespace, "work")
    runs = [x for x in output.splitlines() if x.startswith("RAN ")]
    assert len(runs) == 3 and '"html":"\\u003cb\\u003e"' in runs[0]
    report = await peer(namespace, "client")
    count, dead = line(report, "DEAD").split(" ", 1)
    assert count == "1" and json.loads(dead)[0]["err"] == "go says no"
    page = await producer.broker.inspector().dead()
    assert page.total == 1 and page.items[0].job.args == {"x": 1.5}
    assert page.items[0].job.last_error == "go says no"
    await producer.broker.close()


async def _observed(raw: Any, namespace: str) -> bool:
    return bool([k async for k in raw.scan_iter(match=f"{namespace}:worker:*")])


@pytest.mark.skipif(not PEER, reason="JOBPLUG_GOCRAFT_PEER (a built gocraft/work peer) not set")
async def test_jobplug_reaper_recovers_a_killed_go_pool(
    redis_server: str, namespace: str, raw: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import signal

    from jobplug_redis import background

    monkeypatch.setattr(background, "REAP_PERIOD", 0.5)
    url = f"{redis_server}/0?namespace={namespace}"
    producer = Worker(url=url)
    job = Job("go_hang", {"n": 1})
    await producer.perform(job)
    await producer.broker.close()
    proc = await asyncio.create_subprocess_exec(
        PEER, namespace, "hang", stdout=asyncio.subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        started = await asyncio.wait_for(proc.stdout.readline(), 20)
        assert started.decode().split() == ["STARTED", job.id]
    finally:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    ran: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    rescuer = Worker(url=url)

    @rescuer.handler("go_hang")
    async def go_hang(args: dict[str, Any]) -> None:
        ran.set_result("ok")

    async with rescuer:
        assert await asyncio.wait_for(ran, 30) == "ok"
    assert await raw.get(f"{namespace}:jobs:go_hang:lock") == b"0"


@pytest.mark.skipif(not PEER, reason="JOBPLUG_GOCRAFT_PEER (a built gocraft/work peer) not set")
async def test_go_reaper_recovers_a_killed_jobplug_worker(
    redis_server: str, namespace: str, raw: Any
) -> None:
    import signal
    import sys
    from pathlib import Path

    url = f"{redis_server}/0?namespace={namespace}"
    script = Path(__file__).with_name("worker_proc.py")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(script), url, "sleep", stdout=asyncio.subprocess.PIPE
    )
    job = Job("slow", {"n": 3})
    try:
        assert proc.stdout is not None
        assert (await asyncio.wait_for(proc.stdout.readline(), 30)).strip() == b"READY"
        producer = Worker(url=url)
        await producer.perform(job)
        await producer.broker.close()
        assert (await asyncio.wait_for(proc.stdout.readline(), 10)).strip() == b"STARTED 3"
    finally:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    go = await asyncio.create_subprocess_exec(
        PEER, namespace, "rescue", stdout=asyncio.subprocess.PIPE
    )
    try:
        assert go.stdout is not None
        ran = await asyncio.wait_for(go.stdout.readline(), 40)  # Go reaps 10 s after start
        assert ran.decode().split() == ["RAN", job.id, '{"n":3}']
    finally:
        go.send_signal(signal.SIGKILL)
        await go.wait()
