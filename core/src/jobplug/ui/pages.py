"""Server-rendered pages: queues, processes, scheduled/retry/dead listings, job detail.

A listing the backend cannot provide (``CapabilityNotSupported``) renders as a notice on
the page, never as an error page; a backend failure renders its (redacted) message.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from jobplug.broker import Capability
from jobplug.errors import CapabilityNotSupported, JobplugError
from jobplug.inspect import PAGE_SIZE, Inspector, JobRecord, Page, find_record, lister
from jobplug.ui.api import BadRequest, collect_stats, page_number
from jobplug.ui.shapes import epoch
from jobplug.ui.state import mount_prefix, ui_state

log = logging.getLogger("jobplug.ui")

#: Outcome flags a form's redirect carries -> what the page says. Fixed texts only: nothing
#: from the query string is ever shown.
MESSAGES = {
    "done": {
        "retried": "Job queued again.",
        "deleted": "Job deleted.",
        "retried_all": "All dead jobs queued again.",
        "deleted_all": "All dead jobs deleted.",
        "paused": "Handler paused.",
        "unpaused": "Handler resumed.",
    },
    "failed": {
        "not_found": "That job is no longer there (already retried, deleted or run).",
        "unsupported": "This backend cannot do that.",
        "error": "The backend reported an error; see the server log.",
    },
}

KINDS = {
    "scheduled": ("Scheduled jobs", "scheduled", "Run at"),
    "retry": ("Retry jobs", "retry", "Retry at"),
    "dead": ("Dead jobs", "dead", "Died"),
}


@dataclass
class Section:
    """One block of data on a page: its value, or why it is missing."""

    value: Any = None
    unsupported: str | None = None
    error: str | None = None


async def load(request: Request, action: Callable[[Inspector], Awaitable[Any]]) -> Section:
    try:
        return Section(value=await ui_state(request).run(action))
    except CapabilityNotSupported as exc:
        return Section(unsupported=str(exc))
    except JobplugError as exc:
        log.warning("dashboard: the backend failed: %s", exc)
        return Section(error=str(exc))


class Pages:
    def __init__(self, templates: Jinja2Templates) -> None:
        self.templates = templates

    async def render(self, request: Request, name: str, **context: Any) -> Response:
        try:
            counts: dict[str, int | None] = await collect_stats(request)
        except JobplugError:
            counts = {}
        flash = None
        for key, texts in MESSAGES.items():
            if request.query_params.get(key) in texts:
                flash = (key, texts[request.query_params[key]])
        context.update(
            counts=counts,
            flash=flash,
            broker=ui_state(request).broker,
            refresh_ms=int(ui_state(request).refresh_seconds * 1000),
            now=datetime.now(timezone.utc),
            root=mount_prefix(request),
            page_size=PAGE_SIZE,
        )
        return self.templates.TemplateResponse(request, name, context)

    async def queues(self, request: Request) -> Response:
        section = await load(request, lambda i: i.queues())
        can_pause = ui_state(request).broker.supports(Capability.PAUSE)
        return await self.render(
            request, "queues.html", section=section, active="queues", can_pause=can_pause
        )

    async def processes(self, request: Request) -> Response:
        pools = await load(request, lambda i: i.pools())
        busy = await load(request, lambda i: i.busy())
        hosts = {p.pool_id: p for p in pools.value or ()}
        return await self.render(
            request, "processes.html", pools=pools, busy=busy, hosts=hosts, active="processes"
        )

    def listing(self, kind: str) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                page = page_number(request)
            except BadRequest as exc:
                return Response(str(exc), status_code=400, media_type="text/plain")
            section = await load(request, lambda i: lister(i, kind)(page))
            pages = 1
            if isinstance(section.value, Page):
                pages = max(1, -(-section.value.total // section.value.page_size))
            here = f"/ui/{kind}" + (f"?page={page}" if page > 1 else "")
            return await self.render(
                request,
                "jobs.html",
                kind=kind,
                title=KINDS[kind][0],
                when_label=KINDS[kind][2],
                section=section,
                page=page,
                pages=pages,
                here=here,
                active=kind,
            )

        return endpoint

    async def job(self, request: Request) -> Response:
        kind = request.path_params["kind"]
        if kind not in KINDS:
            return Response("no such listing", status_code=404, media_type="text/plain")
        at = int(request.path_params["at"])
        job_id = request.path_params["job_id"]
        try:
            hint = page_number(request)
        except BadRequest as exc:
            return Response(str(exc), status_code=400, media_type="text/plain")
        section = await load(request, lambda i: find_record(i, kind, job_id, at, hint))
        status = 404 if section.value is None and not section.unsupported else 200
        response = await self.render(
            request,
            "job.html",
            kind=kind,
            title=KINDS[kind][0],
            when_label=KINDS[kind][2],
            section=section,
            job_id=job_id,
            back=f"/ui/{kind}" + (f"?page={hint}" if hint > 1 else ""),
            active=kind,
        )
        response.status_code = status if section.error is None else 503
        return response


def job_url(kind: str, record: JobRecord, page: int = 1) -> str:
    suffix = f"?page={page}" if page > 1 else ""
    return f"/ui/job/{kind}/{epoch(record.at)}/{quote(record.job.id, safe='')}{suffix}"


def routes(templates: Jinja2Templates) -> list[Route]:
    pages = Pages(templates)

    async def home(request: Request) -> Response:
        return RedirectResponse(f"{mount_prefix(request)}/ui/queues", status_code=307)

    return [
        Route("/", home),
        Route("/ui/queues", pages.queues),
        Route("/ui/processes", pages.processes),
        Route("/ui/scheduled", pages.listing("scheduled")),
        Route("/ui/retry", pages.listing("retry")),
        Route("/ui/dead", pages.listing("dead")),
        Route("/ui/job/{kind}/{at:int}/{job_id:path}", pages.job),
    ]
