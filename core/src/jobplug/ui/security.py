"""Request guards for the dashboard: trusted Host, basic auth, cross-site POST refusal.

CSRF policy. Every state change is a ``POST`` (a ``GET`` never changes anything). A POST
is refused with 403 when it comes from another site, judged by the headers every current
browser sends with a POST and that a page cannot forge:

* ``Sec-Fetch-Site`` present and not ``same-origin`` (``none`` = typed by the user) — this
  refuses ``same-site`` too, i.e. another local server on another port;
* ``Origin`` present and not this server's own ``host:port`` (``null`` included).

A request with neither header does not come from a browser page (curl, scripts, tools
written for gocraft's UI) and is let through, so the gocraft-compatible JSON endpoints keep
working without a token. The Host check stops DNS rebinding, where an attacker's name
resolves to 127.0.0.1 and its Origin would otherwise match its own Host.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import secrets
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jobplug.errors import ConfigurationError

log = logging.getLogger("jobplug.ui")

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: Sent with every response: no inline script, no framing (clickjacking of the buttons).
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


def parse_auth(value: str) -> tuple[str, str]:
    """``user:pass`` -> ``(user, pass)``; ConfigurationError without exposing the value."""
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise ConfigurationError("UI auth must look like user:password (both non-empty)")
    return user, password


def _host_name(host_header: str) -> str:
    """``example.com:5040`` -> ``example.com``; ``[::1]:5040`` -> ``::1``."""
    if host_header.startswith("["):
        return host_header[1:].partition("]")[0]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


class GuardMiddleware:
    """ASGI middleware applying the Host check, basic auth and the CSRF policy above."""

    def __init__(
        self,
        app: ASGIApp,
        auth: tuple[str, str] | None = None,
        allowed_hosts: Iterable[str] = ("*",),
    ) -> None:
        self.app = app
        self.auth = auth
        hosts = {h.lower() for h in allowed_hosts}
        self.any_host = "*" in hosts
        self.allowed_hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        if not self.any_host and _host_name(host).lower() not in self.allowed_hosts:
            await _deny(send, 400, "invalid Host header")
            return
        if self.auth is not None and not self._authorised(headers.get("authorization", "")):
            await _deny(send, 401, "authentication required", {"www-authenticate": _CHALLENGE})
            return
        if scope["method"] not in _SAFE_METHODS and _cross_site(headers, host):
            await _deny(send, 403, "cross-site request refused")
            return

        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                out = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    out.setdefault(name, value)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            # Starlette's own 500 page is sent outside this middleware, without the
            # headers above: answer here instead, with them, and log the bug.
            if started:
                raise
            log.exception("dashboard: unhandled error on %s %s", scope["method"], scope["path"])
            await _deny(send, 500, "internal error; see the server log")

    def _authorised(self, header: str) -> bool:
        assert self.auth is not None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(token, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        # compare both parts, always, in constant time
        ok_user = secrets.compare_digest(user.encode(), self.auth[0].encode())
        ok_password = secrets.compare_digest(password.encode(), self.auth[1].encode())
        return ok_user and ok_password


_CHALLENGE = 'Basic realm="jobplug", charset="UTF-8"'


def _cross_site(headers: Headers, host: str) -> bool:
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return True
    origin = headers.get("origin")
    if origin is None:
        return False
    return origin == "null" or urlsplit(origin).netloc.lower() != host.lower()


async def _deny(send: Send, status: int, message: str, extra: dict[str, str] | None = None) -> None:
    body = json.dumps({"error": message}).encode()
    raw = [
        (b"content-type", b"application/json; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
    ]
    raw += [(k.encode(), v.encode()) for k, v in {**SECURITY_HEADERS, **(extra or {})}.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
