"""The ``amqp://`` / ``amqps://`` URL: jobplug's query options, TLS, and the driver's URL.

``amqp://user:password@host:5672/vhost?namespace=myapp&queue_type=quorum``

jobplug's own options are removed from the query before the URL reaches aio-pika; any
other query option (``heartbeat``, ``connection_name``, ...) is passed through. The vhost
is the URL path (``/`` or ``/%2F`` for the default vhost).
"""

from __future__ import annotations

import difflib
import re
import ssl
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aio_pika.robust_connection import RobustConnection

from jobplug.adapter import parse_bool, redact
from jobplug.errors import ConfigurationError

#: Query options read by jobplug (never forwarded to the driver).
OWN_OPTIONS = frozenset(
    {
        "namespace",
        "queue_type",
        "delivery_limit",
        "prefetch",
        "publish_timeout",
        "connect_timeout",
        "reconnect_interval",
        "max_message_size",
        "handlers",
        "cafile",
        "capath",
        "certfile",
        "keyfile",
        "verify",
        "no_verify_ssl",
        "check_hostname",
        "server_hostname",
    }
)

#: Query options aiormq and aio-pika read from the URL; anything else is a typo, which
#: they would ignore silently (a misspelt ``namespace`` would share the default one).
DRIVER_OPTIONS = frozenset(
    {"heartbeat", "timeout", "name", "auth", "cadata"}
    | {p.name for p in RobustConnection.PARAMETERS}
)

_NAMESPACE = re.compile(r"^[A-Za-z0-9_.:\-]{1,100}$")


@dataclass(frozen=True)
class AmqpOptions:
    """Everything the adapter reads from its URL."""

    driver_url: str  # the URL for aio-pika: scheme, credentials, host, vhost, driver options
    tls: bool
    namespace: str = "jobplug"
    queue_type: str = "classic"  # or "quorum"
    delivery_limit: int = 20  # quorum only: deliveries before a poison message is dead
    prefetch: int = 0  # 0 = derived from the worker's concurrency
    publish_timeout: float = 30.0  # how long a publish waits for a lost connection to return
    connect_timeout: float = 10.0
    reconnect_interval: float = 1.0
    #: RabbitMQ's own default (its ``max_message_size``); set it to the server's setting.
    max_message_size: int = 134_217_728
    handlers: tuple[str, ...] = ()  # extra handler names the inspector reports
    ssl_context: ssl.SSLContext | None = None

    @property
    def quorum(self) -> bool:
        return self.queue_type == "quorum"


def parse_url(url: str) -> AmqpOptions:
    """Validate ``url`` and split it into jobplug options and the driver's URL."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("amqp", "amqps"):
        raise ConfigurationError(f"not an amqp:// or amqps:// URL: {redact(url)!r}")
    if not parts.hostname:
        raise ConfigurationError(f"AMQP URL has no host: {redact(url)!r}")
    query = parse_qsl(parts.query, keep_blank_values=True)
    own = {k: v for k, v in query if k in OWN_OPTIONS}
    rest = [(k, v) for k, v in query if k not in OWN_OPTIONS]
    for name, _ in rest:
        if name not in DRIVER_OPTIONS:
            close = difflib.get_close_matches(name, [*OWN_OPTIONS, *DRIVER_OPTIONS], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigurationError(
                f"unknown option {name!r} in the AMQP URL {redact(url)!r}{hint}"
            )
    driver_url = urlunsplit((scheme, parts.netloc, parts.path or "/", urlencode(rest), ""))

    namespace = own.get("namespace") or "jobplug"
    if not _NAMESPACE.match(namespace):
        raise ConfigurationError(
            f"namespace {namespace!r} must be 1-100 characters of letters, digits, '_.:-'"
        )
    queue_type = (own.get("queue_type") or "classic").lower()
    if queue_type not in ("classic", "quorum"):
        raise ConfigurationError(f"queue_type must be 'classic' or 'quorum', got {queue_type!r}")
    if "server_hostname" in own:
        # aio-pika offers no way to pass it on, and a TLS name silently ignored is worse
        # than none: say so instead.
        raise ConfigurationError(
            "URL option server_hostname is not supported: connect to the host name the "
            "server's certificate names (an /etc/hosts entry can map it to the address)"
        )
    tls = scheme == "amqps"
    return AmqpOptions(
        driver_url=driver_url,
        tls=tls,
        namespace=namespace,
        queue_type=queue_type,
        delivery_limit=_int(own, "delivery_limit", 20, 1),
        prefetch=_int(own, "prefetch", 0, 0),
        publish_timeout=_number(own, "publish_timeout", 30.0, 0.0),
        connect_timeout=_number(own, "connect_timeout", 10.0, 0.1),
        reconnect_interval=_number(own, "reconnect_interval", 1.0, 0.05),
        max_message_size=_int(own, "max_message_size", 134_217_728, 1),
        handlers=tuple(h for h in (own.get("handlers") or "").split(",") if h),
        ssl_context=_ssl_context(own) if tls else None,
    )


def _number(own: dict[str, str], name: str, default: float, minimum: float) -> float:
    raw = own.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"URL option {name}={raw!r} is not a number") from None
    if not value >= minimum or value == float("inf"):
        raise ConfigurationError(f"URL option {name}={raw!r} must be a number >= {minimum:g}")
    return value


def _int(own: dict[str, str], name: str, default: int, minimum: int) -> int:
    value = _number(own, name, default, minimum)
    if value != int(value):
        raise ConfigurationError(f"URL option {name}={own[name]!r} must be a whole number")
    return int(value)


def _ssl_context(own: dict[str, str]) -> ssl.SSLContext:
    """TLS settings from the query: cafile/capath, certfile+keyfile, verify, check_hostname."""
    verify = parse_bool(own.get("verify"), True) and not parse_bool(own.get("no_verify_ssl"))
    try:
        context = ssl.create_default_context(
            cafile=own.get("cafile") or None, capath=own.get("capath") or None
        )
        if own.get("certfile"):
            context.load_cert_chain(own["certfile"], own.get("keyfile") or None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(f"cannot load the TLS files named in the URL: {exc}") from None
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        context.check_hostname = parse_bool(own.get("check_hostname"), True)
    return context
