"""The conformance suite against ``redis://``: a fresh namespace per test on the shared
Redis, removed afterwards. The raw hook writes with ``LPUSH <ns>:jobs:<handler>``, as a
gocraft/work peer (or anyone) could."""

from __future__ import annotations

import pytest

from jobplug_contract import AdapterContract, AdapterSetup
from jobplug_contract.setups import redis_setup

pytest.importorskip("jobplug_redis.broker", reason="the Redis adapter is not installed")


class TestRedisContract(AdapterContract):
    @pytest.fixture
    def adapter(self, redis_server: str) -> AdapterSetup:
        return redis_setup(f"{redis_server}/0")
