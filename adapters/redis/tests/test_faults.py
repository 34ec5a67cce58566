"""Connection errors (jobplug's own type, password redacted) and a Redis restart mid-run."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from redis_test_servers import free_port

from jobplug import BrokerConnectionError, ConfigurationError, Job, Worker
from jobplug_redis import RedisBroker, background


async def test_unreachable_redis_is_a_jobplug_error_without_password() -> None:
    url = f"redis://admin:s3cret-pw@127.0.0.1:{free_port()}/0?namespace=x"
    worker = Worker(url=url)
    with pytest.raises(BrokerConnectionError) as info:
        await worker.perform(Job("a"))
    text = str(info.value)
    assert "s3cret-pw" not in text and "***" in text and "127.0.0.1" in text
    assert "s3cret-pw" not in repr(worker.broker)
    broker = RedisBroker(url)
    for call in (broker.connect(), broker.enqueue([Job("a")]), broker.inspector().queues()):
        with pytest.raises(BrokerConnectionError) as info:
            await call
        assert "s3cret-pw" not in str(info.value)
    await broker.close()


async def test_worker_survives_redis_restart_and_loses_nothing(
    own_redis: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(background, "OBSERVE_PERIOD", 0.2)
    url = f"{own_redis.url}/0?namespace=restart"
    done: set[str] = set()
    worker = Worker(url=url, concurrency=8)

    @worker.handler("work")
    async def work(args: dict[str, Any]) -> None:
        await asyncio.sleep(0.03)
        done.add(args["id"])

    producer = RedisBroker(url)
    acknowledged: set[str] = set()

    async def produce(start: int, count: int) -> None:
        for i in range(start, start + count):
            job = Job("work", {"id": f"j{i}"})
            while True:
                try:
                    await producer.enqueue([job])
                    break
                except BrokerConnectionError:
                    await asyncio.sleep(0.05)
            acknowledged.add(f"j{i}")
            await asyncio.sleep(0.002)

    async with worker:
        await produce(0, 150)
        assert len(done) < 150  # some are still queued or running
        own_redis.stop()  # mid-run: jobs in progress, acks in flight
        await asyncio.sleep(1.0)
        own_redis.start()
        await produce(150, 150)
        deadline = time.monotonic() + 30
        while not acknowledged <= done:
            assert time.monotonic() < deadline, sorted(acknowledged - done)[:10]
            await asyncio.sleep(0.05)
    assert len(acknowledged) == 300
    assert any("unreachable" in r.getMessage() for r in caplog.records)
    await producer.close()


def test_parsed_url_settings_never_show_the_password() -> None:
    broker = RedisBroker(
        "redis+cluster://admin:s3cret-pw@127.0.0.1:7000?namespace=x&password=pw2-secret"
    )
    for text in (repr(broker.settings), str(broker.settings), repr(broker)):
        assert "s3cret-pw" not in text and "pw2-secret" not in text
        assert "***" in text


@pytest.fixture
def redis_with_password(tmp_path: Any) -> Any:
    from redis_test_servers import RedisProcess

    # The default user stays open (for the readiness PING); the worker logs in as "admin".
    server = RedisProcess(str(tmp_path), "--user", "admin", "on", ">s3cret-pw", "~*", "&*", "+@all")
    server.start()
    yield server
    server.stop()


async def test_a_worker_losing_redis_never_logs_the_password(
    redis_with_password: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    url = f"redis://admin:s3cret-pw@127.0.0.1:{redis_with_password.port}/0?namespace=pw"
    ran = asyncio.Event()
    worker = Worker(url=url, fetch_timeout=0.2)

    @worker.handler("a")
    async def a(args: dict[str, Any]) -> None:
        ran.set()

    async with worker:
        await worker.perform(Job("a"))
        await asyncio.wait_for(ran.wait(), 10)
        redis_with_password.stop()
        deadline = time.monotonic() + 10
        while not any("unreachable" in r.getMessage() for r in caplog.records):
            assert time.monotonic() < deadline, "the outage was never logged"
            await asyncio.sleep(0.05)
        redis_with_password.start()
    logged = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    assert "s3cret-pw" not in logged and "admin:***@" in logged


async def test_a_refused_login_is_not_reported_as_unreachable(redis_server: str) -> None:
    host = redis_server.split("://", 1)[1]
    broker = RedisBroker(f"redis://jobplug-nobody:wr0ng-pw@{host}/0?namespace=auth")
    with pytest.raises(BrokerConnectionError, match="refused the login") as info:
        await broker.connect()
    assert "unreachable" not in str(info.value) and "wr0ng-pw" not in str(info.value)
    await broker.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis://127.0.0.1/0?namspace=x", "unknown option 'namspace'.*did you mean 'namespace'"),
        ("redis://127.0.0.1/0?socket_timout=1", "did you mean 'socket_timeout'"),
        ("redis://127.0.0.1/abc", "must be a number"),
        ("redis+cluster://127.0.0.1/2", "only database 0"),
    ],
)
def test_url_mistakes_are_named_before_any_connection(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        RedisBroker(url)


def test_valid_driver_options_still_pass() -> None:
    broker = RedisBroker(
        "rediss://127.0.0.1:6390/3?ssl_cert_reqs=none&socket_timeout=2&namespace=n"
    )
    assert broker.settings.driver_options == {"ssl_cert_reqs": "none", "socket_timeout": "2"}
    RedisBroker("redis+cluster://127.0.0.1:7000?ssl=true&read_from_replicas=true")
