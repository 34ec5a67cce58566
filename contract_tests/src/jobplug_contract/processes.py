"""Workers in child processes, for what must hold across processes (see ``child.py``)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jobplug import Broker
from jobplug_contract.recorder import poll

Event = dict[str, Any]


class ChildWorker:
    """A worker process the harness started; killed at teardown whatever happened."""

    def __init__(self, process: subprocess.Popen[bytes], events: Path, errors: Path) -> None:
        self.process = process
        self.events_path = events
        self.errors_path = errors

    def events(self, event: str | None = None) -> list[Event]:
        try:
            lines = self.events_path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        out = []
        for line in lines:
            try:
                item = json.loads(line)
            except ValueError:  # a line being written right now
                continue
            if event is None or item.get("event") == event:
                out.append(item)
        return out

    def stderr(self) -> str:
        try:
            return self.errors_path.read_text(errors="replace")[-2000:]
        except FileNotFoundError:
            return ""

    async def wait_for(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll the events file until ``predicate()``; fail at once if the process died."""
        __tracebackhide__ = True

        async def probe() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"the worker process exited ({self.process.returncode}) while waiting "
                    f"for {what}:\n{self.stderr()}"
                )
            return predicate()

        await poll(probe, timeout, what)

    async def ready(self, timeout: float = 30.0) -> None:
        __tracebackhide__ = True
        await self.wait_for(lambda: bool(self.events("ready")), timeout, "the worker process")

    async def kill(self) -> None:
        """SIGKILL: no cleanup of any kind runs in the child."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(self.process.wait, 10)


def spawn_worker(
    broker_class: type[Broker],
    url: str,
    handlers: list[str],
    directory: Path,
    *,
    concurrency: int = 2,
    max_concurrency: int = 0,
) -> ChildWorker:
    """Start ``python -m jobplug_contract.child`` serving ``handlers`` on ``url``.

    The child imports ``broker_class`` by ``module:qualname`` with this process's path.
    """
    index = len(list(directory.glob("events-*")))
    events, errors = directory / f"events-{index}", directory / f"stderr-{index}"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    args = [
        sys.executable,
        "-m",
        "jobplug_contract.child",
        "--broker-class",
        f"{broker_class.__module__}:{broker_class.__qualname__}",
        "--url",
        url,
        "--events",
        str(events),
        "--concurrency",
        str(concurrency),
        "--max-concurrency",
        str(max_concurrency),
    ]
    for handler in handlers:
        args += ["--handler", handler]
    events.touch()
    with errors.open("wb") as err_file:  # Popen keeps its own copy of the descriptor
        process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=err_file)
    return ChildWorker(process, events, errors)
