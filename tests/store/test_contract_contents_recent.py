"""Store contract (every backend): the batch content read and the RFC 3501 \\Recent marker."""

from __future__ import annotations

import pytest
from store_helpers import CREDS, make_content

from postoffice.errors import MailError
from postoffice.store.api import NewMessage, Store


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
