"""RFC 8514 save dates: every backend stamps a message when it is saved in a mailbox."""

from __future__ import annotations

from store_helpers import CREDS, make_content

from postoffice.clock import ManualClock
from postoffice.store.api import FlagUpdate, NewMessage, Store


async def test_savedate_is_set_on_insert_and_copy_and_kept_on_flag_changes(store: Store, clock: ManualClock) -> None:
    account = await store.add_account("alice@example.test", CREDS)
    inbox = await store.create_mailbox(account.id, "INBOX")
    archive = await store.create_mailbox(account.id, "Archive")
    [rec] = await store.insert_messages(make_content(1), [NewMessage(inbox.id, internaldate=1000.0)])
    saved = clock.now()
    assert rec.savedate == saved and rec.internaldate == 1000.0
    clock.advance(3600)
    result = await store.update_flags(inbox.id, [rec.uid], FlagUpdate("add", frozenset({"\\Seen"})))
    assert result.updated[0].savedate == saved  # a flag change saves nothing
    [(_, copied)] = await store.copy_messages(inbox.id, [rec.uid], archive.id)
    [(_, moved)] = await store.copy_messages(inbox.id, [rec.uid], archive.id, move=True)
    by_uid = {m.uid: m for m in await store.list_messages(archive.id)}
    assert by_uid[copied].savedate == by_uid[moved].savedate == saved + 3600  # RFC 8514: saved anew
    assert by_uid[copied].internaldate == 1000.0  # the internal date travels with the message


async def test_renaming_inbox_keeps_save_dates(store: Store, clock: ManualClock) -> None:
    account = await store.add_account("alice@example.test", CREDS)
    inbox = await store.create_mailbox(account.id, "INBOX")
    await store.insert_messages(make_content(1), [NewMessage(inbox.id)])
    saved = clock.now()
    clock.advance(60)
    moved_to = await store.rename_mailbox(inbox.id, "Old")
    [rec] = await store.list_messages(moved_to.id)
    assert rec.savedate == saved
