"""The conformance suite against the example SQLite adapter: one database file per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobplug_contract import AdapterContract, AdapterSetup
from jobplug_sqlite.contract import contract_setup


class TestSqliteContract(AdapterContract):
    @pytest.fixture
    def adapter(self, tmp_path: Path) -> AdapterSetup:
        return contract_setup(f"sqlite:///{tmp_path}/jobs.db")
