"""``jobplug inspect``, ``retry-dead``, ``pause`` and ``unpause``: look at and steer a backend.

Built only on :class:`jobplug.inspect.Inspector`, so they work on every adapter that declares
the ``inspect`` capability. Each command opens the broker for ``--url`` (default
``$WORKER_URL``, else ``memory://``), does one thing, and closes it; any failure is one
line on stderr with the password redacted, and exit status 1.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import TypeVar

import click

from jobplug.broker import Broker
from jobplug.cli import render
from jobplug.cli.common import clean_errors, parse_duration, parse_iso_time
from jobplug.errors import BrokerConnectionError, InvalidScheduleError
from jobplug.inspect import Inspector, Page, find_record, lister
from jobplug.registry import broker_from_url, resolve_url
from jobplug.urls import redact

T = TypeVar("T")

_url_option = click.option("--url", help="Backend URL (default: $WORKER_URL, else memory://).")
_json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON, not a table.")
_timeout_option = click.option(
    "--timeout", default="10s", show_default=True, help="Give up after this long (5s, 1m)."
)
_page_option = click.option(
    "--page", default=1, show_default=True, type=click.IntRange(min=1), help="Page (20 jobs each)."
)


def with_broker(
    url: str | None, action: Callable[[Broker], Awaitable[T]], timeout: float | None = 10.0
) -> T:
    """Open the broker for ``url`` (see :func:`~jobplug.registry.resolve_url`), await
    ``action(broker)``, close the broker, and return the result.

    jobplug errors, a connection failure and a timeout become a one-line
    :class:`click.ClickException` with the password redacted.
    """
    resolved = resolve_url(url)

    async def run() -> T:
        broker = broker_from_url(resolved)
        try:
            await broker.connect()
            result = await action(broker)
        except BaseException:
            with contextlib.suppress(Exception):  # the first error is the one to show
                await broker.close()
            raise
        await broker.close()
        return result

    async def bounded() -> T:
        return await asyncio.wait_for(run(), timeout)

    with clean_errors():
        try:
            return asyncio.run(bounded())
        except asyncio.TimeoutError:
            raise BrokerConnectionError(
                f"no answer from {redact(resolved)} within {timeout:g}s"
            ) from None
        except OSError as exc:  # an adapter that let a socket error through
            raise BrokerConnectionError(f"cannot reach {redact(resolved)}: {exc}") from None


def _with_inspector(
    url: str | None, timeout: str, action: Callable[[Inspector], Awaitable[T]]
) -> T:
    async def run(broker: Broker) -> T:
        return await action(broker.inspector())

    return with_broker(url, run, parse_duration(timeout))


# -- inspect -------------------------------------------------------------------------------


@click.group()
def inspect() -> None:
    """Show queues, worker pools, busy workers and scheduled, retry or dead jobs."""


@inspect.command()
@_url_option
@_json_option
@_timeout_option
def queues(url: str | None, as_json: bool, timeout: str) -> None:
    """Queues with their ready-job counts and latency."""
    rows = _with_inspector(url, timeout, lambda i: i.queues())
    if as_json:
        render.print_json([render.queue_json(q) for q in rows])
        return
    table = render.new_table("Queues", "Handler", ("Jobs", "right"), ("Latency", "right"), "Paused")
    for q in rows:
        render.add_row(
            table, q.handler, str(q.count), render.latency(q), "paused" if q.paused else ""
        )
    render.print_table(table, rows, "no queues")


@inspect.command()
@_url_option
@_json_option
@_timeout_option
def pools(url: str | None, as_json: bool, timeout: str) -> None:
    """Live worker pools (processes) and their heartbeats."""
    rows = _with_inspector(url, timeout, lambda i: i.pools())
    if as_json:
        render.print_json([render.pool_json(p) for p in rows])
        return
    now = render.utc_now()
    table = render.new_table(
        "Worker pools",
        "Pool",
        "Host",
        ("PID", "right"),
        ("Concurrency", "right"),
        "Handlers",
        ("Started", "right"),
        ("Heartbeat", "right"),
    )
    for p in rows:
        render.add_row(
            table,
            p.pool_id,
            p.host,
            str(p.pid),
            str(p.concurrency),
            ", ".join(p.handlers),
            render.relative(p.started_at, now),
            render.relative(p.heartbeat_at, now),
        )
    render.print_table(table, rows, "no worker pools")


@inspect.command()
@_url_option
@_json_option
@_timeout_option
def busy(url: str | None, as_json: bool, timeout: str) -> None:
    """Workers running a job right now."""
    rows = _with_inspector(url, timeout, lambda i: i.busy())
    if as_json:
        render.print_json([render.busy_json(b) for b in rows])
        return
    now = render.utc_now()
    table = render.new_table(
        "Busy workers", "Worker", "Pool", "Handler", "Job", "Args", ("Since", "right")
    )
    for b in rows:
        render.add_row(
            table,
            b.worker_id,
            b.pool_id,
            b.job.handler,
            b.job.id,
            render.short(render.args_text(b.job.args)),
            render.relative(b.started_at, now),
        )
    render.print_table(table, rows, "no busy workers")


def _page_command(name: str, title: str, at_label: str, at_key: str, help: str) -> None:
    @inspect.command(name, help=help + " With JOB_ID: that job in full, traceback included.")
    @click.argument("job_id", required=False)
    @_page_option
    @_url_option
    @_json_option
    @_timeout_option
    def command(
        job_id: str | None, page: int, url: str | None, as_json: bool, timeout: str
    ) -> None:
        if job_id is not None:
            _show_job(name, job_id, title, at_label, at_key, page, url, as_json, timeout)
            return
        result: Page = _with_inspector(url, timeout, lambda i: lister(i, name)(page))
        if as_json:
            render.print_json(render.page_json(result, at_key))
            return
        render.print_page(result, title, at_label)


def _show_job(
    kind: str,
    job_id: str,
    title: str,
    at_label: str,
    at_key: str,
    page: int,
    url: str | None,
    as_json: bool,
    timeout: str,
) -> None:
    record = _with_inspector(url, timeout, lambda i: find_record(i, kind, job_id, hint=page))
    if record is None:
        raise click.ClickException(f"no job {job_id!r} among the {title.lower()}")
    if as_json:
        render.print_json({at_key: render.epoch(record.at), **record.job.to_dict()})
        return
    render.print_job(record, title, at_label)


_page_command(
    "scheduled",
    "Scheduled jobs",
    "Run at",
    "run_at",
    "Jobs waiting for their run time, soonest first, 20 per page.",
)
_page_command(
    "retry",
    "Retry jobs",
    "Retry at",
    "retry_at",
    "Failed jobs waiting to be retried, soonest first, 20 per page.",
)
_page_command(
    "dead",
    "Dead jobs",
    "Died at",
    "died_at",
    "Jobs that failed for good, most recent first, 20 per page.",
)


# -- control -------------------------------------------------------------------------------


@click.command("retry-dead")
@click.argument("job_id", required=False)
@click.option("--all", "retry_all", is_flag=True, help="Retry every dead job.")
@click.option("--at", "died_at", help="When the job died (epoch seconds or ISO 8601 time).")
@_url_option
@_timeout_option
def retry_dead(
    job_id: str | None, retry_all: bool, died_at: str | None, url: str | None, timeout: str
) -> None:
    """Put the dead job JOB_ID (or, with --all, every dead job) back in its queue."""
    if bool(job_id) == retry_all:
        raise click.UsageError("give a dead job's ID or --all (not both)")
    if retry_all:
        count = _with_inspector(url, timeout, lambda i: i.retry_all_dead())
        click.echo(f"retried {count} dead job{'' if count == 1 else 's'}")
        return
    assert job_id is not None
    with clean_errors():
        when = _parse_time(died_at) if died_at else None
    _with_inspector(url, timeout, lambda i: i.retry_dead(job_id, when))
    click.echo(f"retried dead job {job_id}")


@click.command()
@click.argument("handler")
@_url_option
@_timeout_option
def pause(handler: str, url: str | None, timeout: str) -> None:
    """Stop handing out HANDLER's jobs, in every worker, until unpause."""
    _with_inspector(url, timeout, lambda i: i.pause(handler))
    click.echo(f"paused {handler}")


@click.command()
@click.argument("handler")
@_url_option
@_timeout_option
def unpause(handler: str, url: str | None, timeout: str) -> None:
    """Let workers take HANDLER's jobs again."""
    _with_inspector(url, timeout, lambda i: i.unpause(handler))
    click.echo(f"unpaused {handler}")


def _parse_time(text: str) -> datetime:
    try:
        seconds = float(text)
    except ValueError:
        return parse_iso_time(text, "--at", "epoch seconds or ISO 8601")
    try:
        return datetime.fromtimestamp(seconds, timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise InvalidScheduleError(f"--at {text!r} is not a time before the year 9999") from None
