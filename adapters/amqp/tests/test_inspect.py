"""The ``inspect`` capability: queue depths, dead jobs, and clear refusals for the rest."""

from __future__ import annotations

from typing import Any

import pytest

from jobplug import Capability, Job
from jobplug.errors import CapabilityNotSupported, JobNotFoundError
from jobplug.inspect import Inspector
from jobplug_amqp import AmqpBroker


async def test_queue_depths_by_passive_declare(make_broker: Any) -> None:
    producer: AmqpBroker = make_broker()
    await producer.enqueue([Job("a", {})] * 3 + [Job("b", {})])
    # a fresh process (the CLI) knows handlers only from the URL
    viewer: AmqpBroker = make_broker(producer.url + "&handlers=a,b,never")
    assert viewer.supports(Capability.INSPECT)
    inspector = viewer.inspector()
    assert isinstance(inspector, Inspector)
    queues = {q.handler: q.count for q in await inspector.queues()}
    assert queues == {"a": 3, "b": 1}  # 'never' has no queue: left out, no error


async def test_dead_page_is_empty_then_lists_newest_first(make_broker: Any) -> None:
    broker: AmqpBroker = make_broker()
    inspector = broker.inspector()
    page = await inspector.dead()
    assert (page.total, list(page.items)) == (0, [])
    with pytest.raises(JobNotFoundError):
        await inspector.retry_dead("0" * 24)
    with pytest.raises(JobNotFoundError):
        await inspector.delete_dead("0" * 24)


async def test_browsing_dead_jobs_leaves_them_in_place(make_worker: Any, wait: Any) -> None:
    worker = make_worker()

    def fail(args: dict[str, Any]) -> None:
        raise RuntimeError("no")

    worker.register("f", fail, max_fails=1)
    await worker.start()
    await worker.perform_many([Job("f", {"i": i}) for i in range(25)])
    inspector = worker.broker.inspector()

    async def all_dead() -> bool:
        return (await inspector.dead()).total == 25

    await wait.until_async(all_dead)
    first, second = await inspector.dead(1), await inspector.dead(2)
    assert (len(first.items), len(second.items)) == (20, 5)
    assert first.items[0].at >= first.items[-1].at >= second.items[0].at
    assert (await inspector.dead()).total == 25


@pytest.mark.parametrize("call", ["pools", "busy", "scheduled", "retries"])
async def test_what_amqp_cannot_list_raises_a_clear_error(make_broker: Any, call: str) -> None:
    inspector = make_broker().inspector()
    with pytest.raises(CapabilityNotSupported) as info:
        await getattr(inspector, call)()
    assert "AmqpBroker cannot" in str(info.value)
    assert "AMQP" in str(info.value)


async def test_control_actions_not_offered(make_broker: Any) -> None:
    broker: AmqpBroker = make_broker()
    inspector = broker.inspector()
    for coro in (
        inspector.delete_scheduled("x"),
        inspector.delete_retry("x"),
        inspector.pause("h"),
        inspector.unpause("h"),
        broker.pause("h"),
        broker.enqueue_unique(Job("h", {})),
    ):
        with pytest.raises(CapabilityNotSupported):
            await coro
