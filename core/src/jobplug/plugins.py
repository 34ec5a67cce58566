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
    """Call every implementation of hook ``name``, each on its own: a failing plugin is
    logged and the others still run (a plugin can never lose a job or hide an event)."""
    for impl in getattr(pm.hook, name).get_hookimpls():
        try:
            impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
        except Exception:
            log.warning("plugin %s failed in %s", impl.plugin_name, name, exc_info=sys.exc_info())
