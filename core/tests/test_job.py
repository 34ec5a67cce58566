from __future__ import annotations

import json
import math
from datetime import datetime, timezone

import pytest

from jobplug import InvalidArgsError, Job, MalformedJobError
from jobplug.job import check_args


def test_ids_are_24_lowercase_hex_and_unique() -> None:
    ids = {Job("h").id for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 24 and int(i, 16) >= 0 and i == i.lower() for i in ids)


def _nested(depth: int) -> list[object]:
    value: list[object] = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ({"when": datetime.now()}, "args['when'] is of type datetime"),
        ({"user": {"tags": [1, {2, 3}]}}, "args['user']['tags'][1] is of type set"),
        ({"x": math.nan}, "args['x'] is nan"),
        ({"x": math.inf}, "args['x'] is inf"),
        ({1: "a"}, "key 1 of type int"),
        ({"b": b"bytes"}, "args['b'] is of type bytes"),
        ({"s": ["ok", "bad \udc80"]}, "args['s'][1] holds a lone surrogate"),
        ({"k\ud800": 1}, "a key of args holds a lone surrogate"),
        ({"deep": _nested(5000)}, "args is nested too deeply"),
    ],
)
def test_non_json_args_are_rejected_with_the_key_and_type(args: object, fragment: str) -> None:
    with pytest.raises(InvalidArgsError) as info:
        check_args(args)
    assert fragment in str(info.value)
    assert isinstance(info.value, TypeError)


@pytest.mark.parametrize("args", [[1, 2], "text", None, 3])
def test_args_must_be_an_object(args: object) -> None:
    with pytest.raises(InvalidArgsError, match="must be a dict"):
        check_args(args)


def test_portable_form_uses_gocraft_names_and_round_trips() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    job = Job("mail", {"to": "ü@example.com", "n": [1, 2.5, None]}, enqueued_at=when)
    job.fails, job.last_error, job.failed_at = 2, "boom", when
    job.meta["traceparent"] = "00-abc-01"
    data = json.loads(job.encode())
    assert data == {
        "name": "mail",
        "id": job.id,
        "t": 1767323045,
        "args": {"to": "ü@example.com", "n": [1, 2.5, None]},
        "fails": 2,
        "err": "boom",
        "failed_at": 1767323045,
        "traceparent": "00-abc-01",
    }
    back = Job.decode(job.encode())
    assert back == job


def test_decode_accepts_what_go_and_lua_write() -> None:
    go = Job.decode(b'{"name":"a","id":"0123456789abcdef01234567","t":1425263409,"args":null}')
    assert go.args == {} and go.enqueued_at.year == 2015
    lua = Job.decode(b'{"args":[],"t":1.425263409e+09,"id":"x","name":"a\\/b"}')
    assert lua.args == {} and lua.handler == "a/b" and lua.enqueued_at.year == 2015


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"not json", "not JSON"),
        (b"[1]", "must be a JSON object"),
        (b'{"args":{}}', "no 'name'"),
        (b'{"name":"a","args":[1]}', "'args' must be a JSON object"),
        (b'{"name":"a","t":"soon"}', "bad number"),
        (
            b'{"name":"a","args":{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}}",
            "nested too deeply",
        ),
    ],
)
def test_malformed_payloads_say_why(payload: bytes, reason: str) -> None:
    with pytest.raises(MalformedJobError, match=reason):
        Job.decode(payload)
