"""jobplug-contract (in progress)."""
