"""The aggregate class an adapter's test module subclasses."""

from __future__ import annotations

import pytest

from jobplug_contract.setup import AdapterSetup
from jobplug_contract.suite.control import ControlContract
from jobplug_contract.suite.delivery import DeliveryContract
from jobplug_contract.suite.failures import FailuresContract
from jobplug_contract.suite.inspection import InspectContract
from jobplug_contract.suite.lifecycle import LifecycleContract
from jobplug_contract.suite.perform import PerformContract
from jobplug_contract.suite.robustness import RobustnessContract
from jobplug_contract.suite.undeclared import UndeclaredContract


class AdapterContract(
    LifecycleContract,
    PerformContract,
    FailuresContract,
    DeliveryContract,
    ControlContract,
    InspectContract,
    RobustnessContract,
    UndeclaredContract,
):
    """Subclass it as ``TestXxxContract`` and override the ``adapter`` fixture::

        class TestMyContract(AdapterContract):
            @pytest.fixture
            def adapter(self) -> AdapterSetup:
                return AdapterSetup(url=f"my://localhost/?namespace={unique_name()}")

    The fixture is called once per test and must return a fresh, isolated backend.
    """

    @pytest.fixture
    def adapter(self) -> AdapterSetup:
        raise NotImplementedError(
            f"{type(self).__name__} must override the 'adapter' fixture "
            "(return a jobplug_contract.AdapterSetup for a fresh, isolated backend)"
        )
