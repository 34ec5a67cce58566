"""URL helpers shared by every adapter: the scheme, query options, and password redaction."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

#: ``scheme://user:password@`` -> the password part, matched without parsing so that even a
#: URL urllib cannot parse gets redacted. The password runs to the *last* ``@`` of the URL
#: (quotes and whitespace end it), as urllib and drivers split an unencoded ``p@ss``.
_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s'\"]*:)(?P<pw>[^\s'\"]*)(?=@)")
_QUERY_SECRET = re.compile(r"(?i)(?P<head>[?&](?:password|passwd|pass|token|secret)=)[^&\s]*")

REDACTED = "***"


def redact(text: str) -> str:
    """Replace every password in URLs found in ``text`` by ``***``.

    >>> redact("redis://user:s3cret@host:6379/0")
    'redis://user:***@host:6379/0'
    """
    text = _PASSWORD.sub(lambda m: m["head"] + REDACTED, text)
    return _QUERY_SECRET.sub(lambda m: m["head"] + REDACTED, text)


def scheme_of(url: str) -> str:
    """The URL scheme, lower-cased (``redis+cluster`` for ``redis+cluster://...``)."""
    scheme, sep, _ = url.partition("://")
    if not sep or not scheme:
        return ""
    return scheme.lower()


def query_options(url: str) -> dict[str, str]:
    """The URL's query string as a dict (last value wins)."""
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def parse_bool(value: str | None, default: bool = False) -> bool:
    """A URL option or environment value as a bool (``1/true/yes/on``)."""
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}
