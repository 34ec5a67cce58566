"""jobplug-redis: jobplug's Redis adapter, wire-compatible with gocraft/work.

``redis://host:6379/0?namespace=app``, ``rediss://`` (TLS) and ``redis+cluster://``.
"""

from jobplug_redis.broker import RedisBroker

__all__ = ["RedisBroker"]
