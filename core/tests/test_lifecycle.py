"""start/stop, grace periods, inline mode, and signals in a real worker process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

import jobplug
from jobplug import Job, UnknownHandlerError, Worker
from jobplug.worker import State
from jobplug_memory import MemoryBroker

from .conftest import memory


async def test_start_returns_once_consuming_and_context_manager_stops() -> None:
    w = Worker(MemoryBroker(), load_plugins=False)
    ran = asyncio.Event()
    w.register("h", lambda a: ran.set())
    async with w:
        assert w.state is State.RUNNING
        await w.perform(Job("h"))
        await asyncio.wait_for(ran.wait(), 2)
    assert w.state is State.STOPPED
    await w.stop()  # idempotent


async def test_stop_lets_running_jobs_finish_within_the_grace_period(worker: Worker) -> None:
    started, finished = asyncio.Event(), []

    async def slow(args: dict[str, Any]) -> None:
        started.set()
        await asyncio.sleep(0.2)
        finished.append(True)

    worker.register("slow", slow)
    await worker.start()
    await worker.perform(Job("slow"))
    await asyncio.wait_for(started.wait(), 2)
    await worker.stop(grace=5)
    assert finished == [True]
    assert memory(worker).pending(include_scheduled=True) == 0


async def test_jobs_still_running_after_the_grace_period_are_put_back(worker: Worker) -> None:
    started = asyncio.Event()

    async def stuck(args: dict[str, Any]) -> None:
        started.set()
        await asyncio.sleep(60)

    worker.register("stuck", stuck)
    await worker.start()
    await worker.perform(Job("stuck", {"n": 1}))
    await asyncio.wait_for(started.wait(), 2)
    t0 = time.monotonic()
    await worker.stop(grace=0.1)
    assert time.monotonic() - t0 < 2
    broker = memory(worker)
    assert [j.args for j in broker.ready["stuck"]] == [{"n": 1}]
    assert broker.running.get("stuck", 0) == 0


async def test_force_stop_puts_running_jobs_back_at_once(worker: Worker) -> None:
    started = asyncio.Event()

    async def stuck(args: dict[str, Any]) -> None:
        started.set()
        await asyncio.sleep(60)

    worker.register("stuck", stuck)
    await worker.start()
    await worker.perform(Job("stuck"))
    await asyncio.wait_for(started.wait(), 2)
    stopping = asyncio.create_task(worker.stop(grace=30))
    await asyncio.sleep(0)
    worker.force_stop()
    await asyncio.wait_for(stopping, 2)
    assert len(memory(worker).ready["stuck"]) == 1 and worker.forced


async def test_inline_mode_runs_the_job_before_perform_returns() -> None:
    w = jobplug.connect("memory://?mode=inline", load_plugins=False)
    trail: list[str] = []

    async def child(args: dict[str, Any]) -> None:
        trail.append(f"child {args['n']}")

    async def parent(args: dict[str, Any]) -> None:
        trail.append("parent")
        await w.perform(Job("child", {"n": 1}))
        trail.append("parent done")

    w.register("child", child)
    w.register("parent", parent)
    w.register("boom", lambda a: 1 / 0, max_fails=3, backoff=lambda j: 3600)
    await w.perform(Job("parent"))
    assert trail == ["parent", "parent done", "child 1"]
    await w.perform_in(Job("child", {"n": 2}), 3600)  # inline ignores delays
    assert trail[-1] == "child 2"
    await w.perform(Job("boom"))  # retries run at once, then the job is dead
    [dead] = memory(w).dead
    assert dead.job.fails == 3 and "ZeroDivisionError" in (dead.job.last_error or "")
    with pytest.raises(UnknownHandlerError, match="'nobody'"):
        await w.perform(Job("nobody"))


WORKER_MODULE = """
import asyncio, os, time
from pathlib import Path

import jobplug

OUT = Path(os.environ["JOBPLUG_TEST_OUT"])
worker = jobplug.connect()


@worker.handler("slow")
async def slow(args):
    OUT.write_text("started")
    print("STARTED", flush=True)
    await asyncio.sleep(args["seconds"])
    OUT.write_text("finished")


@worker.handler("slow_sync")
def slow_sync(args):
    print("STARTED", flush=True)
    time.sleep(args["seconds"])


class Kick:
    @jobplug.hookimpl
    def jobplug_worker_started(self, worker):
        seconds = float(os.environ["JOBPLUG_TEST_SECONDS"])
        job = jobplug.Job(os.environ["JOBPLUG_TEST_HANDLER"], {"seconds": seconds})
        asyncio.get_running_loop().create_task(worker.perform(job))


worker.plugin_manager.register(Kick())
"""


def _spawn(tmp_path: Path, handler: str, seconds: float) -> tuple[subprocess.Popen[str], Path]:
    (tmp_path / "sigmod.py").write_text(textwrap.dedent(WORKER_MODULE))
    out = tmp_path / "out.txt"
    env = {
        **os.environ,
        "JOBPLUG_TEST_OUT": str(out),
        "JOBPLUG_TEST_HANDLER": handler,
        "JOBPLUG_TEST_SECONDS": str(seconds),
        "WORKER_URL": "memory://",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "jobplug.cli", "worker", "sigmod:worker", "--grace", "10"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # blocks until the job has started
    assert line.strip() == "STARTED", line + proc.stderr.read() if proc.stderr else ""
    return proc, out


def test_sigterm_during_a_running_job_lets_it_finish_and_exits_0(tmp_path: Path) -> None:
    proc, out = _spawn(tmp_path, "slow", 0.5)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 0, stderr
    assert out.read_text() == "finished"
    assert "stopping" in stderr and "worker stopped" in stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGQUIT])
def test_sigint_and_sigquit_also_stop_gracefully(tmp_path: Path, sig: signal.Signals) -> None:
    proc, out = _spawn(tmp_path, "slow", 0.3)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 0, stderr
    assert out.read_text() == "finished"


def test_a_second_signal_forces_even_with_a_sync_handler_running(tmp_path: Path) -> None:
    proc, _ = _spawn(tmp_path, "slow_sync", 60)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.stderr is not None
    for line in proc.stderr:  # wait until the first signal is seen, then force
        if "stopping" in line:
            break
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=20)
    assert time.monotonic() - t0 < 15
    assert proc.returncode == 1
    assert "put back" in stderr
