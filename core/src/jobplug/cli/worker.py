"""``jobplug worker module:attr``: run a worker until SIGINT/SIGTERM/SIGQUIT."""

from __future__ import annotations

import logging
import os
import sys

import click

from jobplug.cli.common import clean_errors, import_object
from jobplug.registry import ENV_VAR
from jobplug.worker import Worker


@click.command()
@click.argument("target")
@click.option("--url", help=f"Backend URL (sets ${ENV_VAR} before the module is imported).")
@click.option("--concurrency", "-c", type=click.IntRange(min=1), help="Jobs run at once.")
@click.option("--grace", type=float, help="Seconds running jobs get to finish on stop.")
def worker(target: str, url: str | None, concurrency: int | None, grace: float | None) -> None:
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
        obj.run()
    if obj.forced:
        # Sync handlers still running in threads would keep the interpreter alive until
        # they finish; their jobs are already back in the queue, so leave now.
        logging.shutdown()
        sys.stdout.flush()
        os._exit(1)
