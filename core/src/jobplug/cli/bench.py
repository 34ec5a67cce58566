"""``jobplug bench URL``: enqueue rates, drain rate of one worker process, idle latency."""

from __future__ import annotations

import asyncio
import json
import logging
import sys

import click

from jobplug.benchmark import BenchConfig, BenchResult, run_benchmark
from jobplug.cli.console import Console, Table
from jobplug.errors import JobplugError


@click.command()
@click.argument("url", envvar="WORKER_URL", default="memory://")
@click.option("--jobs", "-n", default=10_000, show_default=True, help="Jobs enqueued in batches.")
@click.option(
    "--single",
    type=int,
    default=None,
    help="Jobs enqueued one by one (default: as many as --jobs; 0 skips that phase).",
)
@click.option(
    "--concurrency", "-c", default=50, show_default=True, help="Worker concurrency (jobs at once)."
)
@click.option("--payload", default=0, show_default=True, help="Extra bytes of args per job.")
@click.option("--batch", default=1000, show_default=True, help="Jobs per perform_many call.")
@click.option(
    "--latency-jobs", default=200, show_default=True, help="Jobs sent one at a time for latency."
)
@click.option("--timeout", default=300.0, show_default=True, help="Seconds allowed for the drain.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def bench(
    url: str,
    jobs: int,
    single: int | None,
    concurrency: int,
    payload: int,
    batch: int,
    latency_jobs: int,
    timeout: float,
    as_json: bool,
) -> None:
    """Measure an adapter: enqueue rate (one by one and batched), drain rate of one worker
    process, and enqueue-to-start latency (p50/p90/p99) at low load.

    URL defaults to $WORKER_URL, else memory://. Each run uses a fresh handler name and
    removes its queue and keys when it ends, Ctrl-C included; give a Redis URL its own
    namespace (?namespace=bench) to keep its keys apart while it runs.
    """
    for name, value in (("jobs", jobs), ("concurrency", concurrency), ("batch", batch)):
        if value < 1:
            raise click.BadParameter(f"must be >= 1, got {value}", param_hint=f"--{name}")
    if payload < 0 or latency_jobs < 0 or (single is not None and single < 0):
        raise click.BadParameter("--single, --payload and --latency-jobs must be >= 0")
    config = BenchConfig(
        url=url,
        jobs=jobs,
        single_jobs=single,
        concurrency=concurrency,
        payload=payload,
        batch=batch,
        latency_jobs=latency_jobs,
        timeout=timeout,
    )
    err = Console(stderr=True)

    def progress(message: str) -> None:
        if not as_json:
            err.print(f"[dim]{message}[/dim]")

    # failure lines would be part of what a fast backend measures: the benchmark's
    # worker process logs at WARNING, and so does this one
    runtime_log = logging.getLogger("jobplug.worker")
    saved = runtime_log.level
    runtime_log.setLevel(max(logging.WARNING, runtime_log.getEffectiveLevel()))
    try:
        result = asyncio.run(run_benchmark(config, progress))
    except (JobplugError, RuntimeError, asyncio.TimeoutError) as exc:
        raise click.ClickException(f"benchmark failed: {type(exc).__name__}: {exc}") from exc
    finally:
        runtime_log.setLevel(saved)
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict()) + "\n")
    else:
        Console().print(render(result))


def render(result: BenchResult) -> Table:
    """The figures as a rich table."""
    table = Table(
        title=f"jobplug bench {result.url}",
        caption=(
            f"{result.adapter}, worker {result.worker}, concurrency {result.concurrency}, "
            f"payload {result.payload_bytes} B"
        ),
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("detail")
    if result.single_jobs:
        table.add_row(
            "enqueue, one by one",
            f"{result.enqueue_single_per_s:,.0f} jobs/s",
            f"{result.single_jobs} jobs, one perform each",
        )
    table.add_row(
        "enqueue, batched",
        f"{result.enqueue_batch_per_s:,.0f} jobs/s",
        f"{result.jobs} jobs, perform_many x{result.batch}",
    )
    table.add_row(
        "drain, one worker process",
        f"{result.drain_per_s:,.0f} jobs/s",
        f"{result.drain_jobs} jobs in {result.drain_seconds:.3f}s, first to last completion",
    )
    lat = result.latency_ms
    samples = int(lat.get("samples", 0))
    for key in ("p50", "p90", "p99"):
        if samples:
            table.add_row(
                f"latency {key}", f"{lat[key]:.2f} ms", f"enqueue to start, {samples} idle jobs"
            )
    table.add_row("worker peak RSS", f"{result.worker_max_rss_mb:.1f} MiB", "")
    return table
