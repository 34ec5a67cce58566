"""``jobplug demo``: the main job on the embedded default, start to finish.

Starts a worker on ``$WORKER_URL`` (default ``memory://``), enqueues a few hundred example
jobs (some delayed, some failing before they succeed on retry, a few that never succeed),
shows live progress and ends with a table of what happened.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from typing import Any

import click

from jobplug.cli.common import clean_errors
from jobplug.cli.console import (
    BarColumn,
    Console,
    MofNCompleteColumn,
    Progress,
    Table,
    TextColumn,
    TimeElapsedColumn,
)
from jobplug.hookspecs import hookimpl
from jobplug.job import Job
from jobplug.worker import Worker


class Tally:
    """A plugin counting job events (hooks are how metrics plugins see jobs, too)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.by_handler: dict[str, Counter[str]] = {}
        self.changed = asyncio.Event()

    def _count(self, job: Job, what: str) -> None:
        self.counts[what] += 1
        self.by_handler.setdefault(job.handler, Counter())[what] += 1
        self.changed.set()

    @hookimpl
    def jobplug_job_succeeded(self, job: Job, duration: float) -> None:
        self._count(job, "done")

    @hookimpl
    def jobplug_job_failed(
        self, job: Job, error: BaseException, duration: float, retry_at: Any
    ) -> None:
        self._count(job, "retried")

    @hookimpl
    def jobplug_job_dead(self, job: Job, error: BaseException | None) -> None:
        self._count(job, "dead")


def build_worker(url: str | None, tally: Tally, concurrency: int) -> Worker:
    worker = Worker(url=url, concurrency=concurrency, plugins=[tally], grace=5.0)
    attempts: Counter[str] = Counter()

    @worker.handler("resize_image")
    async def resize_image(args: dict[str, Any]) -> None:
        await asyncio.sleep(random.uniform(0.001, 0.01))  # pretend I/O

    @worker.handler("send_email")
    def send_email(args: dict[str, Any]) -> None:  # a sync handler runs in the thread pool
        time.sleep(random.uniform(0.001, 0.005))

    @worker.handler("flaky_webhook", backoff=lambda job: 0.05)
    async def flaky_webhook(args: dict[str, Any]) -> None:
        attempts[args["n"]] += 1
        if attempts[args["n"]] < 3:  # fails twice, then succeeds on its third try
            raise ConnectionError("webhook endpoint timed out")

    @worker.handler("broken_report", max_fails=2, backoff=lambda job: 0.05)
    async def broken_report(args: dict[str, Any]) -> None:
        raise ValueError(f"report {args['n']} has no data")

    return worker


async def run_demo(url: str | None, jobs: int, concurrency: int, console: Console) -> Tally:
    tally = Tally()
    worker = build_worker(url, tally, concurrency)
    plan = _plan(jobs)
    async with worker:
        console.print(
            f"worker on [bold]{worker.broker.safe_url}[/bold]; enqueuing {len(plan)} jobs"
        )
        for job, delay in plan:
            if delay:
                await worker.perform_in(job, delay)
        await worker.perform_many([job for job, delay in plan if not delay])
        with Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("retried {task.fields[retried]}  dead {task.fields[dead]}"),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            bar = progress.add_task("jobs", total=len(plan), retried=0, dead=0)
            deadline = time.monotonic() + 60
            while (finished := tally.counts["done"] + tally.counts["dead"]) < len(plan):
                if time.monotonic() > deadline:
                    raise click.ClickException(f"only {finished}/{len(plan)} jobs finished in 60s")
                tally.changed.clear()
                progress.update(bar, completed=finished, **_fields(tally))  # type: ignore[arg-type]
                try:
                    await asyncio.wait_for(tally.changed.wait(), 0.5)
                except asyncio.TimeoutError:
                    pass
            progress.update(bar, completed=len(plan), **_fields(tally))  # type: ignore[arg-type]
    return tally


def _fields(tally: Tally) -> dict[str, int]:
    return {"retried": tally.counts["retried"], "dead": tally.counts["dead"]}


def _plan(jobs: int) -> list[tuple[Job, float]]:
    plan: list[tuple[Job, float]] = []
    for n in range(jobs):
        if n % 50 == 49:
            plan.append((Job("broken_report", {"n": n}), 0.0))
        elif n % 20 == 9:
            plan.append((Job("flaky_webhook", {"n": n}), 0.0))
        elif n % 5 == 0:
            plan.append(
                (Job("send_email", {"to": f"user{n}@example.com"}), random.uniform(0.2, 1.5))
            )
        else:
            plan.append((Job("resize_image", {"image": f"img-{n}.png", "width": 640}), 0.0))
    return plan


@click.command()
@click.option("--jobs", "-n", default=300, show_default=True, type=click.IntRange(min=1))
@click.option("--concurrency", "-c", default=20, show_default=True, type=click.IntRange(min=1))
@click.option("--url", help="Backend URL (default: $WORKER_URL, else memory://).")
def demo(jobs: int, concurrency: int, url: str | None) -> None:
    """Run a worker, enqueue example jobs, show progress and a summary table."""
    console = Console()
    # Log lines would drown the progress bar, and the demo's dead jobs are on purpose (each
    # would log its traceback at ERROR): the table tells the story.
    logging.getLogger("jobplug").setLevel(logging.CRITICAL)
    with clean_errors():
        tally = asyncio.run(run_demo(url, jobs, concurrency, console))
    table = Table(title="jobplug demo: results")
    table.add_column("handler")
    for column in ("done", "retried", "dead"):
        table.add_column(column, justify="right")
    for handler, counts in sorted(tally.by_handler.items()):
        table.add_row(handler, *(str(counts[c]) for c in ("done", "retried", "dead")))
    table.add_row(
        "[bold]total[/bold]",
        *(f"[bold]{tally.counts[c]}[/bold]" for c in ("done", "retried", "dead")),
    )
    console.print(table)
