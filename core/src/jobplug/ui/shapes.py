"""gocraft/work's web UI JSON shapes, built from :mod:`jobplug.inspect` records.

Times are integer unix seconds and field names are gocraft's, so a tool written for
gocraft's ``workwebui`` reads jobplug's API unchanged. Fields gocraft does not have
(``paused`` on a queue) are extra keys that such tools ignore.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from jobplug.inspect import BusyWorker, JobRecord, Page, PoolInfo, QueueInfo

#: Listing kind -> the name gocraft gives the score of a job in that listing.
SCORE_FIELD = {"scheduled": "run_at", "retry": "retry_at", "dead": "died_at"}


def epoch(when: datetime) -> int:
    return int(when.timestamp())


def queue_json(queue: QueueInfo) -> dict[str, Any]:
    return {
        "job_name": queue.handler,
        "count": queue.count,
        "latency": None if queue.latency is None else int(queue.latency),  # null: unknown
        "paused": queue.paused,
    }


def pool_json(pool: PoolInfo) -> dict[str, Any]:
    return {
        "worker_pool_id": pool.pool_id,
        "started_at": epoch(pool.started_at),
        "heartbeat_at": epoch(pool.heartbeat_at),
        "job_names": sorted(pool.handlers),
        "concurrency": pool.concurrency,
        "host": pool.host,
        "pid": pool.pid,
        "worker_ids": sorted(pool.worker_ids),
    }


def busy_json(worker: BusyWorker) -> dict[str, Any]:
    args = worker.job.args
    return {
        "worker_id": worker.worker_id,
        "is_busy": True,
        "job_name": worker.job.handler,
        "job_id": worker.job.id,
        "started_at": epoch(worker.started_at),
        # gocraft's observer writes "" for empty args, else the args' JSON text
        "args_json": json.dumps(args, separators=(",", ":"), ensure_ascii=False) if args else "",
        "checkin": str(worker.job.meta.get("checkin") or ""),
        "checkin_at": int(worker.job.meta.get("checkin_at") or 0),
    }


def busy_list_json(workers: list[BusyWorker]) -> list[dict[str, Any]] | None:
    # gocraft answers null, not [], when no worker is busy; its clients expect that
    return [busy_json(w) for w in workers] or None


def record_json(kind: str, record: JobRecord) -> dict[str, Any]:
    """The score first, then the job's own fields inlined (gocraft embeds ``*Job``)."""
    out: dict[str, Any] = {SCORE_FIELD[kind]: epoch(record.at)}
    out.update(record.job.to_dict())
    return out


def page_json(kind: str, page: Page) -> dict[str, Any]:
    return {"count": page.total, "jobs": [record_json(kind, r) for r in page.items]}
