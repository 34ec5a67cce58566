"""The conformance suite's setup for ``sqlite://`` (entry point ``jobplug.contract``).

Every test gets its own database file next to the one the URL names, a one-second lease
(so a killed worker's job comes back quickly), the raw hook that writes bytes straight
into the jobs table, and the disrupt hook that takes the table away for a moment.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
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

    @asynccontextmanager
    async def disrupt(handlers: Sequence[str]) -> AsyncIterator[None]:
        # The jobs table disappears under the broker: every statement fails with the
        # driver's "no such table" until it is back, jobs and all.
        await asyncio.to_thread(_rename, str(path), "jobs", "jobs_away")
        try:
            yield
        finally:
            await asyncio.to_thread(_rename, str(path), "jobs_away", "jobs")

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
        wait=5.0,  # every event is local: a failing wait need not last longer
        disrupt=disrupt,
    )


def _rename(path: str, old: str, new: str) -> None:
    db = sqlite3.connect(path, timeout=10.0, isolation_level=None)
    try:
        db.execute(f"ALTER TABLE {old} RENAME TO {new}")
    finally:
        db.close()


def _insert_raw(path: str, handler: str, payload: bytes) -> None:
    store = Store(path)
    try:
        store.insert_raw(handler, payload)
    finally:
        store.close()
