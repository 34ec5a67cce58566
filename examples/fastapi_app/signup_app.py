"""A FastAPI application whose endpoint enqueues a job, with the worker in the same process
or apart.

One process, jobs kept in memory (the default when ``WORKER_URL`` is unset)::

    uvicorn signup_app:app

Web and workers apart, on Redis: the web process only produces (``JOBPLUG_WORKER_OFF=1``)
and any number of ``jobplug worker`` processes run the jobs::

    export WORKER_URL='redis://localhost:6379/0?namespace=signup'
    JOBPLUG_WORKER_OFF=1 uvicorn signup_app:app
    jobplug worker signup_app:worker
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from fastapi import FastAPI, Request
from pydantic import BaseModel

import jobplug
import jobplug.asgi


@dataclasses.dataclass
class Welcome:
    """Args of the ``send_welcome`` job (checked before the handler runs)."""

    email: str
    name: str


#: Stands in for an email service: what ``send_welcome`` "sent", in this process.
outbox: list[Welcome] = []


async def send_welcome(args: Welcome) -> None:
    outbox.append(args)


def build_worker(url: str | None = None) -> jobplug.Worker:
    """A worker on ``url`` (default ``$WORKER_URL``, else ``memory://``) with our handlers."""
    worker = jobplug.connect(url)
    worker.register("send_welcome", send_welcome, max_fails=5)
    return worker


#: For ``jobplug worker signup_app:worker``.
worker = build_worker()


class Signup(BaseModel):
    email: str
    name: str


def create_app(
    make_worker: Callable[[], jobplug.Worker] = build_worker, *, worker_off: bool | None = None
) -> FastAPI:
    """The application; each start gets a fresh worker from ``make_worker``.

    ``worker_off`` makes it a pure producer (default: ``$JOBPLUG_WORKER_OFF``).
    """
    app = FastAPI(lifespan=jobplug.asgi.lifespan(make_worker, worker_off=worker_off))

    @app.post("/signup", status_code=202)
    async def signup(body: Signup, request: Request) -> dict[str, str]:
        jobs: jobplug.Worker = request.state.jobplug_worker
        job = jobplug.Job("send_welcome", dataclasses.asdict(Welcome(body.email, body.name)))
        await jobs.perform(job)
        return {"job_id": job.id}

    @app.get("/health")
    async def health(request: Request) -> dict[str, str]:
        jobs: jobplug.Worker = request.state.jobplug_worker
        return {"worker": jobs.state.value, "broker": jobs.broker.safe_url}

    return app


app = create_app()
