"""MailService.deliver: every delivery keeps its own envelope (a typed record next to
the shared content), and a recipient that does not resolve fails the whole delivery
before anything is stored. Run on the memory and the SQLite backends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from postoffice.clock import ManualClock
from postoffice.errors import Kind, MailError
from postoffice.mail import service as service_module
from postoffice.mail.service import MailService, UnknownRecipients
from postoffice.store.api import DeliveryRecipient, NewDelivery
from postoffice.store.blobs import FileBlobStore
from postoffice.store.bus import InProcessChangeBus
from postoffice.store.memory import MemoryBlobStore, MemoryStore
from postoffice.store.sqlite import SQLiteStore
from postoffice.testing.server import build_config

MESSAGE = b"From: ann@remote.test\r\nTo: alice@example.test\r\nSubject: twice\r\n\r\nsame bytes\r\n"


@pytest.fixture(params=["memory", "sqlite"])
async def mail(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MailService]:
    config = build_config(tmp_path / "data", {"auth.scram_iterations": 4096})
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


async def _count(mail: MailService, address: str, mailbox: str = "INBOX") -> int:
    account = await mail.get_account(address)
    assert account is not None
    return len(await mail.list_messages(await mail.get_mailbox(account, mailbox)))


async def test_same_bytes_twice_with_different_envelopes_keeps_both(mail: MailService) -> None:
    first = NewDelivery(
        "ann@remote.test",
        (DeliveryRecipient("alice@example.test", ("FAILURE",), ("rfc822", "Alice@Example.test")),),
        received=1000.0, ret="HDRS", envid="first-envid", body="8BITMIME", listener="smtp",
        client_ip="192.0.2.7", helo="mx.remote.test", tls=True,
    )  # fmt: skip
    second = NewDelivery(
        "",
        (DeliveryRecipient("alice@example.test"), DeliveryRecipient("bob@example.test", ("NEVER",))),
        received=2000.0, envid="second-envid", listener="smtp", client_ip="198.51.100.9", helo="other.test",
    )  # fmt: skip
    one = await mail.deliver(MESSAGE, ["alice@example.test"], envelope=first)
    two = await mail.deliver(MESSAGE, ["alice@example.test", "bob@example.test"], envelope=second)
    assert one.content_id == two.content_id  # the bytes are stored once
    content = await mail.get_content(one.content_id)
    got = await mail.deliveries_of(content)
    assert [d.envelope for d in got] == [first, second]  # each delivery keeps its own envelope
    assert {(r.mailbox_id, r.uid) for r in one.records} == {(m, u) for _, m, u in got[0].mailboxes}
    assert {(r.mailbox_id, r.uid) for r in two.records} == {(m, u) for _, m, u in got[1].mailboxes}
    bob = await mail.get_account("bob@example.test")
    assert bob is not None
    assert [d.envelope.envid for d in await mail.deliveries_to(bob)] == ["second-envid"]
    assert "envelope" not in content.extra


async def test_an_unknown_recipient_fails_the_whole_delivery(mail: MailService) -> None:
    with pytest.raises(UnknownRecipients) as caught:
        await mail.deliver(MESSAGE, ["alice@example.test", "nobody@example.test", "x@elsewhere.test"])
    assert caught.value.kind is Kind.NOT_FOUND and not caught.value.every
    assert caught.value.addresses == ("nobody@example.test", "x@elsewhere.test")
    assert await _count(mail, "alice@example.test") == 0  # nothing delivered to alice either
    with pytest.raises(UnknownRecipients) as caught:
        await mail.deliver(MESSAGE, ["nobody@example.test"])
    assert caught.value.every
    with pytest.raises(MailError):
        await mail.deliver(MESSAGE, [])


async def test_a_recipient_deleted_by_another_process_fails_the_whole_delivery(mail: MailService) -> None:
    # Both are cached (resolved and their INBOX found); then bob goes, straight through
    # the store as another process would, so this service's directory cache is stale.
    await mail.deliver(MESSAGE, ["alice@example.test", "bob@example.test"])
    bob = await mail.get_account("bob@example.test")
    assert bob is not None
    await mail.store.delete_account(bob.id)
    with pytest.raises(UnknownRecipients) as caught:
        await mail.deliver(MESSAGE, ["alice@example.test", "bob@example.test"])
    assert caught.value.addresses == ("bob@example.test",) and not caught.value.every
    assert await _count(mail, "alice@example.test") == 1  # the first delivery only
    await mail.deliver(MESSAGE, ["alice@example.test"])  # alone, alice is fine
    assert await _count(mail, "alice@example.test") == 2


async def test_add_user_is_one_unit(mail: MailService, monkeypatch: pytest.MonkeyPatch) -> None:
    carol = await mail.add_user("carol@example.test", "pw")
    names = {m.name: m.special_use for m in await mail.list_mailboxes(carol)}
    assert names == {"INBOX": None, "Sent": "\\Sent", "Drafts": "\\Drafts", "Trash": "\\Trash", "Junk": "\\Junk",
                     "Archive": "\\Archive"}  # fmt: skip
    assert sorted(await mail.list_subscriptions(carol)) == sorted(names)
    # A failure while the folders are made (a name twice) leaves no account behind.
    monkeypatch.setattr(service_module, "SPECIAL_USE_FOLDERS", (("Sent", "\\Sent"), ("Sent", "\\Sent")))
    with pytest.raises(MailError) as caught:
        await mail.add_user("dave@example.test", "pw")
    assert caught.value.kind is Kind.EXISTS
    assert await mail.get_account("dave@example.test") is None


async def test_rename_with_children_is_one_unit(mail: MailService) -> None:
    alice = await mail.get_account("alice@example.test")
    assert alice is not None
    await mail.create_mailbox(alice, "Projects/Old")
    await mail.create_mailbox(alice, "Projects/New")
    await mail.create_mailbox(alice, "Done/New")
    # "Done" itself goes (as another process may leave it), "Done/New" stays: renaming
    # "Projects" to "Done" is free for the top name and collides on a child.
    await mail.store.delete_mailbox((await mail.get_mailbox(alice, "Done")).id)
    await mail.set_subscribed(alice, "Projects", True)
    before = [m.name for m in await mail.list_mailboxes(alice)]
    with pytest.raises(MailError) as caught:
        await mail.rename_mailbox(alice, "Projects", "Done")
    assert caught.value.kind is Kind.EXISTS
    assert [m.name for m in await mail.list_mailboxes(alice)] == before  # nothing moved
    await mail.rename_mailbox(alice, "Projects", "Archive/Projects")
    names = [m.name for m in await mail.list_mailboxes(alice)]
    assert {"Archive/Projects", "Archive/Projects/Old", "Archive/Projects/New"} <= set(names)
    assert not any(n.startswith("Projects") for n in names)
    assert "Archive/Projects" in await mail.list_subscriptions(alice)
