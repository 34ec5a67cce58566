"""Logging never blocks the event loop: a worker whose log pipe nobody reads keeps working,
and a log output that cannot keep up loses lines (counted and reported), never time."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import jobplug
from jobplug import Job
from jobplug.logs import BackgroundHandler, dropped_lines

APP = """
import logging, os
from pathlib import Path

import jobplug

OUT = Path(os.environ["JOBPLUG_TEST_OUT"])
worker = jobplug.connect()
log = logging.getLogger("app")


@worker.handler("chatty")
async def chatty(args):
    log.info("job %s says %s", args["n"], "x" * 2000)  # on the event loop's thread
    with OUT.open("a") as out:
        out.write(f"{args['n']}\\n")
"""


def done_count(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_a_worker_whose_log_pipe_is_never_read_still_runs_its_jobs(
    redis_server: str,
    namespace: str,
    drop_redis: Callable[[str, str], Awaitable[None]],
    tmp_path: Path,
) -> None:
    url = f"{redis_server}/0?namespace={namespace}"
    jobs = 200  # about 2 KB of log each: several times what a pipe buffers (64 KiB)

    async def produce() -> None:
        producer = jobplug.Worker(url=url, load_plugins=False)
        await producer.perform_many([Job("chatty", {"n": n}) for n in range(jobs)])
        await producer.stop()

    asyncio.run(produce())
    (tmp_path / "logapp.py").write_text(APP)
    out = tmp_path / "done.txt"
    env = {**os.environ, "WORKER_URL": url, "JOBPLUG_TEST_OUT": str(out)}
    command = [sys.executable, "-m", "jobplug", "--log-level", "debug", "worker", "logapp:worker"]
    worker = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 30
        while done_count(out) < jobs:  # another process's progress: polled
            assert worker.poll() is None, "the worker exited"
            assert time.monotonic() < deadline, (
                f"{done_count(out)} of {jobs} jobs done in 30 s: the worker is stuck "
                "writing to its log pipe"
            )
            time.sleep(0.05)
        worker.send_signal(signal.SIGTERM)  # and it still stops: its exit does not wait
        assert worker.wait(timeout=20) == 0  # for the log output either
    finally:
        worker.kill()
        worker.communicate(timeout=10)
        asyncio.run(drop_redis(redis_server + "/0", namespace))


class Stuck(logging.Handler):
    """A log output that blocks until released, as a pipe nobody reads does."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.unblock = threading.Event()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.entered.set()
        self.unblock.wait(10)
        self.lines.append(record.getMessage())


def test_a_full_queue_drops_counts_and_reports_instead_of_blocking() -> None:
    target = Stuck()
    handler = BackgroundHandler(target, capacity=2)
    logger = logging.getLogger("jobplug.test.pipe")
    logger.propagate = False
    logger.addHandler(handler)
    before = dropped_lines()
    try:
        logger.warning("line %d", 0)
        assert target.entered.wait(5)  # the writer holds line 0, blocked
        started = time.monotonic()
        for n in range(1, 6):
            logger.warning("line %d", n)
        assert time.monotonic() - started < 1, "logging waited for the output"
        assert handler.dropped == 3 and dropped_lines() - before == 3
        target.unblock.set()
    finally:
        logger.removeHandler(handler)
        handler.close()
    assert target.lines == [
        "line 0",
        "3 log line(s) dropped: the log output did not keep up (3 dropped since start)",
        "line 1",
        "line 2",
    ]


async def test_dropped_lines_are_a_prometheus_metric() -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    from jobplug.ext.prometheus import PrometheusMetrics

    registry = CollectorRegistry()
    PrometheusMetrics(registry)
    target = Stuck()
    handler = BackgroundHandler(target, capacity=1)
    logger = logging.getLogger("jobplug.test.metric")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logger.warning("held")
        assert target.entered.wait(5)
        for _ in range(3):  # one waits in the queue, two are dropped
            logger.warning("more")
        text = generate_latest(registry).decode()
        [line] = [x for x in text.splitlines() if x.startswith("jobplug_log_lines_dropped ")]
        assert float(line.split()[1]) == dropped_lines() >= 2
    finally:
        target.unblock.set()
        logger.removeHandler(handler)
        handler.close()
