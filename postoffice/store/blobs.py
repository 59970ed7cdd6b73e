"""Content-addressed blob files: ``root/ab/cd/<sha256 hex>``, immutable.

Invariants: a blob file under its final name is complete and durable — a writer
streams into ``root/tmp``, hashing as it goes, fsyncs the file, renames it into
place and fsyncs the directory (DESIGN.md §3). A blob that exists already is not
rewritten (dedup). Ranged reads read only the requested bytes and count them in
``bytes_read``. Every method blocks: call it from a thread.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from postoffice.errors import Kind, MailError

__all__ = ["FileBlobStore", "FileBlobWriter"]

_BLOB_ID = re.compile(r"[0-9a-f]{64}")
_STALE_TEMP = 24 * 3600.0  # seconds: temp files older than this are crash leftovers


class FileBlobWriter:
    """One blob being written. ``finish`` makes it durable and returns its id."""

    def __init__(self, store: FileBlobStore) -> None:
        self._store = store
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
        try:
            self._file.flush()
            store.fsync(self._file.fileno())
        finally:
            self._file.close()
            self._file = None
        dest = store.path_of(blob_id)
        if dest.exists():
            # Same bytes already stored: the existing file is complete and durable.
            self._path.unlink(missing_ok=True)
            return blob_id
        store.ensure_dir(dest.parent)
        os.replace(self._path, dest)
        store.fsync_dir(dest.parent)
        return blob_id

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._path.unlink(missing_ok=True)


class FileBlobStore:
    """BlobStore over a directory. ``fsync`` is injectable so tests can observe order."""

    def __init__(self, root: Path, fsync: Callable[[int], None] = os.fsync) -> None:
        self.root = Path(root)
        self.tmp_dir = self.root / "tmp"
        self.fsync = fsync
        self.bytes_read = 0
        self._count_lock = threading.Lock()
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        self._remove_stale_temps()

    # ---- paths ----------------------------------------------------------------------
    def path_of(self, blob_id: str) -> Path:
        if not _BLOB_ID.fullmatch(blob_id):
            raise MailError(Kind.NOT_FOUND, "no such blob")
        return self.root / blob_id[0:2] / blob_id[2:4] / blob_id

    def ensure_dir(self, directory: Path) -> None:
        """Create ``root/ab/cd`` and fsync each parent whose entries changed."""
        missing: list[Path] = []
        d = directory
        while not d.exists() and d != self.root:
            missing.append(d)
            d = d.parent
        for d in reversed(missing):
            try:
                d.mkdir()
            except FileExistsError:
                continue
            self.fsync_dir(d.parent)

    def fsync_dir(self, directory: Path) -> None:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            self.fsync(fd)
        finally:
            os.close(fd)

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

    def put(self, data: bytes) -> str:
        w = self.writer()
        try:
            w.write(data)
            return w.finish()
        except BaseException:
            w.abort()
            raise

    def exists(self, blob_id: str) -> bool:
        try:
            return self.path_of(blob_id).is_file()
        except MailError:
            return False

    def size(self, blob_id: str) -> int:
        try:
            return self.path_of(blob_id).stat().st_size
        except FileNotFoundError:
            raise MailError(Kind.NOT_FOUND, "no such blob")

    def read(self, blob_id: str, offset: int = 0, length: int | None = None) -> bytes:
        if offset < 0 or (length is not None and length < 0):
            raise MailError(Kind.INVALID, "negative offset or length")
        try:
            with open(self.path_of(blob_id), "rb", buffering=0) as f:
                f.seek(offset)
                data = f.readall() if length is None else _read_exactly(f, length)
        except FileNotFoundError:
            raise MailError(Kind.NOT_FOUND, "no such blob")
        with self._count_lock:
            self.bytes_read += len(data)
        return data

    def open(self, blob_id: str) -> BinaryIO:
        try:
            return open(self.path_of(blob_id), "rb")
        except FileNotFoundError:
            raise MailError(Kind.NOT_FOUND, "no such blob")

    def delete(self, blob_id: str) -> None:
        try:
            self.path_of(blob_id).unlink(missing_ok=True)
        except MailError:
            return

    def total_size(self) -> int:
        total = 0
        for top in self.root.iterdir():
            if top.name == "tmp" or not top.is_dir():
                continue
            for sub in top.iterdir():
                for blob in sub.iterdir():
                    total += blob.stat().st_size
        return total


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
