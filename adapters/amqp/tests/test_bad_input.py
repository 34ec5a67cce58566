"""Bad URLs and oversized jobs: jobplug errors that say what is wrong, nothing half-sent."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from jobplug import BrokerConnectionError, ConfigurationError, InvalidArgsError, Job
from jobplug_amqp import AmqpBroker


async def test_a_missing_virtual_host_is_named(amqp_server: str) -> None:
    url = amqp_server.rstrip("/") + "/no-such-vhost"
    broker = AmqpBroker(url)
    with pytest.raises(BrokerConnectionError, match=r"530 NOT_ALLOWED.*no-such-vhost") as info:
        await broker.enqueue([Job("h")])
    assert "guest:***@" in str(info.value) and "guest:guest" not in str(info.value)
    await broker.close()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("namspace=x", r"unknown option 'namspace'.*did you mean 'namespace'"),
        ("heartbaet=5", "did you mean 'heartbeat'"),
        ("max_message_size=0", "max_message_size"),
    ],
)
def test_url_mistakes_are_named(query: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        AmqpBroker(f"amqp://guest:guest@127.0.0.1:5672/?{query}")


async def test_a_job_over_the_message_size_limit_is_refused_before_any_is_sent(
    make_broker: Any,
) -> None:
    broker: AmqpBroker = make_broker(max_message_size=1000)
    batch = [Job("h", {"n": 1}), Job("h", {"blob": "x" * 2000}), Job("h", {"n": 3})]
    with pytest.raises(InvalidArgsError, match=r"'h' is \d+ bytes as JSON, over the 1000"):
        await broker.enqueue(batch)
    raw = await broker.link.raw_channel()
    ok = await raw.queue_declare(broker.names.queue("h"), passive=True)
    assert ok.message_count == 0  # the valid jobs of the batch were not sent either
    await raw.close()


def test_a_one_shot_command_prints_one_line_not_the_drivers_reconnects() -> None:
    url = "amqp://guest:s3cret@127.0.0.1:1/"  # nothing listens on port 1
    result = subprocess.run(
        [sys.executable, "-m", "jobplug", "enqueue", "h", "--url", url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: BrokerConnectionError"), lines
    assert "s3cret" not in result.stderr
