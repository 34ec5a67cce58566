"""Queue and exchange names, their arguments, and the TTL ladder that implements delays.

Everything is prefixed by the namespace ``ns`` (``?namespace=``, default ``jobplug``):

=========================  =====================================================
``ns.job.<handler>``       durable queue of one handler's ready jobs
``ns.dead``                durable dead-letter queue (failed, malformed, poison)
``ns.lost``                fanout exchange into ``ns.dead`` (alternate exchange)
``ns.delay.00`` .. ``31``  TTL ladder: topic exchange + queue per level
``ns.delay.out``           headers exchange: ladder exit, routes to ``ns.job.*``
=========================  =====================================================

The ladder: level ``n`` holds messages for exactly ``2**n`` milliseconds (queue
``x-message-ttl``), then dead-letters them into level ``n-1``'s exchange, which sends each
message either into its own queue (bit ``n-1`` of the delay set) or straight on down. A
delay is written in binary into the routing key (32 words, most significant first) and
the message enters at the level of its highest set bit, so it waits the sum of the TTLs of
its set bits: exactly the delay, in milliseconds, up to ``2**32 - 1`` ms (49.7 days). All
messages of one level queue share one TTL, so a queue expires strictly in FIFO order and
a short delay never waits behind a long one. Level 0's exchange and queue lead to
``ns.delay.out``, which routes on the ``jobplug-dest`` header to the handler's queue.
"""

from __future__ import annotations

from typing import Any

from jobplug.errors import ConfigurationError

LEVELS = 32
#: The longest delay one pass through the ladder gives; longer ones go round again.
MAX_LADDER_MS = 2**LEVELS - 1
#: Header naming the queue a delayed message is for (headers exchanges ignore "x-" keys).
DEST_HEADER = "jobplug-dest"
_MAX_NAME = 255


class Names:
    """The queue and exchange names of one namespace."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.prefix = f"{namespace}.job."
        self.dead = f"{namespace}.dead"
        self.lost = f"{namespace}.lost"
        self.out = f"{namespace}.delay.out"

    def queue(self, handler: str) -> str:
        name = self.prefix + handler
        if len(name.encode()) > _MAX_NAME:
            raise ConfigurationError(
                f"handler name {handler[:40]!r}... is too long for an AMQP queue name "
                f"(255 bytes with the prefix {self.prefix!r})"
            )
        return name

    def handler_of(self, queue: str) -> str:
        return queue[len(self.prefix) :] if queue.startswith(self.prefix) else queue

    def level(self, n: int) -> str:
        return f"{self.namespace}.delay.{n:02d}"

    def all_exchanges(self) -> list[str]:
        return [self.lost, self.out, *(self.level(n) for n in range(LEVELS))]

    def all_fixed_queues(self) -> list[str]:
        return [self.dead, *(self.level(n) for n in range(LEVELS))]


def ladder_route(names: Names, delay_ms: int) -> tuple[str, str]:
    """(exchange, routing key) that delays a message by ``delay_ms`` (1..MAX_LADDER_MS)."""
    if not 0 < delay_ms <= MAX_LADDER_MS:
        raise ValueError(f"delay {delay_ms} ms out of the ladder's range")
    key = ".".join(format(delay_ms, f"0{LEVELS}b"))
    return names.level(delay_ms.bit_length() - 1), key


def level_pattern(n: int, bit: str) -> str:
    """Topic pattern matching routing keys whose bit ``n`` is ``bit``."""
    words = ["*"] * LEVELS
    words[LEVELS - 1 - n] = bit
    return ".".join(words)


def handler_queue_args(names: Names, quorum: bool, delivery_limit: int) -> dict[str, Any]:
    # A poison message (redelivered delivery_limit times, quorum only) and anything
    # rejected without requeue lands in the dead queue rather than vanishing.
    args: dict[str, Any] = {
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": names.dead,
    }
    if quorum:
        args["x-queue-type"] = "quorum"
        args["x-delivery-limit"] = delivery_limit
    return args


def dead_queue_args(quorum: bool) -> dict[str, Any]:
    return {"x-queue-type": "quorum"} if quorum else {}


def level_queue_args(names: Names, n: int, quorum: bool) -> dict[str, Any]:
    args: dict[str, Any] = {
        "x-message-ttl": 2**n,
        "x-dead-letter-exchange": names.level(n - 1) if n > 0 else names.out,
    }
    if quorum:
        # at-least-once dead-lettering: a delayed job survives a crash mid-hop.
        args.update(
            {
                "x-queue-type": "quorum",
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
            }
        )
    return args
