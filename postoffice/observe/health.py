"""Health and the store's figures: what ``/healthz``, ``/metrics`` and ``status`` read.

Owns: :data:`HEALTH` (this process's listeners and its store probe, registered by the
lifecycle once the listeners are up), :func:`probe_store` (a real write: a lock row in
the database, committed and removed, and a file in the blob store's temporary directory,
written, fsynced and removed), and :func:`store_stats` / :func:`queue_stats`.

Invariant: a listener is healthy while its listening socket is open and serving; the
store is healthy when the probe's writes succeed. Any failure is a reason, in words,
in the 503 answer.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from postoffice.store.api import BlobStore, Store

__all__ = ["HEALTH", "Health", "QueueStats", "StoreStats", "blob_bytes", "probe_store", "queue_stats", "store_stats"]


@dataclass
class Health:
    listeners: dict[str, Callable[[], bool]] = field(default_factory=dict)  # name -> accepting now?
    store_probe: Callable[[], Awaitable[None]] | None = None

    async def problems(self) -> list[str]:
        """Why the server is unhealthy ([] when it is healthy)."""
        reasons = [f"listener {name} is not accepting" for name, ok in sorted(self.listeners.items()) if not ok()]
        if self.store_probe is None:
            reasons.append("no store registered")
        else:
            try:
                async with asyncio.timeout(10.0):
                    await self.store_probe()
            except Exception as exc:
                reasons.append(f"the store refuses writes: {type(exc).__name__}: {exc}")
        return reasons


HEALTH = Health()


async def probe_store(store: Store, blobs: BlobStore, data_dir: Path) -> None:
    """Write to the database and to the blob directory's filesystem, then undo both."""
    holder = f"healthz-{os.getpid()}-{secrets.token_hex(4)}"
    if not await store.acquire_lock("healthz:" + holder, holder, 30.0):
        raise OSError("the health lock could not be written")
    await store.release_lock("healthz:" + holder, holder)

    def write_file() -> None:
        path = data_dir / "spool" / f".{holder}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, b"healthz\n")
            os.fsync(fd)
        finally:
            os.close(fd)
            path.unlink(missing_ok=True)

    await asyncio.to_thread(write_file)


@dataclass(frozen=True)
class StoreStats:
    accounts: int
    messages: int  # message records, every mailbox
    raw_bytes: int  # the messages counted once per mailbox that holds them
    content_bytes: int  # each distinct message counted once (what dedup keeps)
    blob_bytes: int  # the part and skeleton files on disk
    database_bytes: int  # the database and its write-ahead log

    @property
    def dedup_saved(self) -> int:
        """Octets not stored again because one message is in several mailboxes."""
        return self.raw_bytes - self.content_bytes


async def store_stats(store: Store, blobs: BlobStore, db_path: Path) -> StoreStats:
    """The store's figures: messages and their octets raw and after dedup in O(1) (kept
    by the store as messages come and go), the database's size, and the part files'
    octets (a walk of the blob directory, done at most every ``_BLOB_WALK_TTL`` seconds
    per process and blob store)."""
    accounts = await store.list_accounts()
    totals = await store.store_totals()

    def database() -> int:
        total = 0
        for suffix in ("", "-wal"):
            try:
                total += Path(str(db_path) + suffix).stat().st_size
            except FileNotFoundError:
                pass
        return total

    return StoreStats(
        len(accounts), totals.messages, totals.raw_bytes, totals.content_bytes,
        await blob_bytes(blobs), await asyncio.to_thread(database),
    )  # fmt: skip


_BLOB_WALK_TTL = 60.0  # seconds a walk of the blob directory is reused (scrapes come often)
_blob_walks: weakref.WeakKeyDictionary[BlobStore, tuple[float, int]] = weakref.WeakKeyDictionary()  # (when, octets)


async def blob_bytes(blobs: BlobStore, *, fresh: bool = False) -> int:
    """Octets of the part files: a directory walk, reused for ``_BLOB_WALK_TTL`` seconds
    unless ``fresh``."""
    now = time.monotonic()
    known = _blob_walks.get(blobs)
    if known is not None and not fresh and now - known[0] < _BLOB_WALK_TTL:
        return known[1]
    size = await asyncio.to_thread(blobs.total_size)
    _blob_walks[blobs] = (now, size)
    return size


@dataclass(frozen=True)
class QueueStats:
    entries: int  # entries with a recipient still queued
    recipients: int  # recipients still queued
    oldest_age: float  # seconds since the oldest of those entries was queued (0: none)


async def queue_stats(queue: Any, now: float | None = None) -> QueueStats:
    """``queue``: a ``store.queue.QueueStore``."""
    entries = [e for e in await queue.list_entries() if e.pending()]
    now = time.time() if now is None else now
    oldest = min((e.created for e in entries), default=now)
    return QueueStats(len(entries), sum(len(e.pending()) for e in entries), max(0.0, now - oldest))
