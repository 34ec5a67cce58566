"""Which event loop a worker runs on: uvloop when installed, or what the caller chose."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import pytest

from jobplug import ConfigurationError, Job, Worker
from jobplug.loops import resolve, run

uvloop = pytest.importorskip("uvloop")  # the dev environment installs every extra


async def loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_auto_prefers_uvloop_and_asyncio_can_be_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOBPLUG_LOOP", raising=False)
    assert resolve() == "uvloop" and run(loop_module).startswith("uvloop")
    assert resolve("asyncio") == "asyncio" and run(loop_module, "asyncio") == "asyncio.unix_events"
    monkeypatch.setenv("JOBPLUG_LOOP", "asyncio")
    assert run(loop_module) == "asyncio.unix_events"


def test_without_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop now raises ImportError
    assert resolve("auto") == "asyncio"
    with pytest.raises(ConfigurationError, match=r"pip install 'jobplug\[uvloop\]'"):
        resolve("uvloop")
    with pytest.raises(ConfigurationError, match="choose auto, asyncio or uvloop"):
        resolve("trio")


APP = """
import asyncio, os, signal
import jobplug

worker = jobplug.Worker(url="memory://", load_plugins=False)


@worker.handler("which")
async def which(args):
    print("loop:", type(asyncio.get_running_loop()).__module__, flush=True)
    os.kill(os.getpid(), signal.SIGTERM)


class EnqueueOnStart:
    @jobplug.hookimpl
    def jobplug_worker_started(self, worker):
        asyncio.get_running_loop().create_task(worker.perform(jobplug.Job("which")))


worker.plugin_manager.register(EnqueueOnStart())
"""


@pytest.mark.parametrize(("option", "expected"), [(None, "uvloop"), ("asyncio", "asyncio.")])
def test_cli_worker_loop(jobplug_process: Any, option: str | None, expected: str) -> None:
    loop = ["--loop", option] if option else []
    env = {k: v for k, v in os.environ.items() if k != "JOBPLUG_LOOP"}
    done = jobplug_process(APP, "worker", "jobapp:worker", *loop, env=env)
    assert done.returncode == 0, done.stderr
    assert f"loop: {expected}" in done.stdout


def test_run_on_uvloop_runs_jobs() -> None:
    worker = Worker(url="memory://?mode=inline", load_plugins=False)
    seen: list[int] = []
    worker.register("add", lambda args: seen.append(args["n"]))

    async def main() -> str:
        await worker.perform(Job("add", {"n": 1}))
        return await loop_module()

    assert run(main, "uvloop").startswith("uvloop") and seen == [1]
