"""Adapter discovery: the ``jobplug.adapters`` entry-point group is the only registry.

Entry names are URL schemes; an entry is loaded only when its scheme is asked for, so
``memory://`` never imports redis or aio-pika.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from jobplug.broker import Broker
from jobplug.errors import ConfigurationError, DuplicateSchemeError, UnknownSchemeError
from jobplug.urls import redact, scheme_of

GROUP = "jobplug.adapters"
DEFAULT_URL = "memory://"
ENV_VAR = "WORKER_URL"

#: Schemes served by this project's adapters, and the extra that installs each.
KNOWN_EXTRAS = {
    "memory": "jobplug",
    "redis": "jobplug[redis]",
    "rediss": "jobplug[redis]",
    "redis+cluster": "jobplug[redis]",
    "amqp": "jobplug[amqp]",
    "amqps": "jobplug[amqp]",
}


@dataclass(frozen=True)
class AdapterInfo:
    """One installed adapter entry point (not loaded)."""

    scheme: str
    entry_point: EntryPoint
    distribution: str
    version: str

    def load(self) -> type[Broker]:
        """Import the adapter's Broker class (ConfigurationError if it is not one)."""
        cls = self.entry_point.load()
        if not (isinstance(cls, type) and issubclass(cls, Broker)):
            raise ConfigurationError(
                f"entry point {self.entry_point.value!r} for scheme {self.scheme!r} "
                f"(distribution {self.distribution}) is not a jobplug.Broker subclass"
            )
        return cls


def installed_adapters() -> dict[str, list[AdapterInfo]]:
    """Every installed entry point of the group, by scheme (a scheme may have several)."""
    found: dict[str, list[AdapterInfo]] = {}
    seen: set[tuple[str, str, str]] = set()
    for ep in entry_points(group=GROUP):
        dist = ep.dist
        name = dist.metadata["Name"] if dist is not None else "?"
        version = dist.version if dist is not None else "?"
        key = (ep.name.lower(), name, ep.value)
        if key in seen:  # the same distribution seen twice on sys.path
            continue
        seen.add(key)
        found.setdefault(ep.name.lower(), []).append(
            AdapterInfo(ep.name.lower(), ep, name, version)
        )
    return found


def adapter_for_scheme(scheme: str) -> AdapterInfo:
    """The one installed adapter serving ``scheme`` (Unknown/DuplicateSchemeError)."""
    adapters = installed_adapters()
    candidates = adapters.get(scheme.lower())
    if not candidates:
        raise UnknownSchemeError(_unknown_scheme_message(scheme, sorted(adapters)))
    distributions = sorted({c.distribution for c in candidates})
    if len(distributions) > 1:
        raise DuplicateSchemeError(
            f"scheme {scheme!r} is registered by more than one distribution: "
            f"{' and '.join(distributions)}; uninstall one of them"
        )
    return candidates[0]


def broker_class(url: str) -> type[Broker]:
    """The Broker subclass that serves ``url``'s scheme (loads only that adapter)."""
    scheme = scheme_of(url)
    if not scheme:
        raise ConfigurationError(f"not a URL (expected scheme://...): {redact(url)!r}")
    return adapter_for_scheme(scheme).load()


def resolve_url(url: str | None = None) -> str:
    """``url``, else ``$WORKER_URL``, else ``memory://``."""
    return url or os.environ.get(ENV_VAR) or DEFAULT_URL


def broker_from_url(url: str | None = None) -> Broker:
    """Build the broker for ``url`` (see :func:`resolve_url`)."""
    url = resolve_url(url)
    return broker_class(url).from_url(url)


def _unknown_scheme_message(scheme: str, installed: list[str]) -> str:
    parts = [f"no jobplug adapter is installed for scheme {scheme!r}."]
    parts.append(
        f"Installed schemes: {', '.join(installed)}." if installed else "No adapter is installed."
    )
    close = difflib.get_close_matches(scheme, sorted(set(installed) | set(KNOWN_EXTRAS)), n=1)
    if close and close[0] != scheme:
        parts.append(f"Did you mean {close[0]!r}?")
    extra = KNOWN_EXTRAS.get(scheme) or (KNOWN_EXTRAS.get(close[0]) if close else None)
    if extra:
        target = scheme if scheme in KNOWN_EXTRAS else close[0]
        parts.append(f"Install the {target}:// adapter with: pip install '{extra}'")
    else:
        parts.append(
            "Adapters for other backends are separate distributions that register the "
            f"entry point group {GROUP!r}."
        )
    return " ".join(parts)
