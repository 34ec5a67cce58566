"""AMQP 0-9-1 frames on the consuming connection: a hand-written fast path, pamqp for the rest.

A delivered message is three frames (``basic.deliver``, the content header, the body) and
a worker receives thousands a second. Decoding them with pamqp's generic, field-by-field
unmarshalling was a third of a worker's time, so those three are read here with
``struct`` straight from the receive buffer, and the acks a worker sends back are packed
the same way. Every other frame (the handshake, closes, cancels) is rare and goes through
pamqp, which also decodes the one field table we read: a message's ``headers``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from pamqp import frame as pamqp_frame
from pamqp.base import Frame
from pamqp.decode import field_table

PROTOCOL_HEADER = b"AMQP\x00\x00\x09\x01"
METHOD, HEADER, BODY, HEARTBEAT = 1, 2, 3, 8
FRAME_END = 0xCE
HEARTBEAT_FRAME = b"\x08\x00\x00\x00\x00\x00\x00\xce"

_FRAME_HEAD = struct.Struct(">BHI")  # type, channel, payload size
_METHOD_ID = struct.Struct(">HH")  # class, method
_BODY_SIZE_FLAGS = struct.Struct(">QH")  # header payload from offset 4
_TAG_AND_BIT = struct.Struct(">QB")
_ACK = struct.Struct(">BHIHHQBB")  # a whole basic.ack / basic.nack frame
_BASIC, _DELIVER, _ACK_ID, _NACK_ID = 60, 60, 80, 120
_HEADERS_FLAG = 0x2000  # content_type 0x8000 and content_encoding 0x4000 come before it


@dataclass(slots=True)
class Delivered:
    """One message as it arrived: what the adapter needs of it, nothing more."""

    delivery_tag: int
    redelivered: bool
    consumer_tag: str
    headers: dict[str, Any] | None
    body: bytes
    connection: object  # the connection it came on: settling it elsewhere is meaningless


def method_frame(channel: int, method: Frame) -> bytes:
    return pamqp_frame.marshal(method, channel)


def ack_frame(channel: int, delivery_tag: int, multiple: bool) -> bytes:
    return _ACK.pack(METHOD, channel, 13, _BASIC, _ACK_ID, delivery_tag, multiple, FRAME_END)


def nack_frame(channel: int, delivery_tag: int, requeue: bool) -> bytes:
    bits = 2 if requeue else 0  # bit 0: multiple, bit 1: requeue
    return _ACK.pack(METHOD, channel, 13, _BASIC, _NACK_ID, delivery_tag, bits, FRAME_END)


class FrameError(Exception):
    """The server sent bytes that are not AMQP 0-9-1 frames (the connection is dropped)."""


class Parser:
    """Splits the byte stream into frames and assembles deliveries.

    ``feed`` returns the deliveries completed by the bytes given and the other frames,
    decoded by pamqp, as ``(channel, frame)``; heartbeats count only as traffic.
    """

    def __init__(self, connection: object) -> None:
        self._connection = connection
        self._buffer = bytearray()
        self._deliver: tuple[int, bool, str] | None = None
        self._headers: dict[str, Any] | None = None
        self._body_size = -1  # -1: no content header seen for the current deliver
        self._parts: list[bytes] = []
        self._received = 0

    def feed(self, data: bytes) -> tuple[list[Delivered], list[tuple[int, Frame]]]:
        buffer = self._buffer
        buffer += data
        delivered: list[Delivered] = []
        other: list[tuple[int, Frame]] = []
        pos, end = 0, len(buffer)
        unpack_head = _FRAME_HEAD.unpack_from
        while end - pos >= 8:
            kind, channel, size = unpack_head(buffer, pos)
            stop = pos + 7 + size
            if stop >= end:
                break
            if buffer[stop] != FRAME_END:
                raise FrameError(f"frame of type {kind} does not end with 0xCE")
            start = pos + 7
            if kind == BODY:
                self._body(bytes(buffer[start:stop]), delivered)
            elif kind == METHOD:
                if _METHOD_ID.unpack_from(buffer, start) == (_BASIC, _DELIVER):
                    self._on_deliver(buffer, start + 4)
                else:
                    other.append((channel, self._decode(bytes(buffer[pos : stop + 1]))))
            elif kind == HEADER:
                self._on_header(buffer, start, stop, delivered)
            elif kind != HEARTBEAT:
                raise FrameError(f"unknown frame type {kind}")
            pos = stop + 1
        del buffer[:pos]
        return delivered, other

    def _on_deliver(self, buf: bytearray, at: int) -> None:
        n = buf[at]
        consumer_tag = buf[at + 1 : at + 1 + n].decode()
        tag, bits = _TAG_AND_BIT.unpack_from(buf, at + 1 + n)
        self._deliver = (tag, bool(bits & 1), consumer_tag)
        self._body_size = -1
        self._headers = None

    def _on_header(self, buf: bytearray, start: int, stop: int, out: list[Delivered]) -> None:
        if self._deliver is None:
            raise FrameError("content header without a basic.deliver")
        body_size, flags = _BODY_SIZE_FLAGS.unpack_from(buf, start + 4)
        if flags & _HEADERS_FLAG:
            at = start + 14
            for flag in (0x8000, 0x4000):  # content_type, content_encoding: short strings
                if flags & flag:
                    at += 1 + buf[at]
            self._headers = field_table(bytes(buf[at:stop]))[1]
        self._body_size = body_size
        self._parts = []
        self._received = 0
        if body_size == 0:
            self._complete(b"", out)

    def _body(self, chunk: bytes, out: list[Delivered]) -> None:
        if self._deliver is None or self._body_size < 0:
            raise FrameError("content body without a content header")
        self._received += len(chunk)
        if self._received >= self._body_size and not self._parts:
            self._complete(chunk, out)  # the usual case: the whole body in one frame
            return
        self._parts.append(chunk)
        if self._received >= self._body_size:
            self._complete(b"".join(self._parts), out)

    def _complete(self, body: bytes, out: list[Delivered]) -> None:
        assert self._deliver is not None
        tag, redelivered, consumer_tag = self._deliver
        out.append(Delivered(tag, redelivered, consumer_tag, self._headers, body, self._connection))
        self._deliver, self._headers, self._body_size, self._parts = None, None, -1, []

    @staticmethod
    def _decode(raw: bytes) -> Frame:
        try:
            frame = pamqp_frame.unmarshal(raw)[2]
        except Exception as exc:
            raise FrameError(f"cannot decode a frame: {exc}") from exc
        if not isinstance(frame, Frame):
            raise FrameError(f"unexpected frame {frame!r}")
        return frame
