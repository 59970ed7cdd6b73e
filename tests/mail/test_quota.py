"""Quotas (RFC 9208) on the one road in: MailService.deliver, append and copy refuse
what does not fit, at the edge of [quota] default_storage / default_messages and of an
account's own limit. Run on the memory and the SQLite backends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from postoffice.clock import ManualClock
from postoffice.errors import Kind, MailError
from postoffice.mail.service import MailService
from postoffice.store.api import Account
from postoffice.store.blobs import FileBlobStore
from postoffice.store.bus import InProcessChangeBus
from postoffice.store.memory import MemoryBlobStore, MemoryStore
from postoffice.store.sqlite import SQLiteStore
from postoffice.testing.server import build_config

LIMIT = 1000


def message(size: int) -> bytes:
    head = b"Subject: q\r\n\r\n"
    return head + b"x" * (size - len(head) - 2) + b"\r\n"


@pytest.fixture(params=["memory", "sqlite"])
async def mail(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MailService]:
    config = build_config(tmp_path / "data", {"quota.default_storage": LIMIT, "quota.default_messages": 3})
    config.spool_dir.mkdir(parents=True, exist_ok=True)
    clock = ManualClock()
    if request.param == "memory":
        service = MailService(config, MemoryStore(clock=clock), MemoryBlobStore(), InProcessChangeBus(), clock)
    else:
        store = await SQLiteStore.open(config.db_path, clock=clock)
        service = MailService(config, store, FileBlobStore(config.blob_dir), InProcessChangeBus(), clock)
    await service.add_user("alice@example.test", "pw")
    await service.add_user("bob@example.test", "pw")
    try:
        yield service
    finally:
        await service.store.close()


async def _account(mail: MailService, address: str = "alice@example.test") -> Account:
    account = await mail.get_account(address)
    assert account is not None
    return account


async def test_delivery_at_the_storage_edge(mail: MailService) -> None:
    await mail.deliver(message(600), ["alice@example.test"])
    with pytest.raises(MailError) as err:
        await mail.deliver(message(401), ["alice@example.test"])  # 1001: one over
    assert err.value.kind is Kind.QUOTA
    await mail.deliver(message(400), ["alice@example.test"])  # exactly 1000
    usage = await mail.quota(await _account(mail))
    assert (usage.storage, usage.messages, usage.full) == (1000, 2, True)
    assert await mail.quota_full([await _account(mail)])
    with pytest.raises(MailError) as err:
        await mail.deliver(message(20), ["alice@example.test"])
    assert err.value.kind is Kind.QUOTA


async def test_a_full_recipient_fails_the_whole_delivery(mail: MailService) -> None:
    await mail.deliver(message(900), ["alice@example.test"])
    with pytest.raises(MailError) as err:
        await mail.deliver(message(200), ["alice@example.test", "bob@example.test"])
    assert err.value.kind is Kind.QUOTA
    bob = await _account(mail, "bob@example.test")
    assert (await mail.quota(bob)).messages == 0  # all or nothing


async def test_message_count_edge_and_copy(mail: MailService) -> None:
    alice = await _account(mail)
    for _ in range(3):
        await mail.append(alice, "INBOX", message(50))
    with pytest.raises(MailError) as err:
        await mail.append(alice, "INBOX", message(50))  # the 4th message
    assert err.value.kind is Kind.QUOTA
    inbox = await mail.get_mailbox(alice, "INBOX")
    archive = await mail.get_mailbox(alice, "Archive")
    with pytest.raises(MailError) as err:
        await mail.copy(inbox, [1], archive)
    assert err.value.kind is Kind.QUOTA
    # MOVE within the account changes no usage: allowed even when full.
    assert await mail.copy(inbox, [1], archive, move=True) == [(1, 1)]


async def test_account_override_and_reset(mail: MailService) -> None:
    alice = await _account(mail)
    await mail.set_quota("alice@example.test", 100)
    with pytest.raises(MailError):
        await mail.append(alice, "INBOX", message(101))
    await mail.set_quota("alice@example.test", 0)  # 0: no storage limit for alice
    await mail.append(alice, "INBOX", message(5000))
    usage = await mail.quota(alice)
    assert (usage.storage_limit, usage.storage) == (0, 5000)
    await mail.set_quota("alice@example.test", None)  # back to the default
    assert (await mail.quota(alice)).storage_limit == LIMIT
    with pytest.raises(MailError) as err:
        await mail.set_quota("nobody@example.test", 10)
    assert err.value.kind is Kind.NOT_FOUND


async def test_override_goes_with_the_account(mail: MailService) -> None:
    await mail.set_quota("bob@example.test", 123)
    bob = await _account(mail, "bob@example.test")
    await mail.delete_user("bob@example.test")
    assert await mail.store.get_storage_quota(bob.id) is None
