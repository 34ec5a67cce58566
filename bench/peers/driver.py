"""Run one library's workload inside its own virtualenv and print one JSON result line.

Called by ``run.py`` as ``<venv>/bin/python driver.py LIB`` with the run's settings in
``BENCH_*`` environment variables (see ``libs/benchkit.py``). Steps: enqueue N jobs with
one producer (timed), start one worker process, wait until the counter reaches N (or the
timeout), stop the worker, delete every Redis key and RabbitMQ queue the run created.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

LIBS = Path(__file__).resolve().parent / "libs"
sys.path.insert(0, str(LIBS))

import benchkit  # noqa: E402
import redis  # noqa: E402


def _keys(r: redis.Redis) -> set[bytes]:
    return set(r.scan_iter(count=1000))


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    except ProcessLookupError:
        pass


def _delete_amqp(queues: list[str], exchanges: list[str]) -> None:
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(benchkit.AMQP_URL))
    try:
        for name in queues:
            ch = conn.channel()
            try:
                ch.queue_delete(name)
            except Exception:  # the channel closes on a missing queue: use a fresh one
                pass
        for name in exchanges:
            ch = conn.channel()
            try:
                ch.exchange_delete(name)
            except Exception:
                pass
    finally:
        conn.close()


def run(lib_name: str, timeout: float, log_path: Path) -> dict[str, Any]:
    lib = importlib.import_module(lib_name)
    n = benchkit.N
    result: dict[str, Any] = {
        "lib": lib_name.removesuffix("_app"),
        "broker": benchkit.BROKER,
        "jobs": n,
        "settings": getattr(lib, "SETTINGS", ""),
    }
    r = redis.Redis.from_url(benchkit.REDIS_URL)
    before = _keys(r)
    r.delete(benchkit.COUNT, benchkit.FIRST, benchkit.LAST)
    proc: subprocess.Popen[bytes] | None = None
    try:
        t0 = time.perf_counter()
        lib.produce(n)
        result["enqueue_per_s"] = round(n / (time.perf_counter() - t0))
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                lib.worker_argv(), cwd=LIBS, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, env={**os.environ, "PYTHONPATH": str(LIBS)},
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        count = 0
        while time.monotonic() < deadline:
            count = int(r.get(benchkit.COUNT) or 0)
            if count >= n:
                break
            if proc.poll() is not None and int(r.get(benchkit.COUNT) or 0) < n:
                result["error"] = f"worker exited with {proc.returncode} after {count} jobs"
                break
            time.sleep(0.05)
        else:
            # a library too slow for the timeout still gets a rate: over the jobs it did
            now, first_done = time.time(), r.get(benchkit.FIRST)
            count = int(r.get(benchkit.COUNT) or 0)
            if first_done and count > 1 and now > float(first_done):
                span = now - float(first_done)
                result["drain_s"] = round(span, 4)
                result["drain_per_s"] = round((count - 1) / span)
                result["partial"] = f"timed out after {timeout:.0f}s, rate over {count:,}/{n:,}"
            else:
                result["error"] = f"timeout after {timeout:.0f}s: {count}/{n} jobs done"
        result["completed"] = int(r.get(benchkit.COUNT) or 0)
        # the job that brought the count to N stamps LAST after its INCR: wait for it
        settle = time.monotonic() + 10
        while count >= n and r.get(benchkit.LAST) is None and time.monotonic() < settle:
            time.sleep(0.01)
        first, last = r.get(benchkit.FIRST), r.get(benchkit.LAST)
        if first and last and result["completed"] >= n:
            span = float(last) - float(first)
            result["drain_s"] = round(span, 4)
            result["drain_per_s"] = round((n - 1) / span) if span > 0 else None
    except Exception as exc:  # report, clean up, go on with the next library
        result["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        if proc is not None:
            _stop(proc)
        new = _keys(r) - before
        if new:
            r.delete(*new)
        if benchkit.BROKER == "amqp" and hasattr(lib, "amqp_names"):
            try:
                _delete_amqp(*lib.amqp_names())
            except Exception as exc:
                result.setdefault("error", f"cleanup: {exc}")
    return result


def main() -> None:
    lib_name = sys.argv[1]
    timeout = float(sys.argv[2]) if len(sys.argv) > 2 else 120.0
    log_path = Path(sys.argv[3]) if len(sys.argv) > 3 else Path(os.devnull)
    print(json.dumps(run(lib_name, timeout, log_path)), flush=True)


if __name__ == "__main__":
    main()
