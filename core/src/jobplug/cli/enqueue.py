"""``jobplug enqueue HANDLER --args JSON``: enqueue one job from the shell."""

from __future__ import annotations

import json
from datetime import datetime

import click

from jobplug.cli.common import clean_errors, parse_duration, run_async
from jobplug.errors import InvalidScheduleError
from jobplug.job import Job
from jobplug.worker import Worker


@click.command()
@click.argument("handler")
@click.option("--args", "args_json", default="{}", show_default=True, help="Args as a JSON object.")
@click.option("--in", "delay", help="Run after this delay (30s, 5m, 2h, 1d).")
@click.option("--at", "at", help="Run at this ISO 8601 time with a UTC offset.")
@click.option("--queue", default="default", show_default=True)
@click.option("--url", help="Backend URL (default: $WORKER_URL, else memory://).")
def enqueue(
    handler: str, args_json: str, delay: str | None, at: str | None, queue: str, url: str | None
) -> None:
    """Enqueue a job for HANDLER and print its id."""
    if delay and at:
        raise click.UsageError("--in and --at are exclusive")
    try:
        args = json.loads(args_json)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--args") from None
    seconds = parse_duration(delay) if delay else None
    with clean_errors():
        when = _parse_at(at) if at else None
        job = Job(handler, args, queue=queue)
        worker = Worker(url=url, load_plugins=True)

        async def go() -> None:
            try:
                if seconds is not None:
                    await worker.perform_in(job, seconds)
                elif when is not None:
                    await worker.perform_at(job, when)
                else:
                    await worker.perform(job)
            finally:
                await worker.broker.close()

        run_async(go)
        if worker.broker.in_process:
            click.echo(
                f"warning: {worker.broker.safe_url} keeps jobs in this process only; "
                "set --url or $WORKER_URL to a durable backend",
                err=True,
            )
    click.echo(job.id)


def _parse_at(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidScheduleError(f"--at {text!r} is not an ISO 8601 time") from None
    if when.tzinfo is None:
        raise InvalidScheduleError(f"--at {text!r} has no UTC offset (add Z or +02:00)")
    return when
