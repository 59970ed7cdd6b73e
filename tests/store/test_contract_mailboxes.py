"""Store contract, MailboxStore role (mailboxes, subscriptions), run against every backend (memory and SQLite)."""

from __future__ import annotations

from store_helpers import account_with_inbox, deliver, make_content, raises

from postoffice.clock import ManualClock
from postoffice.errors import Kind
from postoffice.store.api import NewMessage, Store

# ---- mailboxes ----------------------------------------------------------------------------------


async def test_mailboxes(store: Store) -> None:
    account_id, inbox_id = await account_with_inbox(store)
    inbox = await store.get_mailbox(account_id, "inbox")
    assert inbox is not None and inbox.id == inbox_id and inbox.name == "INBOX"
    assert inbox.uidnext == 1 and inbox.messages == 0
    sent = await store.create_mailbox(account_id, "Sent", "\\Sent")
    assert sent.special_use == "\\Sent"
    with raises(Kind.EXISTS):
        await store.create_mailbox(account_id, "Sent")
    with raises(Kind.EXISTS):
        await store.create_mailbox(account_id, "Inbox")
    with raises(Kind.NOT_FOUND):
        await store.create_mailbox(account_id + 1000, "X")
    assert [m.name for m in await store.list_mailboxes(account_id)] == ["INBOX", "Sent"]
    renamed = await store.rename_mailbox(sent.id, "Sent Items")
    assert renamed.name == "Sent Items" and renamed.uidvalidity == sent.uidvalidity
    with raises(Kind.EXISTS):
        await store.rename_mailbox(sent.id, "INBOX")
    assert await store.get_mailbox(account_id, "Sent") is None
    await store.delete_mailbox(sent.id)
    assert await store.get_mailbox_by_id(sent.id) is None
    with raises(Kind.NOT_FOUND):
        await store.delete_mailbox(sent.id)
    with raises(Kind.NOT_FOUND):
        await store.rename_mailbox(sent.id, "Y")


async def test_uidvalidity_never_repeats_for_a_name(store: Store, clock: ManualClock) -> None:
    account_id, _ = await account_with_inbox(store)
    seen = []
    for _ in range(3):  # same clock second each time: still strictly increasing
        box = await store.create_mailbox(account_id, "Work")
        seen.append(box.uidvalidity)
        await store.delete_mailbox(box.id)
    assert seen == sorted(set(seen)) and len(seen) == 3
    clock.advance(10)
    box = await store.create_mailbox(account_id, "Work")
    assert box.uidvalidity >= int(clock.now())


async def test_subscriptions_outlive_mailboxes(store: Store) -> None:
    account_id, _ = await account_with_inbox(store)
    box = await store.create_mailbox(account_id, "Lists")
    await store.set_subscribed(account_id, "Lists", True)
    await store.set_subscribed(account_id, "inbox", True)
    await store.set_subscribed(account_id, "Lists", True)  # idempotent
    await store.delete_mailbox(box.id)
    assert await store.list_subscriptions(account_id) == ["INBOX", "Lists"]
    await store.set_subscribed(account_id, "Lists", False)
    assert await store.list_subscriptions(account_id) == ["INBOX"]


async def test_set_uidvalidity_for_import(store: Store) -> None:
    account_id, inbox_id = await account_with_inbox(store)
    box = await store.set_uidvalidity(inbox_id, 12345, 40)
    assert (box.uidvalidity, box.uidnext) == (12345, 40)
    box = await store.set_uidvalidity(inbox_id, 12345, 10)  # UIDNEXT never lowered
    assert box.uidnext == 40
    [rec] = await store.insert_messages(make_content(1), [NewMessage(inbox_id, uid=7)])
    assert rec.uid == 7
    with raises(Kind.EXISTS):
        await store.insert_messages(make_content(2), [NewMessage(inbox_id, uid=7)])
    [rec] = await store.insert_messages(make_content(3), [NewMessage(inbox_id, uid=50)])
    mb = await store.get_mailbox_by_id(inbox_id)
    assert mb is not None and mb.uidnext == 51 and mb.messages == 2
    assert await deliver(store, inbox_id, 4) == 51
    assert [r.uid for r in await store.list_messages(inbox_id)] == [7, 50, 51]
    with raises(Kind.NOT_FOUND):
        await store.set_uidvalidity(inbox_id + 1000, 1, 1)


# ---- rename: one unit with the children --------------------------------------------------------


async def test_rename_takes_the_children_parents_and_subscriptions_along(store: Store) -> None:
    account_id, _ = await account_with_inbox(store)
    top = await store.create_mailbox(account_id, "Work")
    child = await store.create_mailbox(account_id, "Work/2024")
    grandchild = await store.create_mailbox(account_id, "Work/2024/Q1")
    other = await store.create_mailbox(account_id, "Workshop")  # a prefix, not a child
    await deliver(store, child.id, 1)
    await store.set_subscribed(account_id, "Work/2024", True)
    renamed = await store.rename_mailbox(top.id, "Old/Jobs")
    assert renamed.name == "Old/Jobs" and renamed.uidvalidity == top.uidvalidity
    names = {m.name: m for m in await store.list_mailboxes(account_id)}
    assert sorted(names) == ["INBOX", "Old", "Old/Jobs", "Old/Jobs/2024", "Old/Jobs/2024/Q1", "Workshop"]
    assert names["Old/Jobs/2024"].id == child.id and names["Old/Jobs/2024"].messages == 1
    assert names["Old/Jobs/2024/Q1"].id == grandchild.id and names["Workshop"].id == other.id
    assert await store.list_subscriptions(account_id) == ["Old/Jobs/2024"]


async def test_a_collision_on_a_child_aborts_the_whole_rename(store: Store) -> None:
    account_id, _ = await account_with_inbox(store)
    a = await store.create_mailbox(account_id, "A")
    await store.create_mailbox(account_id, "A/x")
    await store.create_mailbox(account_id, "A/y")
    await store.create_mailbox(account_id, "C/y")  # "C" itself does not exist
    await store.set_subscribed(account_id, "A", True)
    before = await store.list_mailboxes(account_id)
    with raises(Kind.EXISTS):
        await store.rename_mailbox(a.id, "C")
    assert await store.list_mailboxes(account_id) == before  # not even the parent-less "C"
    assert await store.list_subscriptions(account_id) == ["A"]


async def test_rename_onto_a_name_it_frees_itself(store: Store) -> None:
    account_id, _ = await account_with_inbox(store)
    xy = await store.create_mailbox(account_id, "x/y")  # no "x": the store does not insist
    xyy = await store.create_mailbox(account_id, "x/y/y")
    await store.rename_mailbox(xy.id, "x")  # "x/y/y" becomes "x/y", the name "x/y" leaves
    names = {m.name: m.id for m in await store.list_mailboxes(account_id)}
    assert names == {"INBOX": names["INBOX"], "x": xy.id, "x/y": xyy.id}
    with raises(Kind.INVALID):  # into itself
        await store.rename_mailbox(xy.id, "x/y/z")
    with raises(Kind.EXISTS):
        await store.rename_mailbox(xyy.id, "INBOX")


async def test_renaming_inbox_moves_its_messages_in_one_step(store: Store) -> None:
    account_id, inbox_id = await account_with_inbox(store)
    child = await store.create_mailbox(account_id, "INBOX/kept")
    await deliver(store, inbox_id, 1, frozenset({"\\Seen"}))
    await deliver(store, inbox_id, 2)
    await store.set_subscribed(account_id, "INBOX", True)
    with raises(Kind.EXISTS):
        await store.rename_mailbox(inbox_id, "INBOX/kept")
    moved = await store.rename_mailbox(inbox_id, "Old/Mail")
    assert moved.name == "Old/Mail" and moved.id != inbox_id and moved.messages == 2 and moved.unseen == 1
    assert [r.uid for r in await store.list_messages(moved.id)] == [1, 2]
    inbox = await store.get_mailbox_by_id(inbox_id)
    assert inbox is not None and inbox.name == "INBOX" and inbox.messages == 0
    assert (await store.changes_since(inbox_id, 0)).expunged == (1, 2)
    names = sorted(m.name for m in await store.list_mailboxes(account_id))
    assert names == ["INBOX", "INBOX/kept", "Old", "Old/Mail"]  # INBOX's children stay
    assert (await store.get_mailbox_by_id(child.id)) is not None
    assert await store.list_subscriptions(account_id) == ["INBOX"]
