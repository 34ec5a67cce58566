"""What an adapter tells the suite: how to reach a fresh, isolated backend for one test."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from importlib.metadata import entry_points

from jobplug.adapter import Broker, scheme_of

#: Entry-point group where an adapter distribution may register its contract setup:
#: entry name = URL scheme, value = ``module:function`` with ``function(url) -> AdapterSetup``.
SETUP_GROUP = "jobplug.contract"

#: ``inject_raw(handler, payload)``: write ``payload`` bytes, as they are, where the jobs of
#: ``handler`` wait, bypassing every check (the suite uses it to feed malformed payloads).
RawInjector = Callable[[str, bytes], Awaitable[None]]

#: ``disrupt(handlers)``: an async context manager inside which the backend fails the
#: operations on those handlers' jobs with its driver's error (a missing table, a key of
#: the wrong type...), and after which it works again. The suite uses it to check that a
#: driver error mid-run becomes a ``BrokerError`` and that the worker goes on.
Disruptor = Callable[[Sequence[str]], AbstractAsyncContextManager[None]]

#: The largest bounds the suite accepts: a delayed job that may run later than this is not
#: "delayed" any more, and a lost job that takes longer than this to come back is lost.
MAX_LATE_BOUND = 10.0
MAX_REDELIVERY_TIMEOUT = 120.0
MAX_WAIT = 30.0
#: Each bound an adapter's setup declares, with the largest the suite accepts.
BOUND_LIMITS = {
    "late_bound": MAX_LATE_BOUND,
    "redelivery_timeout": MAX_REDELIVERY_TIMEOUT,
    "wait": MAX_WAIT,
}


@dataclass
class AdapterSetup:
    """One test's backend. Build a fresh one per test (a unique namespace, a fresh file...).

    :param url: the URL every worker of the test connects to (producer and consumers).
    :param broker_class: the Broker subclass to test; default: the one installed for the
        URL's scheme (entry-point group ``jobplug.adapters``). It must be importable by
        ``module:qualname`` when the adapter declares ``durable`` (the kill -9 test runs a
        worker in a subprocess).
    :param inject_raw: the raw hook; ``None`` when the adapter stores no raw payloads.
    :param unreachable_url: a URL of this adapter that cannot be reached, with a password
        in it when the scheme has passwords; ``None`` when the adapter has no endpoint.
    :param cleanup: called once after the test (delete the namespace, the file...).
    :param cleanup_brokers: like ``cleanup``, given every broker the test built (closed
        already): for backends whose names only the brokers know.
    :param late_bound: seconds a delayed job may run after its time (never before it).
    :param redelivery_timeout: seconds the adapter may take to hand out again a job whose
        worker process was killed (kill -9) mid-job.
    :param wait: seconds the suite waits for any single expected event before failing.
    :param isolated: whether the backend holds only this test's jobs (bulk actions such as
        ``delete_all_dead`` are tested only then).
    :param disrupt: see :data:`Disruptor`; ``None`` when the setup cannot make its backend
        fail on purpose (the backend-failure test is then skipped, saying so).
    :param registered: ``False`` only for the stand-in the suite builds when no
        ``jobplug.contract`` setup is registered for the scheme: what needs the setup's
        hooks is then reported as not certified, not as skipped.
    """

    url: str
    broker_class: type[Broker] | None = None
    inject_raw: RawInjector | None = None
    unreachable_url: str | None = None
    cleanup: Callable[[], Awaitable[None]] | None = None
    cleanup_brokers: Callable[[Sequence[Broker]], Awaitable[None]] | None = None
    late_bound: float = 3.0
    redelivery_timeout: float = 30.0
    wait: float = 10.0
    isolated: bool = True
    disrupt: Disruptor | None = None
    registered: bool = True
    extra: dict[str, object] = field(default_factory=dict)


def unique_name(prefix: str = "c") -> str:
    """A short name no other test uses (namespaces, memory broker names, file names)."""
    return f"{prefix}{uuid.uuid4().hex[:12]}"


def memory_setup(url: str = "memory://") -> AdapterSetup:
    """``memory://<unique>``: a named broker, so producer and workers of a test share it."""
    # Every event is in process: a failing wait need not last long.
    return AdapterSetup(url=f"memory://{unique_name('contract-')}", late_bound=0.5, wait=5.0)


def setup_for_url(url: str) -> AdapterSetup:
    """The setup for ``url``: the adapter's registered one, else ``url`` as it is.

    Without a registered setup the tests cannot isolate themselves beyond unique handler
    names, so bulk dead-job actions are not exercised (``isolated=False``).
    """
    scheme = scheme_of(url)
    for ep in entry_points(group=SETUP_GROUP):
        if ep.name.lower() == scheme:
            factory: Callable[[str], AdapterSetup] = ep.load()
            return factory(url)
    if scheme == "memory":
        return memory_setup(url)
    from jobplug_contract.setups import BUILTIN

    if scheme in BUILTIN:
        return BUILTIN[scheme](url)
    return AdapterSetup(url=url, isolated=False, registered=False)
