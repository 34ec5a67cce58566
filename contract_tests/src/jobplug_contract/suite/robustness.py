"""Bad input and bad weather: malformed payloads, an unreachable broker, unknown schemes."""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qsl, urlsplit

import pytest

from jobplug import (
    BrokerConnectionError,
    Capability,
    Job,
    UnknownSchemeError,
    Worker,
)
from jobplug.adapter import broker_from_url, scheme_of
from jobplug_contract.base import contract
from jobplug_contract.harness import Harness
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


def secrets_of(url: str) -> list[str]:
    parts = urlsplit(url)
    found = [parts.password] if parts.password else []
    found += [v for k, v in parse_qsl(parts.query) if k.lower() in {"password", "token"} and v]
    return found


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


class RobustnessContract:
    @contract()
    async def test_malformed_payload_goes_dead_with_a_reason(self, h: Harness) -> None:
        inject = h.setup.inject_raw
        if inject is None:
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
            pytest.skip(f"{h.adapter_name} has no network endpoint (no unreachable_url)")
        secrets = secrets_of(url)
        capture = _Capture()
        root = logging.getLogger()
        root.addHandler(capture)
        try:
            for operation in ("perform", "start"):
                broker = h.broker(url)
                worker = Worker(broker, load_plugins=False, fetch_timeout=0.2, grace=0)
                worker.register(h.name("unreachable"), noop)
                with pytest.raises(BrokerConnectionError) as caught:
                    if operation == "perform":
                        await _bounded(worker.perform(Job(h.name("unreachable"))))
                    else:
                        await _bounded(worker.start())
                texts = [str(caught.value), repr(caught.value), repr(broker), broker.safe_url]
                texts += [str(c) for c in _chain(caught.value)]
                for secret in secrets:
                    leaked = [t for t in texts + capture.lines if secret in t]
                    shown = leaked[0].replace(secret, "<the password>") if leaked else ""
                    assert not leaked, f"the password leaked ({operation}): {shown!r}"
                await worker.stop(grace=0)
        finally:
            root.removeHandler(capture)

    @contract()
    async def test_unknown_scheme_names_the_installed_ones(self, h: Harness) -> None:
        with pytest.raises(UnknownSchemeError) as caught:
            broker_from_url("no-such-scheme://host/0")
        if h.setup.broker_class is None:  # found through the entry point: it is listed
            assert scheme_of(h.url) in str(caught.value)


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
