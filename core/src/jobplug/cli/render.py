"""Output of the inspection commands: rich tables, JSON forms, and short time texts
(``3m 20s ago``, ``in 2h``) for queues, pools, busy workers and job pages."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import click

from jobplug.cli.console import Console, Table, escape
from jobplug.inspect import BusyWorker, JobRecord, Page, PoolInfo, QueueInfo


def print_page(page: Page, title: str, at_label: str) -> None:
    now = utc_now()
    table = new_table(title, at_label, "Handler", "Job", ("Fails", "right"), "Error", "Args")
    for record in page.items:
        job = record.job
        add_row(
            table,
            f"{clock(record.at)} ({relative(record.at, now)})",
            job.handler,
            job.id,
            str(job.fails) if job.fails else "",
            short(job.last_error or ""),
            short(args_text(job.args if record.stored is None else record.stored.get("args"))),
        )
    pages = max(1, math.ceil(page.total / page.page_size))
    table.caption = (
        f"page {page.page} of {pages} ({page.total} job{'' if page.total == 1 else 's'})"
    )
    if not page.total:
        click.echo(f"no {title[0].lower()}{title[1:]}")
    elif not page.items:
        click.echo(f"page {page.page} is empty: {page.total} jobs fill {pages} page(s)")
    else:
        Console().print(table)


def print_job(record: JobRecord, title: str, at_label: str) -> None:
    """One job in full, as plain text (a traceback's brackets are not markup here)."""
    job, now = record.job, utc_now()
    rows = [
        ("Handler", job.handler),
        ("Queue", job.queue),
        (at_label, f"{clock(record.at)} ({relative(record.at, now)})"),
        ("Enqueued", f"{clock(job.enqueued_at)} ({relative(job.enqueued_at, now)})"),
        ("Fails", str(job.fails)),
    ]
    if job.failed_at is not None:
        rows.append(("Failed at", f"{clock(job.failed_at)} ({relative(job.failed_at, now)})"))
    rows.append(("Args", args_text(job.args)))
    if job.last_error:
        rows.append(("Error", job.last_error))
    if job.meta:
        rows.append(("Other", json.dumps(job.meta, ensure_ascii=False, default=str)))
    width = max(len(label) for label, _ in rows) + 2
    click.echo(f"{title[:-1] if title.endswith('s') else title} {job.id}")
    for label, value in rows:
        click.echo(f"  {label + ':':<{width}}{value}")
    if job.last_traceback:
        click.echo("")
        click.echo(job.last_traceback)


def new_table(title: str, *columns: str | tuple[str, str]) -> Table:
    table = Table(title=title)
    for column in columns:
        name, justify = column if isinstance(column, tuple) else (column, "left")
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    return table


def add_row(table: Table, *cells: str) -> None:
    """A row of data: brackets in job names, errors or args are text, never markup."""
    table.add_row(*(escape(cell) for cell in cells))


def print_table(table: Table, rows: Sequence[object], empty: str) -> None:
    if rows:
        Console().print(table)
    else:
        click.echo(empty)


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def queue_json(q: QueueInfo) -> dict[str, Any]:
    return {"handler": q.handler, "count": q.count, "latency": q.latency, "paused": q.paused}


def latency(q: QueueInfo) -> str:
    """The oldest job's wait; ``-`` for an empty queue, ``unknown`` where the backend
    cannot tell (AMQP)."""
    if q.latency is None:
        return "unknown"
    return span(q.latency) if q.count else "-"


def pool_json(p: PoolInfo) -> dict[str, Any]:
    return {
        "pool_id": p.pool_id,
        "host": p.host,
        "pid": p.pid,
        "started_at": epoch(p.started_at),
        "heartbeat_at": epoch(p.heartbeat_at),
        "concurrency": p.concurrency,
        "handlers": list(p.handlers),
        "worker_ids": list(p.worker_ids),
    }


def busy_json(b: BusyWorker) -> dict[str, Any]:
    return {
        "worker_id": b.worker_id,
        "pool_id": b.pool_id,
        "started_at": epoch(b.started_at),
        "job": b.job.to_dict(),
    }


def page_json(page: Page, at_key: str) -> dict[str, Any]:
    # each job as gocraft's client shows it: the score first, then the job's own fields
    # (as stored, when the backend says: another writer's fields print as it wrote them)
    jobs = [{at_key: epoch(r.at), **stored_form(r)} for r in page.items]
    return {"page": page.page, "page_size": page.page_size, "total": page.total, "jobs": jobs}


def stored_form(record: JobRecord) -> dict[str, Any]:
    return record.job.to_dict() if record.stored is None else record.stored


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def epoch(when: datetime) -> int:
    return math.floor(when.timestamp())


def clock(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def span(seconds: float) -> str:
    """``45s``, ``3m 20s``, ``2h 5m``, ``3d 4h``."""
    s = int(seconds)
    for unit, size, sub, sub_size in (("d", 86400, "h", 3600), ("h", 3600, "m", 60)):
        if s >= size:
            rest = (s % size) // sub_size
            return f"{s // size}{unit} {rest}{sub}" if rest else f"{s // size}{unit}"
    if s >= 60:
        return f"{s // 60}m {s % 60}s" if s % 60 else f"{s // 60}m"
    return f"{s}s"


def relative(when: datetime, now: datetime) -> str:
    delta = (now - when).total_seconds()
    if abs(delta) < 1:
        return "now"
    return f"{span(abs(delta))} ago" if delta > 0 else f"in {span(-delta)}"


def args_text(args: Any) -> str:
    """Args on one line, with their characters as they are (``Zürich``, not ``\\u00fc``)."""
    return json.dumps(args, ensure_ascii=False)


def short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
