"""A failed job's traceback travels in its body (``err_traceback``) to the dead queue."""

from __future__ import annotations

import json
from typing import Any

from jobplug import Job


async def test_the_dead_message_keeps_the_traceback_and_a_retry_clears_it(
    make_worker: Any, wait: Any
) -> None:
    worker = make_worker()
    fail = {"on": True}
    done: list[int] = []

    def charge(args: dict[str, Any]) -> None:
        if fail["on"]:
            raise ConnectionError("card processor unreachable")
        done.append(args["n"])

    worker.register("pay", lambda args: charge(args), max_fails=1)
    await worker.start()
    await worker.perform(Job("pay", {"n": 1}))
    inspector = worker.broker.inspector()

    async def one_dead() -> bool:
        return (await inspector.dead()).total == 1

    await wait.until_async(one_dead)
    [record] = (await inspector.dead()).items
    assert record.job.last_error == "ConnectionError: card processor unreachable"
    tb = record.job.last_traceback or ""
    assert tb.startswith("Traceback (most recent call last):")
    assert "in charge\n    raise ConnectionError(" in tb
    assert tb.endswith("ConnectionError: card processor unreachable")
    raw, items = await inspector._browse()  # the message itself, as RabbitMQ holds it
    try:
        [(_, dead)] = items
        body = json.loads(dead.raw)
        assert body["err"] == record.job.last_error and body["err_traceback"] == tb
    finally:
        await raw.close()
    fail["on"] = False
    await inspector.retry_dead(record.job.id)
    await wait.until(lambda: done == [1])
