"""The Store contract, run against every backend (memory and SQLite)."""

from __future__ import annotations

import asyncio

import pytest
from store_helpers import CREDS, make_content

from postoffice.clock import ManualClock
from postoffice.errors import Kind, MailError
from postoffice.store.api import Credentials, FlagUpdate, NewMessage, Store


async def account_with_inbox(store: Store, address: str = "alice@example.test") -> tuple[int, int]:
    account = await store.add_account(address, CREDS)
    inbox = await store.create_mailbox(account.id, "INBOX")
    return account.id, inbox.id


async def deliver(store: Store, mailbox_id: int, n: int, flags: frozenset[str] = frozenset(), **kw: str) -> int:
    [rec] = await store.insert_messages(make_content(n, **kw), [NewMessage(mailbox_id, flags, 1000.0 + n, 60)])
    return rec.uid


def raises(kind: Kind) -> pytest.RaisesContext[MailError]:
    return pytest.raises(MailError, check=lambda e: e.kind is kind)  # type: ignore[call-overload,no-any-return]


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


# ---- mailboxes ----------------------------------------------------------------------------------


async def test_mailboxes(store: Store) -> None:
    account_id, inbox_id = await account_with_inbox(store)
    inbox = await store.get_mailbox(account_id, "inbox")
    assert inbox is not None and inbox.id == inbox_id and inbox.name == "INBOX"
    assert inbox.uidnext == 1 and inbox.messages == 0
    sent = await store.create_mailbox(account_id, "Sent", "\\Sent")
    assert sent.special_use == "\\Sent"
    with raises(Kind.EXISTS):
        await store.create_mailbox(account_id, "Sent")
    with raises(Kind.EXISTS):
        await store.create_mailbox(account_id, "Inbox")
    with raises(Kind.NOT_FOUND):
        await store.create_mailbox(account_id + 1000, "X")
    assert [m.name for m in await store.list_mailboxes(account_id)] == ["INBOX", "Sent"]
    renamed = await store.rename_mailbox(sent.id, "Sent Items")
    assert renamed.name == "Sent Items" and renamed.uidvalidity == sent.uidvalidity
    with raises(Kind.EXISTS):
        await store.rename_mailbox(sent.id, "INBOX")
    assert await store.get_mailbox(account_id, "Sent") is None
    await store.delete_mailbox(sent.id)
    assert await store.get_mailbox_by_id(sent.id) is None
    with raises(Kind.NOT_FOUND):
        await store.delete_mailbox(sent.id)
    with raises(Kind.NOT_FOUND):
        await store.rename_mailbox(sent.id, "Y")


async def test_uidvalidity_never_repeats_for_a_name(store: Store, clock: ManualClock) -> None:
    account_id, _ = await account_with_inbox(store)
    seen = []
    for _ in range(3):  # same clock second each time: still strictly increasing
        box = await store.create_mailbox(account_id, "Work")
        seen.append(box.uidvalidity)
        await store.delete_mailbox(box.id)
    assert seen == sorted(set(seen)) and len(seen) == 3
    clock.advance(10)
    box = await store.create_mailbox(account_id, "Work")
    assert box.uidvalidity >= int(clock.now())


async def test_subscriptions_outlive_mailboxes(store: Store) -> None:
    account_id, _ = await account_with_inbox(store)
    box = await store.create_mailbox(account_id, "Lists")
    await store.set_subscribed(account_id, "Lists", True)
    await store.set_subscribed(account_id, "inbox", True)
    await store.set_subscribed(account_id, "Lists", True)  # idempotent
    await store.delete_mailbox(box.id)
    assert await store.list_subscriptions(account_id) == ["INBOX", "Lists"]
    await store.set_subscribed(account_id, "Lists", False)
    assert await store.list_subscriptions(account_id) == ["INBOX"]


async def test_set_uidvalidity_for_import(store: Store) -> None:
    account_id, inbox_id = await account_with_inbox(store)
    box = await store.set_uidvalidity(inbox_id, 12345, 40)
    assert (box.uidvalidity, box.uidnext) == (12345, 40)
    box = await store.set_uidvalidity(inbox_id, 12345, 10)  # UIDNEXT never lowered
    assert box.uidnext == 40
    [rec] = await store.insert_messages(make_content(1), [NewMessage(inbox_id, uid=7)])
    assert rec.uid == 7
    with raises(Kind.EXISTS):
        await store.insert_messages(make_content(2), [NewMessage(inbox_id, uid=7)])
    [rec] = await store.insert_messages(make_content(3), [NewMessage(inbox_id, uid=50)])
    mb = await store.get_mailbox_by_id(inbox_id)
    assert mb is not None and mb.uidnext == 51 and mb.messages == 2
    assert await deliver(store, inbox_id, 4) == 51
    assert [r.uid for r in await store.list_messages(inbox_id)] == [7, 50, 51]
    with raises(Kind.NOT_FOUND):
        await store.set_uidvalidity(inbox_id + 1000, 1, 1)


# ---- messages: UIDs, MODSEQs, counters ------------------------------------------------------------


async def test_insert_uids_modseqs_and_counters(store: Store) -> None:
    account_id, inbox_id = await account_with_inbox(store)
    before = await store.get_mailbox_by_id(inbox_id)
    assert before is not None
    u1 = await deliver(store, inbox_id, 1)
    u2 = await deliver(store, inbox_id, 2, frozenset({"\\seen", "\\Recent", "$Label"}))
    assert (u1, u2) == (1, 2)
    recs = await store.list_messages(inbox_id)
    assert [r.uid for r in recs] == [1, 2]
    assert recs[1].flags == {"\\Seen", "$Label"}  # canonical spelling, \Recent never stored
    assert before.highest_modseq < recs[0].modseq < recs[1].modseq
    assert (recs[1].internaldate, recs[1].internaldate_tz) == (1002.0, 60)
    mb = await store.get_mailbox_by_id(inbox_id)
    assert mb is not None
    assert (mb.uidnext, mb.highest_modseq, mb.messages, mb.unseen, mb.deleted) == (3, recs[1].modseq, 2, 1, 0)
    assert mb.size == recs[0].size + recs[1].size
    assert await store.get_messages(inbox_id, [2, 99, 1, 2]) == recs
    with raises(Kind.NOT_FOUND):
        await store.list_messages(inbox_id + 1000)


async def test_insert_into_many_mailboxes_shares_content(store: Store) -> None:
    _, a_inbox = await account_with_inbox(store, "a@example.test")
    _, b_inbox = await account_with_inbox(store, "b@example.test")
    content = make_content(1, subject="hello", blob_ids=("ab" * 32, "cd" * 32))
    recs = await store.insert_messages(content, [NewMessage(a_inbox), NewMessage(b_inbox, frozenset({"\\Seen"}))])
    assert [r.mailbox_id for r in recs] == [a_inbox, b_inbox]
    assert recs[0].content_id == recs[1].content_id
    again = await store.insert_messages(content, [NewMessage(a_inbox)])  # same bytes again: reused
    assert again[0].content_id == recs[0].content_id and again[0].uid == 2
    got = await store.get_content(recs[0].content_id)
    assert got.sha256 == content.sha256 and got.blob_ids == content.blob_ids and got.layout == content.layout
    assert (got.subject, got.message_id, got.date, got.size) == ("hello", "<1@example.test>", content.date, content.size)
    assert await store.find_content(content.sha256) == got
    assert await store.find_content("0" * 64) is None
    assert await store.list_blob_ids() == {"ab" * 32, "cd" * 32}
    with raises(Kind.NOT_FOUND):
        await store.get_content(10_000)


async def test_insert_is_all_or_nothing(store: Store) -> None:
    _, inbox_id = await account_with_inbox(store)
    content = make_content(1)
    with raises(Kind.NOT_FOUND):
        await store.insert_messages(content, [NewMessage(inbox_id), NewMessage(inbox_id + 1000)])
    assert await store.list_messages(inbox_id) == []
    assert await store.find_content(content.sha256) is None
    mb = await store.get_mailbox_by_id(inbox_id)
    assert mb is not None and mb.uidnext == 1 and mb.messages == 0


async def test_uids_never_reused_after_expunge(store: Store) -> None:
    _, inbox_id = await account_with_inbox(store)
    for n in range(3):
        await deliver(store, inbox_id, n)
    await store.expunge(inbox_id, [3])
    assert await deliver(store, inbox_id, 10) == 4


async def test_flag_modes(store: Store) -> None:
    _, inbox_id = await account_with_inbox(store)
    for n in range(3):
        await deliver(store, inbox_id, n, frozenset({"$Old"}))
    r = await store.update_flags(inbox_id, [1, 2], FlagUpdate("add", frozenset({"\\Seen", "\\deleted"})))
    assert [x.uid for x in r.updated] == [1, 2] and r.failed == ()
    assert all(x.flags == {"$Old", "\\Seen", "\\Deleted"} and x.modseq == r.highest_modseq for x in r.updated)
    mb = await store.get_mailbox_by_id(inbox_id)
    assert mb is not None and (mb.unseen, mb.deleted, mb.highest_modseq) == (1, 2, r.highest_modseq)
    r2 = await store.update_flags(inbox_id, [1, 2, 3], FlagUpdate("remove", frozenset({"$old", "\\Deleted"})))
    assert {x.uid: x.flags for x in r2.updated} == {1: {"\\Seen"}, 2: {"\\Seen"}, 3: frozenset()}
    assert r2.highest_modseq > r.highest_modseq
    r3 = await store.update_flags(inbox_id, [3], FlagUpdate("set", frozenset({"\\Flagged", "\\Recent"})))
    assert r3.updated[0].flags == {"\\Flagged"}
    # A no-op change stamps nothing: MODSEQ and HIGHESTMODSEQ stay.
    r4 = await store.update_flags(inbox_id, [1, 2], FlagUpdate("add", frozenset({"\\SEEN"})))
    assert r4.updated == () and r4.highest_modseq == r3.highest_modseq
    mb = await store.get_mailbox_by_id(inbox_id)
    assert mb is not None and (mb.unseen, mb.deleted, mb.highest_modseq) == (1, 0, r3.highest_modseq)
    assert {x.uid: x.flags for x in await store.list_messages(inbox_id)} == {
        1: {"\\Seen"}, 2: {"\\Seen"}, 3: {"\\Flagged"}
    }  # fmt: skip


async def test_unchangedsince(store: Store) -> None:
    # RFC 7162 §3.1.3: messages modified after UNCHANGEDSINCE are refused, the others change.
    _, inbox_id = await account_with_inbox(store)
    await deliver(store, inbox_id, 1)
    await deliver(store, inbox_id, 2)
    [m1, m2] = await store.list_messages(inbox_id)
    r = await store.update_flags(inbox_id, [2], FlagUpdate("add", frozenset({"\\Flagged"})))
    r2 = await store.update_flags(
        inbox_id, [1, 2], FlagUpdate("add", frozenset({"\\Seen"}), unchangedsince=m2.modseq)
    )
    assert r2.failed == (2,)
    assert [x.uid for x in r2.updated] == [1]
    assert (await store.get_messages(inbox_id, [2]))[0].flags == {"\\Flagged"}
    r3 = await store.update_flags(inbox_id, [2], FlagUpdate("add", frozenset({"\\Seen"}), unchangedsince=r.highest_modseq))
    assert r3.failed == () and r3.updated[0].uid == 2
    assert m1.modseq < m2.modseq


async def test_expunge_log_and_changes_since(store: Store) -> None:
    _, inbox_id = await account_with_inbox(store)
    for n in range(4):
        await deliver(store, inbox_id, n, frozenset({"\\Deleted"}) if n % 2 else frozenset())
    mark = (await store.get_mailbox_by_id(inbox_id)).highest_modseq  # type: ignore[union-attr]
    r = await store.update_flags(inbox_id, [1], FlagUpdate("add", frozenset({"\\Seen"})))
    modseq = await store.expunge(inbox_id, [2, 4, 77])
    assert modseq > r.highest_modseq
    mb = await store.get_mailbox_by_id(inbox_id)
    assert mb is not None and (mb.messages, mb.unseen, mb.deleted, mb.highest_modseq) == (2, 1, 0, modseq)
    assert [x.uid for x in await store.list_messages(inbox_id)] == [1, 3]
    ch = await store.changes_since(inbox_id, mark)
    assert [x.uid for x in ch.changed] == [1] and ch.expunged == (2, 4) and ch.highest_modseq == modseq
    assert await store.changes_since(inbox_id, modseq) == type(ch)((), (), modseq)
    assert await store.expunge(inbox_id, [2]) == modseq  # nothing left to expunge: unchanged
    full = await store.changes_since(inbox_id, 0)
    assert [x.uid for x in full.changed] == [1, 3] and full.expunged == (2, 4)


async def test_copy_and_move(store: Store) -> None:
    account_id, inbox_id = await account_with_inbox(store)
    archive = await store.create_mailbox(account_id, "Archive")
    for n in range(3):
        await deliver(store, inbox_id, n, frozenset({"\\Seen"}) if n == 0 else frozenset())
    pairs = await store.copy_messages(inbox_id, [1, 3, 99], archive.id)
    assert pairs == [(1, 1), (3, 2)]
    copies = await store.list_messages(archive.id)
    src = {r.uid: r for r in await store.list_messages(inbox_id)}
    assert copies[0].flags == {"\\Seen"} and copies[0].content_id == src[1].content_id
    assert copies[0].internaldate == src[1].internaldate
    mb = await store.get_mailbox_by_id(archive.id)
    assert mb is not None and (mb.messages, mb.unseen, mb.uidnext) == (2, 1, 3)
    assert mb.size == src[1].size + src[3].size
    moved = await store.copy_messages(inbox_id, [2, 3], archive.id, move=True)
    assert moved == [(2, 3), (3, 4)]
    assert [r.uid for r in await store.list_messages(inbox_id)] == [1]
    inbox = await store.get_mailbox_by_id(inbox_id)
    assert inbox is not None and (inbox.messages, inbox.unseen) == (1, 0)
    assert (await store.changes_since(inbox_id, 0)).expunged == (2, 3)
    assert await store.copy_messages(inbox_id, [50], archive.id) == []
    with raises(Kind.NOT_FOUND):
        await store.copy_messages(inbox_id, [1], archive.id + 1000)


async def test_search_text(store: Store) -> None:
    account_id, inbox_id = await account_with_inbox(store)
    other = await store.create_mailbox(account_id, "Other")
    await deliver(store, inbox_id, 1, subject="Quarterly Report", body="numbers attached", from_="Ann <ann@x.test>")
    await deliver(store, inbox_id, 2, subject="lunch?", body="Café at noon, report later", to="bob@y.test")
    await deliver(store, inbox_id, 3, subject="zz", body="xy", headers="X-Tag: q")
    await store.insert_messages(make_content(9, subject="report"), [NewMessage(other.id)])
    assert await store.search_text(inbox_id, "REPORT", "subject") == {1}
    assert await store.search_text(inbox_id, "report", "body") == {2}
    assert await store.search_text(inbox_id, "report", "text") == {1, 2}  # headers hold the subject
    assert await store.search_text(inbox_id, "arterly rep", "subject") == {1}  # substring, with a space
    assert await store.search_text(inbox_id, "ann@x", "from") == {1}
    assert await store.search_text(inbox_id, "BOB", "to") == {2}
    assert await store.search_text(inbox_id, "CAFÉ", "body") == {2}
    assert await store.search_text(inbox_id, "nothing-like-this", "text") == set()
    assert await store.search_text(inbox_id, 'say "hi', "text") == set()
    # Shorter than a trigram: scanned, same answers.
    assert await store.search_text(inbox_id, "XY", "body") == {3}
    assert await store.search_text(inbox_id, "Q", "headers") == {1, 3}
    assert await store.search_text(inbox_id, "zz", "subject") == {3}
    assert await store.search_text(other.id, "report", "subject") == {1}


async def test_locks(store: Store, clock: ManualClock) -> None:
    assert await store.acquire_lock("maildrop:1", "s1", 60)
    assert not await store.acquire_lock("maildrop:1", "s2", 60)
    assert await store.acquire_lock("maildrop:2", "s2", 60)
    assert await store.acquire_lock("maildrop:1", "s1", 60)  # refresh by the holder
    clock.advance(59)
    assert not await store.acquire_lock("maildrop:1", "s2", 60)
    clock.advance(2)  # expired: free for another
    assert await store.acquire_lock("maildrop:1", "s2", 60)
    await store.release_lock("maildrop:1", "s1")  # not the holder: no effect
    assert not await store.acquire_lock("maildrop:1", "s1", 60)
    await store.release_lock("maildrop:1", "s2")
    assert await store.acquire_lock("maildrop:1", "s1", 60)


async def test_concurrent_inserts_get_distinct_uids(store: Store) -> None:
    _, inbox_id = await account_with_inbox(store)
    uids = await asyncio.gather(*(deliver(store, inbox_id, n) for n in range(50)))
    assert sorted(uids) == list(range(1, 51))
    mb = await store.get_mailbox_by_id(inbox_id)
    assert mb is not None and mb.messages == 50 and mb.uidnext == 51
