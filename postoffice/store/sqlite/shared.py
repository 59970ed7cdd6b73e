"""SharedState (``store.shared``) for every process on one data directory: one SQLite file.

Owns :class:`SQLiteSharedState`, kept in its own database file (``shared.db`` in the
data directory), apart from the mail database: what it holds is ephemeral, so it is
written with ``synchronous=OFF`` (no fsync, ever) and never slows a mail commit.

Invariants:
- Writes run on one thread of this process with its own connection; the event loop
  never waits on them. ``generation`` reads on the calling thread through a second
  connection: in WAL mode a reader never waits for a writer.
- ``acquire`` counts and inserts in one ``BEGIN IMMEDIATE`` transaction, so processes
  racing for the last slot cannot both win.
- Every lease carries its owner (host, pid, a random token) and an expiry
  ``LEASE_TTL`` ahead; the owner renews its leases every third of that. Expired leases
  do not count, and the leases of an owner process that no longer runs on this host
  are deleted at the next renewal of any process: a crash leaks no slot for long.
- ``close`` deletes this process's leases.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from postoffice.store.shared import LEASE_TTL, Lease

__all__ = ["SQLiteSharedState"]

log = logging.getLogger(__name__)
T = TypeVar("T")

_BUSY_TIMEOUT_MS = 10_000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS leases (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    owner TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    expires REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS leases_key ON leases (key, expires);
CREATE INDEX IF NOT EXISTS leases_owner ON leases (owner);
CREATE TABLE IF NOT EXISTS failures (key TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS failures_key ON failures (key, at);
CREATE TABLE IF NOT EXISTS generations (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
"""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class SQLiteSharedState:
    """SharedState in ``path`` (created if needed), for every process that opens it."""

    def __init__(self, path: Path, *, lease_ttl: float = LEASE_TTL) -> None:
        self.path = path
        self.lease_ttl = lease_ttl
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.owner = f"{self.host}:{self.pid}:{secrets.token_hex(8)}"
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="postoffice-shared")
        self._conn: sqlite3.Connection | None = None  # the writer thread's
        self._reader: sqlite3.Connection | None = None  # generation() reads
        self._renewer: asyncio.Task[None] | None = None
        self._failure_horizon = 0.0  # the longest failure window asked for
        self._closed = False

    @classmethod
    async def open(cls, path: Path, *, lease_ttl: float = LEASE_TTL) -> SQLiteSharedState:
        state = cls(path, lease_ttl=lease_ttl)
        await state._call(state._setup)
        state._renewer = asyncio.create_task(state._renew_forever(), name="shared-state-renewal")
        return state

    # ---- plumbing -----------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        return conn

    def _setup(self, conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript(_SCHEMA)
        self._purge(conn)

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = self._connect()
            self._conn.execute("PRAGMA synchronous = OFF")  # ephemeral state: never an fsync
        return self._conn

    async def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(self._db()))

    @staticmethod
    def _immediate(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    # ---- leases -------------------------------------------------------------------------
    async def acquire(self, key: str, limit: int) -> Lease | None:
        def op(conn: sqlite3.Connection) -> Lease | None:
            now = time.time()
            if limit:
                (held,) = conn.execute(
                    "SELECT count(*) FROM leases WHERE key = ? AND expires > ?", (key, now)
                ).fetchone()
                if held >= limit:
                    return None
            cursor = conn.execute(
                "INSERT INTO leases (key, owner, host, pid, expires) VALUES (?, ?, ?, ?, ?)",
                (key, self.owner, self.host, self.pid, now + self.lease_ttl),
            )
            assert cursor.lastrowid is not None
            return Lease(key, cursor.lastrowid)

        return await self._call(lambda conn: self._immediate(conn, op))

    async def release(self, lease: Lease) -> None:
        await self._call(
            lambda conn: conn.execute("DELETE FROM leases WHERE id = ? AND owner = ?", (lease.id, self.owner))
        )

    async def count(self, key: str) -> int:
        def op(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                "SELECT count(*) FROM leases WHERE key = ? AND expires > ?", (key, time.time())
            ).fetchone()
            return int(row[0])

        return await self._call(op)

    def _renew(self, conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE leases SET expires = ? WHERE owner = ?", (time.time() + self.lease_ttl, self.owner))
        self._purge(conn)

    def _purge(self, conn: sqlite3.Connection) -> None:
        """Delete expired leases, those of dead processes of this host, and old failures."""
        now = time.time()
        conn.execute("DELETE FROM leases WHERE expires <= ?", (now,))
        owners = conn.execute(
            "SELECT DISTINCT owner, pid FROM leases WHERE host = ? AND owner != ?", (self.host, self.owner)
        )
        for owner, pid in owners.fetchall():
            if not _pid_alive(int(pid)):
                log.info("dropping the leases of process %d, which is gone", pid)
                conn.execute("DELETE FROM leases WHERE owner = ?", (owner,))
        if self._failure_horizon:
            conn.execute("DELETE FROM failures WHERE at <= ?", (now - self._failure_horizon,))

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self.lease_ttl / 3)
            try:
                await self._call(self._renew)
            except sqlite3.Error:
                log.exception("renewing the shared leases failed; trying again later")

    # ---- failure records ------------------------------------------------------------------
    async def record_failure(self, key: str, at: float, window: float) -> int:
        self._failure_horizon = max(self._failure_horizon, window)

        def op(conn: sqlite3.Connection) -> int:
            conn.execute("DELETE FROM failures WHERE key = ? AND at <= ?", (key, at - window))
            (earlier,) = conn.execute("SELECT count(*) FROM failures WHERE key = ?", (key,)).fetchone()
            conn.execute("INSERT INTO failures (key, at) VALUES (?, ?)", (key, at))
            return int(earlier)

        return await self._call(lambda conn: self._immediate(conn, op))

    async def recent_failures(self, key: str, since: float) -> int:
        def op(conn: sqlite3.Connection) -> int:
            row = conn.execute("SELECT count(*) FROM failures WHERE key = ? AND at > ?", (key, since)).fetchone()
            return int(row[0])

        return await self._call(op)

    async def clear_failures(self, key: str) -> None:
        await self._call(lambda conn: conn.execute("DELETE FROM failures WHERE key = ?", (key,)))

    # ---- generations ----------------------------------------------------------------------
    async def bump(self, name: str) -> int:
        def op(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                "INSERT INTO generations (name, value) VALUES (?, 1)"
                " ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
                (name,),
            ).fetchone()
            return int(row[0])

        return await self._call(lambda conn: self._immediate(conn, op))

    def generation(self, name: str) -> int:
        if self._reader is None:
            self._reader = self._connect()
            self._reader.execute("PRAGMA query_only = ON")
        row = self._reader.execute("SELECT value FROM generations WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row is not None else 0

    # ---- closing ---------------------------------------------------------------------------
    async def close(self) -> None:
        """Give back this owner's leases and close (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._renewer is not None:
            self._renewer.cancel()
            await asyncio.gather(self._renewer, return_exceptions=True)
            self._renewer = None
        with contextlib.suppress(sqlite3.Error):
            await self._call(lambda conn: conn.execute("DELETE FROM leases WHERE owner = ?", (self.owner,)))

        def shut(conn: sqlite3.Connection) -> None:
            conn.close()
            self._conn = None

        if self._conn is not None:
            await self._call(shut)
        self._executor.shutdown(wait=True)
        if self._reader is not None:
            self._reader.close()
            self._reader = None
