"""Every backend plays every role of the store (checked statically by mypy in each
backend module, and here at run time), and every blob store is a BlobStore."""

from __future__ import annotations

from pathlib import Path

import pytest

from postoffice.store.api import (
    BlobStore,
    ContentStore,
    DirectoryStore,
    LockStore,
    MailboxStore,
    MessageStore,
    Store,
)
from postoffice.store.blobs import FileBlobStore
from postoffice.store.memory import MemoryBlobStore
from postoffice.store.metadata import MetadataStore
from postoffice.store.quota import QuotaStore

ROLES = [DirectoryStore, MailboxStore, MessageStore, ContentStore, LockStore, QuotaStore, MetadataStore, Store]


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.__name__)
def test_every_backend_plays_every_role(store: Store, role: type) -> None:
    assert isinstance(store, role)


def test_the_roles_split_the_store_without_overlap() -> None:
    def methods(protocol: type) -> set[str]:
        return {n for n in vars(protocol) if not n.startswith("_")}

    parts = [methods(r) for r in ROLES[:-1]]
    assert sum(len(p) for p in parts) == len(set().union(*parts))
    assert methods(Store) == {"close"}


def test_blob_stores(tmp_path: Path) -> None:
    files = FileBlobStore(tmp_path / "blobs")
    for blobs in (MemoryBlobStore(), files, files.batch()):
        assert isinstance(blobs, BlobStore)
