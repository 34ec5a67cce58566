"""``jobplug bench`` on RabbitMQ deletes its throwaway handler's queue at the end."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable

import pytest
from aiormq.exceptions import ChannelNotFoundEntity

from jobplug_amqp import AmqpBroker


async def test_a_bench_run_leaves_no_queue_behind(
    amqp_url: str, make_broker: Callable[..., AmqpBroker]
) -> None:
    args = ["bench", amqp_url, "-n", "30", "--single", "0", "--latency-jobs", "3", "--json"]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "jobplug",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()
    handler = json.loads(out.decode().strip().splitlines()[-1])["handler"]
    checker = make_broker()  # also deletes what this namespace has left, after the test
    checker.known_handlers.add(handler)
    await checker.connect()
    channel = await checker.link.raw_channel()
    with pytest.raises(ChannelNotFoundEntity):
        await channel.queue_declare(checker.names.queue(handler), passive=True)
