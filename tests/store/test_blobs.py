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
    assert (tmp_path / blob_id[:2] / blob_id).read_bytes() == b"abc"
    store.put(b"abc")
    assert list((tmp_path / "tmp").iterdir()) == []


def test_legacy_two_level_blobs_are_still_found(tmp_path: Path) -> None:
    data = b"written by an earlier version"
    blob_id = hashlib.sha256(data).hexdigest()
    legacy = tmp_path / blob_id[:2] / blob_id[2:4] / blob_id
    legacy.parent.mkdir(parents=True)
    legacy.write_bytes(data)
    store = FileBlobStore(tmp_path)
    assert store.exists(blob_id) and store.size(blob_id) == len(data) and store.read(blob_id, 3, 4) == data[3:7]
    assert store.put(data) == blob_id and not (tmp_path / blob_id[:2] / blob_id).exists()  # dedup, no copy
    assert store.total_size() == len(data)
    store.delete(blob_id)
    assert not store.exists(blob_id)


def _recording_store(root: Path) -> tuple[FileBlobStore, list[str]]:
    calls: list[str] = []

    def fsync(fd: int) -> None:
        calls.append(os.readlink(f"/proc/self/fd/{fd}"))
        os.fsync(fd)

    store = FileBlobStore(root, fsync=fsync)
    assert calls == [str(root), str(root.parent)]  # the open makes blobs/tmp and blobs/ durable
    calls.clear()
    return store, calls


def test_fsync_order_temp_file_then_rename_then_directory(tmp_path: Path) -> None:
    calls: list[tuple[str, bool]] = []
    data = b"durable bytes"
    blob_id = hashlib.sha256(data).hexdigest()
    dest = tmp_path / "b" / blob_id[:2] / blob_id

    def fsync(fd: int) -> None:
        calls.append((os.readlink(f"/proc/self/fd/{fd}"), dest.exists()))
        os.fsync(fd)

    store = FileBlobStore(tmp_path / "b", fsync=fsync)
    assert [p for p, _ in calls] == [str(tmp_path / "b"), str(tmp_path)]  # the open: blobs/tmp, blobs/
    calls.clear()
    store.put(data)
    temp_calls = [i for i, (p, _) in enumerate(calls) if p.startswith(str(tmp_path / "b" / "tmp") + "/")]
    dir_calls = [i for i, (p, _) in enumerate(calls) if p == str(dest.parent)]
    root_calls = [i for i, (p, _) in enumerate(calls) if p == str(tmp_path / "b")]
    assert len(temp_calls) == 1 and len(dir_calls) == 1 and len(root_calls) == 1  # root: the new fan-out dir
    assert calls[temp_calls[0]][1] is False  # the file is synced before it has its name
    assert calls[dir_calls[0]][1] is True  # the directory after the rename
    assert temp_calls[0] < dir_calls[0]
    calls.clear()
    store.put(data)  # dedup: the temp copy is dropped; the existing file and its name are synced
    assert [p for p, _ in calls] == [str(dest), str(dest.parent)]
    assert not list((tmp_path / "b" / "tmp").iterdir())
    calls.clear()
    other = next(bytes([i]) for i in range(256) if hashlib.sha256(bytes([i])).hexdigest()[:2] == blob_id[:2])
    store.put(other)  # same fan-out directory: known, not created or synced again
    assert len(calls) == 2 and calls[1][0] == str(dest.parent)


def test_batch_writes_are_durable_only_at_sync(tmp_path: Path) -> None:
    store, calls = _recording_store(tmp_path / "b")
    batch = store.batch()
    ids = [batch.put(f"message {i}".encode() * 50) for i in range(20)]
    assert calls == []  # nothing synced yet ...
    assert all(batch.exists(i) and store.read(i) == batch.read(i) for i in ids)  # ... but readable
    batch.sync()
    files = {store.path_of(i).as_posix() for i in ids}
    dirs = {store.path_of(i).parent.as_posix() for i in ids}
    assert files <= set(calls) and dirs <= set(calls) and (tmp_path / "b").as_posix() in calls
    calls.clear()
    batch.sync()  # nothing new: nothing to do
    assert calls == []
    store.put(b"message 0" * 50)  # dedup against a synced batch blob
    assert list((tmp_path / "b" / "tmp").iterdir()) == []


def test_batch_sync_uses_syncfs_with_the_real_fsync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from postoffice.store import blobs as module

    with open(tmp_path / "f", "wb") as f:  # the real one works here (Linux)
        assert module.syncfs(f.fileno()) is True
    seen: list[int] = []
    monkeypatch.setattr(module, "syncfs", lambda fd: seen.append(fd) or True)
    store = FileBlobStore(tmp_path / "b")
    batch = store.batch()
    blob_id = batch.put(b"x" * 1000)
    batch.sync()
    assert len(seen) == 1 and store.exists(blob_id)


def test_bad_blob_ids_are_not_found(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path)
    for bad in ("../../etc/passwd", "AB" * 32, "x"):
        assert not store.exists(bad)
        with pytest.raises(MailError):
            store.read(bad)


# ---- garbage collection --------------------------------------------------------------------------

HOUR = 3600.0


def _age(blobs: BlobStore, blob_id: str, seconds: float) -> None:
    """Pretend the blob was last written or found ``seconds`` ago."""
    if isinstance(blobs, MemoryBlobStore):
        blobs.fresh[blob_id] -= seconds
    else:
        assert isinstance(blobs, FileBlobStore)
        path = blobs.path_of(blob_id)
        when = path.stat().st_mtime - seconds
        os.utime(path, (when, when))


def test_collect_removes_only_blobs_older_than_the_grace(blobs: BlobStore) -> None:
    old, young = blobs.put(b"old"), blobs.put(b"young")
    assert sorted(blobs.list_ids()) == sorted([old, young])
    _age(blobs, old, 2 * HOUR)
    assert not blobs.collect(young, HOUR)
    assert blobs.collect(old, HOUR)
    assert blobs.list_ids() == [young] and not blobs.exists(old)
    assert not blobs.collect(old, HOUR)  # gone already


def test_a_blob_found_again_by_a_writer_is_young_again(blobs: BlobStore) -> None:
    blob_id = blobs.put(b"shared part")
    _age(blobs, blob_id, 2 * HOUR)
    w = blobs.writer()  # a delivery's writer meets the same bytes (dedup)
    w.write(b"shared part")
    assert w.finish() == blob_id
    assert not blobs.collect(blob_id, HOUR)
    assert blobs.read(blob_id) == b"shared part"


def test_collect_finds_blobs_of_the_legacy_layout(tmp_path: Path) -> None:
    files = FileBlobStore(tmp_path / "blobs")
    blob_id = hashlib.sha256(b"legacy").hexdigest()
    legacy = files.root / blob_id[:2] / blob_id[2:4] / blob_id
    legacy.parent.mkdir(parents=True)
    legacy.write_bytes(b"legacy")
    os.utime(legacy, (1000.0, 1000.0))
    assert files.list_ids() == [blob_id]
    assert files.collect(blob_id, HOUR) and not legacy.exists()
