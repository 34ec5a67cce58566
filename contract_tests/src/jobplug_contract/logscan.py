"""Every log record of a contract test, at every level, scanned for passwords.

Loggers usually sit at WARNING, so a password logged at INFO on each connect would never
reach a handler. During a test the root logger is lowered to DEBUG for this scan only:
the handlers already installed (pytest's capture, the user's) get a filter that keeps
their previous threshold, so reports do not fill with debug lines.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, unquote, urlsplit


def secrets_of(url: str) -> list[str]:
    """The password of ``url`` and its ``password``/``token`` query options."""
    parts = urlsplit(url)
    found = [unquote(parts.password)] if parts.password else []
    found += [v for k, v in parse_qsl(parts.query) if k.lower() in {"password", "token"} and v]
    return found


def leaks(text: str, url: str) -> str | None:
    """The password of ``url`` as it shows in ``text``, or None.

    A password equal to the user name (``guest:guest``) is looked for only in its URL
    position, ``:password@``: the redacted URL keeps the user name, which is no leak.
    """
    parts = urlsplit(url)
    for secret in secrets_of(url):
        if f":{secret}@" in text:
            return secret
        if secret != (parts.username or "") and len(secret) >= 4 and secret in text:
            return secret
    return None


class _Threshold(logging.Filter):
    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= self.level


class LogScan(logging.Handler):
    """Installed on the root logger for one test (:meth:`install` / :meth:`remove`)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self._root = logging.getLogger()
        self._level = self._root.level
        self._filtered: list[tuple[logging.Handler, _Threshold]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def install(self) -> None:
        threshold = _Threshold(self._root.getEffectiveLevel())
        for handler in self._root.handlers:
            handler.addFilter(threshold)
            self._filtered.append((handler, threshold))
        self._root.addHandler(self)
        self._root.setLevel(logging.DEBUG)

    def remove(self) -> None:
        self._root.removeHandler(self)
        self._root.setLevel(self._level)
        for handler, threshold in self._filtered:
            handler.removeFilter(threshold)
        self._filtered.clear()

    def texts(self) -> list[tuple[logging.LogRecord, str]]:
        out = []
        for record in self.records:
            try:
                text = record.getMessage()
            except Exception:  # a bad format string is not this scan's business
                text = str(record.msg)
            if record.exc_info:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
            out.append((record, text))
        return out

    def leak(self, urls: list[str]) -> str | None:
        """A message naming the first log record that shows a password of ``urls``."""
        for record, text in self.texts():
            for url in urls:
                secret = leaks(text, url)
                if secret is not None:
                    shown = text.replace(secret, "<the password>")[:300]
                    return (
                        f"the password of the URL was logged (logger {record.name!r}, "
                        f"{record.levelname}): {shown!r}. Log broker.safe_url, never the URL"
                    )
        return None
