"""URL handling, the redis-py client, and translating driver errors into jobplug's.

``redis://[user:password@]host:port/db?namespace=app`` and ``rediss://`` (TLS; redis-py's
``ssl_*`` query options such as ``ssl_cert_reqs=none`` or ``ssl_ca_certs=/path`` apply)
build a ``redis.asyncio.Redis``; ``redis+cluster://host:port?namespace=app`` builds a
``redis.asyncio.RedisCluster`` from any one node (``rediss+cluster``-style TLS through
``?ssl=true``). jobplug's own query options are removed before redis-py sees the URL.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import inspect
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis import exceptions as rexc

from jobplug.adapter import parse_bool, redact
from jobplug.errors import BrokerConnectionError, BrokerError, ConfigurationError
from jobplug_redis.keys import DEFAULT_NAMESPACE

log = logging.getLogger("jobplug.redis")

SCHEMES = ("redis", "rediss", "redis+cluster")
#: Query options jobplug reads; redis-py never sees them.
OWN_OPTIONS = frozenset({"namespace", "max_crashes"})

Client = Any  # redis.asyncio.Redis | redis.asyncio.RedisCluster (both untyped enough)


@dataclass(frozen=True)
class Settings:
    """What a URL says, once parsed."""

    url: str
    driver_url: str  # for redis-py: own options removed, cluster scheme mapped
    cluster: bool
    namespace: str
    max_crashes: int
    driver_options: dict[str, str]

    def __repr__(self) -> str:
        # The dataclass repr would show both URLs and the options as given, passwords too.
        return (
            f"Settings(url={redact(self.url)!r}, driver_url={redact(self.driver_url)!r}, "
            f"cluster={self.cluster}, namespace={self.namespace!r}, "
            f"max_crashes={self.max_crashes}, driver_options={sorted(self.driver_options)})"
        )


def parse_url(url: str) -> Settings:
    """Parse a ``redis://``, ``rediss://`` or ``redis+cluster://`` URL."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise ConfigurationError(
            f"jobplug-redis serves {', '.join(s + '://' for s in SCHEMES)}, not {redact(url)!r}"
        )
    query = parse_qsl(parts.query, keep_blank_values=True)
    own = {k: v for k, v in query if k in OWN_OPTIONS}
    rest = [(k, v) for k, v in query if k not in OWN_OPTIONS]
    cluster = scheme == "redis+cluster"
    namespace = own.get("namespace", DEFAULT_NAMESPACE)
    if cluster and "{" not in namespace:
        # Every script touches several keys: on a cluster they must share one slot.
        namespace = "{" + namespace.rstrip(":") + "}"
    try:
        max_crashes = int(own.get("max_crashes", "3"))
    except ValueError:
        raise ConfigurationError(f"max_crashes must be an integer in {redact(url)!r}") from None
    if max_crashes < 1:
        raise ConfigurationError(f"max_crashes must be >= 1 in {redact(url)!r}")
    _check_driver_options(url, [k for k, _ in rest], cluster)
    _check_db(url, parts.path, cluster)
    driver_scheme = scheme
    if cluster:
        driver_scheme = "rediss" if parse_bool(dict(rest).get("ssl")) else "redis"
        rest = [(k, v) for k, v in rest if k != "ssl"]
    netloc = parts.netloc or "127.0.0.1:6379"
    driver_url = urlunsplit((driver_scheme, netloc, parts.path, urlencode(rest), ""))
    return Settings(url, driver_url, cluster, namespace, max_crashes, dict(rest))


def _check_driver_options(url: str, names: list[str], cluster: bool) -> None:
    """redis-py passes unknown query options on as keyword arguments and fails only at the
    first command, with a TypeError deep in its stack: name the misspelt option now."""
    known = _driver_option_names(cluster) | ({"ssl"} if cluster else set())
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, [*OWN_OPTIONS, *known], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigurationError(
                f"unknown option {name!r} in the Redis URL {redact(url)!r}{hint} "
                f"(jobplug's own: {', '.join(sorted(OWN_OPTIONS))}; the rest go to redis-py)"
            )


@functools.cache
def _driver_option_names(cluster: bool) -> frozenset[str]:
    """What redis-py's connections (and pool, and cluster client) accept as keywords."""
    from redis.asyncio import connection as rconn

    names: set[str] = set(getattr(rconn, "URL_QUERY_ARGUMENT_PARSERS", ()))
    classes: list[Any] = [
        rconn.ConnectionPool,
        rconn.AbstractConnection,
        rconn.Connection,
        rconn.SSLConnection,
    ]
    if cluster:
        classes.append(aioredis.RedisCluster)
    for cls in classes:
        for param in inspect.signature(cls.__init__).parameters.values():
            if param.kind is param.KEYWORD_ONLY or param.kind is param.POSITIONAL_OR_KEYWORD:
                names.add(param.name)
    names.discard("self")
    return frozenset(names)


def _check_db(url: str, path: str, cluster: bool) -> None:
    """redis-py silently uses db 0 for a path it cannot read (``/abc``)."""
    db = path.strip("/")
    if not db:
        return
    if not db.isdigit():
        raise ConfigurationError(
            f"the Redis database in {redact(url)!r} must be a number (/0 .. /15), not {db!r}"
        )
    if cluster and int(db) != 0:
        raise ConfigurationError(f"Redis Cluster has only database 0, not {db} ({redact(url)!r})")


def make_client(settings: Settings) -> Client:
    """A redis-py asyncio client for ``settings`` (no I/O yet)."""
    # A dead peer that never answers must become an error, not a hang; blocking calls
    # wait at most a few seconds, well under the read timeout. URL options win.
    timeouts: dict[str, Any] = {"socket_timeout": 15.0, "socket_connect_timeout": 5.0}
    try:
        if settings.cluster:
            return aioredis.RedisCluster.from_url(settings.driver_url, **timeouts)
        return aioredis.Redis.from_url(settings.driver_url, health_check_interval=30, **timeouts)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(
            f"invalid Redis URL {redact(settings.url)!r}: {redact(str(exc))}"
        ) from None


@contextlib.contextmanager
def driver_errors(safe_url: str, what: str) -> Iterator[None]:
    """Turn redis-py exceptions into :mod:`jobplug.errors` ones (URL redacted)."""
    try:
        yield
    except rexc.AuthenticationError as exc:  # a ConnectionError, but not "unreachable"
        raise BrokerConnectionError(
            f"Redis at {safe_url} refused the login during {what} (check the user and "
            f"password in the URL): {redact(str(exc))}"
        ) from exc
    except (rexc.ConnectionError, rexc.TimeoutError, ConnectionError, OSError) as exc:
        raise BrokerConnectionError(
            f"Redis at {safe_url} unreachable during {what}: {redact(str(exc))}"
        ) from exc
    except rexc.RedisClusterException as exc:
        raise BrokerConnectionError(
            f"Redis cluster at {safe_url} failed during {what}: {redact(str(exc))}"
        ) from exc
    except rexc.RedisError as exc:
        raise BrokerError(f"Redis at {safe_url} failed during {what}: {redact(str(exc))}") from exc
