"""Golden bytes from the gocraft/work reference (checked there against Go's encoding/json)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from jobplug import Job
from jobplug.errors import MalformedJobError
from jobplug_redis import codec
from jobplug_redis.keys import Keys, namespace_prefix


def at(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc)


def test_job_json_matches_go_bytes() -> None:
    job = Job(
        "send_email",
        {"a": 1, "b": "cool", "big": 1.2345678901234567e19, "f": 1.0, "g": 1.5, "html": "<a&b>"},
        id="0123456789abcdef01234567",
        enqueued_at=at(1425263409),
    )
    assert codec.encode_job(job) == (
        b'{"name":"send_email","id":"0123456789abcdef01234567","t":1425263409,'
        b'"args":{"a":1,"b":"cool","big":12345678901234567000,"f":1,"g":1.5,'
        b'"html":"\\u003ca\\u0026b\\u003e"}}'
    )


def test_floats_nested_anywhere_are_written_as_go_does() -> None:
    args = {"deep": [1, {"x": 2.0, "y": [True, None, 1e21]}], "pair": (3, 0.5), "s": "1.0"}
    assert codec.go_json(args) == (
        '{"deep":[1,{"x":2,"y":[true,null,1e+21]}],"pair":[3,0.5],"s":"1.0"}'
    )
    assert codec.go_json({"n": [1, {"m": 2}], "s": "\u2028<"}) == (
        '{"n":[1,{"m":2}],"s":"\\u2028\\u003c"}'
    )


def test_nil_args_and_failure_fields() -> None:
    assert codec.encode_fields("wat", "x", 1, None) == b'{"name":"wat","id":"x","t":1,"args":null}'
    job = Job("wat", {"a": 1}, id="x", enqueued_at=at(1), fails=1, last_error="ohno")
    job.failed_at = at(2)
    assert codec.encode_job(job) == (
        b'{"name":"wat","id":"x","t":1,"args":{"a":1},"fails":1,"err":"ohno","failed_at":2}'
    )


def test_unique_job_and_key_bytes() -> None:
    key = codec.unique_key(namespace_prefix("work"), "clear_cache", {"object_id_": "123"})
    assert key == 'work:unique:clear_cache:{"object_id_":"123"}\n'
    assert codec.unique_key("work:", "clear_cache", None) == "work:unique:clear_cache:"
    assert codec.unique_key("work:", "clear_cache", {}) == "work:unique:clear_cache:{}\n"
    job = Job("clear_cache", {"object_id_": "123"}, id="x", enqueued_at=at(1))
    job.meta.update(unique=True, unique_key=key)
    assert codec.encode_job(job) == (
        b'{"name":"clear_cache","id":"x","t":1,"args":{"object_id_":"123"},"unique":true,'
        b'"unique_key":"work:unique:clear_cache:{\\"object_id_\\":\\"123\\"}\\n"}'
    )


def test_periodic_member_bytes() -> None:
    member = codec.encode_fields(
        "calculate_caches", "periodic:calculate_caches:0 0 * * * *:1468360800", 1468360800, None
    )
    assert member == (
        b'{"name":"calculate_caches","id":"periodic:calculate_caches:0 0 * * * *:1468360800",'
        b'"t":1468360800,"args":null}'
    )
    bar = codec.encode_fields("bar", "periodic:bar:3/49 * * * * *:1468359472", 1468359472, None)
    assert bar == (
        b'{"name":"bar","id":"periodic:bar:3/49 * * * * *:1468359472","t":1468359472,"args":null}'
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1"),
        (1.5, "1.5"),
        (-0.0, "-0"),
        (0.1, "0.1"),
        (1e-6, "0.000001"),
        (1e-7, "1e-7"),
        (1.5e-7, "1.5e-7"),
        (1e-10, "1e-10"),
        (1e16, "10000000000000000"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (1.2345678901234567e19, "12345678901234567000"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
    ],
)
def test_go_float_format(value: float, text: str) -> None:
    assert codec.go_float(value) == text


def test_go_escaping() -> None:
    value = {"z": "\u2028\b\f\n\x01\\b", "a": ["<", {"k": True, "j": None}], "é": "ü"}
    assert codec.go_json(value) == (
        '{"a":["\\u003c",{"j":null,"k":true}],"z":"\\u2028\\u0008\\u000c\\n\\u0001\\\\b","é":"ü"}'
    )
    assert json.loads(codec.go_json(value)) == value


def test_accepts_cjson_reencoding() -> None:
    raw = (
        b'{"id":"periodic:x:0\\/29 * * * * *:1","t":1.425263409e+09,"name":"x",'
        b'"args":[],"fails":1,"big":1.2345678901235e+16}'
    )
    job, args_null = codec.decode_job(raw)
    assert job.handler == "x"
    assert job.id == "periodic:x:0/29 * * * * *:1"
    assert int(job.enqueued_at.timestamp()) == 1425263409
    assert job.args == {} and not args_null
    assert job.fails == 1
    nulled, args_null = codec.decode_job(b'{"args":null,"t":1,"id":"i","name":"x"}')
    assert args_null and nulled.args == {}
    assert codec.encode_job(nulled, args_null) == b'{"name":"x","id":"i","t":1,"args":null}'


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[1,2]",
        b'{"id":"x"}',
        b'{"name":"x","args":[1]}',
        b"\xff\xfe",
        b'{"name":"x","args":{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}}",
    ],
)
def test_malformed_payloads_raise(raw: bytes) -> None:
    with pytest.raises(MalformedJobError):
        codec.decode_job(raw)


def test_namespace_rule() -> None:
    assert namespace_prefix("work") == "work:"
    assert namespace_prefix("work:") == "work:"
    assert namespace_prefix("") == ""
    assert Keys("").jobs("foo") == "jobs:foo"
    k = Keys("work")
    assert k.inprogress("foo", "p1") == "work:jobs:foo:p1:inprogress"
    assert k.fetch_group("foo", "p1") == [
        "work:jobs:foo",
        "work:jobs:foo:p1:inprogress",
        "work:jobs:foo:paused",
        "work:jobs:foo:lock",
        "work:jobs:foo:lock_info",
        "work:jobs:foo:max_concurrency",
    ]
    assert (k.retry, k.dead, k.scheduled, k.known_jobs) == (
        "work:retry",
        "work:dead",
        "work:scheduled",
        "work:known_jobs",
    )
    assert k.heartbeat("p") == "work:worker_pools:p" and k.worker("w") == "work:worker:w"
    assert k.last_periodic_enqueue == "work:last_periodic_enqueue"
