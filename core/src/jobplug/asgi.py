"""Run a jobplug worker with an ASGI application (Starlette, FastAPI, any ``lifespan`` host).

The worker starts when the application starts and stops gracefully when it shuts down,
as Buffalo does with its worker::

    worker = jobplug.connect()                    # $WORKER_URL, else memory://
    app = FastAPI(lifespan=jobplug.asgi.lifespan(worker))

    @app.post("/signup")
    async def signup(email: str) -> dict[str, str]:
        job = jobplug.Job("send_welcome", {"email": email})
        await worker.perform(job)
        return {"job": job.id}

``worker_off=True`` (or ``JOBPLUG_WORKER_OFF=1``) makes the application a pure producer,
like Buffalo's ``WorkerOff``: it enqueues, and separate ``jobplug worker`` processes run the
jobs. The broker is still connected at startup, so a wrong URL fails the startup, and
closed at shutdown.

The lifespan yields ``{"jobplug_worker": worker}`` as the ASGI lifespan state, so
endpoints can also reach it as ``request.state.jobplug_worker``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from jobplug.errors import WorkerStateError
from jobplug.urls import parse_bool
from jobplug.worker import State, Worker

__all__ = [
    "STATE_KEY",
    "WORKER_OFF_ENV",
    "lifespan",
    "run_worker",
]

log = logging.getLogger("jobplug.asgi")

#: Environment variable that turns the in-app worker off (producer only), as Buffalo's.
WORKER_OFF_ENV = "JOBPLUG_WORKER_OFF"
#: Key of the worker in the lifespan state (``request.state.jobplug_worker``).
STATE_KEY = "jobplug_worker"

WorkerSource = Worker | Callable[[], Worker]
Lifespan = Callable[[Any], AbstractAsyncContextManager[Any]]


@asynccontextmanager
async def run_worker(
    worker: Worker, *, worker_off: bool | None = None, grace: float | None = None
) -> AsyncIterator[Worker]:
    """Start ``worker`` (or only connect it, when off) for the duration of the block.

    :param worker_off: only produce; default from ``$JOBPLUG_WORKER_OFF``.
    :param grace: seconds running jobs get to finish at shutdown; default ``worker.grace``.
    """
    off = parse_bool(os.environ.get(WORKER_OFF_ENV)) if worker_off is None else worker_off
    if worker.state is not State.NEW:
        raise WorkerStateError(
            f"the worker is {worker.state.value}: a worker runs once; to start an "
            "application again (tests do), give lifespan() a function returning a fresh one"
        )
    try:
        if off:
            if worker.broker.in_process and not worker.broker.inline:
                log.warning(
                    "worker off on %s: jobs wait for a worker in this process", worker.broker
                )
            await worker._ensure_connected()
            log.info("worker off: producing only on %s", worker.broker.safe_url)
        else:
            await worker.start()
    except BaseException:
        await worker.stop(0)
        raise
    try:
        yield worker
    finally:
        await worker.stop(grace)  # a no-op if the application stopped it already


def lifespan(
    worker: WorkerSource,
    *,
    worker_off: bool | None = None,
    grace: float | None = None,
    wrap: Lifespan | None = None,
) -> Lifespan:
    """A ``lifespan`` for Starlette/FastAPI that runs ``worker`` with the application.

    :param worker: the worker, or a function returning a fresh one each time the
        application starts (a worker runs once; an app started by several tests needs one).
    :param worker_off: only produce; default from ``$JOBPLUG_WORKER_OFF``.
    :param grace: seconds running jobs get to finish at shutdown; default ``worker.grace``.
    :param wrap: the application's own lifespan, entered inside the worker's (so it can
        enqueue at startup); a mapping it yields is merged into the lifespan state.
    """

    @asynccontextmanager
    async def run(app: Any) -> AsyncIterator[dict[str, Any]]:
        current = worker if isinstance(worker, Worker) else worker()
        async with run_worker(current, worker_off=worker_off, grace=grace):
            state: dict[str, Any] = {STATE_KEY: current}
            if wrap is None:
                yield state
                return
            async with wrap(app) as inner:
                if isinstance(inner, Mapping):
                    state.update(inner)
                yield state

    return run
