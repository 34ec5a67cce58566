"""``jobplug ui``: serve the web dashboard for a backend."""

from __future__ import annotations

import ipaddress

import click

from jobplug.errors import JobplugError
from jobplug.registry import ENV_VAR, resolve_url

#: Host names a loopback-bound dashboard answers to (anything else: DNS rebinding).
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command()
@click.option("--url", default=None, help=f"Backend URL (default: ${ENV_VAR}, else memory://).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=5040, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--auth",
    envvar="JOBPLUG_UI_AUTH",
    default=None,
    metavar="USER:PASS",
    help="Require HTTP basic auth (also $JOBPLUG_UI_AUTH, which keeps it out of `ps`).",
)
@click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    metavar="NAME",
    help="Host name the dashboard may be reached by (repeatable; '*' for any). "
    "Default: the loopback names when bound to loopback, else any.",
)
@click.option("--refresh", default=5.0, show_default=True, help="Seconds between count refreshes.")
def ui(
    url: str | None,
    host: str,
    port: int,
    auth: str | None,
    allow_hosts: tuple[str, ...],
    refresh: float,
) -> None:
    """Serve the web dashboard: queues, workers, scheduled, retry and dead jobs."""
    try:
        import uvicorn

        from jobplug.ui import create_app
    except ImportError as exc:
        raise click.ClickException(
            f"the dashboard needs the 'ui' extra: pip install 'jobplug[ui]' ({exc})"
        ) from None
    url = resolve_url(url)
    hosts: tuple[str, ...] = allow_hosts or (LOOPBACK_HOSTS if _is_loopback(host) else ("*",))
    if _is_loopback(host) and not allow_hosts:
        hosts = (*hosts, host)
    try:
        app = create_app(url, auth=auth, allowed_hosts=hosts, refresh_seconds=refresh)
    except JobplugError as exc:
        raise click.ClickException(str(exc)) from None
    broker = app.state.ui.broker
    if broker.in_process:
        click.echo(
            f"note: {broker.safe_url} lives in this process only; the dashboard shows an empty "
            "backend. Embed jobplug.ui.create_app(worker.broker) in your app to watch it.",
            err=True,
        )
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"jobplug dashboard for {broker.safe_url} on http://{shown}:{port}/", err=True)
    if auth is None and not _is_loopback(host):
        click.echo("warning: listening beyond loopback without --auth", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False)
