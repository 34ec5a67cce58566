"""jobplug-redis (in progress)."""
