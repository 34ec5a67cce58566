"""The SQLite example's own details (the contract suite covers the behaviour)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from jobplug import BrokerConnectionError, ConfigurationError, ConsumerConfig, HandlerSpec, Job
from jobplug.registry import broker_class
from jobplug_sqlite import SqliteBroker
from jobplug_sqlite.broker import database_path


def test_url_forms() -> None:
    assert database_path("sqlite:///jobs.db") == "jobs.db"
    assert database_path("sqlite:////var/lib/app/jobs.db?lease=5") == "/var/lib/app/jobs.db"
    for bad in ("sqlite://host/jobs.db", "sqlite:///", "redis:///x"):
        with pytest.raises(ConfigurationError):
            database_path(bad)
    with pytest.raises(ConfigurationError, match="seconds"):
        SqliteBroker("sqlite:///jobs.db?lease=soon")


def test_registered_through_the_entry_point() -> None:
    assert broker_class("sqlite:///jobs.db") is SqliteBroker


async def test_unopenable_file_is_a_connection_error_with_the_driver_cause(
    tmp_path: Path,
) -> None:
    broker = SqliteBroker(f"sqlite:///{tmp_path}/missing/dir/jobs.db")
    with pytest.raises(BrokerConnectionError, match="cannot open") as caught:
        await broker.enqueue([Job("h")])
    assert isinstance(caught.value.__cause__, sqlite3.Error)
    await broker.close()


async def test_jobs_outlive_the_broker_that_wrote_them(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/jobs.db"
    producer = SqliteBroker(url)
    await producer.enqueue([Job("h", {"n": 1}, id="a" * 24)])
    await producer.close()
    await producer.close()  # idempotent
    consumer = SqliteBroker(url)
    await consumer.subscribe(ConsumerConfig({"h": HandlerSpec("h")}, concurrency=1))
    (delivery,) = await consumer.fetch(5, timeout=1)
    assert (delivery.job.id, delivery.job.args) == ("a" * 24, {"n": 1})
    await consumer.ack([delivery])
    assert await consumer.fetch(5, timeout=0) == []
    await consumer.unsubscribe()
    await consumer.close()
