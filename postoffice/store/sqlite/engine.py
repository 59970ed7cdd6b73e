"""SQLite plumbing: migrations, one writer thread with group commit, reader threads.

Invariants:
- Exactly one connection writes. Write operations are callables queued to the
  writer thread; it takes every queued operation, runs them in ONE transaction,
  each inside its own SAVEPOINT (a failing operation is rolled back alone and gets
  its exception), COMMITs with ``synchronous=FULL`` and only then resolves the
  futures. So an awaited write is durable, and N concurrent writers cost one fsync.
- Reads run on read-only connections in a small thread pool; WAL lets them run
  while the writer commits. The event loop never blocks on SQLite.
- ``PRAGMA user_version`` is the number of the last applied migration
  (``migrations/NNNN_*.sql``); missing ones are applied in order, each in a transaction.
"""

from __future__ import annotations

import asyncio
import queue
import re
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Generic, TypeVar

__all__ = ["Database", "migrations", "migrate", "LATEST_VERSION"]

T = TypeVar("T")

_MIGRATION_NAME = re.compile(r"(\d{4})_[a-z0-9_]+\.sql")
_BUSY_TIMEOUT_MS = 10_000  # another process (the CLI while serve runs) may hold the write lock
_READERS = 4


def migrations() -> list[tuple[int, str, str]]:
    """(number, file name, SQL) of every shipped migration, in order; numbers are 1..N."""
    found: list[tuple[int, str, str]] = []
    for entry in resources.files(__package__).joinpath("migrations").iterdir():
        m = _MIGRATION_NAME.fullmatch(entry.name)
        if m:
            found.append((int(m.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    if [n for n, _, _ in found] != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migration numbers are not 1..N: {[name for _, name, _ in found]}")
    return found


LATEST_VERSION = len(migrations())


def migrate(conn: sqlite3.Connection, target: int | None = None) -> int:
    """Apply the migrations after the database's user_version, up to ``target``."""
    current = int(conn.execute("PRAGMA user_version").fetchone()[0])
    target = LATEST_VERSION if target is None else target
    if current > LATEST_VERSION:
        raise RuntimeError(f"database schema version {current} is newer than this program ({LATEST_VERSION})")
    for number, _name, sql in migrations():
        if current < number <= target:
            try:
                conn.executescript(f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {number};\nCOMMIT;")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            current = number
    return current


@dataclass
class _WriteOp(Generic[T]):
    fn: Callable[[sqlite3.Connection], T]
    future: asyncio.Future[T]
    loop: asyncio.AbstractEventLoop


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.cancelled():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


class Database:
    """Owns the writer thread and the reader pool of one SQLite file."""

    def __init__(self, path: Path, functions: dict[str, Callable[..., Any]] | None = None) -> None:
        self.path = Path(path)
        self.commit_count = 0  # transactions committed by the writer (tests observe batching)
        self.batch_sizes: list[int] = []  # operations per commit, most recent last (bounded)
        self._functions = functions or {}
        self._queue: queue.SimpleQueue[_WriteOp[Any] | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._readers = ThreadPoolExecutor(max_workers=_READERS, thread_name_prefix="sqlite-read")
        self._local = threading.local()
        self._read_conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        self._closed = False

    # ---- lifecycle ------------------------------------------------------------------------
    def start(self, target_version: int | None = None) -> None:
        """Blocking: migrate, then start the writer thread. Call from a thread."""
        conn = self._connect_writer()
        try:
            migrate(conn, target_version)
        finally:
            conn.close()
        self._writer = threading.Thread(target=self._run_writer, name="sqlite-writer", daemon=True)
        self._writer.start()
        self._ready.wait()
        if self._start_error is not None:
            raise self._start_error

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        if self._writer is not None:
            await asyncio.to_thread(self._writer.join)
        await asyncio.to_thread(self._readers.shutdown, True)
        with self._conns_lock:
            for conn in self._read_conns:
                conn.close()
            self._read_conns.clear()

    # ---- connections ----------------------------------------------------------------------
    def _connect_writer(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")  # DESIGN.md §3: fsync at every commit
        conn.execute("PRAGMA foreign_keys = ON")
        self._add_functions(conn)
        return conn

    def _add_functions(self, conn: sqlite3.Connection) -> None:
        for name, fn in self._functions.items():
            conn.create_function(name, -1, fn, deterministic=True)

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            uri = self.path.resolve().as_uri() + "?mode=ro"
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            self._add_functions(conn)
            self._local.conn = conn
            with self._conns_lock:
                self._read_conns.append(conn)
        return conn

    # ---- reads ------------------------------------------------------------------------------
    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` on a read-only connection in a thread, inside one read transaction
        (a consistent snapshot across its statements)."""
        if self._closed:
            raise RuntimeError("store is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, self._read_call, fn)

    def _read_call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._reader()
        conn.execute("BEGIN")
        try:
            return fn(conn)
        finally:
            conn.execute("COMMIT")

    # ---- writes -----------------------------------------------------------------------------
    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Queue ``fn`` for the writer; returns its result once committed (durable)."""
        if self._closed:
            raise RuntimeError("store is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_WriteOp(fn, future, loop))
        return await future

    def _run_writer(self) -> None:
        try:
            conn = self._connect_writer()
        except BaseException as e:  # reported by start()
            self._start_error = e
            self._ready.set()
            return
        self._ready.set()
        try:
            stop = False
            while not stop:
                first = self._queue.get()
                if first is None:
                    break
                batch: list[_WriteOp[Any]] = [first]
                while True:
                    try:
                        op = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if op is None:
                        stop = True
                        break
                    batch.append(op)
                self._run_batch(conn, batch)
        finally:
            conn.close()

    def _run_batch(self, conn: sqlite3.Connection, batch: list[_WriteOp[Any]]) -> None:
        outcomes: list[tuple[bool, Any]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for op in batch:
                conn.execute("SAVEPOINT op")
                try:
                    value = op.fn(conn)
                except Exception as e:
                    conn.execute("ROLLBACK TO op")
                    conn.execute("RELEASE op")
                    outcomes.append((False, e))
                else:
                    conn.execute("RELEASE op")
                    outcomes.append((True, value))
            conn.execute("COMMIT")
            self.commit_count += 1
            self.batch_sizes.append(len(batch))
            del self.batch_sizes[:-1000]
        except Exception as e:
            # The commit itself failed (disk full, I/O error): nothing of the batch is durable.
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            outcomes = [(False, e)] * len(batch)
        for op, (ok, value) in zip(batch, outcomes, strict=True):
            try:
                op.loop.call_soon_threadsafe(_settle, op.future, ok, value)
            except RuntimeError:  # that caller's loop is closed; nobody waits
                pass
