"""The blob store on powerfs: what ``put`` returned survives a power cut, including a
blob that was found already there, written unsynced by an import batch (the delivery
that found it must not count on the batch's later sync)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from postoffice.store.blobs import FileBlobStore
from postoffice.testing.powerfs import PowerFS

pytestmark = pytest.mark.skipif(
    not os.path.exists("/dev/fuse") or shutil.which("fusermount3") is None or os.geteuid() != 0,
    reason="powerfs needs /dev/fuse, fusermount3 (Debian fuse3) and root",
)


def test_put_survives_a_cut_also_when_an_unsynced_batch_wrote_the_blob_first(tmp_path: Path) -> None:
    with PowerFS(tmp_path / "mnt") as fs:
        store = FileBlobStore(fs.mountpoint / "blobs")
        batch = store.batch()
        shared = batch.put(b"a part an import wrote and has not synced yet" * 100)
        found = store.put(b"a part an import wrote and has not synced yet" * 100)  # found, not rewritten
        own = store.put(b"a part of its own" * 100)
        assert found == shared
        fs.cut()  # before batch.sync()
        store = FileBlobStore(fs.mountpoint / "blobs")
        assert store.read(own) == b"a part of its own" * 100
        assert store.read(found) == b"a part an import wrote and has not synced yet" * 100
