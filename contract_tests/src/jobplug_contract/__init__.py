"""jobplug-contract: the conformance suite every jobplug adapter passes.

An adapter's test module subclasses :class:`AdapterContract` and overrides one fixture,
``adapter``, returning an :class:`AdapterSetup` (a fresh, isolated backend per test)::

    import pytest
    from jobplug_contract import AdapterContract, AdapterSetup, unique_name

    class TestMyAdapterContract(AdapterContract):
        @pytest.fixture
        def adapter(self) -> AdapterSetup:
            return AdapterSetup(url=f"my://localhost/?namespace={unique_name()}")

The tests are gated by the capabilities the adapter's Broker class declares; the pytest
plugin prints a capability x result table at the end. ``jobplug certify URL`` runs the
same suite against the adapter installed for the URL's scheme.
"""

from jobplug_contract.base import contract
from jobplug_contract.contract import AdapterContract
from jobplug_contract.harness import Harness
from jobplug_contract.recorder import Recorder, poll
from jobplug_contract.setup import AdapterSetup, RawInjector, setup_for_url, unique_name

__all__ = [
    "AdapterContract",
    "AdapterSetup",
    "Harness",
    "RawInjector",
    "Recorder",
    "contract",
    "poll",
    "setup_for_url",
    "unique_name",
]
