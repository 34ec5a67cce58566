"""The conformance suite's setup for ``sqlite://`` (entry point ``jobplug.contract``).

Every test gets its own database file next to the one the URL names, a one-second lease
(so a killed worker's job comes back quickly) and the raw hook that writes bytes straight
into the jobs table.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from urllib.parse import urlsplit

from jobplug_contract import AdapterSetup, unique_name
from jobplug_sqlite.broker import database_path
from jobplug_sqlite.store import Store

LEASE = 1.0


def contract_setup(url: str) -> AdapterSetup:
    """A fresh database file for one test, derived from ``url`` (its directory and name)."""
    base = Path(database_path(url)).absolute()
    base.parent.mkdir(parents=True, exist_ok=True)
    path = base.with_name(f"{base.stem}-{unique_name('t')}{base.suffix or '.db'}")
    query = urlsplit(url).query
    options = query if "lease=" in query else f"lease={LEASE}" + (f"&{query}" if query else "")

    async def inject_raw(handler: str, payload: bytes) -> None:
        await asyncio.to_thread(_insert_raw, str(path), handler, payload)

    async def cleanup() -> None:
        for suffix in ("", "-wal", "-shm"):
            try:
                os.remove(f"{path}{suffix}")
            except FileNotFoundError:
                pass

    return AdapterSetup(
        url=f"sqlite:///{path}?{options}",
        inject_raw=inject_raw,
        unreachable_url=f"sqlite:////no-such-directory-{unique_name()}/jobs.db",
        cleanup=cleanup,
        late_bound=1.0,
        redelivery_timeout=LEASE * 3 + 2,
    )


def _insert_raw(path: str, handler: str, payload: bytes) -> None:
    store = Store(path)
    try:
        store.insert_raw(handler, payload)
    finally:
        store.close()
