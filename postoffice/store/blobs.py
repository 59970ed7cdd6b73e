"""Content-addressed blob files: ``root/ab/<sha256 hex>``, immutable.

Layout: 256 fan-out directories named by the first two hex digits, each created
once (lazily) and cached. Blobs written by earlier versions under
``root/ab/cd/<sha256 hex>`` are still found; new blobs never go there (creating a
directory costs about as much as creating a file, and 65536 of them cost a young
store one mkdir per blob).

Invariants: a blob file under its final name is complete — a writer streams into
``root/tmp``, hashing as it goes, and renames the file into place only when it is
whole. A blob is durable (file data, its name, its directories) before the call
that made it reports success:

- ``writer()``/``put()``: ``finish`` fsyncs the file, renames it and fsyncs the
  directory (docs/architecture.md §6) before it returns.
- ``opener()`` + ``sync_filesystem()``: other processes (import workers) write
  batches through their own ``FileBlobStore`` of the same root; the owner makes all
  of it durable with one ``syncfs(2)`` before it inserts rows pointing at them.
- ``batch()``: the writers of a ``BlobBatch`` skip those fsyncs; ``BlobBatch.sync()``
  then makes every blob written through the batch durable at once (one ``syncfs(2)``
  of the blob file system, or, where that is unavailable or ``fsync`` is injected,
  an fsync of each file and each changed directory). The caller inserts rows that
  point at those blobs only after ``sync()`` returned (import does so).

A blob that exists already is not rewritten (dedup); the existing file is synced
again (it may come from another process's batch that has not synced yet), which is
cheap for a clean file. Directories known to exist durably are cached, so a
directory is created and fsynced once, not per blob. Ranged reads read only the
requested bytes and count them in ``bytes_read``. Every method blocks: call it from
a thread.

Garbage collection (``collect``, see ``store/api.py``): a writer's ``finish`` makes
its blob fresh — a new file's time is its last write; a blob found already stored
gets its modification time set to now — while holding ``root/gc.lock`` shared
(flock(2), one open file per holder, so it excludes threads of one process and other
processes alike); ``collect`` holds it exclusively while it looks at the time and
unlinks. So a blob a delivery has just written or found cannot be removed under it.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import fcntl
import functools
import hashlib
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from postoffice.errors import Kind, MailError

__all__ = ["FileBlobStore", "FileBlobWriter", "BlobBatch", "syncfs"]

_BLOB_ID = re.compile(r"[0-9a-f]{64}")
_STALE_TEMP = 24 * 3600.0  # seconds: temp files older than this are crash leftovers


def _load_syncfs() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        fn = libc.syncfs
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn


_SYNCFS = _load_syncfs()


_FUSE_SUPER_MAGIC = 0x65735546


def _on_fuse(fd: int) -> bool:
    """Whether ``fd`` lies on a FUSE file system (fstatfs(2) f_type)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        buf = ctypes.create_string_buffer(256)  # struct statfs; f_type (a long) comes first
        if libc.fstatfs(fd, buf) != 0:
            return False
    except (OSError, AttributeError):
        return False
    return ctypes.c_long.from_buffer(buf).value == _FUSE_SUPER_MAGIC


def syncfs(fd: int) -> bool:
    """syncfs(2) on the file system holding ``fd``: False where unavailable, OSError
    when the kernel reports a writeback error (Linux >= 5.8 does).

    Unavailable on FUSE too: there the kernel returns 0 without telling the daemon
    (it forwards FUSE_SYNCFS only to virtiofs), so nothing would be durable (sshfs,
    mergerfs; found by tests/durability on its FUSE file system)."""
    if _SYNCFS is None or _on_fuse(fd):
        return False
    if _SYNCFS(fd) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))
    return True


class FileBlobWriter:
    """One blob being written. ``finish`` returns its id; durable on return unless the
    writer belongs to a ``BlobBatch`` (then durable after ``BlobBatch.sync()``)."""

    def __init__(self, store: FileBlobStore, batch: BlobBatch | None = None) -> None:
        self._store = store
        self._batch = batch
        fd, name = tempfile.mkstemp(dir=store.tmp_dir, prefix="blob-")
        self._file: BinaryIO | None = os.fdopen(fd, "wb")
        self._path = Path(name)
        self._hash = hashlib.sha256()

    def write(self, data: bytes) -> None:
        if self._file is None:
            raise ValueError("blob writer is closed")
        self._file.write(data)
        self._hash.update(data)

    def finish(self) -> str:
        if self._file is None:
            raise ValueError("blob writer is closed")
        blob_id = self._hash.hexdigest()
        store = self._store
        dest = store.path_of(blob_id)
        try:
            self._file.flush()
            with store.gc_lock(shared=True):
                existing = store._find(blob_id)
                try:
                    os.utime(existing)  # found again: fresh for the garbage collector
                except FileNotFoundError:
                    pass
                else:
                    # Same bytes already stored: the temp copy is dropped unsynced.
                    self.abort()
                    if self._batch is not None:
                        self._batch._written(existing, existing.parent)
                    else:
                        store._sync_existing(existing)
                    return blob_id
                if self._batch is None:
                    store.fsync(self._file.fileno())
                self._file.close()
                self._file = None
                store.ensure_dir(dest.parent, self._batch)
                os.replace(self._path, dest)
        except BaseException:
            self.abort()
            raise
        if self._batch is not None:
            self._batch._written(dest, dest.parent)
        else:
            store.fsync_dir(dest.parent)
        return blob_id

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._path.unlink(missing_ok=True)


class FileBlobStore:
    """BlobStore over a directory. ``fsync`` is injectable so tests can observe order;
    an injected ``fsync`` also makes ``BlobBatch.sync`` fsync file by file through it."""

    def __init__(self, root: Path, fsync: Callable[[int], None] = os.fsync) -> None:
        self.root = Path(root)
        self.tmp_dir = self.root / "tmp"
        self.fsync = fsync
        self.bytes_read = 0
        self._count_lock = threading.Lock()
        self._dirs_lock = threading.Lock()
        self._durable_dirs: set[Path] = {self.root}  # exist and their entry is synced
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        # ``root`` may be new (first start): its entry in the data dir, and ``tmp`` in it,
        # are durable only once both directories are fsynced; every blob below depends
        # on them (found by tests/durability). Two fsyncs per open.
        self.fsync_dir(self.root)
        self.fsync_dir(self.root.parent)
        self._remove_stale_temps()

    # ---- paths ----------------------------------------------------------------------
    def path_of(self, blob_id: str) -> Path:
        """Where a new blob with this id goes."""
        if not _BLOB_ID.fullmatch(blob_id):
            raise MailError(Kind.NOT_FOUND, "no such blob")
        return self.root / blob_id[0:2] / blob_id

    def _find(self, blob_id: str) -> Path:
        """The file holding the blob: new layout, else the legacy ``ab/cd/`` one if that
        exists, else the new-layout path (which does not exist)."""
        path = self.path_of(blob_id)
        if path.exists():
            return path
        legacy = self.root / blob_id[0:2] / blob_id[2:4] / blob_id
        return legacy if legacy.exists() else path

    def ensure_dir(self, directory: Path, batch: BlobBatch | None = None) -> None:
        """Create ``root/ab`` and make each new entry durable: at once (fsync of its
        parent), or with ``batch``, at ``batch.sync()``. Known directories cost nothing."""
        missing: list[Path] = []
        d = directory
        while d not in self._durable_dirs and d != self.root and (batch is None or d not in batch._dirs):
            missing.append(d)
            d = d.parent
        for d in reversed(missing):
            try:
                d.mkdir()
            except FileExistsError:
                pass  # maybe by another process whose batch is not synced yet: sync anyway
            if batch is not None:
                batch._new_dir(d)
            else:
                self.fsync_dir(d.parent)
                self._dirs_known(d)

    def _dirs_known(self, *dirs: Path) -> None:
        with self._dirs_lock:
            self._durable_dirs.update(dirs)

    def fsync_dir(self, directory: Path) -> None:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            self.fsync(fd)
        finally:
            os.close(fd)

    def _sync_existing(self, dest: Path) -> None:
        fd = os.open(dest, os.O_RDONLY)
        try:
            self.fsync(fd)
        finally:
            os.close(fd)
        self.fsync_dir(dest.parent)

    def _remove_stale_temps(self) -> None:
        # Another process may be writing right now; only old files are leftovers.
        cutoff = time.time() - _STALE_TEMP
        for entry in self.tmp_dir.iterdir():
            try:
                if entry.stat().st_mtime < cutoff:
                    entry.unlink()
            except OSError:
                pass

    # ---- BlobStore ------------------------------------------------------------------
    def writer(self) -> FileBlobWriter:
        return FileBlobWriter(self)

    def batch(self) -> BlobBatch:
        """A view whose writes become durable together at ``BlobBatch.sync()``."""
        return BlobBatch(self)

    def opener(self) -> Callable[[], FileBlobStore] | None:
        """A picklable factory that opens this store in another process (import workers
        write batches there), or None when such writes could not be made durable from
        here: ``sync_filesystem`` needs syncfs(2) and the real fsync."""
        if _SYNCFS is None or self.fsync is not os.fsync:
            return None
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            if _on_fuse(fd):  # syncfs(2) makes nothing durable there: see syncfs()
                return None
        finally:
            os.close(fd)
        return functools.partial(FileBlobStore, self.root)

    def sync_filesystem(self) -> None:
        """Make everything written under ``root`` by ANY process durable (file data,
        renames, new directories): one syncfs(2). Raises OSError where unavailable or
        on a writeback error; only for stores whose ``opener()`` is not None."""
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            if not syncfs(fd):
                raise OSError("syncfs(2) is unavailable")
        finally:
            os.close(fd)

    def put(self, data: bytes) -> str:
        return _put(self.writer(), data)

    def exists(self, blob_id: str) -> bool:
        try:
            return self._find(blob_id).is_file()
        except MailError:
            return False

    def size(self, blob_id: str) -> int:
        try:
            return self._find(blob_id).stat().st_size
        except FileNotFoundError:
            raise MailError(Kind.NOT_FOUND, "no such blob")

    def read(self, blob_id: str, offset: int = 0, length: int | None = None) -> bytes:
        if offset < 0 or (length is not None and length < 0):
            raise MailError(Kind.INVALID, "negative offset or length")
        try:
            with open(self._find(blob_id), "rb", buffering=0) as f:
                f.seek(offset)
                data = f.readall() if length is None else _read_exactly(f, length)
        except FileNotFoundError:
            raise MailError(Kind.NOT_FOUND, "no such blob")
        with self._count_lock:
            self.bytes_read += len(data)
        return data

    def open(self, blob_id: str) -> BinaryIO:
        try:
            return open(self._find(blob_id), "rb")
        except FileNotFoundError:
            raise MailError(Kind.NOT_FOUND, "no such blob")

    def delete(self, blob_id: str) -> None:
        try:
            self._find(blob_id).unlink(missing_ok=True)
        except MailError:
            return

    @contextlib.contextmanager
    def gc_lock(self, *, shared: bool) -> Iterator[None]:
        """``root/gc.lock``: shared by writers finishing a blob, exclusive for ``collect``."""
        fd = os.open(self.root / "gc.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def list_ids(self) -> list[str]:
        found: list[str] = []
        for top in self.root.iterdir():
            if len(top.name) != 2 or not top.is_dir():
                continue
            for entry in top.iterdir():
                if entry.is_dir():  # legacy ab/cd/ layout
                    found.extend(b.name for b in entry.iterdir() if _BLOB_ID.fullmatch(b.name))
                elif _BLOB_ID.fullmatch(entry.name):
                    found.append(entry.name)
        return found

    def collect(self, blob_id: str, grace: float) -> bool:
        try:
            path = self._find(blob_id)
        except MailError:
            return False
        with self.gc_lock(shared=False):
            try:
                if time.time() - path.stat().st_mtime < grace:
                    return False
                path.unlink()
            except FileNotFoundError:
                return False
        return True

    def total_size(self) -> int:
        total = 0
        for top in self.root.iterdir():
            if top.name == "tmp" or not top.is_dir():
                continue
            for entry in top.iterdir():
                if entry.is_dir():  # legacy ab/cd/ layout
                    total += sum(blob.stat().st_size for blob in entry.iterdir())
                else:
                    total += entry.stat().st_size
        return total


class BlobBatch:
    """A BlobStore view over one FileBlobStore for bulk writes (import): its writers do
    not fsync; ``sync()`` makes all of them durable at once. Until ``sync()`` returned,
    nothing may point at these blobs. Thread-safe: many writers may run at once."""

    def __init__(self, store: FileBlobStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._files: list[Path] = []
        self._parents: set[Path] = set()  # directories whose entries changed
        self._dirs: set[Path] = set()  # directories this batch created (or found)

    @property
    def bytes_read(self) -> int:
        return self.store.bytes_read

    @bytes_read.setter
    def bytes_read(self, value: int) -> None:
        self.store.bytes_read = value

    def _written(self, path: Path, parent: Path) -> None:
        with self._lock:
            self._files.append(path)
            self._parents.add(parent)

    def _new_dir(self, directory: Path) -> None:
        with self._lock:
            self._dirs.add(directory)
            self._parents.add(directory.parent)

    def __len__(self) -> int:
        return len(self._files)

    def sync(self) -> None:
        """Make every blob written through this batch durable (file data, names, new
        directories); blocking. The batch can go on being used afterwards."""
        with self._lock:
            files, parents, dirs = self._files, self._parents, self._dirs
            self._files, self._parents, self._dirs = [], set(), set()
        if not files and not dirs:
            return
        store = self.store
        done = False
        if store.fsync is os.fsync:
            fd = os.open(store.root, os.O_RDONLY | os.O_DIRECTORY)
            try:
                done = syncfs(fd)  # every file, rename and mkdir on that file system
            finally:
                os.close(fd)
        if not done:
            for path in files:
                fd = os.open(path, os.O_RDONLY)
                try:
                    store.fsync(fd)
                finally:
                    os.close(fd)
            # Deepest first is not needed for correctness: all are synced before return.
            for directory in sorted(parents):
                store.fsync_dir(directory)
        store._dirs_known(*dirs)

    # ---- BlobStore ------------------------------------------------------------------
    def writer(self) -> FileBlobWriter:
        return FileBlobWriter(self.store, self)

    def put(self, data: bytes) -> str:
        return _put(self.writer(), data)

    def exists(self, blob_id: str) -> bool:
        return self.store.exists(blob_id)

    def size(self, blob_id: str) -> int:
        return self.store.size(blob_id)

    def read(self, blob_id: str, offset: int = 0, length: int | None = None) -> bytes:
        return self.store.read(blob_id, offset, length)

    def open(self, blob_id: str) -> BinaryIO:
        return self.store.open(blob_id)

    def delete(self, blob_id: str) -> None:
        self.store.delete(blob_id)

    def list_ids(self) -> list[str]:
        return self.store.list_ids()

    def collect(self, blob_id: str, grace: float) -> bool:
        return self.store.collect(blob_id, grace)

    def total_size(self) -> int:
        return self.store.total_size()


def _put(w: FileBlobWriter, data: bytes) -> str:
    try:
        w.write(data)
        return w.finish()
    except BaseException:
        w.abort()
        raise


def _read_exactly(f: BinaryIO, length: int) -> bytes:
    """Up to ``length`` bytes (fewer only at end of file); never reads past the range."""
    parts: list[bytes] = []
    remaining = length
    while remaining > 0:
        chunk = f.read(remaining)
        if not chunk:
            break
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


if TYPE_CHECKING:  # mypy proves that both are BlobStores
    from postoffice.store.api import BlobStore

    def _blob_stores(f: FileBlobStore, b: BlobBatch) -> tuple[BlobStore, BlobStore]:
        return (f, b)
