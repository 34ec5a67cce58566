"""``jobplug adapters``: installed adapters, their schemes, versions and capabilities."""

from __future__ import annotations

import click

from jobplug.broker import Capability
from jobplug.cli.console import Console, Table
from jobplug.errors import JobplugError
from jobplug.registry import installed_adapters


@click.command()
def adapters() -> None:
    """List installed adapters (entry point group jobplug.adapters)."""
    table = Table(title="Installed jobplug adapters")
    for column in ("scheme", "distribution", "version", "capabilities"):
        table.add_column(column)
    for scheme, infos in sorted(installed_adapters().items()):
        for info in infos:
            try:
                caps = info.load().capabilities
                shown = ", ".join(c.value for c in Capability if c in caps) or "-"
            except (ImportError, JobplugError) as exc:
                shown = f"[red]cannot load: {exc}[/red]"
            table.add_row(scheme, info.distribution, info.version, shown)
    Console().print(table)
