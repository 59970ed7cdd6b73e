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
- Background work (``background=``, the store's deferred search indexing) runs on
  the writer thread between batches, in transactions of its own that never hold a
  queued write back for long: when the queue is empty, it stops as soon as a write
  arrives; when its backlog is large, a slice runs after every batch so it keeps
  up. Its commits are not fsynced (``synchronous=NORMAL``): losing one in a crash
  loses nothing, since the work it did is still listed as to-do; the next FULL
  commit makes it durable anyway. They are not counted in ``commit_count``.
- WAL checkpoints run on a thread and connection of their own (PASSIVE, which
  never blocks the writer), at most every ``_CHECKPOINT_INTERVAL`` seconds while
  the writer commits; the writer's own auto-checkpoint only stays as a safety net
  for a WAL that grows past ``_WAL_SAFETY_PAGES``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Generic, TypeVar

__all__ = ["Background", "Database", "migrations", "migrate", "LATEST_VERSION"]

T = TypeVar("T")
log = logging.getLogger(__name__)

# Background work: (writer connection, stop) -> how much work is left (0: none).
# Called inside a transaction; it works in small steps and returns soon after
# stop() says True.
Background = Callable[[sqlite3.Connection, Callable[[], bool]], int]

_MIGRATION_NAME = re.compile(r"(\d{4})_[a-z0-9_]+\.sql")
_BUSY_TIMEOUT_MS = 10_000  # another process (the CLI while serve runs) may hold the write lock
_READERS = 4
_WRITER_CACHE_KIB = 32 * 1024  # the writer's page cache: index pages stay hot between batches
_BACKGROUND_SLICE = 0.05  # seconds: longest a queued write waits behind background work
_BACKGROUND_URGENT = 2000  # backlog from which a slice also runs after every batch
# docs/architecture.md §6: the writer fsyncs the WAL at every commit. Set at connect and
# set again after each background slice (which runs NORMAL): one name for both, so that
# weakening it is one change (bench/fsync_mutations.py).
_WRITER_SYNCHRONOUS = "FULL"
_CHECKPOINT_INTERVAL = 0.5  # seconds between checkpoints while writes go on
_WAL_SAFETY_PAGES = 20_000  # the writer checkpoints itself past this (checkpointer behind)
_WAL_KEEP_BYTES = 64 * 1024 * 1024  # a WAL file larger than this is truncated once checkpointed


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


class _SharedRead:
    """A read that callers with the same key may join until it begins (``started``)."""

    future: asyncio.Future[Any]

    def __init__(self) -> None:
        self.started = False  # set by the reader thread before its snapshot


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

    def __init__(
        self,
        path: Path,
        functions: dict[str, Callable[..., Any]] | None = None,
        background: Background | None = None,
    ) -> None:
        self.path = Path(path)
        self.commit_count = 0  # transactions committed by the writer (tests observe batching)
        self.background_paused = False  # tests set it to observe the work still to do
        self.checkpoints = 0  # checkpoints run by the checkpointer thread
        self._checkpointer: threading.Thread | None = None
        self._committed = threading.Event()  # set by the writer: there are frames to checkpoint
        self._stopping = threading.Event()
        self._background = background
        self.batch_sizes: list[int] = []  # operations per commit, most recent last (bounded)
        self._functions = functions or {}
        self._queue: queue.SimpleQueue[_WriteOp[Any] | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._readers = ThreadPoolExecutor(max_workers=_READERS, thread_name_prefix="sqlite-read")
        self._shared_reads: dict[object, _SharedRead] = {}
        self._local = threading.local()
        self._read_conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        self._closed = False

    # ---- lifecycle ------------------------------------------------------------------------
    def start(self, target_version: int | None = None) -> None:
        """Blocking: migrate, then start the writer thread. Call from a thread."""
        # The data dir may be new (first start): its own entry is not durable until its
        # parent is fsynced, and SQLite syncs only the directory of its files. Without
        # this a power cut after a first start loses the whole database (found by
        # tests/durability). One fsync per open.
        fd = os.open(self.path.resolve().parent.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
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
        self._checkpointer = threading.Thread(target=self._run_checkpointer, name="sqlite-checkpoint", daemon=True)
        self._checkpointer.start()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._stopping.set()
        self._committed.set()
        if self._checkpointer is not None:
            await asyncio.to_thread(self._checkpointer.join)
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
        conn.execute(f"PRAGMA synchronous = {_WRITER_SYNCHRONOUS}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA cache_size = -{_WRITER_CACHE_KIB}")
        conn.execute(f"PRAGMA wal_autocheckpoint = {_WAL_SAFETY_PAGES}")
        conn.execute(f"PRAGMA journal_size_limit = {_WAL_KEEP_BYTES}")
        self._add_functions(conn)
        return conn

    def _run_checkpointer(self) -> None:
        """Copy committed WAL frames into the database file, off the writer's path."""
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA journal_size_limit = {_WAL_KEEP_BYTES}")
        except sqlite3.Error:
            log.exception("checkpointer cannot open %s; the writer checkpoints alone", self.path)
            return
        try:
            while not self._stopping.is_set():
                self._committed.wait()
                if self._stopping.wait(_CHECKPOINT_INTERVAL):  # let more commits gather
                    break
                self._committed.clear()
                try:
                    # PASSIVE: copies what no reader still needs, never waits, never blocks.
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                except sqlite3.Error:
                    log.warning("checkpoint of %s failed; retried later", self.path, exc_info=True)
        finally:
            conn.close()

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

    async def read_shared(self, key: object, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Like :meth:`read`, but a caller with the same ``key`` joins a read that is still
        waiting for a reader thread, and gets its result. Joining only a read that has not
        begun keeps :meth:`read`'s promise: its snapshot is taken after the call, so it
        holds every commit made before it. For the reads thousands of sessions make at
        once when one change wakes them all (IDLE on one mailbox: bench/idle_10k.py)."""
        if self._closed:
            raise RuntimeError("store is closed")
        shared = self._shared_reads.get(key)
        if shared is None or shared.started:
            shared = self._shared_reads[key] = _SharedRead()
            job = shared

            def call() -> T:
                job.started = True
                return self._read_call(fn)

            job.future = asyncio.get_running_loop().run_in_executor(self._readers, call)

            def forget(_: object) -> None:
                if self._shared_reads.get(key) is job:
                    del self._shared_reads[key]

            job.future.add_done_callback(forget)
        result: T = await asyncio.shield(shared.future)
        return result

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
            backlog = 1 if self._background is not None else 0  # unknown: look once
            while not stop:
                if backlog > 0 and not self.background_paused and self._queue.empty():
                    backlog = self._run_background(conn, urgent=False)
                    continue
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
                if self._background is not None and not self.background_paused:
                    if backlog >= _BACKGROUND_URGENT and not stop:
                        backlog = self._run_background(conn, urgent=True)
                    backlog = max(backlog, 1)  # the batch may have added work
        finally:
            conn.close()

    def _run_background(self, conn: sqlite3.Connection, *, urgent: bool) -> int:
        """One slice of background work in its own transaction; returns the backlog."""
        assert self._background is not None
        deadline = time.monotonic() + _BACKGROUND_SLICE

        def should_stop() -> bool:
            return time.monotonic() >= deadline or (not urgent and not self._queue.empty())

        try:
            conn.execute("PRAGMA synchronous = NORMAL")
            try:
                conn.execute("BEGIN IMMEDIATE")
                changes = conn.total_changes
                left = self._background(conn, should_stop)
                conn.execute("COMMIT")
                if conn.total_changes != changes:  # else nothing was written
                    self._committed.set()
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                conn.execute(f"PRAGMA synchronous = {_WRITER_SYNCHRONOUS}")  # back, for every write
            return left
        except Exception:
            # Nothing is lost (the work stays listed); try again after the next batch.
            log.exception("background work failed on %s", self.path)
            return 0

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
            self._committed.set()
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
