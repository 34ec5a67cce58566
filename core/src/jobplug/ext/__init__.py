"""Optional integrations, each behind its own extra: ``prometheus`` (metrics) and ``otel``
(OpenTelemetry tracing). Both are pluggy plugins on :mod:`jobplug.hookspecs`."""
