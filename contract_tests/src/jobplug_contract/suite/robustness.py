"""Bad input and bad weather: malformed payloads, an unreachable broker, unknown schemes."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import pytest

from jobplug import (
    BrokerConnectionError,
    BrokerError,
    Capability,
    Job,
    UnknownSchemeError,
    Worker,
)
from jobplug.adapter import broker_from_url, scheme_of
from jobplug_contract.base import contract
from jobplug_contract.harness import Harness
from jobplug_contract.logscan import secrets_of
from jobplug_contract.recorder import poll
from jobplug_contract.suite.lifecycle import noop

#: Seconds an adapter may spend finding out that its broker is unreachable.
UNREACHABLE_BOUND = 30.0


def malformed_payloads(handler: str) -> list[bytes]:
    return [
        b"{this is not json",
        b'"a JSON string, not an object"',
        json.dumps({"name": handler, "id": "bad-args", "t": 1, "args": [1, 2]}).encode(),
        b"\xff\xfe\x00 not utf-8",
        # 200 kB that overflow a recursive JSON parser, even under a raised recursion
        # limit: must go dead, not stop the fetching
        b'{"name":"'
        + handler.encode()
        + b'","id":"deep","t":1,"args":{"a":'
        + b"[" * 100_000
        + b"]" * 100_000
        + b"}}",
    ]


def _true(predicate: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        return predicate()

    return probe


class RobustnessContract:
    @contract()
    async def test_malformed_payload_goes_dead_with_a_reason(self, h: Harness) -> None:
        inject = h.setup.inject_raw
        if inject is None:
            if not h.setup.registered:
                h.skip_without("inject_raw hook", "malformed payloads")
            pytest.skip(f"{h.adapter_name} stores no raw payloads (no inject_raw hook)")
        name = h.name("poison")
        payloads = malformed_payloads(name)
        worker = h.worker()
        worker.register(name, noop)
        await worker.perform(Job(name, {"token": "before"}))
        for payload in payloads:
            await inject(name, payload)
        await worker.perform(Job(name, {"token": "after"}))
        async with worker:
            await h.recorder.wait(
                lambda: {"before", "after"} <= set(map(str, h.recorder.tokens(name))),
                h.wait,
                "the valid jobs around the malformed ones",
            )
            assert len(h.recorder.of(name)) == 2, "a malformed payload reached the handler"
            if h.declares(Capability.INSPECT) and h.declares(Capability.DEAD_LETTER):
                inspector = h.inspector()

                async def all_dead() -> bool:
                    records = (await inspector.dead()).items
                    reasons = [r.job.last_error for r in records]
                    return len(records) >= len(payloads) and all(reasons)

                await poll(all_dead, h.wait, f"{len(payloads)} dead payloads, each with a reason")

    @contract()
    async def test_unreachable_broker_raises_connection_error_without_password(
        self, h: Harness
    ) -> None:
        url = h.setup.unreachable_url
        if url is None:
            if not h.setup.registered:
                h.skip_without("unreachable_url", "password redaction on an unreachable backend")
            pytest.skip(f"{h.adapter_name} has no network endpoint (no unreachable_url)")
        secrets = secrets_of(url)
        for operation in ("perform", "start"):
            broker = h.broker(url)
            worker = Worker(broker, load_plugins=False, fetch_timeout=0.2, grace=0)
            worker.register(h.name("unreachable"), noop)
            try:
                if operation == "perform":
                    await _bounded(worker.perform(Job(h.name("unreachable"))))
                else:
                    await _bounded(worker.start())
            except BrokerConnectionError as exc:
                caught = exc
            except Exception as exc:
                raise AssertionError(
                    f"{operation} on an unreachable backend raised "
                    f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}; expected "
                    "jobplug's BrokerConnectionError (wrap the driver's error)"
                ) from None
            else:
                raise AssertionError(
                    f"{operation} on an unreachable backend raised nothing; "
                    "expected BrokerConnectionError"
                )
            texts = [str(caught), repr(caught), repr(broker), broker.safe_url]
            texts += [str(c) for c in _chain(caught)]
            for secret in secrets:
                leaked = [t for t in texts if secret in t]
                shown = leaked[0].replace(secret, "<the password>") if leaked else ""
                assert not leaked, f"the password leaked in an error ({operation}): {shown!r}"
            await worker.stop(grace=0)

    @contract()
    async def test_backend_failure_mid_run_is_a_broker_error_and_the_worker_goes_on(
        self, h: Harness
    ) -> None:
        disrupt = h.setup.disrupt
        if disrupt is None:
            if h.in_process:
                pytest.skip(f"{h.adapter_name} keeps its jobs in process: no backend to fail")
            h.skip_without("disrupt hook", "a backend failure mid-run")
        name = h.name("weather")
        worker = h.worker()
        worker.register(name, noop)
        async with worker:
            await worker.perform(Job(name, {"token": "before"}))
            await h.recorder.wait(
                lambda: "before" in h.recorder.tokens(name), h.wait, "a job before the failure"
            )
            async with disrupt([name]):
                await poll(
                    _true(lambda: "fetch" in h.failures),
                    h.wait,
                    "a fetch to fail while the backend is disrupted (the setup's disrupt hook)",
                )
                try:
                    await worker.perform(Job(name, {"token": "lost"}))
                except BrokerError:
                    pass  # expected: the backend is down
            await worker.perform(Job(name, {"token": "after"}))
            await h.recorder.wait(
                lambda: "after" in h.recorder.tokens(name),
                h.wait + 5,  # the worker's reconnect pause grows up to 5 s
                "a job performed after the backend recovered (the worker must go on fetching)",
            )
            assert worker.state.value == "running", f"the worker is {worker.state.value}"

    @contract()
    async def test_unknown_scheme_names_the_installed_ones(self, h: Harness) -> None:
        with pytest.raises(UnknownSchemeError) as caught:
            broker_from_url("no-such-scheme://host/0")
        if h.setup.broker_class is None:  # found through the entry point: it is listed
            scheme = scheme_of(h.url)
            assert scheme in str(caught.value), f"{scheme!r} not named in: {caught.value}"


async def _bounded(coro: object) -> None:
    import asyncio

    await asyncio.wait_for(coro, UNREACHABLE_BOUND)  # type: ignore[arg-type]


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception's causes and contexts: their texts reach tracebacks and logs too."""
    seen: list[BaseException] = []
    current: BaseException | None = exc.__cause__ or exc.__context__
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen
