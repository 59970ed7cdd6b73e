"""The webmail roles (``store.web``: WebSessionStore, MessagePages), on every backend."""

from __future__ import annotations

from dataclasses import replace

import pytest
from store_helpers import CREDS, make_content

from postoffice.errors import MailError
from postoffice.store.api import NewMessage, Store
from postoffice.store.memory import MemoryStore
from postoffice.store.memory_web import MemoryWebStore
from postoffice.store.sqlite import SQLiteStore
from postoffice.store.sqlite.web import SQLiteWebStore
from postoffice.store.web import MessagePages, WebSession, WebSessionStore


def roles(store: Store) -> SQLiteWebStore | MemoryWebStore:
    if isinstance(store, SQLiteStore):
        return SQLiteWebStore(store.db)
    assert isinstance(store, MemoryStore)
    return MemoryWebStore(store)


def session(token_hash: str, account_id: int, created: float, expires: float) -> WebSession:
    return WebSession(token_hash, account_id, "csrf-" + token_hash, created, created, expires, "127.0.0.1", "test")


async def test_backends_conform(store: Store) -> None:
    web = roles(store)
    assert isinstance(web, WebSessionStore) and isinstance(web, MessagePages)


async def test_sessions_create_get_touch_list_delete(store: Store) -> None:
    web = roles(store)
    alice = await store.add_account("alice@example.test", CREDS)
    bob = await store.add_account("bob@example.test", CREDS)
    await web.create_web_session(session("a1", alice.id, 100.0, 1000.0))
    await web.create_web_session(session("a2", alice.id, 200.0, 1000.0))
    await web.create_web_session(session("b1", bob.id, 150.0, 1000.0))
    got = await web.get_web_session("a1")
    assert got is not None and got.account_id == alice.id and got.csrf == "csrf-a1"
    assert await web.get_web_session("nope") is None
    await web.touch_web_session("a1", 500.0, 2000.0)
    got = await web.get_web_session("a1")
    assert got is not None and (got.last_seen, got.expires) == (500.0, 2000.0)
    assert [s.token_hash for s in await web.list_web_sessions(alice.id)] == ["a2", "a1"]  # newest first
    await web.delete_web_session("a2")
    await web.delete_web_session("a2")  # absent: no error
    assert [s.token_hash for s in await web.list_web_sessions(alice.id)] == ["a1"]
    assert await web.delete_web_sessions(alice.id) == 1
    assert await web.get_web_session("a1") is None
    assert await web.get_web_session("b1") is not None  # another account's session stays


async def test_expired_sessions_go_and_sessions_go_with_their_account(store: Store) -> None:
    web = roles(store)
    alice = await store.add_account("alice@example.test", CREDS)
    await web.create_web_session(session("old", alice.id, 1.0, 10.0))
    await web.create_web_session(session("new", alice.id, 1.0, 100.0))
    assert await web.delete_expired_web_sessions(50.0) == 1
    assert await web.get_web_session("old") is None
    await store.delete_account(alice.id)
    assert await web.get_web_session("new") is None


async def test_pages_are_newest_first_below_a_uid(store: Store) -> None:
    web = roles(store)
    account = await store.add_account("alice@example.test", CREDS)
    box = await store.create_mailbox(account.id, "INBOX")
    for n in range(7):
        await store.insert_messages(make_content(n), [NewMessage(box.id)])
    await store.expunge(box.id, [4])
    first = await web.page_messages(box.id, None, 3)
    assert [r.uid for r in first] == [7, 6, 5]
    second = await web.page_messages(box.id, first[-1].uid, 3)
    assert [r.uid for r in second] == [3, 2, 1]  # UID 4 expunged
    assert await web.page_messages(box.id, 1, 3) == []
    with pytest.raises(MailError):
        await web.page_messages(box.id + 999, None, 3)


async def test_mailbox_contents_and_thread_links(store: Store) -> None:
    web = roles(store)
    account = await store.add_account("alice@example.test", CREDS)
    box = await store.create_mailbox(account.id, "INBOX")
    for n in range(4):
        await store.insert_messages(make_content(n), [NewMessage(box.id)])
    await store.expunge(box.id, [2])
    pairs = await web.mailbox_contents(box.id)
    assert [uid for uid, _, _ in pairs] == [1, 3, 4]
    assert await web.mailbox_contents(box.id, after_uid=3) == pairs[2:]
    links = {link.content_id: link for link in await web.thread_links([cid for _, cid, _ in pairs] + [10**9])}
    assert set(links) == {cid for _, cid, _ in pairs}  # an unknown content is left out
    first = links[pairs[0][1]]
    assert (first.message_id, first.envelope) == ("<0@example.test>", b'["env"]')
    with pytest.raises(MailError):
        await web.mailbox_contents(box.id + 999)


async def test_thread_keys_stored_with_the_content_or_filled_later(store: Store) -> None:
    web = roles(store)
    account = await store.add_account("alice@example.test", CREDS)
    box = await store.create_mailbox(account.id, "INBOX")
    await store.insert_messages(replace(make_content(1), thread_keys="<1@x> <0@x>"), [NewMessage(box.id)])
    await store.insert_messages(make_content(2), [NewMessage(box.id)])  # stored without keys (older mail)
    (_, first, keys1), (_, second, keys2) = await web.mailbox_contents(box.id)
    assert (keys1, keys2) == ("<1@x> <0@x>", None)
    await web.save_thread_keys([(first, "changed"), (second, "<2@x>"), (10**9, "<gone@x>")])
    # Keys already stored stay; missing ones are filled; an unknown content is left out.
    assert [k for _, _, k in await web.mailbox_contents(box.id)] == ["<1@x> <0@x>", "<2@x>"]
    await web.save_thread_keys([(10**9, "<gone@x>")])
