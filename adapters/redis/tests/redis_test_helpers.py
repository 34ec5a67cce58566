"""Small builders shared by the Redis adapter tests."""

from __future__ import annotations

from typing import Any

from jobplug import ConsumerConfig, HandlerSpec


def config(*names: str, concurrency: int = 10, **opts: Any) -> ConsumerConfig:
    """A consumer of the handlers ``names``, each with the HandlerSpec options ``opts``."""
    return ConsumerConfig({n: HandlerSpec(n, **opts) for n in names}, concurrency)
