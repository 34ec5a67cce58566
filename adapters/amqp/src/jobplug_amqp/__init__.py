"""jobplug-amqp (in progress)."""
