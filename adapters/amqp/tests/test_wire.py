"""The consuming connection's frame parser and ack frames, checked against pamqp's codec."""

from __future__ import annotations

import pytest
from pamqp import commands
from pamqp import frame as pamqp_frame
from pamqp.body import ContentBody
from pamqp.header import ContentHeader
from pamqp.heartbeat import Heartbeat

from jobplug_amqp import wire

CONNECTION = object()


def delivery_frames(tag: int, body: bytes, frame_max: int = 4096, **properties: object) -> bytes:
    deliver = commands.Basic.Deliver(
        consumer_tag="ctag-1", delivery_tag=tag, redelivered=tag % 2 == 0, routing_key="q"
    )
    props = commands.Basic.Properties(**properties)  # type: ignore[arg-type]
    out = [
        pamqp_frame.marshal(deliver, 1),
        pamqp_frame.marshal(ContentHeader(0, len(body), props), 1),
    ]
    for start in range(0, len(body), frame_max):
        out.append(pamqp_frame.marshal(ContentBody(body[start : start + frame_max]), 1))
    return b"".join(out)


def feed_all(parser: wire.Parser, data: bytes, step: int) -> tuple[list[wire.Delivered], list]:
    delivered: list[wire.Delivered] = []
    frames: list = []
    for start in range(0, len(data), step):
        got, other = parser.feed(data[start : start + step])
        delivered += got
        frames += other
    return delivered, frames


@pytest.mark.parametrize("step", [1, 7, 100, 1 << 20])
def test_deliveries_split_anywhere_are_reassembled(step: int) -> None:
    big = bytes(range(256)) * 40  # 10,240 bytes: three body frames
    data = b"".join(
        [
            delivery_frames(1, b'{"name":"a"}', content_type="application/json", delivery_mode=2),
            pamqp_frame.marshal(Heartbeat(), 0),
            delivery_frames(
                2,
                big,
                content_type="application/json",
                content_encoding="utf-8",
                headers={"jobplug-fails": 3, "jobplug-error": "boom"},
                delivery_mode=2,
            ),
            delivery_frames(3, b""),
            pamqp_frame.marshal(commands.Basic.CancelOk(consumer_tag="ctag-1"), 1),
        ]
    )
    delivered, frames = feed_all(wire.Parser(CONNECTION), data, step)
    assert [d.delivery_tag for d in delivered] == [1, 2, 3]
    first, second, third = delivered
    assert (first.body, first.headers, first.redelivered) == (b'{"name":"a"}', None, False)
    assert first.consumer_tag == "ctag-1" and first.connection is CONNECTION
    assert second.body == big and second.redelivered is True
    assert second.headers == {"jobplug-fails": 3, "jobplug-error": "boom"}
    assert third.body == b""
    [(channel, cancel_ok)] = frames
    assert channel == 1 and isinstance(cancel_ok, commands.Basic.CancelOk)


def test_ack_and_nack_frames_decode_as_pamqp_reads_them() -> None:
    for multiple in (False, True):
        _, channel, ack = pamqp_frame.unmarshal(wire.ack_frame(1, 2**40 + 5, multiple))
        assert channel == 1 and isinstance(ack, commands.Basic.Ack)
        assert (ack.delivery_tag, ack.multiple) == (2**40 + 5, multiple)
    for requeue in (False, True):
        _, _, nack = pamqp_frame.unmarshal(wire.nack_frame(1, 9, requeue))
        assert isinstance(nack, commands.Basic.Nack)
        assert (nack.delivery_tag, nack.multiple, nack.requeue) == (9, False, requeue)


def test_garbage_is_a_frame_error() -> None:
    bad_end = bytearray(delivery_frames(1, b"x"))
    bad_end[7 + int.from_bytes(bad_end[3:7], "big")] = 0
    with pytest.raises(wire.FrameError, match="0xCE"):
        wire.Parser(CONNECTION).feed(bytes(bad_end))
    body_first = pamqp_frame.marshal(ContentBody(b"x"), 1)
    with pytest.raises(wire.FrameError, match="without a content header"):
        wire.Parser(CONNECTION).feed(body_first)
    with pytest.raises(wire.FrameError, match="unknown frame type"):
        wire.Parser(CONNECTION).feed(b"\x09\x00\x01\x00\x00\x00\x00\xce")
