"""Turning driver exceptions (aiormq / aio-pika / OS) into jobplug's, with URLs redacted."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import aiormq.exceptions as amqp_errors

from jobplug.adapter import redact
from jobplug.errors import (
    BrokerConnectionError,
    BrokerError,
    ConfigurationError,
    InvalidArgsError,
    JobplugError,
)

#: Failures that mean "the connection or channel is gone": worth waiting for recovery.
CONNECTION_FAILURES: tuple[type[BaseException], ...] = (
    amqp_errors.AMQPConnectionError,
    amqp_errors.ChannelInvalidStateError,
    ConnectionError,
    OSError,
    asyncio.TimeoutError,
    TimeoutError,
)


def describe(exc: BaseException) -> str:
    """``Type: message`` with any password in it redacted."""
    text = redact(str(exc))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def translate(exc: BaseException, what: str, safe_url: str) -> JobplugError:
    """The jobplug error for a driver failure during ``what``."""
    if isinstance(exc, JobplugError):
        return exc
    if isinstance(exc, amqp_errors.ChannelPreconditionFailed) and "max size" in str(exc):
        return InvalidArgsError(f"{what} on {safe_url} refused: {describe(exc)}")
    if isinstance(exc, amqp_errors.ChannelPreconditionFailed):
        return ConfigurationError(
            f"{what} on {safe_url} failed: {describe(exc)}. A queue or exchange of this "
            "namespace already exists with other arguments (was it declared with another "
            "queue_type or delivery_limit?); delete it or use another namespace."
        )
    if isinstance(exc, amqp_errors.ChannelAccessRefused):
        return BrokerError(f"{what} on {safe_url} refused: {describe(exc)}")
    if isinstance(exc, (amqp_errors.AuthenticationError, amqp_errors.ProbableAuthenticationError)):
        return BrokerConnectionError(
            f"cannot log in to {safe_url}: {describe(exc)} (check the user and password)"
        )
    if isinstance(exc, CONNECTION_FAILURES):
        return BrokerConnectionError(f"{what}: {safe_url} unreachable: {describe(exc)}")
    return BrokerError(f"{what} on {safe_url} failed: {describe(exc)}")


@contextmanager
def wrapped(what: str, safe_url: str) -> Iterator[None]:
    """Re-raise any driver exception inside the block as a jobplug error."""
    try:
        yield
    except JobplugError:
        raise
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        raise translate(exc, what, safe_url) from exc
