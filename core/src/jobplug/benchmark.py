"""What ``jobplug bench URL`` measures, for any installed adapter.

Four numbers, one run:

* enqueue rate, one ``perform`` per job (one round trip each);
* enqueue rate, ``perform_many`` in batches;
* drain rate of ONE worker process: the jobs of both enqueue phases are already waiting
  when the worker starts, and the rate runs from the first job's completion to the last
  (start-up and the producer do not count);
* enqueue → start latency at low load: one job at a time, the next sent once the previous
  one started; measured by the handler, from the time stamped in its args.

The worker is a separate process (``python -m jobplug.benchmark worker``) that reports
over its stdout, so a third-party adapter is measured as it would run, with no help from
the backend. A broker whose jobs live in one process (``memory://``) gets its worker in
this process instead. Every run uses a fresh handler name, so leftovers of earlier runs
never count, and removes that handler's queue and keys at the end (interrupted or not);
give Redis URLs their own ``?namespace=`` to keep the keys apart.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import resource
import secrets
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from jobplug.job import Job
from jobplug.worker import Worker

#: Environment variable carrying the URL to the worker process (never on its command line,
#: where ``ps`` would show the password).
URL_ENV = "JOBPLUG_BENCH_URL"
_TAG = "JPBENCH "


@dataclass(frozen=True)
class BenchConfig:
    """One benchmark run's settings."""

    url: str
    jobs: int = 10_000
    #: jobs for the one-by-one phase; None: as many as ``jobs``, 0: skip it
    single_jobs: int | None = None
    concurrency: int = 50
    payload: int = 0
    batch: int = 1_000
    latency_jobs: int = 200
    timeout: float = 300.0


@dataclass
class BenchResult:
    """The figures of one run (rates in jobs/s, latencies in milliseconds)."""

    url: str
    adapter: str
    worker: str  # "subprocess" | "in-process"
    handler: str  # this run's throwaway handler (its queue and keys are removed at the end)
    jobs: int
    single_jobs: int
    concurrency: int
    payload_bytes: int
    batch: int
    enqueue_single_per_s: float = 0.0
    enqueue_batch_per_s: float = 0.0
    drain_jobs: int = 0
    drain_seconds: float = 0.0
    drain_per_s: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)
    worker_max_rss_mb: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (``q`` in 0..100)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summarize_latencies(seconds: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in seconds)
    return {
        "p50": round(percentile(ms, 50), 3),
        "p90": round(percentile(ms, 90), 3),
        "p99": round(percentile(ms, 99), 3),
        "max": round(ms[-1], 3) if ms else math.nan,
        "samples": len(ms),
    }


async def run_benchmark(
    config: BenchConfig, progress: Callable[[str], None] | None = None
) -> BenchResult:
    """Run the four measurements against ``config.url`` and return the figures."""
    say = progress or (lambda _msg: None)
    producer = Worker(url=config.url, load_plugins=False)
    broker = producer.broker
    handler = f"jobplug_bench_{secrets.token_hex(4)}"
    in_process = type(broker).in_process
    result = BenchResult(
        url=broker.safe_url,
        adapter=type(broker).__name__,
        worker="in-process" if in_process else "subprocess",
        handler=handler,
        jobs=config.jobs,
        single_jobs=config.jobs if config.single_jobs is None else config.single_jobs,
        concurrency=config.concurrency,
        payload_bytes=config.payload,
        batch=config.batch,
    )
    side: _WorkerSide = (
        _InProcessWorker(producer, handler, config)
        if in_process
        else _SubprocessWorker(handler, config)
    )
    pad = "x" * config.payload
    try:
        if result.single_jobs:
            say(f"enqueue: {result.single_jobs} jobs, one perform each")
            started = time.perf_counter()
            for _ in range(result.single_jobs):
                await producer.perform(Job(handler, {"k": "d", "p": pad}))
            result.enqueue_single_per_s = result.single_jobs / (time.perf_counter() - started)

        say(f"enqueue: {config.jobs} jobs, perform_many x{config.batch}")
        started = time.perf_counter()
        left = config.jobs
        while left > 0:
            size = min(config.batch, left)
            await producer.perform_many([Job(handler, {"k": "d", "p": pad}) for _ in range(size)])
            left -= size
        result.enqueue_batch_per_s = config.jobs / (time.perf_counter() - started)

        result.drain_jobs = result.single_jobs + config.jobs
        say(f"drain: {result.drain_jobs} jobs, one worker ({result.worker})")
        await side.start(result.drain_jobs)
        first, last = await asyncio.wait_for(side.drained(), config.timeout)
        result.drain_seconds = last - first
        if result.drain_seconds > 0:
            result.drain_per_s = (result.drain_jobs - 1) / result.drain_seconds

        say(f"latency: {config.latency_jobs} jobs, one at a time")
        samples = []
        for _ in range(config.latency_jobs):
            await producer.perform(Job(handler, {"k": "l", "s": side.now(), "p": pad}))
            samples.append(await asyncio.wait_for(side.next_latency(), 30))
        result.latency_ms = summarize_latencies(samples)
    finally:
        try:
            result.worker_max_rss_mb = await side.stop()
            # every run makes a fresh handler: leave none of its keys or queues behind
            await broker.discard_handler(handler)
        finally:
            await producer.stop()
    for name in ("enqueue_single_per_s", "enqueue_batch_per_s", "drain_per_s"):
        setattr(result, name, round(getattr(result, name), 1))
    result.drain_seconds = round(result.drain_seconds, 4)
    return result


class _WorkerSide:
    """The consuming side: where the drain's completions and the latencies come from."""

    now: Callable[[], float] = staticmethod(time.time)

    async def start(self, expect: int) -> None:
        raise NotImplementedError

    async def drained(self) -> tuple[float, float]:
        raise NotImplementedError

    async def next_latency(self) -> float:
        raise NotImplementedError

    async def stop(self) -> float:
        """Stop the worker; return its peak RSS in MiB."""
        raise NotImplementedError


class _Tally:
    """Counts drain completions and hands out latency samples (lives in the worker)."""

    def __init__(
        self,
        expect: int,
        clock: Callable[[], float],
        on_drained: Callable[[float, float], None],
        on_latency: Callable[[float], None],
    ) -> None:
        self.expect = expect
        self.count = 0
        self.first = 0.0
        self.clock = clock
        self.on_drained = on_drained
        self.on_latency = on_latency

    async def handle(self, args: dict[str, Any]) -> None:
        now = self.clock()
        if args.get("k") == "l":
            self.on_latency(now - float(args["s"]))
            return
        self.count += 1
        if self.count == 1:
            self.first = now
        if self.count == self.expect:
            self.on_drained(self.first, now)


class _InProcessWorker(_WorkerSide):
    now = staticmethod(time.perf_counter)

    def __init__(self, producer: Worker, handler: str, config: BenchConfig) -> None:
        self.worker = Worker(
            broker=producer.broker, concurrency=config.concurrency, load_plugins=False
        )
        self.handler = handler
        self._drained: asyncio.Future[tuple[float, float]] | None = None
        self._latencies: asyncio.Queue[float] = asyncio.Queue()

    async def start(self, expect: int) -> None:
        self._drained = asyncio.get_running_loop().create_future()
        done = self._drained
        tally = _Tally(
            expect,
            time.perf_counter,
            lambda first, last: done.set_result((first, last)),
            self._latencies.put_nowait,
        )
        self.worker.register(self.handler, tally.handle)
        await self.worker.start()

    async def drained(self) -> tuple[float, float]:
        assert self._drained is not None
        return await self._drained

    async def next_latency(self) -> float:
        return await self._latencies.get()

    async def stop(self) -> float:
        # the producer closes the shared broker; this one only stops consuming
        await self.worker.stop()
        return _max_rss_mb()


class _SubprocessWorker(_WorkerSide):
    def __init__(self, handler: str, config: BenchConfig) -> None:
        self.handler = handler
        self.config = config
        self.proc: asyncio.subprocess.Process | None = None
        self._drained: asyncio.Future[tuple[float, float]] | None = None
        self._latencies: asyncio.Queue[float] = asyncio.Queue()
        self._ready: asyncio.Future[None] | None = None
        self._rss = 0.0
        self._reader: asyncio.Task[None] | None = None

    async def start(self, expect: int) -> None:
        loop = asyncio.get_running_loop()
        self._drained, self._ready = loop.create_future(), loop.create_future()
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "jobplug.benchmark",
            "worker",
            self.handler,
            str(expect),
            str(self.config.concurrency),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, URL_ENV: self.config.url},
        )
        self._reader = asyncio.create_task(self._read())
        await asyncio.wait_for(asyncio.shield(self._ready), 60)

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            text = line.decode(errors="replace")
            if not text.startswith(_TAG):
                continue
            msg = json.loads(text[len(_TAG) :])
            if "ready" in msg and self._ready and not self._ready.done():
                self._ready.set_result(None)
            elif "drained" in msg and self._drained and not self._drained.done():
                self._drained.set_result((msg["drained"][0], msg["drained"][1]))
            elif "latency" in msg:
                self._latencies.put_nowait(float(msg["latency"]))
            elif "rss_mb" in msg:
                self._rss = float(msg["rss_mb"])
        error = RuntimeError(f"the benchmark worker exited with code {self.proc.returncode}")
        for fut in (self._ready, self._drained):
            if fut is not None and not fut.done():
                fut.set_exception(error)
        self._latencies.put_nowait(math.nan)

    async def drained(self) -> tuple[float, float]:
        assert self._drained is not None
        return await self._drained

    async def next_latency(self) -> float:
        value = await self._latencies.get()
        if math.isnan(value):
            raise RuntimeError("the benchmark worker exited during the latency run")
        return value

    async def stop(self) -> float:
        if self.proc is None:
            return 0.0
        if self.proc.stdin is not None and not self.proc.stdin.is_closing():
            self.proc.stdin.close()  # EOF on stdin: the worker stops gracefully
        try:
            await asyncio.wait_for(self.proc.wait(), 30)
        except asyncio.TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        return self._rss


def _max_rss_mb() -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(rss / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def _emit(msg: dict[str, Any]) -> None:
    sys.stdout.write(_TAG + json.dumps(msg) + "\n")
    sys.stdout.flush()


async def _worker_main(handler: str, expect: int, concurrency: int) -> None:
    """The worker process: run ``handler`` until stdin closes, reporting on stdout."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    worker = Worker(url=os.environ[URL_ENV], concurrency=concurrency, load_plugins=False)
    tally = _Tally(
        expect,
        time.time,
        lambda first, last: _emit({"drained": [first, last]}),
        lambda latency: _emit({"latency": latency}),
    )
    worker.register(handler, tally.handle)

    def wait_stdin() -> None:
        sys.stdin.read()
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=wait_stdin, daemon=True).start()
    await worker.start()
    _emit({"ready": True})
    try:
        await stop.wait()
    finally:
        await worker.stop(grace=5)
        _emit({"rss_mb": _max_rss_mb()})


if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[1] != "worker":
        sys.exit("usage: python -m jobplug.benchmark worker HANDLER EXPECT CONCURRENCY")
    asyncio.run(_worker_main(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
