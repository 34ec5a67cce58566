"""``jobplug worker module:attr``: run a worker until SIGINT/SIGTERM/SIGQUIT."""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING

import click

from jobplug import logs
from jobplug.cli.common import clean_errors, import_module, import_object
from jobplug.loops import ENV_VAR as LOOP_ENV
from jobplug.loops import LOOPS
from jobplug.registry import ENV_VAR
from jobplug.urls import redact
from jobplug.worker import Worker

if TYPE_CHECKING:
    from jobplug.ext.prometheus import MetricsServer

log = logging.getLogger("jobplug.cli")


@click.command()
@click.argument("target")
@click.option(
    "--url",
    help=f"Backend URL (sets ${ENV_VAR} before the module is imported). An app that "
    "hard-codes another URL is an error.",
)
@click.option(
    "--concurrency",
    "-c",
    type=click.IntRange(min=1),
    envvar="JOBPLUG_CONCURRENCY",
    show_envvar=True,
    help="Jobs run at once (default: the Worker's own setting).",
)
@click.option(
    "--grace",
    type=click.FloatRange(min=0),
    envvar="JOBPLUG_GRACE",
    show_envvar=True,
    help="Seconds running jobs get to finish on stop (default: the Worker's own setting).",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    envvar="JOBPLUG_METRICS_PORT",
    show_envvar=True,
    help="Serve Prometheus metrics on this port (needs jobplug[prometheus]).",
)
@click.option(
    "--metrics-addr",
    default="127.0.0.1",
    show_default=True,
    envvar="JOBPLUG_METRICS_ADDR",
    show_envvar=True,
    help="Address for --metrics-port; 0.0.0.0 lets a remote Prometheus scrape.",
)
@click.option(
    "--loop",
    type=click.Choice(LOOPS),
    envvar=LOOP_ENV,
    show_envvar=True,
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
    """Run the worker TARGET until SIGINT/SIGTERM/SIGQUIT.

    TARGET is module:attribute (a jobplug.Worker or a function returning one), or just
    module when that module holds exactly one jobplug.Worker. Command-line options win
    over their environment variables.

    A first signal stops fetching and lets running jobs finish within the grace period;
    a second one puts running jobs back and exits at once.
    """
    env_url = os.environ.get(ENV_VAR)
    if url:
        os.environ[ENV_VAR] = url
    with clean_errors(one_shot=False):
        obj = load_worker(target)
        check_url(obj, target, url, env_url)
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


def load_worker(target: str) -> Worker:
    """The Worker that ``target`` names: ``module:attribute`` (a Worker, or a function
    returning one), or a bare ``module`` holding exactly one Worker instance."""
    if ":" in target:
        obj = import_object(target)
        if callable(obj) and not isinstance(obj, Worker):
            obj = obj()
    else:
        obj = find_worker(target)
    if not isinstance(obj, Worker):
        raise click.ClickException(f"{target} is {type(obj).__name__}, not a jobplug.Worker")
    return obj


def find_worker(module_name: str) -> Worker:
    """The one Worker instance among ``module_name``'s attributes (as Celery finds its app)."""
    module = import_module(module_name)
    names_of: dict[Worker, list[str]] = {}  # one Worker may be bound to several names
    for name, value in vars(module).items():
        if isinstance(value, Worker):
            names_of.setdefault(value, []).append(name)
    if len(names_of) == 1:
        return next(iter(names_of))
    if not names_of:
        raise click.ClickException(
            f"module {module_name!r} has no jobplug.Worker instance; name one with "
            f"{module_name}:attribute (a Worker, or a function returning one)"
        )
    names = sorted(min(names) for names in names_of.values())
    raise click.ClickException(
        f"module {module_name!r} has several jobplug.Worker instances "
        f"({', '.join(names)}); pick one, e.g. {module_name}:{names[0]}"
    )


def check_url(obj: Worker, target: str, url: str | None, env_url: str | None) -> None:
    """Refuse a ``--url`` the app ignores; warn when nothing from another process can reach
    this worker (an in-process backend such as ``memory://``)."""
    broker = obj.broker
    if url and broker.url != url:
        raise click.ClickException(
            f"--url {redact(url)} was given, but {target} uses {broker.safe_url} (its URL "
            f"is set in the code); drop --url, or build the worker with jobplug.connect() "
            f"so that --url and ${ENV_VAR} choose the backend"
        )
    # Logged, not echoed: the lines follow --log-format (JSON stays JSON) on stderr.
    if not url and env_url and broker.url != env_url:
        log.warning(
            "$%s is %s, but %s uses %s (its URL is set in the code)",
            ENV_VAR,
            redact(env_url),
            target,
            broker.safe_url,
        )
    if broker.in_process:
        why = "" if url or env_url else f" because ${ENV_VAR} is not set"
        log.warning(
            "this worker runs on %s%s: it only runs jobs enqueued inside this process; "
            "jobs enqueued by other processes will NOT reach it. Set $%s (or --url) to a "
            "shared backend, e.g. %s=redis://127.0.0.1:6379/0?namespace=myapp",
            broker.safe_url,
            why,
            ENV_VAR,
            ENV_VAR,
        )


def serve_metrics(worker: Worker, port: int, addr: str) -> MetricsServer:
    """``--metrics-port``: count ``worker``'s jobs and serve them on /metrics."""
    from jobplug.ext import prometheus  # the extra is needed only when asked for

    return prometheus.enable(worker, port, addr)
