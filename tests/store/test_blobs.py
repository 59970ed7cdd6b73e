"""FileBlobStore (and the memory twin): durability order, dedup, ranged reads."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from postoffice.errors import MailError
from postoffice.store.api import BlobStore
from postoffice.store.blobs import FileBlobStore
from postoffice.store.memory import MemoryBlobStore


@pytest.fixture(params=["file", "memory"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    return FileBlobStore(tmp_path / "blobs") if request.param == "file" else MemoryBlobStore()


def test_put_is_content_addressed_and_deduplicated(blobs: BlobStore) -> None:
    data = b"hello world\r\n" * 1000
    blob_id = blobs.put(data)
    assert blob_id == hashlib.sha256(data).hexdigest()
    assert blobs.put(data) == blob_id
    assert blobs.exists(blob_id) and blobs.size(blob_id) == len(data)
    assert blobs.total_size() == len(data)
    blobs.put(b"other")
    assert blobs.total_size() == len(data) + 5
    blobs.delete(blob_id)
    assert not blobs.exists(blob_id)
    with pytest.raises(MailError):
        blobs.read(blob_id)


def test_streamed_writer_and_abort(blobs: BlobStore) -> None:
    w = blobs.writer()
    for i in range(100):
        w.write(bytes([i]) * 1000)
    blob_id = w.finish()
    assert blobs.read(blob_id, 5000, 3) == bytes([5]) * 3
    w2 = blobs.writer()
    w2.write(b"never stored")
    w2.abort()
    assert not blobs.exists(hashlib.sha256(b"never stored").hexdigest())


def test_ranged_reads_count_only_requested_bytes(blobs: BlobStore) -> None:
    data = os.urandom(1 << 20)
    blob_id = blobs.put(data)
    start = blobs.bytes_read
    assert blobs.read(blob_id, 1000, 500) == data[1000:1500]
    assert blobs.bytes_read - start == 500
    assert blobs.read(blob_id, len(data) - 10, 500) == data[-10:]  # clipped at the end
    assert blobs.bytes_read - start == 510
    assert blobs.read(blob_id, len(data) + 5, 10) == b""
    with blobs.open(blob_id) as f:  # streaming handle: not counted
        assert f.read() == data
    assert blobs.bytes_read - start == 510


def test_file_layout_and_no_temp_left(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path)
    blob_id = store.put(b"abc")
    assert (tmp_path / blob_id[:2] / blob_id[2:4] / blob_id).read_bytes() == b"abc"
    store.put(b"abc")
    assert list((tmp_path / "tmp").iterdir()) == []


def test_fsync_order_temp_file_then_rename_then_directory(tmp_path: Path) -> None:
    calls: list[tuple[str, bool]] = []
    data = b"durable bytes"
    dest = tmp_path / "b" / (lambda h: f"{h[:2]}/{h[2:4]}/{h}")(hashlib.sha256(data).hexdigest())

    def fsync(fd: int) -> None:
        calls.append((os.readlink(f"/proc/self/fd/{fd}"), dest.exists()))
        os.fsync(fd)

    store = FileBlobStore(tmp_path / "b", fsync=fsync)
    store.put(data)
    temp_calls = [i for i, (p, _) in enumerate(calls) if p.startswith(str(tmp_path / "b" / "tmp") + "/")]
    dir_calls = [i for i, (p, _) in enumerate(calls) if p == str(dest.parent)]
    assert len(temp_calls) == 1 and len(dir_calls) == 1
    assert calls[temp_calls[0]][1] is False  # the file is synced before it has its name
    assert calls[dir_calls[0]][1] is True  # the directory after the rename
    assert temp_calls[0] < dir_calls[0]
    calls.clear()
    store.put(data)  # dedup: the temp file is synced, then dropped; no rename
    assert len(calls) == 1 and not list((tmp_path / "b" / "tmp").iterdir())


def test_bad_blob_ids_are_not_found(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path)
    for bad in ("../../etc/passwd", "AB" * 32, "x"):
        assert not store.exists(bad)
        with pytest.raises(MailError):
            store.read(bad)
