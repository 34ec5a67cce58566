#!/usr/bin/env python3
"""Run the same workload on jobplug and its peers, side by side, and print a markdown table.

    python bench/peers/run.py [--jobs N] [--only celery,rq] [--broker redis|amqp|both]

Each library gets its own virtualenv under ``bench/.venvs/`` (made with ``uv venv`` and
``uv pip install``: the peers need conflicting redis-py versions). The workload: N no-op
jobs whose body INCRs one Redis counter, one producer, one worker process; the drain rate
runs from the first completion to the last. Redis keys go to a dedicated database
(``--redis-db``, default 13) and every key and queue a run creates is deleted after it.
Standard library only, so any Python 3.10+ with ``uv`` on PATH can run it.

Writes ``bench/results/peers-latest.md`` and ``.json``; a run that covers every library on
every broker also puts its table into ``bench/README.md``, between the ``peers table``
markers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
VENVS = ROOT / "bench" / ".venvs"
RESULTS = ROOT / "bench" / "results"
README = ROOT / "bench" / "README.md"
#: The README's table sits between these lines; a complete run rewrites it.
README_START = "<!-- peers table: start (written by bench/peers/run.py) -->"
README_END = "<!-- peers table: end -->"


@dataclass(frozen=True)
class Lib:
    name: str
    module: str
    requirements: tuple[str, ...]
    brokers: tuple[str, ...]


JOBPLUG = Lib(
    "jobplug",
    "jobplug_app",
    ("-e", "core", "-e", "adapters/memory", "-e", "adapters/redis", "-e", "adapters/amqp",
     "redis", "hiredis", "pika", "uvloop"),
    ("redis", "amqp"),
)  # fmt: skip
PEERS = (
    Lib("celery", "celery_app", ("celery[redis]==5.7.0", "hiredis", "pika"), ("redis", "amqp")),
    Lib("rq", "rq_app", ("rq==2.12.0", "hiredis"), ("redis",)),
    Lib(
        "dramatiq",
        "dramatiq_app",
        ("dramatiq[redis,rabbitmq]==2.2.1", "hiredis"),
        ("redis", "amqp"),
    ),
    Lib("huey", "huey_app", ("huey==3.5.4", "redis", "hiredis"), ("redis",)),
    Lib("arq", "arq_app", ("arq==0.28.0", "hiredis"), ("redis",)),
    Lib(
        "taskiq",
        "taskiq_app",
        # [uv]: uvloop, which its worker then runs on (as jobplug's does, from jobplug[uvloop])
        ("taskiq[uv]==0.13.0", "taskiq-redis==1.2.4", "taskiq-aio-pika==0.6.1", "hiredis", "pika"),
        ("redis", "amqp"),
    ),
)
ALL = (JOBPLUG, *PEERS)


def _python(lib: Lib) -> Path:
    return VENVS / lib.name / "bin" / "python"


def ensure_venv(lib: Lib, log: Any) -> None:
    """Create or refresh the library's virtualenv; skipped when its requirements are met."""
    venv = VENVS / lib.name
    marker = venv / ".bench-requirements"
    wanted = json.dumps(lib.requirements)
    editable = "-e" in lib.requirements
    if not editable and marker.exists() and marker.read_text() == wanted:
        return
    if not _python(lib).exists():
        subprocess.run(["uv", "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    print(f"installing {lib.name} ...", file=sys.stderr, flush=True)
    subprocess.run(
        ["uv", "pip", "install", "-q", "--python", str(_python(lib)), *lib.requirements],
        cwd=ROOT, check=True, stdout=log, stderr=log,
    )  # fmt: skip
    marker.write_text(wanted)


def jobplug_schemes() -> set[str]:
    """URL schemes the jobplug venv can serve (an adapter that has not landed is absent)."""
    code = "from jobplug.registry import installed_adapters; print(' '.join(installed_adapters()))"
    out = subprocess.run([str(_python(JOBPLUG)), "-c", code], capture_output=True, text=True)
    return set(out.stdout.split()) if out.returncode == 0 else set()


def versions(lib: Lib) -> dict[str, str]:
    out = subprocess.run(
        ["uv", "pip", "freeze", "--python", str(_python(lib))], capture_output=True, text=True
    )
    pins = {}
    for line in out.stdout.splitlines():
        name, sep, version = line.partition("==")
        if sep:
            pins[name.lower()] = version
    return pins


def run_one(lib: Lib, broker: str, args: argparse.Namespace) -> dict[str, Any]:
    prefix = f"jpbench:{lib.name}:{broker}:{secrets.token_hex(3)}"
    env = {
        **os.environ,
        "BENCH_PREFIX": prefix,
        "BENCH_N": str(args.jobs),
        "BENCH_BROKER": broker,
        "BENCH_REDIS_URL": f"redis://{args.redis_host}:{args.redis_port}/{args.redis_db}",
        "BENCH_AMQP_URL": args.amqp_url,
        "BENCH_CONCURRENCY": "8",
        "BENCH_JOBPLUG_CONCURRENCY": str(args.jobplug_concurrency),
    }
    log = RESULTS / "logs" / f"{lib.name}-{broker}.log"
    cmd = [str(_python(lib)), str(HERE / "driver.py"), lib.module, str(args.timeout), str(log)]
    try:
        out = subprocess.run(
            cmd, env=env, capture_output=True, text=True, timeout=args.timeout + 120
        )
    except subprocess.TimeoutExpired:
        return {"lib": lib.name, "broker": broker, "error": "driver timed out"}
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        tail = (out.stderr or out.stdout).strip().splitlines()[-3:]
        return {"lib": lib.name, "broker": broker, "error": " | ".join(tail)}
    result: dict[str, Any] = json.loads(lines[-1])
    result["lib"] = lib.name
    return result


def redis_version(host: str, port: int) -> str:
    try:
        with socket.create_connection((host, port), timeout=2) as sock:
            sock.sendall(b"INFO server\r\n")
            time.sleep(0.1)
            data = sock.recv(65536).decode(errors="replace")
    except OSError as exc:
        return f"unreachable ({exc})"
    for line in data.splitlines():
        if line.startswith("redis_version:"):
            return line.split(":", 1)[1]
    return "?"


def rabbitmq_version() -> str:
    if shutil.which("rabbitmqctl") is None:
        return "?"
    try:
        out = subprocess.run(["rabbitmqctl", "version"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return "?"
    return out.stdout.strip().splitlines()[-1] if out.stdout.strip() else "?"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def update_readme(text: str, results: list[dict[str, Any]]) -> bool:
    """Put ``text`` between the README's markers when the run covers every library and
    broker (a partial run leaves the README alone); True when the README was rewritten."""
    covered = {(r["lib"], r["broker"]) for r in results}
    wanted = {(lib.name, b) for lib in ALL for b in lib.brokers}
    if not README.exists() or not wanted <= covered:
        return False
    old = README.read_text()
    head, start, rest = old.partition(README_START)
    _, end, tail = rest.partition(README_END)
    if not start or not end:
        return False
    README.write_text(f"{head}{start}\n{text}\n{end}{tail}")
    return True


def fmt_rate(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else "—"


def table(results: list[dict[str, Any]], pins: dict[str, dict[str, str]]) -> str:
    rows = [
        "| library | broker | worker settings | enqueue jobs/s | drain jobs/s | jobplug speed-up |",
        "| --- | --- | --- | ---: | ---: | ---: |",
    ]
    base = {
        r["broker"]: r.get("drain_per_s")
        for r in results
        if r["lib"] == "jobplug" and r.get("drain_per_s")
    }
    for r in results:
        drain = r.get("drain_per_s")
        ref = base.get(r["broker"])
        if r["lib"] == "jobplug":
            ratio = "1.0" if drain else "—"
        elif drain and ref:
            ratio = f"{ref / drain:.1f}"
        else:
            ratio = "n/a"
        if r["lib"] == "jobplug":  # an editable install: no version in the freeze
            name = "jobplug (this checkout)"
        else:
            name = f"{r['lib']} {pins.get(r['lib'], {}).get(r['lib'], '')}".strip()
        settings = r.get("settings", "")
        if r.get("partial"):
            settings = f"{settings} — *{r['partial']}*"
        if r.get("error"):
            settings = f"{settings} — **{r['error']}**".strip(" —")
        rows.append(
            f"| {name} | {r['broker']} | {settings} | {fmt_rate(r.get('enqueue_per_s'))} "
            f"| {fmt_rate(drain)} | {ratio} |"
        )
    return "\n".join(rows)


def merge_previous(
    results: list[dict[str, Any]], pins: dict[str, dict[str, str]], jobs: int
) -> tuple[list[dict[str, Any]], dict[str, dict[str, str]]]:
    """This run's rows, plus the last run's rows for the libraries and brokers not rerun."""
    old = json.loads((RESULTS / "peers-latest.json").read_text())
    if old.get("jobs") != jobs:
        sys.exit(f"--merge: the last run used {old.get('jobs')} jobs, this one {jobs}")
    merged = {(r["lib"], r["broker"]): r for r in old["results"]}
    merged.update({(r["lib"], r["broker"]): r for r in results})
    order = [(lib.name, b) for b in ("redis", "amqp") for lib in ALL]
    rows = [merged[key] for key in order if key in merged]
    return rows, {**old.get("versions", {}), **pins}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=20000, help="jobs per library (20000)")
    parser.add_argument("--only", default="", help="comma-separated libraries (default: all)")
    parser.add_argument("--broker", choices=("redis", "amqp", "both"), default="both")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per library run")
    parser.add_argument("--repeat", type=int, default=1, help="runs per library; the best counts")
    parser.add_argument(
        "--jobplug-concurrency",
        type=int,
        default=100,
        help="jobplug's jobs at once (100, as taskiq's default max_async_tasks)",
    )
    parser.add_argument("--redis-host", default="127.0.0.1")
    parser.add_argument("--redis-port", type=int, default=6379)
    parser.add_argument("--redis-db", type=int, default=13, help="a database no one else uses")
    parser.add_argument("--amqp-url", default="amqp://guest:guest@127.0.0.1:5672/")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the other libraries' rows of the last results (e.g. rerun only jobplug)",
    )
    parser.add_argument("--no-install", action="store_true", help="use the venvs as they are")
    args = parser.parse_args()
    if shutil.which("uv") is None:
        sys.exit("uv is needed (https://docs.astral.sh/uv/): pip install uv")
    only = {x.strip() for x in args.only.split(",") if x.strip()}
    libs = [lib for lib in ALL if not only or lib.name in only]
    brokers = ("redis", "amqp") if args.broker == "both" else (args.broker,)
    (RESULTS / "logs").mkdir(parents=True, exist_ok=True)
    with (RESULTS / "logs" / "install.log").open("a") as log:
        for lib in libs:
            if not args.no_install or not _python(lib).exists():
                ensure_venv(lib, log)
    schemes = jobplug_schemes() if JOBPLUG in libs else set()
    load_before = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
    results: list[dict[str, Any]] = []
    for broker in brokers:
        for lib in libs:
            if broker not in lib.brokers:
                continue
            if lib is JOBPLUG and broker not in schemes:
                results.append({"lib": "jobplug", "broker": broker,
                                "error": f"jobplug {broker}:// adapter not installed"})  # fmt: skip
                print(f"jobplug/{broker}: adapter not installed, skipped", file=sys.stderr)
                continue
            tries = []
            for i in range(args.repeat):
                print(f"{lib.name}/{broker}: {args.jobs} jobs, run {i + 1}", file=sys.stderr)
                tries.append(run_one(lib, broker, args))
                print(f"  {json.dumps(tries[-1])}", file=sys.stderr, flush=True)
            # the best run: on a shared machine, noise only ever slows a run down
            best = max(tries, key=lambda r: r.get("drain_per_s") or 0)
            best["drain_runs"] = [r.get("drain_per_s") for r in tries]
            results.append(best)
    pins = {lib.name: versions(lib) for lib in libs}
    if args.merge and (RESULTS / "peers-latest.json").exists():
        results, pins = merge_previous(results, pins, args.jobs)
    machine = {
        "cores": os.cpu_count(),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "redis": redis_version(args.redis_host, args.redis_port),
        "rabbitmq": rabbitmq_version(),
        "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "load_before": load_before,
    }
    text = (
        f"{args.jobs:,} jobs per library; {machine['cores']} cores ({machine['cpu']}), "
        f"Python {machine['python']}, "
        f"Redis {machine['redis']}, RabbitMQ {machine['rabbitmq']}, {machine['date_utc']} UTC, "
        f"best of {args.repeat}, load average {load_before} at start"
        + (
            f"; rows other than {', '.join(sorted(only))} from the previous run"
            if args.merge
            else ""
        )
        + "\n\n"
        + table(results, pins)
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "peers-latest.md").write_text(text + "\n")
    payload = {"machine": machine, "jobs": args.jobs, "results": results, "versions": pins}
    (RESULTS / "peers-latest.json").write_text(json.dumps(payload, indent=2) + "\n")
    print(text)
    if update_readme(text, results):
        print(f"\n(table written to {README.relative_to(ROOT)} too)", file=sys.stderr)


if __name__ == "__main__":
    main()
