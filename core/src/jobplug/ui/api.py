"""The JSON API: gocraft/work's web UI endpoints and shapes, plus pause/unpause and stats.

Reads are ``GET``; every change is ``POST`` (see :mod:`jobplug.ui.security` for the CSRF
policy). Success is ``{"status": "ok"}``; an error is ``{"error": "..."}`` with 400 for a
parameter out of range (a page past :data:`MAX_PAGE`, a time past the year 9999), 404 for
a job that is not there, 501 for what the backend cannot do, 500 for a backend failure.
A POST carrying ``?next=/ui/...`` comes from a dashboard form: it answers with a 303
redirect back to that page instead, so the buttons work without any script.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from jobplug.errors import CapabilityNotSupported, JobNotFoundError, JobplugError
from jobplug.inspect import Inspector, Page, lister
from jobplug.ui import shapes
from jobplug.ui.state import mount_prefix, ui_state

log = logging.getLogger("jobplug.ui")


class GocraftJSON(Response):
    """Tab-indented JSON, as gocraft's ``json.MarshalIndent(v, "", "\\t")``."""

    media_type = "application/json; charset=utf-8"

    def render(self, content: Any) -> bytes:
        return json.dumps(content, indent="\t", ensure_ascii=False).encode()


def error_status(exc: JobplugError) -> int:
    """404 for a missing job, 501 for what the backend cannot do, else 500 (logged)."""
    if isinstance(exc, JobNotFoundError):
        return 404
    if isinstance(exc, CapabilityNotSupported):
        return 501
    log.warning("dashboard: the backend failed: %s", exc)
    return 500


#: The last page number accepted: beyond it a backend's offset arithmetic overflows.
MAX_PAGE = 10**9
#: Times in paths (epoch seconds) past this are refused: Python dates end at 9999.
_MAX_EPOCH = 253402300799


class BadRequest(JobplugError):
    """A request parameter that cannot be honoured: answered with 400 and the reason."""


def page_number(request: Request) -> int:
    """``?page=``: 0, negative or not a number mean 1, as in gocraft; a number past
    :data:`MAX_PAGE` (``1e23`` too) is a :class:`BadRequest`."""
    text = request.query_params.get("page", "1")
    try:
        number = float(text)
    except ValueError:
        return 1
    if number > MAX_PAGE:
        raise BadRequest(f"page must be a whole number from 1 to {MAX_PAGE}")
    try:
        return max(1, int(text))
    except ValueError:  # 2.5, nan
        return 1


def bad_request(exc: BadRequest) -> Response:
    return GocraftJSON({"error": str(exc)}, status_code=400)


async def _read(request: Request, action: Callable[[Inspector], Awaitable[Any]]) -> Response:
    try:
        return GocraftJSON(await ui_state(request).run(action))
    except JobplugError as exc:
        return GocraftJSON({"error": str(exc)}, status_code=error_status(exc))


async def queues(request: Request) -> Response:
    async def run(i: Inspector) -> Any:
        return [shapes.queue_json(q) for q in await i.queues()]

    return await _read(request, run)


async def worker_pools(request: Request) -> Response:
    async def run(i: Inspector) -> Any:
        return [shapes.pool_json(p) for p in await i.pools()]

    return await _read(request, run)


async def busy_workers(request: Request) -> Response:
    async def run(i: Inspector) -> Any:
        return shapes.busy_list_json(await i.busy())

    return await _read(request, run)


def _listing(kind: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            page = page_number(request)
        except BadRequest as exc:
            return bad_request(exc)

        async def run(i: Inspector) -> Any:
            return shapes.page_json(kind, await lister(i, kind)(page))

        return await _read(request, run)

    return endpoint


async def collect_stats(request: Request) -> dict[str, int | None]:
    """Counts of each listing; None where the backend cannot tell."""
    state = ui_state(request)

    async def total(method: Callable[[int], Awaitable[Page]]) -> int:
        return (await method(1)).total

    async def queued(i: Inspector) -> int:
        return sum(q.count for q in await i.queues())

    async def busy(i: Inspector) -> int:
        return len(await i.busy())

    keys = ("queued", "busy", "scheduled", "retry", "dead")
    values = await asyncio.gather(
        state.optional(queued),
        state.optional(busy),
        state.optional(lambda i: total(i.scheduled)),
        state.optional(lambda i: total(i.retries)),
        state.optional(lambda i: total(i.dead)),
    )
    return dict(zip(keys, values, strict=True))


async def stats(request: Request) -> Response:
    """Counts for the dashboard's auto-refresh; null where the backend cannot tell."""
    try:
        await ui_state(request).inspector()
        return GocraftJSON(await collect_stats(request))
    except JobplugError as exc:
        return GocraftJSON({"error": str(exc)}, status_code=error_status(exc))


# -- actions -----------------------------------------------------------------------------
def _at(request: Request, name: str) -> datetime:
    value = int(request.path_params[name])
    if value > _MAX_EPOCH:
        raise BadRequest(f"{name} {value} is not a time (epoch seconds up to {_MAX_EPOCH})")
    return datetime.fromtimestamp(value, timezone.utc)


def _safe_next(request: Request) -> str | None:
    """Where a dashboard form wants to land: only a path of this dashboard (no open redirect)."""
    target = request.query_params.get("next")
    if target and target.startswith("/ui/") and "//" not in target and "\\" not in target:
        return target
    return None


async def _act(
    request: Request, name: str, action: Callable[[Inspector], Awaitable[int | None]]
) -> Response:
    target = _safe_next(request)
    try:
        count = await ui_state(request).run(action)
    except JobplugError as exc:
        if target is not None:
            failed = {404: "not_found", 501: "unsupported"}.get(error_status(exc), "error")
            return _back(request, target, f"failed={failed}")
        return GocraftJSON({"error": str(exc)}, status_code=error_status(exc))
    if target is not None:
        return _back(request, target, f"done={name}")
    body: dict[str, Any] = {"status": "ok"}
    if count is not None:
        body["count"] = count
    return GocraftJSON(body)


def _back(request: Request, target: str, flag: str) -> Response:
    location = f"{mount_prefix(request)}{target}{'&' if '?' in target else '?'}{flag}"
    return RedirectResponse(location, status_code=303)


def _job_action(
    score: str, done: str, call: Callable[[Inspector], Callable[[str, datetime], Awaitable[Any]]]
) -> Callable[[Request], Awaitable[Response]]:
    """An action on one job named by its score (``score`` in the path) and id."""

    async def endpoint(request: Request) -> Response:
        try:
            at, job_id = _at(request, score), request.path_params["job_id"]
        except BadRequest as exc:
            return bad_request(exc)
        return await _act(request, done, lambda i: call(i)(job_id, at))

    return endpoint


retry_dead_job = _job_action("died_at", "retried", lambda i: i.retry_dead)
delete_dead_job = _job_action("died_at", "deleted", lambda i: i.delete_dead)
delete_scheduled_job = _job_action("run_at", "deleted", lambda i: i.delete_scheduled)
delete_retry_job = _job_action("retry_at", "deleted", lambda i: i.delete_retry)


async def retry_all_dead_jobs(request: Request) -> Response:
    return await _act(request, "retried_all", lambda i: i.retry_all_dead())


async def delete_all_dead_jobs(request: Request) -> Response:
    return await _act(request, "deleted_all", lambda i: i.delete_all_dead())


async def pause(request: Request) -> Response:
    handler = request.path_params["handler"]
    return await _act(request, "paused", lambda i: i.pause(handler))


async def unpause(request: Request) -> Response:
    handler = request.path_params["handler"]
    return await _act(request, "unpaused", lambda i: i.unpause(handler))


def routes() -> list[Route]:
    post = ["POST"]
    return [
        Route("/queues", queues),
        Route("/worker_pools", worker_pools),
        Route("/busy_workers", busy_workers),
        Route("/scheduled_jobs", _listing("scheduled")),
        Route("/retry_jobs", _listing("retry")),
        Route("/dead_jobs", _listing("dead")),
        Route("/stats", stats),
        Route("/retry_dead_job/{died_at:int}/{job_id:path}", retry_dead_job, methods=post),
        Route("/delete_dead_job/{died_at:int}/{job_id:path}", delete_dead_job, methods=post),
        Route("/retry_all_dead_jobs", retry_all_dead_jobs, methods=post),
        Route("/delete_all_dead_jobs", delete_all_dead_jobs, methods=post),
        Route(
            "/delete_scheduled_job/{run_at:int}/{job_id:path}", delete_scheduled_job, methods=post
        ),
        Route("/delete_retry_job/{retry_at:int}/{job_id:path}", delete_retry_job, methods=post),
        Route("/pause/{handler:path}", pause, methods=post),
        Route("/unpause/{handler:path}", unpause, methods=post),
    ]
