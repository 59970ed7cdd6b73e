"""SQLite-only behaviour: migrations, reopening, integrity, group commit."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

from store_helpers import CREDS, make_content

from postoffice.clock import ManualClock
from postoffice.store.api import NewMessage
from postoffice.store.sqlite import LATEST_VERSION, SQLiteStore


def user_version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


async def test_new_database_is_wal_and_latest(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    store = await SQLiteStore.open(path)
    await store.close()
    assert user_version(path) == LATEST_VERSION >= 2
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_upgrade_from_version_1_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    old = await SQLiteStore.open(path, target_version=1)
    account = await old.add_account("alice@example.test", CREDS)
    inbox = await old.create_mailbox(account.id, "INBOX")
    await old.insert_messages(make_content(1, subject="kept"), [NewMessage(inbox.id, frozenset({"\\Seen"}))])
    await old.close()
    assert user_version(path) == 1
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'locks'").fetchone()[0] == 0

    store = await SQLiteStore.open(path)
    try:
        assert user_version(path) == LATEST_VERSION
        assert await store.get_account("alice@example.test") == account
        [rec] = await store.list_messages(inbox.id)
        assert rec.flags == {"\\Seen"}
        assert await store.search_text(inbox.id, "kept", "subject") == {1}
        assert await store.acquire_lock("maildrop:1", "s1", 60)  # the table 0002 added
    finally:
        await store.close()


async def test_reopen_keeps_uidvalidity_and_never_reuses_uids(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    clock = ManualClock()
    store = await SQLiteStore.open(path, clock=clock)
    account = await store.add_account("alice@example.test", CREDS)
    inbox = await store.create_mailbox(account.id, "INBOX")
    for n in range(3):
        await store.insert_messages(make_content(n), [NewMessage(inbox.id)])
    await store.expunge(inbox.id, [2, 3])
    before = await store.get_mailbox_by_id(inbox.id)
    await store.close()

    store = await SQLiteStore.open(path, clock=clock)  # same clock second: UIDVALIDITY must still grow
    try:
        after = await store.get_mailbox_by_id(inbox.id)
        assert after == before and after is not None and after.uidnext == 4
        [rec] = await store.insert_messages(make_content(10), [NewMessage(inbox.id)])
        assert rec.uid == 4
        other = await store.create_mailbox(account.id, "Other")
        assert other.uidvalidity > after.uidvalidity
        assert (await store.changes_since(inbox.id, 0)).expunged == (2, 3)
    finally:
        await store.close()


async def test_integrity_after_use(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    store = await SQLiteStore.open(path)
    account = await store.add_account("alice@example.test", CREDS)
    inbox = await store.create_mailbox(account.id, "INBOX")
    trash = await store.create_mailbox(account.id, "Trash")
    for n in range(20):
        await store.insert_messages(make_content(n, body=f"word{n}"), [NewMessage(inbox.id)])
    await store.copy_messages(inbox.id, list(range(1, 11)), trash.id, move=True)
    await store.delete_mailbox(trash.id)
    await store.delete_account(account.id)
    await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        conn.execute("INSERT INTO search(search) VALUES ('integrity-check')")  # raises if the FTS index is corrupt


async def test_concurrent_writes_are_group_committed_and_durable(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    store = await SQLiteStore.open(path)
    account = await store.add_account("alice@example.test", CREDS)
    inbox = await store.create_mailbox(account.id, "INBOX")

    # Hold the writer inside one operation while 100 tasks queue their inserts, so the
    # next batch deterministically holds them all.
    entered, release = threading.Event(), threading.Event()

    def hold(_conn: sqlite3.Connection) -> None:
        entered.set()
        release.wait(timeout=30)

    blocker = asyncio.ensure_future(store.db.write(hold))
    await asyncio.to_thread(entered.wait, 30)
    commits_before = store.commit_count
    tasks = [
        asyncio.ensure_future(store.insert_messages(make_content(n), [NewMessage(inbox.id)])) for n in range(100)
    ]
    await asyncio.sleep(0)  # let every task enqueue its write
    release.set()
    records = await asyncio.gather(*tasks)
    await blocker
    assert sorted(r[0].uid for r in records) == list(range(1, 101))
    assert store.commit_count - commits_before <= 3  # 100 writes, a handful of fsyncs
    assert max(store.db.batch_sizes) >= 50
    await store.close()

    store = await SQLiteStore.open(path)
    try:
        assert len(await store.list_messages(inbox.id)) == 100
    finally:
        await store.close()


async def test_failing_write_does_not_fail_its_batch(tmp_path: Path) -> None:
    store = await SQLiteStore.open(tmp_path / "db.sqlite3")
    try:
        entered, release = threading.Event(), threading.Event()

        def hold(_conn: sqlite3.Connection) -> None:
            entered.set()
            release.wait(timeout=30)

        blocker = asyncio.ensure_future(store.db.write(hold))
        await asyncio.to_thread(entered.wait, 30)
        good = asyncio.ensure_future(store.add_domain("a.test"))
        dup = asyncio.ensure_future(store.add_domain("a.test"))  # same batch, fails alone
        other = asyncio.ensure_future(store.add_domain("b.test"))
        await asyncio.sleep(0)
        release.set()
        results = await asyncio.gather(blocker, good, dup, other, return_exceptions=True)
        assert results[0] is None and results[1] is None and results[3] is None
        assert isinstance(results[2], Exception)
        assert await store.list_domains() == ["a.test", "b.test"]
    finally:
        await store.close()
