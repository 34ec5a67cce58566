"""Build the dashboard's ASGI app for one broker."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from jobplug.broker import Broker
from jobplug.registry import broker_from_url
from jobplug.ui import api, formatting, pages
from jobplug.ui.security import GuardMiddleware, parse_auth
from jobplug.ui.state import UIState

HERE = Path(__file__).parent


def create_app(
    broker: Broker | str | None = None,
    *,
    auth: str | None = None,
    allowed_hosts: Sequence[str] = ("*",),
    refresh_seconds: float = 5.0,
) -> Starlette:
    """The dashboard for ``broker`` (a Broker, or a URL; default ``$WORKER_URL``).

    ``auth`` is ``"user:password"`` for HTTP basic auth. ``allowed_hosts`` lists the host
    names the app answers to (``"*"`` for any); the CLI restricts a loopback-bound server
    to loopback names. A broker built here from a URL is closed with the app; a Broker
    passed in belongs to the caller (embed the dashboard next to your own worker).
    """
    owned = not isinstance(broker, Broker)
    instance = broker if isinstance(broker, Broker) else broker_from_url(broker)
    state = UIState(instance, owned, refresh_seconds)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if state.owns_broker:
                await state.broker.close()

    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    formatting.install(env)
    env.globals["job_url"] = pages.job_url
    templates = Jinja2Templates(env=env)

    app = Starlette(
        routes=[
            *api.routes(),
            *pages.routes(templates),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ],
        middleware=[
            Middleware(
                GuardMiddleware,
                auth=parse_auth(auth) if auth else None,
                allowed_hosts=allowed_hosts,
            )
        ],
        lifespan=lifespan,
    )
    app.state.ui = state
    return app
