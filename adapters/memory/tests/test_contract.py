"""The conformance suite against ``memory://``.

Each test gets a named broker (``memory://<unique>``) so that its producer and workers
share one in-process broker. Memory is not durable (the kill -9 test is skipped: there is
nothing left to recover once the process is gone), stores no raw payloads and has no
endpoint to be unreachable.
"""

from __future__ import annotations

import pytest

from jobplug_contract import AdapterContract, AdapterSetup
from jobplug_contract.setup import memory_setup


class TestMemoryContract(AdapterContract):
    @pytest.fixture
    def adapter(self) -> AdapterSetup:
        return memory_setup()
