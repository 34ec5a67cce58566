"""jobplug's RabbitMQ adapter (``amqp://``, ``amqps://``) on aio-pika."""

from jobplug_amqp.broker import AmqpBroker

__all__ = ["AmqpBroker"]
