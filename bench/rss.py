#!/usr/bin/env python3
"""Is a worker's memory flat? Its resident set size after 100k, 200k, ... 1M processed jobs.

    uv run python bench/rss.py URL [--jobs 1000000] [--every 100000] [--concurrency 50]

One worker process runs a no-op handler while a producer keeps at most ``--backlog`` jobs
waiting (so the broker's own memory, or Redis', does not grow with the run); each time
``--every`` jobs have completed, the worker reads its current RSS (VmRSS, not the peak).
A broker whose jobs live in one process (``memory://``) runs its worker in this process,
producer included. Give a Redis URL its own ``?namespace=``: the handler name is fresh
each run, but its keys stay behind.

Prints a markdown table and, last, the RSS at the last checkpoint against the first:
``flat`` when within ``--tolerance`` (10%).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import resource
import secrets
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from jobplug import Job, Worker
from jobplug.urls import redact

URL_ENV = "JOBPLUG_RSS_URL"
_TAG = "JPRSS "


def rss_mb() -> float:
    """Current resident set size in MiB (Linux); elsewhere the peak, the best on offer."""
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


class Tally:
    """The handler's side: counts completions, reports progress and RSS checkpoints."""

    def __init__(self, every: int, step: int, report: Callable[[dict[str, Any]], None]) -> None:
        self.done = 0
        self.every = every
        self.step = step
        self.report = report

    async def handle(self) -> None:
        self.done += 1
        if self.done % self.every == 0:
            self.report({"done": self.done, "rss_mb": round(rss_mb(), 1)})
        elif self.done % self.step == 0:
            self.report({"done": self.done})


class Run:
    """The producer's side: keeps the backlog bounded, collects the checkpoints."""

    def __init__(self, total: int, backlog: int) -> None:
        self.total = total
        self.backlog = backlog
        self.done = 0
        self.points: list[tuple[int, float]] = []
        self.progress = asyncio.Event()
        self.worker_gone = False
        self.started = time.perf_counter()

    def on_report(self, msg: dict[str, Any]) -> None:
        self.done = max(self.done, int(msg["done"]))
        if "rss_mb" in msg:
            self.points.append((int(msg["done"]), float(msg["rss_mb"])))
            rate = self.done / (time.perf_counter() - self.started)
            print(f"  {self.done:>9,} jobs  {msg['rss_mb']:7.1f} MiB  ({rate:,.0f} jobs/s)",
                  file=sys.stderr, flush=True)  # fmt: skip
        self.progress.set()

    async def _next_report(self, timeout: float) -> None:
        if self.worker_gone:
            raise RuntimeError(f"the worker process exited after {self.done:,} jobs")
        self.progress.clear()
        await asyncio.wait_for(self.progress.wait(), timeout)

    async def feed(self, producer: Worker, handler: str, batch: int) -> None:
        sent = 0
        while sent < self.total:
            while sent - self.done >= self.backlog:
                await self._next_report(120)
            size = min(batch, self.total - sent)
            await producer.perform_many([Job(handler) for _ in range(size)])
            sent += size

    async def wait_done(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.done < self.total:
            await self._next_report(max(0.1, deadline - time.monotonic()))


async def measure(args: argparse.Namespace) -> list[tuple[int, float]]:
    producer = Worker(url=args.url, load_plugins=False)
    handler = f"jobplug_rss_{secrets.token_hex(4)}"
    run = Run(args.jobs, args.backlog)
    step = max(1, min(args.batch, args.every))
    if type(producer.broker).in_process:
        worker = Worker(broker=producer.broker, concurrency=args.concurrency, load_plugins=False)
        worker.register(handler, Tally(args.every, step, run.on_report).handle)
        await worker.start()
        try:
            await run.feed(producer, handler, args.batch)
            await run.wait_done(args.timeout)
        finally:
            await worker.stop()
            await producer.stop()
        return run.points
    proc = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--child", handler, str(args.every), str(step),
        str(args.concurrency), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        env={**os.environ, URL_ENV: args.url},
    )  # fmt: skip

    async def read() -> None:
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            text = line.decode(errors="replace")
            if text.startswith(_TAG):
                run.on_report(json.loads(text[len(_TAG) :]))
        run.worker_gone = True
        run.progress.set()

    reader = asyncio.create_task(read())
    try:
        await run.feed(producer, handler, args.batch)
        await run.wait_done(args.timeout)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()  # EOF: the worker stops gracefully
        try:
            await asyncio.wait_for(proc.wait(), 30)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()
        await reader
        await producer.stop()
    return run.points


async def child(handler: str, every: int, step: int, concurrency: int) -> None:
    """The worker process: run ``handler`` until stdin closes, reporting on stdout."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def report(msg: dict[str, Any]) -> None:
        sys.stdout.write(_TAG + json.dumps(msg) + "\n")
        sys.stdout.flush()

    def wait_stdin() -> None:
        sys.stdin.read()
        loop.call_soon_threadsafe(stop.set)

    worker = Worker(url=os.environ[URL_ENV], concurrency=concurrency, load_plugins=False)
    worker.register(handler, Tally(every, step, report).handle)
    threading.Thread(target=wait_stdin, daemon=True).start()
    await worker.start()
    try:
        await stop.wait()
    finally:
        await worker.stop(grace=5)


def verdict(points: list[tuple[int, float]], tolerance: float) -> str:
    """The table of checkpoints and the last one against the first."""
    if len(points) < 2:
        return "fewer than two checkpoints: nothing to compare"
    first_jobs, first = points[0]
    rows = ["| jobs processed | worker RSS MiB | vs first |", "| ---: | ---: | ---: |"]
    rows += [f"| {jobs:,} | {mb:.1f} | {100 * (mb / first - 1):+.1f}% |" for jobs, mb in points]
    last_jobs, last = points[-1]
    change = last / first - 1
    flat = "flat" if abs(change) <= tolerance else "NOT flat"
    rows.append(
        f"\n{flat}: {last:.1f} MiB after {last_jobs:,} jobs vs {first:.1f} MiB after "
        f"{first_jobs:,} ({100 * change:+.1f}%, tolerance ±{100 * tolerance:.0f}%)"
    )
    return "\n".join(rows)


def main() -> None:
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        logging.basicConfig(level=logging.WARNING)
        asyncio.run(child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--every", type=int, default=100_000, help="jobs between checkpoints")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--batch", type=int, default=1_000, help="jobs per perform_many")
    parser.add_argument("--backlog", type=int, default=20_000, help="most jobs left waiting")
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--tolerance", type=float, default=0.10)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()
    points = asyncio.run(measure(args))
    seconds = time.perf_counter() - started
    print(f"{args.jobs:,} jobs on {redact(args.url)}, concurrency {args.concurrency}, "
          f"backlog <= {args.backlog:,}, {seconds:.0f}s\n")  # fmt: skip
    print(verdict(points, args.tolerance))


if __name__ == "__main__":
    main()
