"""The outbound queue role, on every backend (memory and SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest
from store_helpers import make_content

from postoffice.errors import MailError
from postoffice.store.api import Store
from postoffice.store.memory import MemoryStore
from postoffice.store.memory_queue import MemoryQueueStore
from postoffice.store.queue import NewQueueRecipient, QueueStore, RecipientUpdate
from postoffice.store.sqlite import SQLiteStore
from postoffice.store.sqlite.queue import SQLiteQueueStore


def queue_of(store: Store) -> QueueStore:
    if isinstance(store, MemoryStore):
        return MemoryQueueStore(store)
    assert isinstance(store, SQLiteStore)
    return SQLiteQueueStore.of(store)


async def test_enqueue_references_content_and_tracks_each_recipient(store: Store) -> None:
    queue = queue_of(store)
    assert isinstance(queue, QueueStore)
    content = make_content(1, subject="hello")
    entry = await queue.enqueue(
        content, "a@a.test", "{}", [NewQueueRecipient("x@B.test", notify="FAILURE"), NewQueueRecipient("y@c.test")], 100.0
    )
    assert (await store.get_content(entry.content_id)).sha256 == content.sha256
    assert [(r.address, r.domain, r.status) for r in entry.recipients] == [("x@B.test", "b.test", "queued"), ("y@c.test", "c.test", "queued")]
    assert entry.recipients[0].notify == "FAILURE"
    # The same bytes queued twice are stored once.
    again = await queue.enqueue(content, "a@a.test", "{}", [NewQueueRecipient("z@b.test")], 100.0)
    assert again.content_id == entry.content_id and again.id != entry.id
    assert [e.id for e in await queue.list_entries()] == [entry.id, again.id]


async def test_due_attempts_and_finish(store: Store) -> None:
    queue = queue_of(store)
    entry = await queue.enqueue(make_content(2), "a@a.test", "{}", [NewQueueRecipient("x@b.test"), NewQueueRecipient("y@b.test")], 100.0)
    assert [e.id for e in await queue.due_entries(100.0, 10)] == [entry.id]
    assert await queue.due_entries(99.0, 10) == []
    await queue.update_recipients(
        entry.id,
        [RecipientUpdate("x@b.test", "delivered", "250 2.0.0 ok", 0.0, 101.0), RecipientUpdate("y@b.test", "queued", "451 4.4.1 down", 400.0, 101.0)],
    )
    got = await queue.get_entry(entry.id)
    assert got is not None
    x, y = got.recipients
    assert (x.status, x.attempts, y.status, y.attempts, y.next_attempt, y.last_reply) == ("delivered", 1, "queued", 1, 400.0, "451 4.4.1 down")
    assert await queue.next_attempt() == 400.0
    assert await queue.due_entries(399.0, 10) == []
    assert await queue.retry(entry.id, 200.0) == 1
    assert [e.id for e in await queue.due_entries(200.0, 10)] == [entry.id]
    assert await queue.remove_finished() == []
    await queue.update_recipients(entry.id, [RecipientUpdate("y@b.test", "failed", "550 5.1.1 no", 0.0, 201.0)])
    assert await queue.remove_finished() == []  # the failure is not reported yet
    await queue.mark_reported(entry.id, ["y@b.test"])
    await queue.set_delay_notified(entry.id)
    assert await queue.remove_finished(entry.id + 1) == []  # another entry's id: this one stays
    assert await queue.remove_finished(entry.id) == [entry.id]
    assert await queue.get_entry(entry.id) is None
    assert await queue.next_attempt() is None


async def test_update_removes_a_finished_entry_when_asked(store: Store) -> None:
    queue = queue_of(store)
    entry = await queue.enqueue(make_content(2), "a@a.test", "{}", [NewQueueRecipient("x@b.test"), NewQueueRecipient("y@b.test")], 100.0)
    delivered = RecipientUpdate("x@b.test", "delivered", "250 2.0.0 ok", 0.0, 101.0)
    assert await queue.update_recipients(entry.id, [delivered], remove_if_finished=True) is False  # y still queued
    failed = RecipientUpdate("y@b.test", "failed", "550 5.1.1 no", 0.0, 102.0)
    assert await queue.update_recipients(entry.id, [failed], remove_if_finished=True) is False  # to be reported
    assert await queue.get_entry(entry.id) is not None
    other = await queue.enqueue(make_content(3), "a@a.test", "{}", [NewQueueRecipient("z@b.test")], 100.0)
    done = RecipientUpdate("z@b.test", "delivered", "250 2.0.0 ok", 0.0, 103.0)
    assert await queue.update_recipients(other.id, [done], remove_if_finished=True) is True
    assert await queue.get_entry(other.id) is None


async def test_delete_and_retry_unknown(store: Store) -> None:
    queue = queue_of(store)
    entry = await queue.enqueue(make_content(3), "", "{}", [NewQueueRecipient("x@b.test")], 1.0)
    await queue.delete_entry(entry.id)
    with pytest.raises(MailError):
        await queue.delete_entry(entry.id)
    with pytest.raises(MailError):
        await queue.retry(entry.id, 2.0)


async def test_sqlite_queue_survives_reopen(tmp_path: Path) -> None:
    store = await SQLiteStore.open(tmp_path / "q.sqlite3")
    entry = await SQLiteQueueStore.of(store).enqueue(make_content(4), "a@a.test", '{"x": 1}', [NewQueueRecipient("x@b.test")], 5.0)
    await store.close()
    store = await SQLiteStore.open(tmp_path / "q.sqlite3")
    got = await SQLiteQueueStore.of(store).get_entry(entry.id)
    await store.close()
    assert got == entry
