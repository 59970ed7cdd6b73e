"""Store contract, ContentStore role (contents, their blob references, garbage
collection), run against every backend; and the RFC 3501 \\Recent marker."""

from __future__ import annotations

import pytest
from store_helpers import CREDS, make_content

from postoffice.errors import MailError
from postoffice.store.api import NewDelivery, NewMessage, SearchText, Store, StoreTotals


async def _inbox(store: Store) -> int:
    account = await store.add_account("alice@example.test", CREDS)
    return (await store.create_mailbox(account.id, "INBOX")).id


async def _deliver(store: Store, box: int, n: int) -> int:
    [rec] = await store.insert_messages(make_content(n), [NewMessage(box, frozenset(), 1000.0 + n, 0)])
    return rec.content_id


async def test_get_contents_reads_many_at_once(store: Store) -> None:
    box = await _inbox(store)
    ids = [await _deliver(store, box, n) for n in range(3)]
    got = await store.get_contents([*ids, 99_999])
    assert set(got) == set(ids)  # an unknown id is left out
    for cid in ids:
        assert got[cid] == await store.get_content(cid)
    assert await store.get_contents([]) == {}


async def test_recent_marker_is_claimed_once(store: Store) -> None:
    box = await _inbox(store)
    assert await store.claim_recent(box) == 0
    await _deliver(store, box, 1)
    await _deliver(store, box, 2)
    assert await store.claim_recent(box, claim=False) == 0  # a peek (STATUS, EXAMINE) keeps it
    assert await store.claim_recent(box) == 0  # this session sees UIDs 1 and 2 as recent
    assert await store.claim_recent(box) == 2  # the next one sees none of them
    await _deliver(store, box, 3)
    assert await store.claim_recent(box) == 2
    assert await store.claim_recent(box, claim=False) == 3
    with pytest.raises(MailError):
        await store.claim_recent(99_999)


# ---- garbage collection -------------------------------------------------------------------------


async def _collect(store: Store) -> int:
    total, more = 0, True
    while more:
        removed, more = await store.collect_contents(limit=2)  # small batches: the loop is exercised
        total += removed
    return total


async def test_content_goes_after_its_last_message_is_expunged(store: Store) -> None:
    account = await store.add_account("alice@example.test", CREDS)
    inbox = (await store.create_mailbox(account.id, "INBOX")).id
    other = (await store.create_mailbox(account.id, "Other")).id
    content = make_content(1, subject="needle here", blob_ids=("ab" * 32,))
    a, b = await store.insert_messages(content, [NewMessage(inbox), NewMessage(other)], NewDelivery("s@r.test", (), 1.0))
    keep = await _deliver(store, inbox, 2)
    await store.expunge(inbox, [a.uid])
    assert await _collect(store) == 0  # still in Other
    assert (await store.get_content(a.content_id)).sha256 == content.sha256
    await store.expunge(other, [b.uid])
    assert await _collect(store) == 1
    with pytest.raises(MailError):
        await store.get_content(a.content_id)
    assert await store.find_content(content.sha256) is None
    assert await store.list_blob_ids() == set()
    assert await store.deliveries_of_content(a.content_id) == []
    assert await store.search_text(inbox, "needle", "subject") == set()
    assert (await store.get_content(keep)).id == keep  # the other content stays
    assert await _collect(store) == 0
    # The same bytes again: a new content, whole.
    [again] = await store.insert_messages(content, [NewMessage(inbox)])
    assert (await store.get_content(again.content_id)).blob_ids == content.blob_ids
    assert await store.search_text(inbox, "needle", "subject") == {again.uid}


async def test_content_goes_with_a_deleted_mailbox_or_account(store: Store) -> None:
    account = await store.add_account("alice@example.test", CREDS)
    inbox = (await store.create_mailbox(account.id, "INBOX")).id
    other = (await store.create_mailbox(account.id, "Other")).id
    in_other = await _deliver(store, other, 1)
    in_inbox = await _deliver(store, inbox, 2)
    await store.delete_mailbox(other)
    assert await _collect(store) == 1
    assert set(await store.get_contents([in_other, in_inbox])) == {in_inbox}
    await store.delete_account(account.id)
    assert await _collect(store) == 1
    assert await store.get_contents([in_inbox]) == {}


async def test_collect_never_takes_a_content_a_message_refers_to(store: Store) -> None:
    box = await _inbox(store)
    ids = [await _deliver(store, box, n) for n in range(5)]
    copy_box = (await store.create_mailbox((await store.list_accounts())[0].id, "Copy")).id
    await store.copy_messages(box, [1, 2], copy_box)
    await store.expunge(box, [1, 2, 3])
    assert await _collect(store) == 1  # only message 3's content had no other copy
    assert sorted(await store.get_contents(ids)) == sorted(ids[:2] + ids[3:])


# ---- the store's figures, kept as messages come and go ------------------------------------------


async def test_store_totals_move_by_exactly_what_was_stored_and_removed(store: Store) -> None:
    assert await store.store_totals() == StoreTotals(0, 0, 0, 0)
    alice = await store.add_account("alice@example.test", CREDS)
    bob = await store.add_account("bob@example.test", CREDS)
    a_inbox = (await store.create_mailbox(alice.id, "INBOX")).id
    a_keep = (await store.create_mailbox(alice.id, "Keep")).id
    b_inbox = (await store.create_mailbox(bob.id, "INBOX")).id
    one, two = make_content(1), make_content(2)
    # One content for two mailboxes (a delivery to two users): counted twice raw, once after dedup.
    await store.insert_messages(one, [NewMessage(a_inbox, frozenset(), 1000.0, 0), NewMessage(b_inbox, frozenset(), 1000.0, 0)])
    await store.insert_messages(two, [NewMessage(a_inbox, frozenset(), 1001.0, 0)])
    assert await store.store_totals() == StoreTotals(3, 2 * one.size + two.size, 2, one.size + two.size)
    await store.copy_messages(a_inbox, [1, 2], a_keep)
    assert await store.store_totals() == StoreTotals(5, 3 * one.size + 2 * two.size, 2, one.size + two.size)
    await store.copy_messages(a_keep, [2], b_inbox, move=True)  # a move keeps the figures
    assert await store.store_totals() == StoreTotals(5, 3 * one.size + 2 * two.size, 2, one.size + two.size)
    await store.expunge(a_inbox, [1, 2])
    assert await store.store_totals() == StoreTotals(3, 2 * one.size + two.size, 2, one.size + two.size)
    await store.delete_mailbox(a_keep)  # its messages go with it
    assert await store.store_totals() == StoreTotals(2, one.size + two.size, 2, one.size + two.size)
    await store.delete_account(bob.id)  # the last copies of both contents
    assert await store.store_totals() == StoreTotals(0, 0, 0, 0)


# ---- search text made again (a newer text extraction) ---------------------------------------------


async def test_search_text_made_by_an_older_extraction_is_replaced(store: Store) -> None:
    box = await _inbox(store)
    [a] = await store.insert_messages(make_content(1, body="stops at the nul"), [NewMessage(box)])
    [b] = await store.insert_messages(make_content(2, body="second body"), [NewMessage(box)])
    assert await store.stale_search_texts(10) == []
    # every store holds version-1 text until told of a newer extraction
    assert await store.mark_search_text_stale(1) == 0
    assert await store.mark_search_text_stale(2) == 2
    assert await store.mark_search_text_stale(2) == 2  # marked once per version
    assert await store.stale_search_texts(1) == [a.content_id]  # oldest first, bounded
    # the new text is what a search finds, at once; the old one is gone from the index
    await store.replace_search_text(a.content_id, SearchText(body="stops at the nul and goes past it"))
    assert await store.search_text(box, "goes past", "body") == {a.uid}
    assert await store.search_text(box, "past it", "text") == {a.uid}
    assert await store.search_text(box, "at the nul", "body") == {a.uid}
    assert await store.stale_search_texts(10) == [b.content_id]
    # None: the old text stays, the content leaves the list
    await store.replace_search_text(b.content_id, None)
    assert await store.search_text(box, "second body", "body") == {b.uid}
    assert await store.mark_search_text_stale(2) == 0
    # text stored since is current; a later version marks everything again
    [c] = await store.insert_messages(make_content(3, body="third"), [NewMessage(box)])
    assert await store.mark_search_text_stale(2) == 0
    assert await store.mark_search_text_stale(3) == 3
    # a content collected leaves the list; a replacement for it is ignored
    await store.expunge(box, [c.uid])
    assert await _collect(store) == 1
    await store.replace_search_text(c.content_id, SearchText(body="ghost"))
    assert await store.stale_search_texts(10) == [a.content_id, b.content_id]
    assert await store.search_text(box, "ghost", "body") == set()
