"""Store contract: the per-user submission count ([limits.smtp] max_messages_per_hour)."""

from __future__ import annotations

from store_helpers import CREDS

from postoffice.store.api import Store


async def test_submissions_counted_per_account_and_forgotten(store: Store) -> None:
    alice = await store.add_account("alice@example.test", CREDS)
    bob = await store.add_account("bob@example.test", CREDS)
    for at in (100.0, 200.0, 300.0):
        await store.record_submission(alice.id, at, forget_before=0.0)
    await store.record_submission(bob.id, 250.0, forget_before=0.0)
    assert await store.count_submissions(alice.id, since=0.0) == 3
    assert await store.count_submissions(alice.id, since=200.0) == 2  # at or after
    assert await store.count_submissions(bob.id, since=0.0) == 1
    await store.record_submission(alice.id, 400.0, forget_before=250.0)  # drops 100 and 200
    assert await store.count_submissions(alice.id, since=0.0) == 2
    await store.delete_account(alice.id)
    assert await store.count_submissions(alice.id, since=0.0) == 0
    assert await store.count_submissions(bob.id, since=0.0) == 1
