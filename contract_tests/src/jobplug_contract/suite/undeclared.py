"""Undeclared capabilities: each must raise ``CapabilityNotSupported``, never half-work."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from jobplug import Capability, CapabilityNotSupported, Job
from jobplug_contract.base import contract
from jobplug_contract.harness import Harness
from jobplug_contract.suite.lifecycle import noop


class UndeclaredContract:
    @contract(Capability.DELAYED, undeclared=True)
    async def test_undeclared_delayed(self, h: Harness) -> None:
        worker = h.worker()
        with pytest.raises(CapabilityNotSupported):
            await worker.perform_in(Job(h.name("x")), 60)
        broker = h.broker()
        await broker.connect()
        with pytest.raises(CapabilityNotSupported):
            at = datetime.now(timezone.utc) + timedelta(minutes=1)
            await broker.enqueue([Job(h.name("x"))], at)

    @contract(Capability.UNIQUE, undeclared=True)
    async def test_undeclared_unique(self, h: Harness) -> None:
        broker = h.broker()
        await broker.connect()
        with pytest.raises(CapabilityNotSupported):
            await broker.enqueue_unique(Job(h.name("x")))
        with pytest.raises(CapabilityNotSupported):
            await h.worker().perform_unique(Job(h.name("x")))

    @contract(Capability.PAUSE, undeclared=True)
    async def test_undeclared_pause(self, h: Harness) -> None:
        broker = h.broker()
        await broker.connect()
        with pytest.raises(CapabilityNotSupported):
            await broker.pause(h.name("x"))
        with pytest.raises(CapabilityNotSupported):
            await broker.unpause(h.name("x"))

    @contract(Capability.INSPECT, undeclared=True)
    async def test_undeclared_inspect(self, h: Harness) -> None:
        with pytest.raises(CapabilityNotSupported):
            h.broker().inspector()

    @contract(Capability.PRIORITY, undeclared=True)
    async def test_undeclared_priority(self, h: Harness) -> None:
        worker = h.worker()
        worker.register(h.name("x"), noop, priority=10)
        with pytest.raises(CapabilityNotSupported):
            await worker.start()

    @contract(Capability.MAX_CONCURRENCY, undeclared=True)
    async def test_undeclared_max_concurrency(self, h: Harness) -> None:
        worker = h.worker()
        worker.register(h.name("x"), noop, max_concurrency=1)
        with pytest.raises(CapabilityNotSupported):
            await worker.start()

    @contract(Capability.PERIODIC, undeclared=True)
    async def test_undeclared_periodic(self, h: Harness) -> None:
        worker = h.worker()
        worker.register(h.name("x"), noop)
        with pytest.raises(CapabilityNotSupported):
            worker.every("* * * * *", h.name("x"))
