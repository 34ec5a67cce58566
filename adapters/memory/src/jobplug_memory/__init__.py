"""jobplug's in-process adapter (``memory://``): the embedded default. Not durable."""

from jobplug_memory.broker import MemoryBroker

__all__ = ["MemoryBroker"]
