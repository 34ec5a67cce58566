"""``jobplug worker module:attr``: run a worker until SIGINT/SIGTERM/SIGQUIT."""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING

import click

from jobplug import logs
from jobplug.cli.common import clean_errors, import_object
from jobplug.loops import ENV_VAR as LOOP_ENV
from jobplug.loops import LOOPS
from jobplug.registry import ENV_VAR
from jobplug.worker import Worker

if TYPE_CHECKING:
    from jobplug.ext.prometheus import MetricsServer


@click.command()
@click.argument("target")
@click.option("--url", help=f"Backend URL (sets ${ENV_VAR} before the module is imported).")
@click.option("--concurrency", "-c", type=click.IntRange(min=1), help="Jobs run at once.")
@click.option("--grace", type=float, help="Seconds running jobs get to finish on stop.")
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    envvar="JOBPLUG_METRICS_PORT",
    help="Serve Prometheus metrics on this port (needs jobplug[prometheus]).",
)
@click.option(
    "--metrics-addr",
    default="127.0.0.1",
    show_default=True,
    envvar="JOBPLUG_METRICS_ADDR",
    help="Address for --metrics-port; 0.0.0.0 lets a remote Prometheus scrape.",
)
@click.option(
    "--loop",
    type=click.Choice(LOOPS),
    envvar=LOOP_ENV,
    help="Event loop: uvloop when installed (auto, the default), or force one.",
)
def worker(
    target: str,
    url: str | None,
    concurrency: int | None,
    grace: float | None,
    metrics_port: int | None,
    metrics_addr: str,
    loop: str | None,
) -> None:
    """Run the worker TARGET (module:attribute, a jobplug.Worker or a function returning one).

    A first signal stops fetching and lets running jobs finish within the grace period;
    a second one puts running jobs back and exits at once.
    """
    if url:
        os.environ[ENV_VAR] = url
    with clean_errors():
        obj = import_object(target)
        if callable(obj) and not isinstance(obj, Worker):
            obj = obj()
        if not isinstance(obj, Worker):
            raise click.ClickException(f"{target} is {type(obj).__name__}, not a jobplug.Worker")
        if concurrency:
            obj.concurrency = concurrency
        if grace is not None:
            obj.grace = grace
        if not obj.handlers:
            raise click.ClickException(f"{target} has no registered handlers")
        metrics = None if metrics_port is None else serve_metrics(obj, metrics_port, metrics_addr)
        try:
            obj.run(loop)
        finally:
            if metrics is not None:
                metrics.close()
    status = 1 if obj.forced or obj.put_back else 0
    drained = logs.drain()
    if drained and not status:
        return
    # Sync handlers still running in threads would keep the interpreter alive until they
    # finish; their jobs are already back in the queue (for another worker to run). A log
    # output nobody reads would hold the interpreter's exit (it flushes every handler)
    # forever. Leave now.
    if drained:
        logging.shutdown()
    sys.stdout.flush()
    os._exit(status)


def serve_metrics(worker: Worker, port: int, addr: str) -> MetricsServer:
    """``--metrics-port``: count ``worker``'s jobs and serve them on /metrics."""
    from jobplug.ext import prometheus  # the extra is needed only when asked for

    return prometheus.enable(worker, port, addr)
