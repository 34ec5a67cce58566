"""The plugin manager: loads ``jobplug.plugins`` entry points and calls hooks safely."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import Any

import pluggy

from jobplug import hookspecs

log = logging.getLogger("jobplug.plugins")
GROUP = "jobplug.plugins"


def make_manager(
    plugins: Iterable[object] = (), load_entry_points: bool = True
) -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    if load_entry_points:
        pm.load_setuptools_entrypoints(GROUP)
    for plugin in plugins:
        pm.register(plugin)
    return pm


def call(pm: pluggy.PluginManager, name: str, **kwargs: Any) -> None:
    """Call hook ``name``; a failing plugin is logged, never propagated (it cannot lose a job)."""
    hook = getattr(pm.hook, name)
    if not hook.get_hookimpls():
        return
    try:
        hook(**kwargs)
    except Exception:
        log.warning("plugin hook %s failed", name, exc_info=sys.exc_info())
