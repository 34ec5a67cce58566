"""``jobplug worker --metrics-port``: a real worker process, scraped over HTTP."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from jobplug import Job, Worker

APP = """
import jobplug

worker = jobplug.Worker(load_plugins=False)


@worker.handler("ok")
async def ok(args):
    pass


@worker.handler("bad", max_fails=1)
async def bad(args):
    raise RuntimeError("boom")
"""


def counters(text: str) -> dict[tuple[str, str], float]:
    return {
        (s.name, s.labels.get("handler", "")): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def wait_for_url(proc: asyncio.subprocess.Process) -> str:
    """The worker logs where it serves; read stderr until it says so."""
    assert proc.stderr is not None
    lines: list[str] = []
    while True:
        line = (await asyncio.wait_for(proc.stderr.readline(), 20)).decode()
        assert line, f"worker exited before serving metrics:\n{''.join(lines)}"
        lines.append(line)
        if "metrics on http://" in line:
            return line.rsplit("metrics on ", 1)[1].strip()


async def test_worker_serves_job_counters(
    tmp_path: Path, redis_server: str, namespace: str, drop_redis: Any
) -> None:
    (tmp_path / "jobapp.py").write_text(textwrap.dedent(APP))
    url = f"{redis_server}/0?namespace={namespace}"
    command = [sys.executable, "-m", "jobplug", "worker", "jobapp:worker", "--url", url]
    proc = await asyncio.create_subprocess_exec(
        *command,
        "--metrics-port",
        "0",
        cwd=tmp_path,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )
    producer = Worker(url=url, load_plugins=False)
    try:
        metrics_url = await wait_for_url(proc)
        assert metrics_url.startswith("http://127.0.0.1:")  # loopback unless told otherwise
        await producer.perform_many([Job("ok", {"n": n}) for n in range(3)] + [Job("bad")])
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        async with httpx.AsyncClient() as http:
            while True:
                got = counters((await http.get(metrics_url, timeout=5)).text)
                done = got.get(("jobplug_jobs_succeeded_total", "ok")) == 3
                if done and got.get(("jobplug_jobs_dead_total", "bad")) == 1:
                    break
                assert loop.time() < deadline, f"counters never reached 3 ok + 1 dead: {got}"
                await asyncio.sleep(0.05)
        assert got[("jobplug_jobs_started_total", "ok")] == 3
        assert got[("jobplug_jobs_started_total", "bad")] == 1
        assert got[("jobplug_job_duration_seconds_count", "ok")] == 3
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.communicate(), 20) is not None
        assert proc.returncode == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await producer.stop()
        await drop_redis(redis_server, namespace)


def test_missing_extra_is_a_clean_error(tmp_path: Path, jobplug_process: Any) -> None:
    """Without prometheus-client the option says which extra to install, no traceback."""
    (tmp_path / "prometheus_client.py").write_text("raise ImportError('not installed')\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = jobplug_process(APP, "worker", "jobapp:worker", "--metrics-port", "0", env=env)
    assert done.returncode == 1
    assert "pip install 'jobplug[prometheus]'" in done.stderr
    assert "Traceback" not in done.stderr
