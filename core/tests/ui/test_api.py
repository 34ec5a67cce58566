"""Every JSON endpoint and action, with gocraft's shapes, on memory and on Redis."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from typing import Any

import pytest

from jobplug import Broker, Job, Worker

JOB_KEYS = {"name", "id", "t", "args"}
POOL_KEYS = {
    "worker_pool_id",
    "started_at",
    "heartbeat_at",
    "job_names",
    "concurrency",
    "host",
    "pid",
    "worker_ids",
}
BUSY_KEYS = {
    "worker_id",
    "is_busy",
    "job_name",
    "job_id",
    "started_at",
    "args_json",
    "checkin",
    "checkin_at",
}


async def test_read_endpoints_have_gocraft_shapes(
    backend: Broker, fill_backend: Any, make_client: Any
) -> None:
    filled = await fill_backend(backend, ready=2, scheduled=3, retry=2, dead=1)
    now = time.time()
    async with make_client(backend) as client:
        response = await client.get("/queues")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json; charset=utf-8"
        assert response.text.startswith("[\n\t{")  # gocraft's MarshalIndent with tabs
        queues = {q["job_name"]: q for q in response.json()}
        assert queues[filled.handler]["count"] == 2
        assert isinstance(queues[filled.handler]["latency"], int)
        assert queues[filled.handler]["paused"] is False

        pools = (await client.get("/worker_pools")).json()
        assert isinstance(pools, list)
        for pool in pools:
            assert set(pool) == POOL_KEYS
            assert isinstance(pool["worker_ids"], list)
            assert isinstance(pool["started_at"], int)
        if backend.in_process:
            assert pools == []
        else:
            assert any(filled.handler in p["job_names"] for p in pools)

        busy = (await client.get("/busy_workers")).json()
        assert busy is None or all(set(w) == BUSY_KEYS and w["is_busy"] for w in busy)

        scheduled = (await client.get("/scheduled_jobs")).json()
        assert scheduled["count"] == 3
        assert {j["id"] for j in scheduled["jobs"]} == {j.id for j in filled.scheduled}
        for item in scheduled["jobs"]:
            assert next(iter(item)) == "run_at"  # the score comes first, then the job inlined
            assert set(item) >= JOB_KEYS
            assert item["run_at"] > now + 3600

        retry = (await client.get("/retry_jobs")).json()
        assert retry["count"] == 2
        for item in retry["jobs"]:
            assert next(iter(item)) == "retry_at"
            assert item["fails"] == 1 and item["err"] == "boom"
            assert item["retry_at"] > now + 3000

        dead = (await client.get("/dead_jobs")).json()
        assert dead["count"] == 1
        (item,) = dead["jobs"]
        assert next(iter(item)) == "died_at"
        assert item["id"] == filled.dead[0].id
        assert item["name"] == filled.handler
        assert item["fails"] == 4 and item["err"] == "boom"
        assert abs(item["died_at"] - now) < 60 and isinstance(item["failed_at"], int)

        stats = (await client.get("/stats")).json()
        assert stats["queued"] == 2 and stats["scheduled"] == 3
        assert stats["retry"] == 2 and stats["dead"] == 1


async def test_dead_jobs_are_paged_by_twenty(
    backend: Broker, fill_backend: Any, make_client: Any
) -> None:
    filled = await fill_backend(backend, dead=25)
    async with make_client(backend) as client:
        first = (await client.get("/dead_jobs")).json()
        second = (await client.get("/dead_jobs", params={"page": 2})).json()
        third = (await client.get("/dead_jobs", params={"page": 3})).json()
        assert first["count"] == second["count"] == 25
        assert len(first["jobs"]) == 20 and len(second["jobs"]) == 5 and third["jobs"] == []
        ids = [j["id"] for j in first["jobs"] + second["jobs"]]
        assert sorted(ids) == sorted(j.id for j in filled.dead)
        # page 0 and nonsense mean page 1, as in gocraft
        for bad in ("0", "-3", "abc"):
            again = (await client.get("/dead_jobs", params={"page": bad})).json()
            assert [j["id"] for j in again["jobs"]] == ids[:20]


async def test_retry_dead_job_moves_it_back_to_its_queue(
    backend: Broker, fill_backend: Any, make_client: Any
) -> None:
    filled = await fill_backend(backend, dead=2)
    async with make_client(backend) as client:
        target = (await client.get("/dead_jobs")).json()["jobs"][0]
        path = f"/retry_dead_job/{target['died_at']}/{target['id']}"
        response = await client.post(path)
        assert response.status_code == 200, response.text
        assert response.json() == {"status": "ok"}
        dead = (await client.get("/dead_jobs")).json()
        assert dead["count"] == 1 and target["id"] not in {j["id"] for j in dead["jobs"]}
        queues = {q["job_name"]: q for q in (await client.get("/queues")).json()}
        assert queues[filled.handler]["count"] == 1

        again = await client.post(path)
        assert again.status_code == 404
        assert set(again.json()) == {"error"}


async def test_delete_dead_job(backend: Broker, fill_backend: Any, make_client: Any) -> None:
    filled = await fill_backend(backend, dead=2)
    async with make_client(backend) as client:
        target = (await client.get("/dead_jobs")).json()["jobs"][0]
        path = f"/delete_dead_job/{target['died_at']}/{target['id']}"
        assert (await client.post(path)).json() == {"status": "ok"}
        dead = (await client.get("/dead_jobs")).json()
        assert [j["id"] for j in dead["jobs"]] == [
            j.id for j in filled.dead if j.id != target["id"]
        ]
        queues = {q["job_name"]: q["count"] for q in (await client.get("/queues")).json()}
        assert queues.get(filled.handler, 0) == 0  # deleted, not requeued
        missing = await client.post(path)
        assert missing.status_code == 404 and "error" in missing.json()


async def test_retry_all_dead_jobs(backend: Broker, fill_backend: Any, make_client: Any) -> None:
    filled = await fill_backend(backend, dead=3)
    async with make_client(backend) as client:
        response = await client.post("/retry_all_dead_jobs")
        assert response.status_code == 200 and response.json()["status"] == "ok"
        assert (await client.get("/dead_jobs")).json() == {"count": 0, "jobs": []}
        queues = {q["job_name"]: q["count"] for q in (await client.get("/queues")).json()}
        assert queues[filled.handler] == 3


async def test_delete_all_dead_jobs(backend: Broker, fill_backend: Any, make_client: Any) -> None:
    filled = await fill_backend(backend, dead=3, ready=1)
    async with make_client(backend) as client:
        response = await client.post("/delete_all_dead_jobs")
        assert response.status_code == 200 and response.json()["status"] == "ok"
        assert (await client.get("/dead_jobs")).json() == {"count": 0, "jobs": []}
        queues = {q["job_name"]: q["count"] for q in (await client.get("/queues")).json()}
        assert queues[filled.handler] == 1  # only the ready job: none came back


async def test_delete_scheduled_job(backend: Broker, fill_backend: Any, make_client: Any) -> None:
    await fill_backend(backend, scheduled=2)
    async with make_client(backend) as client:
        jobs = (await client.get("/scheduled_jobs")).json()["jobs"]
        path = f"/delete_scheduled_job/{jobs[0]['run_at']}/{jobs[0]['id']}"
        assert (await client.post(path)).json() == {"status": "ok"}
        left = (await client.get("/scheduled_jobs")).json()
        assert left["count"] == 1 and left["jobs"][0]["id"] == jobs[1]["id"]
        assert (await client.post(path)).status_code == 404


async def test_delete_retry_job(backend: Broker, fill_backend: Any, make_client: Any) -> None:
    await fill_backend(backend, retry=2)
    async with make_client(backend) as client:
        jobs = (await client.get("/retry_jobs")).json()["jobs"]
        path = f"/delete_retry_job/{jobs[0]['retry_at']}/{jobs[0]['id']}"
        assert (await client.post(path)).json() == {"status": "ok"}
        left = (await client.get("/retry_jobs")).json()
        assert left["count"] == 1 and left["jobs"][0]["id"] == jobs[1]["id"]
        assert (await client.post(path)).status_code == 404


async def test_pause_and_unpause_a_handler(
    backend: Broker, fill_backend: Any, make_client: Any
) -> None:
    filled = await fill_backend(backend, ready=1)
    async with make_client(backend) as client:

        async def paused() -> bool:
            queues = {q["job_name"]: q for q in (await client.get("/queues")).json()}
            return bool(queues[filled.handler]["paused"])

        assert await paused() is False
        assert (await client.post(f"/pause/{filled.handler}")).json() == {"status": "ok"}
        assert await paused() is True
        assert await backend.fetch(1, 0.2) == []  # paused for real, not just displayed
        assert (await client.post(f"/unpause/{filled.handler}")).json() == {"status": "ok"}
        assert await paused() is False
        assert len(await backend.fetch(1, 2.0)) == 1


@pytest.mark.parametrize(
    "path",
    [
        "/retry_dead_job/1/abc",
        "/delete_dead_job/1/abc",
        "/retry_all_dead_jobs",
        "/delete_all_dead_jobs",
        "/delete_scheduled_job/1/abc",
        "/delete_retry_job/1/abc",
        "/pause/h",
        "/unpause/h",
    ],
)
async def test_actions_refuse_get(
    backend: Broker, fill_backend: Any, make_client: Any, path: str
) -> None:
    await fill_backend(backend, dead=1)
    async with make_client(backend) as client:
        assert (await client.get(path)).status_code == 405
        assert (await client.get("/dead_jobs")).json()["count"] == 1


async def test_a_running_worker_shows_in_pools_and_busy_workers(
    backend: Broker, make_client: Any
) -> None:
    release = asyncio.Event()
    started = asyncio.Event()

    async def slow(args: dict[str, Any]) -> None:
        started.set()
        await release.wait()

    worker = Worker(backend, concurrency=2, load_plugins=False, grace=5, fetch_timeout=0.2)
    worker.register("slow", slow)
    await worker.start()
    try:
        await worker.perform(Job("slow", {"who": "<b>ann</b>"}))
        await asyncio.wait_for(started.wait(), 10)
        async with make_client(backend) as client:
            if backend.in_process:  # one process: nothing to list across processes
                assert (await client.get("/busy_workers")).json() is None
                assert (await client.get("/worker_pools")).json() == []
                return
            deadline = time.monotonic() + 10
            while not (busy := (await client.get("/busy_workers")).json()):
                assert time.monotonic() < deadline, "the busy worker never showed"
                await asyncio.sleep(0.05)
            (entry,) = busy
            assert set(entry) == BUSY_KEYS
            assert entry["job_name"] == "slow" and entry["is_busy"] is True
            assert entry["args_json"] == '{"who":"<b>ann</b>"}'
            assert abs(entry["started_at"] - time.time()) < 60
            pools = (await client.get("/worker_pools")).json()
            mine = [p for p in pools if entry["worker_id"] in p["worker_ids"]]
            assert len(mine) == 1
            assert mine[0]["host"] == socket.gethostname() and mine[0]["pid"] == os.getpid()
            assert mine[0]["concurrency"] == 2 and mine[0]["job_names"] == ["slow"]
            page = (await client.get("/ui/processes")).text
            assert "&lt;b&gt;ann&lt;/b&gt;" in page and socket.gethostname() in page
    finally:
        release.set()
        await worker.stop()
