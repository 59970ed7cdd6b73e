"""Store contract, MessageStore role (messages, flags, expunge, copy, changes, search), run against every backend (memory and SQLite)."""

from __future__ import annotations

import asyncio

from store_helpers import account_with_inbox, deliver, make_content, raises

from postoffice.errors import Kind
from postoffice.store.api import DeliveryRecipient, FlagUpdate, NewDelivery, NewMessage, Store

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


async def test_list_flags_is_every_message_by_uid(store: Store) -> None:
    # What SELECT loads: the UIDs, flags and MODSEQs of list_messages, as three lists,
    # after an expunge and flag changes; an empty mailbox gives three empty lists.
    _, inbox_id = await account_with_inbox(store)
    empty = await store.list_flags(inbox_id)
    assert (empty.uids, empty.flags, empty.modseqs) == ([], [], [])
    for n, flags in enumerate([frozenset(), frozenset({"\\Seen"}), frozenset({"$Work", "\\Flagged"}), frozenset()], 1):
        await deliver(store, inbox_id, n, flags)
    await store.expunge(inbox_id, [2])
    await store.update_flags(inbox_id, [4], FlagUpdate("add", frozenset({"$Work"})))
    recs = await store.list_messages(inbox_id)
    got = await store.list_flags(inbox_id)
    assert got.uids == [1, 3, 4] == [r.uid for r in recs]
    assert got.flags == [frozenset(), frozenset({"$Work", "\\Flagged"}), frozenset({"$Work"})]
    assert got.modseqs == [r.modseq for r in recs]
    with raises(Kind.NOT_FOUND):
        await store.list_flags(inbox_id + 1000)


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



async def test_concurrent_inserts_get_distinct_uids(store: Store) -> None:
    _, inbox_id = await account_with_inbox(store)
    uids = await asyncio.gather(*(deliver(store, inbox_id, n) for n in range(50)))
    assert sorted(uids) == list(range(1, 51))
    mb = await store.get_mailbox_by_id(inbox_id)
    assert mb is not None and mb.messages == 50 and mb.uidnext == 51


# ---- deliveries: the envelope belongs to the delivery ----------------------------------------


def _envelope(sender: str, *recipients: DeliveryRecipient, received: float = 5000.0, **kw: object) -> NewDelivery:
    return NewDelivery(sender, recipients, received, **kw)  # type: ignore[arg-type]


async def test_two_deliveries_of_the_same_bytes_keep_their_own_envelopes(store: Store) -> None:
    a_id, a_inbox = await account_with_inbox(store, "a@example.test")
    b_id, b_inbox = await account_with_inbox(store, "b@example.test")
    content = make_content(1, subject="same bytes")
    first = _envelope(
        "one@remote.test",
        DeliveryRecipient("a@example.test", ("SUCCESS", "DELAY"), ("rfc822", "A@Example.test")),
        ret="HDRS", envid="QQ314159", body="8BITMIME", declared_size=1234, listener="smtp",
        client_ip="192.0.2.1", helo="mx.remote.test", tls=True,
    )  # fmt: skip
    second = _envelope(
        "", DeliveryRecipient("a@example.test"), DeliveryRecipient("b@example.test", ("NEVER",)),
        received=6000.0, smtputf8=True, listener="submission", auth="b@example.test",
    )  # fmt: skip
    [r1] = await store.insert_messages(content, [NewMessage(a_inbox)], first)
    r2, r3 = await store.insert_messages(content, [NewMessage(a_inbox), NewMessage(b_inbox)], second)
    assert r1.content_id == r2.content_id == r3.content_id  # one content...
    d1, d2 = await store.deliveries_of_content(r1.content_id)  # ...two deliveries
    assert d1.envelope == first and d2.envelope == second
    assert d1.content_id == d2.content_id == r1.content_id and d1.id != d2.id
    assert d1.mailboxes == ((a_id, a_inbox, r1.uid),)
    assert set(d2.mailboxes) == {(a_id, a_inbox, r2.uid), (b_id, b_inbox, r3.uid)}
    assert await store.deliveries_of_account(a_id) == [d1, d2]
    assert await store.deliveries_of_account(b_id) == [d2]
    assert await store.deliveries_of_account(a_id, since=5500.0) == [d2]
    # Deliveries are not written into the content: it is the same for both.
    assert (await store.get_content(r1.content_id)).extra == content.extra


async def test_a_delivery_is_written_with_its_messages_or_not_at_all(store: Store) -> None:
    a_id, a_inbox = await account_with_inbox(store)
    content = make_content(1)
    with raises(Kind.NOT_FOUND):
        await store.insert_messages(content, [NewMessage(a_inbox), NewMessage(a_inbox + 1000)], _envelope("x@r.test"))
    assert await store.deliveries_of_account(a_id) == []
    [rec] = await store.insert_messages(content, [NewMessage(a_inbox)])  # no envelope: no delivery
    assert await store.deliveries_of_content(rec.content_id) == []


async def test_deleting_an_account_drops_it_from_deliveries(store: Store) -> None:
    a_id, a_inbox = await account_with_inbox(store, "a@example.test")
    b_id, b_inbox = await account_with_inbox(store, "b@example.test")
    recs = await store.insert_messages(make_content(1), [NewMessage(a_inbox), NewMessage(b_inbox)], _envelope("s@r.test"))
    await store.delete_account(b_id)
    [d] = await store.deliveries_of_content(recs[0].content_id)
    assert d.mailboxes == ((a_id, a_inbox, recs[0].uid),)
    assert await store.deliveries_of_account(b_id) == []
