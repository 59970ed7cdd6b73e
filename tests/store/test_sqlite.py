"""SQLite-only behaviour: migrations, reopening, integrity, group commit."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

from store_helpers import CREDS, make_content

from postoffice.clock import ManualClock
from postoffice.store.api import NewMessage, SearchText
from postoffice.store.sqlite import LATEST_VERSION, SQLiteStore
from postoffice.store.sqlite.engine import migrations


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


def insert_before_v4(path: Path, mailbox_id: int, n: int, *, subject: str, body: str, flags: str = "") -> None:
    """Deliver one message the way schema versions 1-3 stored it (search text in the
    FTS table itself): today's insert_messages needs the tables of migration 0004."""
    with sqlite3.connect(path) as conn:
        modseq, uid = conn.execute(
            "UPDATE mailboxes SET highest_modseq = highest_modseq + 1, uidnext = uidnext + 1, messages = messages + 1,"
            " size = size + 100 WHERE id = ? RETURNING highest_modseq, uidnext - 1",
            (mailbox_id,),
        ).fetchone()
        cid = conn.execute(
            "INSERT INTO contents (sha256, size, layout, envelope, bodystructure, preview, subject, from_addr,"
            " to_addr, date, message_id, extra) VALUES (?, 100, x'00', '[]', '[]', '', ?, '', '', NULL, '', '{}')",
            (f"sha-{n}", subject),
        ).lastrowid
        conn.execute(
            "INSERT INTO search (rowid, from_addr, to_addr, cc, bcc, subject, headers, body)"
            " VALUES (?, 'ann@example.test', '', '', '', ?, ?, ?)",
            (cid, subject, f"Subject: {subject}", body),
        )
        conn.execute(
            "INSERT INTO messages (mailbox_id, uid, content_id, flags, modseq, internaldate, internaldate_tz, size)"
            " VALUES (?, ?, ?, ?, ?, 0, 0, 100)",
            (mailbox_id, uid, cid, flags, modseq),
        )


async def test_upgrade_from_version_1_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    old = await SQLiteStore.open(path, target_version=1)
    account = await old.add_account("alice@example.test", CREDS)
    inbox = await old.create_mailbox(account.id, "INBOX")
    await old.close()
    insert_before_v4(path, inbox.id, 1, subject="kept", body="", flags="\\Seen")
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
        content = await store.get_content(rec.content_id)
        assert content.envelope == b"[]" and content.bodystructure == b"[]"  # TEXT then, opaque bytes now
    finally:
        await store.close()


async def test_upgrade_to_deferred_search_finds_old_and_new_messages(tmp_path: Path) -> None:
    """0004 moves search text out of the FTS table; old messages are found before
    and after the background indexer has caught up, new ones at once."""
    path = tmp_path / "db.sqlite3"
    old = await SQLiteStore.open(path, target_version=3)
    account = await old.add_account("alice@example.test", CREDS)
    inbox = await old.create_mailbox(account.id, "INBOX")
    await old.close()
    for n in range(1, 4):
        insert_before_v4(path, inbox.id, n, subject=f"old subject {n}", body=f"old body xylophone{n}")

    store = await SQLiteStore.open(path)
    try:
        assert user_version(path) == LATEST_VERSION
        assert await store.search_text(inbox.id, "xylophone2", "body") == {2}
        assert await store.search_text(inbox.id, "OLD SUBJECT", "subject") == {1, 2, 3}
        await store.insert_messages(make_content(9, subject="new one", body="fresh xylophone9"), [NewMessage(inbox.id)])
        assert await store.search_text(inbox.id, "xylophone", "text") == {1, 2, 3, 4}
        assert await store.search_text(inbox.id, "e9", "body") == {4}  # short: a scan
        await wait_indexed(store)
        assert await store.search_text(inbox.id, "xylophone", "text") == {1, 2, 3, 4}
        assert await store.search_text(inbox.id, "subject 3", "subject") == {3}
        assert await store.search_text(inbox.id, "ann@example", "from") == {1, 2, 3}
    finally:
        await store.close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO search(search) VALUES ('integrity-check')")


async def wait_indexed(store: SQLiteStore) -> None:
    """Wait (generous deadline) until the writer has indexed every pending text."""
    await store.db.write(lambda _conn: None)  # wakes the writer if it sleeps
    deadline = asyncio.get_running_loop().time() + 30
    while await store.db.read(lambda c: c.execute("SELECT count(*) FROM search_pending").fetchone()[0]):
        assert asyncio.get_running_loop().time() < deadline, "search index never caught up"
        await asyncio.sleep(0.01)


async def test_search_is_the_same_before_and_after_indexing(tmp_path: Path) -> None:
    store = await SQLiteStore.open(tmp_path / "db.sqlite3")
    try:
        account = await store.add_account("alice@example.test", CREDS)
        inbox = await store.create_mailbox(account.id, "INBOX")
        texts = ["Grüße aus Köln", "GRÜSSE aus Bonn", "plain ascii Words", "words, more words"]
        store.db.background_paused = True  # every text stays pending: searches scan it
        for n, t in enumerate(texts):
            await store.insert_messages(make_content(n, body=t), [NewMessage(inbox.id)])
        queries = ["grüße", "köln", "WORDS", "aus", "rds, m", "ü", "nowhere"]

        async def answers() -> list[set[int]]:
            return [await store.search_text(inbox.id, q, "body") for q in queries]

        assert await store.db.read(lambda c: c.execute("SELECT count(*) FROM search_pending").fetchone()[0]) == 4
        before = await answers()
        store.db.background_paused = False
        await wait_indexed(store)
        assert await answers() == before == [{1}, {1}, {3, 4}, {1, 2}, {4}, {1, 2}, set()]
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


async def test_wal_is_checkpointed_off_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    store = await SQLiteStore.open(path)
    try:
        account = await store.add_account("alice@example.test", CREDS)
        inbox = await store.create_mailbox(account.id, "INBOX")
        for n in range(5):
            await store.insert_messages(make_content(n, body=f"text {n}"), [NewMessage(inbox.id)])
        deadline = asyncio.get_running_loop().time() + 30
        while store.db.checkpoints == 0:  # noqa: ASYNC110 - a counter of another thread
            assert asyncio.get_running_loop().time() < deadline, "no checkpoint ran"
            await asyncio.sleep(0.01)
        assert len(await store.list_messages(inbox.id)) == 5
    finally:
        await store.close()


async def test_collected_contents_leave_the_search_index(tmp_path: Path) -> None:
    """Migration 0004: an indexed text leaves the FTS index before its row goes; a
    pending one simply stops being pending. The index stays consistent either way."""
    path = tmp_path / "db.sqlite3"
    store = await SQLiteStore.open(path)
    try:
        account = await store.add_account("alice@example.test", CREDS)
        inbox = await store.create_mailbox(account.id, "INBOX")
        indexed = await store.insert_messages(make_content(1, body="indexed needle"), [NewMessage(inbox.id)])
        await wait_indexed(store)
        store.db.background_paused = True
        pending = await store.insert_messages(make_content(2, body="pending needle"), [NewMessage(inbox.id)])
        kept = await store.insert_messages(make_content(3, body="kept needle"), [NewMessage(inbox.id)])
        await store.expunge(inbox.id, [indexed[0].uid, pending[0].uid])
        assert await store.collect_contents() == (2, False)
        counts = await store.db.read(
            lambda c: [c.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("search_text", "search_pending", "gc_contents")]
        )
        assert counts == [1, 1, 0]
        assert await store.search_text(inbox.id, "needle", "body") == {kept[0].uid}
        store.db.background_paused = False
        await wait_indexed(store)
        assert await store.search_text(inbox.id, "needle", "body") == {kept[0].uid}
    finally:
        await store.close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO search(search) VALUES ('integrity-check')")
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


async def test_upgrade_lists_contents_already_unreferenced_for_collection(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    # The schema just before the migration that lists contents for collection; the rows
    # are written as that schema stored them (today's insert_messages needs later columns).
    before_gc = next(n for n, name, _ in migrations() if name.endswith("_deliveries_gc.sql")) - 1
    old = await SQLiteStore.open(path, target_version=before_gc)
    account = await old.add_account("alice@example.test", CREDS)
    inbox = await old.create_mailbox(account.id, "INBOX")
    await old.close()
    with sqlite3.connect(path) as conn:
        ids = []
        for n in (1, 2):
            cid = conn.execute(
                "INSERT INTO contents (sha256, size, layout, envelope, bodystructure, preview, subject, from_addr,"
                " to_addr, date, message_id, extra) VALUES (?, 100, x'00', '[]', '[]', '', '', '', '', NULL, '', '{}')",
                (f"sha-{n}",),
            ).lastrowid
            conn.execute(
                "INSERT INTO messages (mailbox_id, uid, content_id, flags, modseq, internaldate, internaldate_tz, size)"
                " VALUES (?, ?, ?, '', 1, 0, 0, 100)",
                (inbox.id, n, cid),
            )
            ids.append(cid)
        conn.execute("DELETE FROM messages WHERE uid = 1")  # expunged; no collector in that version
    gone, kept = ids
    store = await SQLiteStore.open(path)
    try:
        assert await store.collect_contents() == (1, False)
        assert set(await store.get_contents([gone, kept])) == {kept}
    finally:
        await store.close()


async def test_the_store_totals_migration_counts_what_is_already_stored(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    store = await SQLiteStore.open(path)
    account = await store.add_account("alice@example.test", CREDS)
    inbox = (await store.create_mailbox(account.id, "INBOX")).id
    other = (await store.create_mailbox(account.id, "Other")).id
    one, two = make_content(1), make_content(2)
    await store.insert_messages(one, [NewMessage(inbox, frozenset(), 1.0, 0), NewMessage(other, frozenset(), 1.0, 0)])
    await store.insert_messages(two, [NewMessage(inbox, frozenset(), 2.0, 0)])
    expected = await store.store_totals()
    await store.close()
    # A store from before the migration: its data, without the figures; then the migration.
    [sql] = [sql for _, name, sql in migrations() if "store_totals" in name]
    with sqlite3.connect(path) as conn:
        for trigger in ("insert", "delete", "update"):
            conn.execute(f"DROP TRIGGER store_totals_{trigger}")
        conn.execute("DROP TABLE store_totals")
        conn.executescript(sql)
    store = await SQLiteStore.open(path)
    try:
        assert await store.store_totals() == expected
        assert (expected.messages, expected.raw_bytes) == (3, 2 * one.size + two.size)
        assert (expected.contents, expected.content_bytes) == (2, one.size + two.size)
    finally:
        await store.close()


async def test_search_text_of_an_upgraded_database_is_made_again_out_of_the_index(tmp_path: Path) -> None:
    """Migration 0014: text stored before it counts as version 1. Replacing a text that
    is already in the FTS index takes the old values out of it (external content: the
    index must be told what it held), so a search never finds the old words."""
    path = tmp_path / "db.sqlite3"
    before = next(n for n, name, _ in migrations() if name.endswith("_search_text_version.sql")) - 1
    old = await SQLiteStore.open(path, target_version=before)
    account = await old.add_account("alice@example.test", CREDS)
    inbox = await old.create_mailbox(account.id, "INBOX")
    [rec] = await old.insert_messages(make_content(1, body="truncated xylophone"), [NewMessage(inbox.id)])
    await old.close()
    store = await SQLiteStore.open(path)
    try:
        await wait_indexed(store)
        assert await store.mark_search_text_stale(2) == 1
        await store.replace_search_text(rec.content_id, SearchText(body="whole marimba text"))
        for state in ("pending", "indexed"):
            assert await store.search_text(inbox.id, "marimba", "body") == {rec.uid}, state
            assert await store.search_text(inbox.id, "xylophone", "body") == set(), state
            await wait_indexed(store)
        # replaced again once indexed: out of the index with the values it was given
        await store.replace_search_text(rec.content_id, SearchText(body="third vibraphone"))
        await wait_indexed(store)
        assert await store.search_text(inbox.id, "marimba", "text") == set()
        assert await store.search_text(inbox.id, "vibraphone", "text") == {rec.uid}
    finally:
        await store.close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO search(search) VALUES ('integrity-check')")


async def test_shared_reads_join_only_a_read_not_yet_begun(tmp_path: Path) -> None:
    # Thousands of IDLE sessions woken by one APPEND ask the same question at once
    # (Database.read_shared): the ones that queue behind a read not yet begun get its
    # answer; a read already begun is never joined, so no caller misses a commit made
    # before its call.
    store = await SQLiteStore.open(tmp_path / "db.sqlite3")
    try:
        account = await store.add_account("alice@example.test", CREDS)
        inbox = await store.create_mailbox(account.id, "INBOX")
        runs = 0

        def count(conn: sqlite3.Connection) -> int:
            nonlocal runs
            runs += 1
            return int(conn.execute("SELECT count(*) FROM messages").fetchone()[0])

        # Hold every reader thread, queue 50 identical reads, release.
        entered, release = threading.Semaphore(0), threading.Event()

        def hold(_conn: sqlite3.Connection) -> None:
            entered.release()
            release.wait(timeout=30)

        holders = [asyncio.ensure_future(store.db.read(hold)) for _ in range(4)]
        for _ in range(4):
            await asyncio.to_thread(entered.acquire, True, 30)
        waiting = [asyncio.ensure_future(store.db.read_shared("count", count)) for _ in range(50)]
        await asyncio.sleep(0)
        release.set()
        assert await asyncio.gather(*waiting) == [0] * 50
        await asyncio.gather(*holders)
        assert runs == 1

        # A shared read that has begun: a commit made meanwhile is seen by the next caller.
        inside, go_on = threading.Event(), threading.Event()

        def slow_count(conn: sqlite3.Connection) -> int:
            n = count(conn)
            inside.set()
            go_on.wait(timeout=30)
            return n

        first = asyncio.ensure_future(store.db.read_shared("count", slow_count))
        await asyncio.to_thread(inside.wait, 30)
        await store.insert_messages(make_content(1), [NewMessage(inbox.id)])
        second = asyncio.ensure_future(store.db.read_shared("count", count))
        go_on.set()
        assert await first == 0
        assert await second == 1
    finally:
        await store.close()
