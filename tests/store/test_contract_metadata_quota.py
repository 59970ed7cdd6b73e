"""Store contract: METADATA annotations (RFC 5464, store/metadata.py) and per-account
storage quota overrides (RFC 9208, store/quota.py), on every backend."""

from __future__ import annotations

import pytest
from store_helpers import CREDS

from postoffice.errors import Kind, MailError
from postoffice.store.api import Store


async def test_metadata_per_target_atomic_and_bounded(store: Store) -> None:
    alice = await store.add_account("alice@example.test", CREDS)
    inbox = await store.create_mailbox(alice.id, "INBOX")
    other = await store.create_mailbox(alice.id, "Other")
    assert await store.set_metadata(alice.id, None, {"/shared/comment": b"server"}, 2)
    assert await store.set_metadata(alice.id, inbox.id, {"/private/a": b"1", "/private/b": b"\x00\xff"}, 2)
    assert await store.get_metadata(alice.id, None) == {"/shared/comment": b"server"}
    assert await store.get_metadata(alice.id, inbox.id) == {"/private/a": b"1", "/private/b": b"\x00\xff"}
    assert await store.get_metadata(alice.id, other.id) == {}
    # over the bound: refused whole, nothing changed
    assert not await store.set_metadata(alice.id, inbox.id, {"/private/a": b"new", "/private/c": b"3"}, 2)
    assert await store.get_metadata(alice.id, inbox.id) == {"/private/a": b"1", "/private/b": b"\x00\xff"}
    assert await store.set_metadata(alice.id, inbox.id, {"/private/a": None, "/private/c": b"3"}, 2)
    assert await store.get_metadata(alice.id, inbox.id) == {"/private/b": b"\x00\xff", "/private/c": b"3"}
    # gone with the mailbox, and with the account
    await store.delete_mailbox(inbox.id)
    assert await store.get_metadata(alice.id, inbox.id) == {}
    with pytest.raises(MailError) as err:
        await store.set_metadata(alice.id, inbox.id, {"/private/a": b"1"}, 2)
    assert err.value.kind is Kind.NOT_FOUND
    await store.delete_account(alice.id)
    assert await store.get_metadata(alice.id, None) == {}


async def test_metadata_of_another_account_mailbox_is_refused(store: Store) -> None:
    alice = await store.add_account("alice@example.test", CREDS)
    bob = await store.add_account("bob@example.test", CREDS)
    box = await store.create_mailbox(bob.id, "INBOX")
    with pytest.raises(MailError) as err:
        await store.set_metadata(alice.id, box.id, {"/private/a": b"1"}, 10)
    assert err.value.kind is Kind.NOT_FOUND


async def test_storage_quota_override(store: Store) -> None:
    alice = await store.add_account("alice@example.test", CREDS)
    assert await store.get_storage_quota(alice.id) is None
    await store.set_storage_quota(alice.id, 1000)
    await store.set_storage_quota(alice.id, 2000)
    assert await store.get_storage_quota(alice.id) == 2000
    await store.set_storage_quota(alice.id, None)
    assert await store.get_storage_quota(alice.id) is None
    with pytest.raises(MailError) as err:
        await store.set_storage_quota(alice.id + 100, 5)
    assert err.value.kind is Kind.NOT_FOUND
