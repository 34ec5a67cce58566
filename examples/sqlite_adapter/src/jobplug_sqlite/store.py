"""The SQLite side: one connection, used from one thread, plain SQL.

Every method runs in the broker's single worker thread, so the connection and the set of
taken rows need no locks. Jobs are rows; their state moves ready/scheduled/retry ->
running -> (deleted | retry | dead). A running row holds a lease; a worker process that
dies stops renewing it, and the next fetch after it expires hands the job out again.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence

from jobplug.adapter import Job, new_job_id
from jobplug.errors import MalformedJobError

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    handler TEXT NOT NULL,
    job_id TEXT NOT NULL,
    payload BLOB NOT NULL,
    state TEXT NOT NULL,
    run_at REAL NOT NULL,
    lease_until REAL,
    unique_key TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS jobs_due ON jobs (state, handler, run_at);
CREATE INDEX IF NOT EXISTS jobs_by_job_id ON jobs (job_id);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_unique ON jobs (unique_key);
CREATE TABLE IF NOT EXISTS paused (handler TEXT PRIMARY KEY);
"""

WAITING = ("ready", "scheduled", "retry")


class Store:
    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, timeout=10.0, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        self.taken: set[int] = set()  # rows this broker holds (fetched, not yet settled)

    def close(self) -> None:
        self.db.close()

    # -- producing -------------------------------------------------------------------
    def insert(self, jobs: Sequence[Job], run_at: float | None) -> None:
        state, when = ("ready", time.time()) if run_at is None else ("scheduled", run_at)
        rows = [(j.handler, j.id, j.encode(), state, when) for j in jobs]
        with self._transaction():
            self.db.executemany(
                "INSERT INTO jobs (handler, job_id, payload, state, run_at) VALUES (?,?,?,?,?)",
                rows,
            )

    def insert_unique(self, job: Job, key: str, run_at: float | None) -> bool:
        state, when = ("ready", time.time()) if run_at is None else ("scheduled", run_at)
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO jobs (handler, job_id, payload, state, run_at, unique_key)"
            " VALUES (?,?,?,?,?,?)",
            (job.handler, job.id, job.encode(), state, when, key),
        )
        return cursor.rowcount == 1

    def insert_raw(self, handler: str, payload: bytes) -> None:
        """Write bytes as they are, unchecked (the conformance suite's malformed payloads)."""
        self.db.execute(
            "INSERT INTO jobs (handler, job_id, payload, state, run_at) VALUES (?,?,?,?,?)",
            (handler, new_job_id(), payload, "ready", time.time()),
        )

    # -- consuming -------------------------------------------------------------------
    def take(self, handlers: Sequence[str], limit: int, lease: float) -> list[tuple[int, Job]]:
        """Reserve up to ``limit`` due jobs; dead-letter the ones that are not valid jobs."""
        now = time.time()
        marks = ",".join("?" * len(handlers))
        out: list[tuple[int, Job]] = []
        with self._transaction():
            self.db.execute(  # leases of vanished workers: the jobs are due again
                "UPDATE jobs SET state='ready', lease_until=NULL"
                " WHERE state='running' AND lease_until < ?",
                (now,),
            )
            rows = self.db.execute(
                f"SELECT id, handler, payload FROM jobs WHERE state IN {WAITING}"
                f" AND run_at <= ? AND handler IN ({marks})"
                " AND handler NOT IN (SELECT handler FROM paused)"
                " ORDER BY run_at, id LIMIT ?",
                (now, *handlers, limit),
            ).fetchall()
            for row_id, _handler, payload in rows:
                try:
                    job = Job.decode(payload)
                except MalformedJobError as exc:
                    self._mark_dead(row_id, None, f"MalformedJobError: {exc}", now)
                    continue
                self.db.execute(
                    "UPDATE jobs SET state='running', lease_until=? WHERE id=?",
                    (now + lease, row_id),
                )
                out.append((row_id, job))
        self.taken.update(row_id for row_id, _ in out)
        return out

    def renew(self, lease: float) -> None:
        if self.taken:
            self._update_many(
                "UPDATE jobs SET lease_until=? WHERE state='running' AND id IN ({})",
                (time.time() + lease,),
                self.taken,
            )

    def delete(self, row_ids: Iterable[int]) -> None:
        ids = self._settle(row_ids)
        self._update_many("DELETE FROM jobs WHERE id IN ({})", (), ids)

    def reschedule(self, row_id: int, job: Job, run_at: float) -> None:
        self._settle([row_id])
        self.db.execute(
            "UPDATE jobs SET state='retry', payload=?, run_at=?, lease_until=NULL,"
            " unique_key=NULL WHERE id=?",
            (job.encode(), run_at, row_id),
        )

    def bury(self, row_id: int, job: Job, at: float) -> None:
        self._settle([row_id])
        self._mark_dead(row_id, job.encode(), job.last_error or "dead", at)

    def release(self, row_ids: Iterable[int]) -> None:
        ids = self._settle(row_ids)
        self._update_many(
            "UPDATE jobs SET state='ready', lease_until=NULL WHERE state='running' AND id IN ({})",
            (),
            ids,
        )

    def release_all(self) -> None:
        self.release(list(self.taken))

    # -- control ---------------------------------------------------------------------
    def pause(self, handler: str) -> None:
        self.db.execute("INSERT OR IGNORE INTO paused (handler) VALUES (?)", (handler,))

    def unpause(self, handler: str) -> None:
        self.db.execute("DELETE FROM paused WHERE handler=?", (handler,))

    # -- helpers ---------------------------------------------------------------------
    def _settle(self, row_ids: Iterable[int]) -> list[int]:
        ids = list(row_ids)
        self.taken.difference_update(ids)
        return ids

    def _mark_dead(self, row_id: int, payload: bytes | None, error: str, at: float) -> None:
        self.db.execute(
            "UPDATE jobs SET state='dead', payload=COALESCE(?, payload), error=?, run_at=?,"
            " lease_until=NULL, unique_key=NULL WHERE id=?",
            (payload, error, at, row_id),
        )

    def _update_many(self, sql: str, params: tuple[object, ...], ids: Iterable[int]) -> None:
        listed = list(ids)
        for start in range(0, len(listed), 500):  # stay under SQLite's variable limit
            chunk = listed[start : start + 500]
            self.db.execute(sql.format(",".join("?" * len(chunk))), (*params, *chunk))

    def _transaction(self) -> _Transaction:
        return _Transaction(self.db)


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``: takes the write lock up front, so two processes
    fetching at once never both reserve one row."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
