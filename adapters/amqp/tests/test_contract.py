"""The conformance suite against ``amqp://``: a fresh namespace per test on the shared
RabbitMQ, its queues and exchanges deleted afterwards. The raw hook publishes bytes
straight onto the handler's queue (``<ns>.job.<handler>``)."""

from __future__ import annotations

import pytest

from jobplug_contract import AdapterContract, AdapterSetup
from jobplug_contract.setups import amqp_setup

pytest.importorskip("jobplug_amqp.broker", reason="the AMQP adapter is not installed")


class TestAmqpContract(AdapterContract):
    @pytest.fixture
    def adapter(self, amqp_server: str) -> AdapterSetup:
        return amqp_setup(amqp_server)
