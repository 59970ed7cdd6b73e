"""Store contract, LockStore role (named locks with a lifetime), run against every backend (memory and SQLite)."""

from __future__ import annotations

from postoffice.clock import ManualClock
from postoffice.store.api import Store


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
