"""jobplug-sqlite: an example third-party adapter. Durable jobs in one SQLite file.

``sqlite:///relative/jobs.db`` or ``sqlite:////absolute/jobs.db``, options in the query:
``lease`` (seconds a fetched job stays reserved without a heartbeat, default 30) and
``poll`` (seconds between polls of an idle queue, default 0.05).
"""

from jobplug_sqlite.broker import SqliteBroker

__all__ = ["SqliteBroker"]
