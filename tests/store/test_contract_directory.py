"""Store contract, DirectoryStore role (domains, accounts, credentials, aliases), run against every backend (memory and SQLite)."""

from __future__ import annotations

from store_helpers import CREDS, deliver, raises

from postoffice.clock import ManualClock
from postoffice.errors import Kind
from postoffice.store.api import Credentials, MailboxSpec, Store

# ---- domains, accounts, aliases ------------------------------------------------------------


async def test_domains(store: Store) -> None:
    await store.add_domain("Example.TEST")
    await store.add_domain("b.test")
    assert await store.list_domains() == ["b.test", "example.test"]
    with raises(Kind.EXISTS):
        await store.add_domain("example.test")


async def test_accounts_and_credentials(store: Store, clock: ManualClock) -> None:
    a = await store.add_account("Alice@Example.Test", CREDS)
    assert a.address == "alice@example.test" and a.created == clock.now()
    assert await store.get_account("ALICE@example.test") == a
    assert await store.get_account_by_id(a.id) == a
    assert await store.get_account("bob@example.test") is None
    with raises(Kind.EXISTS):
        await store.add_account("alice@example.test", CREDS)
    b = await store.add_account("bob@example.test", CREDS)
    assert [x.address for x in await store.list_accounts()] == ["alice@example.test", "bob@example.test"]
    assert await store.get_credentials(a.id) == CREDS
    new = Credentials("other", b"s2", 8192, b"k1", b"k2")
    await store.set_credentials(a.id, new)
    assert await store.get_credentials(a.id) == new
    box = await store.create_mailbox(b.id, "INBOX")
    await deliver(store, box.id, 1)
    await store.delete_account(b.id)
    assert await store.get_account_by_id(b.id) is None
    assert await store.get_credentials(b.id) is None
    assert await store.get_mailbox_by_id(box.id) is None
    with raises(Kind.NOT_FOUND):
        await store.delete_account(b.id)
    with raises(Kind.NOT_FOUND):
        await store.set_credentials(b.id, new)


async def test_aliases(store: Store) -> None:
    await store.add_alias("Sales@example.test", "alice@example.test")
    await store.add_alias("sales@example.test", "bob@example.test")
    with raises(Kind.EXISTS):
        await store.add_alias("sales@example.test", "bob@example.test")
    assert await store.get_alias_targets("SALES@example.test") == ["alice@example.test", "bob@example.test"]
    assert len(await store.list_aliases()) == 2
    await store.delete_alias("sales@example.test", "bob@example.test")
    assert await store.get_alias_targets("sales@example.test") == ["alice@example.test"]
    await store.delete_alias("sales@example.test")
    assert await store.list_aliases() == []
    with raises(Kind.NOT_FOUND):
        await store.delete_alias("sales@example.test")


# ---- units of work ---------------------------------------------------------------------------


async def test_account_with_its_mailboxes_is_one_unit(store: Store) -> None:
    specs = [MailboxSpec("inbox"), MailboxSpec("Sent", "\\Sent"), MailboxSpec("Notes", subscribed=False)]
    a = await store.add_account("alice@example.test", CREDS, specs)
    boxes = {m.name: m for m in await store.list_mailboxes(a.id)}
    assert sorted(boxes) == ["INBOX", "Notes", "Sent"]
    assert boxes["Sent"].special_use == "\\Sent" and boxes["INBOX"].special_use is None
    assert await store.list_subscriptions(a.id) == ["INBOX", "Sent"]
    assert len({m.uidvalidity for m in boxes.values()}) == 3


async def test_a_failure_while_creating_the_mailboxes_leaves_no_account(store: Store) -> None:
    # The second "Sent" fails after the account and the first mailboxes were made.
    specs = [MailboxSpec("INBOX"), MailboxSpec("Sent", "\\Sent"), MailboxSpec("Sent")]
    with raises(Kind.EXISTS):
        await store.add_account("alice@example.test", CREDS, specs)
    assert await store.get_account("alice@example.test") is None
    assert await store.list_accounts() == []
    # Nothing half-made stands in the way of a second try.
    a = await store.add_account("alice@example.test", CREDS, specs[:2])
    assert [m.name for m in await store.list_mailboxes(a.id)] == ["INBOX", "Sent"]


async def test_a_duplicate_account_creates_no_mailboxes(store: Store) -> None:
    a = await store.add_account("alice@example.test", CREDS, [MailboxSpec("INBOX")])
    with raises(Kind.EXISTS):
        await store.add_account("Alice@example.test", CREDS, [MailboxSpec("INBOX"), MailboxSpec("Other")])
    assert [m.name for m in await store.list_mailboxes(a.id)] == ["INBOX"]
