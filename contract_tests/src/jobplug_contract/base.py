"""How a contract test is declared and run.

Each test is an ``async def test_x(self, h)`` method decorated with :func:`contract`, which
names the capability it checks (``None``: the core contract every adapter honours). The
decorator turns it into a plain pytest test that:

* takes the adapter's ``adapter`` fixture (an :class:`AdapterSetup`);
* skips, with the reason, when the capability is not declared by the adapter (what an
  undeclared capability must do instead is checked by ``test_undeclared_*``);
* runs the coroutine on a fresh event loop with a hard time limit, so the suite needs no
  asyncio plugin and behaves the same in any project;
* runs under a non-UTC time zone (run times read as local time show up);
* fails, naming the defect, when a driver's exception left a broker method or a password
  of the test's URLs reached a log record (at any level), whatever the test looked at;
* tears down the harness (workers stopped, backend cleaned) whatever happened.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from jobplug import Capability
from jobplug_contract.clock import non_utc_zone
from jobplug_contract.guard import escape_message
from jobplug_contract.harness import Harness
from jobplug_contract.logscan import LogScan
from jobplug_contract.report import CORE
from jobplug_contract.setup import BOUND_LIMITS, AdapterSetup

#: Default hard limit for one contract test, in seconds.
TEST_TIMEOUT = 60.0

TestBody = Callable[[Any, Harness], Awaitable[None]]


def area(capability: Capability | str | None) -> str:
    if capability is None:
        return CORE
    return capability.value if isinstance(capability, Capability) else capability


def contract(
    capability: Capability | None = None,
    *,
    timeout: float = TEST_TIMEOUT,
    needs: tuple[Capability, ...] = (),
    undeclared: bool = False,
) -> Callable[[TestBody], Callable[..., None]]:
    """Mark an ``async def test(self, h)`` as a contract test of ``capability``.

    ``needs`` lists further capabilities without which the test cannot observe anything
    (it is skipped, with the reason, when one is missing). ``undeclared=True`` inverts the
    gate: the test checks what happens when the adapter does *not* declare ``capability``.
    """

    def decorate(body: TestBody) -> Callable[..., None]:
        def test(self: Any, adapter: AdapterSetup, request: pytest.FixtureRequest) -> None:
            __tracebackhide__ = True
            run_contract_test(body, self, adapter, request, capability, needs, timeout, undeclared)

        test.__name__ = body.__name__
        test.__qualname__ = body.__qualname__
        test.__doc__ = body.__doc__
        test.__module__ = body.__module__
        kind = "undeclared" if undeclared else "declared"
        mark = pytest.mark.jobplug_contract(area=area(capability), kind=kind)
        return mark(test)  # type: ignore[no-any-return]

    return decorate


def run_contract_test(
    body: TestBody,
    owner: Any,
    setup: AdapterSetup,
    request: pytest.FixtureRequest,
    capability: Capability | None,
    needs: tuple[Capability, ...],
    timeout: float,
    undeclared: bool = False,
) -> None:
    __tracebackhide__ = True
    if not isinstance(setup, AdapterSetup):
        raise TypeError(
            f"the 'adapter' fixture must return a jobplug_contract.AdapterSetup, "
            f"got {type(setup).__name__}"
        )
    outcome: list[BaseException] = []
    harness = Harness(setup)
    props = request.node.user_properties
    harness.properties = props
    props.append(("jobplug_adapter", harness.adapter_name))
    props.append(("jobplug_capabilities", sorted(c.value for c in harness.capabilities)))
    props.append(("jobplug_bounds", bounds_of(setup)))

    async def main() -> None:
        try:
            _gate(harness, capability, needs, undeclared)
            task = asyncio.ensure_future(body(owner, harness))
            done, _ = await asyncio.wait({task}, timeout=timeout)
            if not done:
                task.cancel()
                await asyncio.wait({task}, timeout=5)
                outcome.append(
                    AssertionError(
                        f"contract test exceeded its {timeout:.0f}s limit; "
                        f"runs so far: {harness.recorder.summary()}"
                    )
                )
            elif task.exception() is not None:
                # Taken from the task, not re-raised here: its traceback then starts at the
                # test's own code, without the event loop's frames.
                outcome.append(task.exception())  # type: ignore[arg-type]
        finally:
            await harness.close()

    scan = LogScan()
    with non_utc_zone():
        scan.install()
        try:
            asyncio.run(main())
        finally:
            scan.remove()
    error = outcome[0] if outcome else None
    if harness.escapes:
        then = "" if error is None else f"\n(the test then failed: {_first_line(error)})"
        raise AssertionError(escape_message(harness.escapes) + then) from None
    leaked = scan.leak([u for u in [*harness.urls, setup.unreachable_url or ""] if u])
    if leaked:
        raise AssertionError(leaked) from None
    if error is not None:
        raise error


def bounds_of(setup: AdapterSetup) -> dict[str, float]:
    """The time bounds the adapter declared (printed by certify, checked by a test)."""
    return {name: getattr(setup, name) for name in BOUND_LIMITS}


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"


def _gate(
    harness: Harness,
    capability: Capability | None,
    needs: tuple[Capability, ...],
    undeclared: bool,
) -> None:
    name = harness.adapter_name
    if capability is not None:
        declared = harness.declares(capability)
        if undeclared and declared:
            pytest.skip(f"{name} declares {capability.value!r}: it is tested in full instead")
        if not undeclared and not declared:
            pytest.skip(f"{name} does not declare {capability.value!r}")
    for required in needs:
        if not harness.declares(required):
            pytest.skip(f"{name} does not declare {required.value!r}, needed to observe this")
