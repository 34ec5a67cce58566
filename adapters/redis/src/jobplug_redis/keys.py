"""gocraft/work's Redis key layout for one namespace.

The namespace gets a ``:`` appended unless it is empty or already ends in one, so
``work`` and ``work:`` name the same keys and ``""`` gives bare keys (``jobs:foo``).
Every key of a namespace shares its prefix, so a hash-tagged namespace (``{app}``) puts
them all in one Redis Cluster slot and every multi-key script stays legal.
"""

from __future__ import annotations

from jobplug.errors import ConfigurationError

DEFAULT_NAMESPACE = "jobplug"

#: gocraft keeps a job type's state beside its list, in ``jobs:<name>:<suffix>``: the list
#: of a job *named* ``x:lock`` would be ``x``'s lock counter (see :meth:`Keys.state`; the
#: in-progress lists are ``jobs:<name>:<pool>:inprogress``).
RESERVED_SUFFIXES = frozenset({"inprogress", "lock", "lock_info", "max_concurrency", "paused"})


def check_job_name(name: str) -> None:
    """Refuse a job name whose list key would be another job type's state key."""
    head, colon, suffix = name.rpartition(":")
    if colon and suffix in RESERVED_SUFFIXES:
        raise ConfigurationError(
            f"job name {name!r} cannot be used on Redis: its list would be the "
            f"{suffix!r} key of job {head!r} (gocraft keeps jobs:<name>:{suffix} there); "
            "rename it"
        )


def namespace_prefix(namespace: str) -> str:
    """``"work"`` -> ``"work:"``; ``"work:"`` -> ``"work:"``; ``""`` -> ``""``."""
    if namespace and not namespace.endswith(":"):
        return namespace + ":"
    return namespace


class Keys:
    """Key names of one namespace (``prefix`` includes the trailing colon)."""

    __slots__ = (
        "crashes",
        "dead",
        "jobs_prefix",
        "known_jobs",
        "last_periodic_enqueue",
        "prefix",
        "retry",
        "scheduled",
        "worker_pools",
    )

    def __init__(self, namespace: str) -> None:
        self.prefix = namespace_prefix(namespace)
        p = self.prefix
        self.jobs_prefix = p + "jobs:"
        self.known_jobs = p + "known_jobs"
        self.retry = p + "retry"
        self.dead = p + "dead"
        self.scheduled = p + "scheduled"
        self.worker_pools = p + "worker_pools"
        self.last_periodic_enqueue = p + "last_periodic_enqueue"
        # Not a gocraft key: how often a worker died while running a job (poison jobs).
        self.crashes = p + "jobplug:crashes"

    def jobs(self, name: str) -> str:
        return self.jobs_prefix + name

    def inprogress(self, name: str, pool_id: str) -> str:
        return f"{self.jobs_prefix}{name}:{pool_id}:inprogress"

    def paused(self, name: str) -> str:
        return f"{self.jobs_prefix}{name}:paused"

    def lock(self, name: str) -> str:
        return f"{self.jobs_prefix}{name}:lock"

    def lock_info(self, name: str) -> str:
        return f"{self.jobs_prefix}{name}:lock_info"

    def max_concurrency(self, name: str) -> str:
        return f"{self.jobs_prefix}{name}:max_concurrency"

    def heartbeat(self, pool_id: str) -> str:
        return f"{self.worker_pools}:{pool_id}"

    def worker(self, worker_id: str) -> str:
        return f"{self.prefix}worker:{worker_id}"

    def unique_prefix(self, name: str) -> str:
        return f"{self.prefix}unique:{name}:"

    def state(self, name: str) -> dict[str, str]:
        """The state keys of job type ``name`` (pause flag, lock counters, cap), by suffix."""
        return {
            "paused": self.paused(name),
            "lock": self.lock(name),
            "lock_info": self.lock_info(name),
            "max_concurrency": self.max_concurrency(name),
        }

    def fetch_group(self, name: str, pool_id: str) -> list[str]:
        """The 6 keys gocraft's fetch script takes per job type, in its order."""
        return [
            self.jobs(name),
            self.inprogress(name, pool_id),
            self.paused(name),
            self.lock(name),
            self.lock_info(name),
            self.max_concurrency(name),
        ]
