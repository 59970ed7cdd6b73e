"""Conversations over a whole mailbox, for the webmail's grouped message list.

Two messages are in one conversation when one names the other, or both name a third,
by Message-ID in References or In-Reply-To (RFC 5322 §3.6.4): a conversation is a
connected group of that relation over every message of the folder, not only over the
messages of one page. The links come from stored data only — the content row's
Message-ID, the stored ENVELOPE's In-Reply-To and the References list kept at
ingestion (§4.1 of docs/architecture.md) — never from parsing a message again; and
ingestion stores them once more in compact form (:func:`thread_keys`), so grouping a
folder decodes nothing: older contents get their keys at their first grouping.

Paging is by conversation, newest first: a conversation's key is its highest UID, and
the page after one ends is the conversations whose key is below the last key shown
(keyset paging, as the flat list pages by UID).

Invariants: the groups of a mailbox are kept per process under the mailbox's
(UIDVALIDITY, UIDNEXT, message count), which names its set of UIDs (UIDNEXT only
grows, an expunge lowers the count), so a cached answer is never stale; a content's
links never change, so each is read from the store once while its mailbox is cached
(a change re-reads only the new contents); at most ``_BOXES`` mailboxes are kept.
"""

from __future__ import annotations

import asyncio
import bisect
import json
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from postoffice.mail.codec import envelope_in_reply_to
from postoffice.mail.sort import message_ids, references_extra
from postoffice.store.api import Mailbox
from postoffice.store.web import MessagePages

__all__ = ["Conversation", "Conversations", "group", "thread_keys"]

_BOXES = 16  # mailboxes whose conversations one process keeps
_NO_REFERENCES = json.dumps(references_extra(None))  # the usual extra of a first message: no parse


@dataclass(frozen=True, slots=True)
class Conversation:
    newest: int  # the highest UID: the conversation's place in the list and its paging key
    uids: tuple[int, ...]  # every message of it in the mailbox, ascending


@dataclass(frozen=True, slots=True)
class _Links:
    own: str  # "<id>" or ""
    named: tuple[str, ...]  # the msg-ids of References and In-Reply-To


def thread_keys(message_id: str, envelope: bytes | str, extra: str) -> str:
    """What the store keeps of a content for grouping (``NewContent.thread_keys``): its own
    msg-id ("" without one) then the msg-ids it names, space-separated (a msg-id as
    ``message_ids`` gives it holds no whitespace). Worked out from the stored fields, so
    keys written at ingestion and keys filled later for older mail are the same."""
    refs: list[str] = []
    try:
        decoded = json.loads(extra) if extra and extra != _NO_REFERENCES else {}
    except ValueError:
        decoded = {}
    found = decoded.get("references") if isinstance(decoded, dict) else None
    if isinstance(found, list):
        refs = [str(r) for r in found]
    named = (*refs, *message_ids(envelope_in_reply_to(envelope)))
    own = (message_ids(message_id) or ("",))[0]
    return " ".join((own, *dict.fromkeys(m for m in named if m.split() == [m])))


def _links(keys: str) -> _Links:
    own, _, named = keys.partition(" ")
    return _Links(own, tuple(named.split()) if named else ())


class _Groups:
    """Union-find over message keys (own Message-ID, or a stand-in for a message without
    one) and the msg-ids they name, with the members and newest UID of each root.
    Messages are only ever added."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}
        self.members: dict[str, list[int]] = {}  # root → UIDs
        self.newest: dict[str, int] = {}  # root → its highest UID

    def find(self, x: str) -> str:
        parent = self.parent
        root = parent.setdefault(x, x)
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    def add(self, uid: int, own: str, named: tuple[str, ...]) -> tuple[str, list[int]]:
        """Join one message: its key, and the newest UIDs of the conversations it changed."""
        key = own or f"\0{uid}"  # a message without Message-ID is only joined by what it names
        if not named and key not in self.parent:  # the usual case: a message of its own
            self.parent[key] = key
            self.members[key] = [uid]
            self.newest[key] = uid
            return key, []
        changed = [self.newest[r] for r in {self.find(k) for k in (key, *named)} if r in self.newest]
        root = self.find(key)
        for other in named:
            theirs = self.find(other)
            if theirs == root:
                continue
            if len(self.members.get(root, ())) < len(self.members.get(theirs, ())):
                root, theirs = theirs, root  # union by size: the bigger member list stays
            self.parent[theirs] = root
            if theirs in self.members:
                self.members.setdefault(root, []).extend(self.members.pop(theirs))
                self.newest[root] = max(self.newest.get(root, 0), self.newest.pop(theirs))
        self.members.setdefault(root, []).append(uid)
        self.newest[root] = max(self.newest.get(root, 0), uid)
        return key, changed

    def conversation(self, root: str) -> Conversation:
        return Conversation(self.newest[root], tuple(sorted(self.members[root])))


def group(messages: Iterable[tuple[int, str, tuple[str, ...]]]) -> list[Conversation]:
    """(uid, own Message-ID, msg-ids it names) → conversations, newest first."""
    groups = _Groups()
    for uid, own, named in messages:
        groups.add(uid, own, named)
    return sorted((groups.conversation(r) for r in groups.members), key=lambda c: -c.newest)


@dataclass(slots=True)
class _Box:
    state: tuple[int, int, int]  # (uidvalidity, uidnext, messages)
    top: int  # the highest UID grouped
    count: int  # messages grouped
    links: dict[int, _Links]  # content id → links
    groups: _Groups
    conversations: list[Conversation]  # newest first
    keys: list[int]  # -newest of each conversation, ascending (for bisect)


def _grouped(
    box: _Box | None, state: tuple[int, int, int], links: dict[int, _Links], added: list[tuple[int, int]]
) -> _Box:
    """``box`` with the messages ``added`` (all above its top UID) joined; a new box if None."""
    if box is None:
        box = _Box(state, 0, 0, links, _Groups(), [], [])
    groups = box.groups
    stale: set[int] = set()  # the newest UIDs of conversations that changed
    keys: list[str] = []
    for uid, cid in added:
        key, changed = groups.add(uid, links[cid].own, links[cid].named)
        stale.update(changed)
        keys.append(key)
    fresh = [groups.conversation(r) for r in {groups.find(k) for k in keys}]
    kept = [c for c in box.conversations if c.newest not in stale] if stale else box.conversations
    # Timsort on two sorted runs: linear, whatever the size of the folder.
    conversations = sorted([*kept, *fresh], key=lambda c: -c.newest)
    top = max(box.top, added[-1][0]) if added else box.top
    return _Box(state, top, box.count + len(added), links, groups, conversations, [-c.newest for c in conversations])


class Conversations:
    """The conversations of mailboxes, computed from stored links and kept per state."""

    def __init__(self, pages: MessagePages) -> None:
        self.pages = pages
        self._boxes: OrderedDict[int, _Box] = OrderedDict()
        self._updating = asyncio.Lock()

    async def _box(self, mailbox: Mailbox) -> _Box:
        state = (mailbox.uidvalidity, mailbox.uidnext, mailbox.messages)
        box = self._boxes.get(mailbox.id)
        if box is not None and box.state == state:
            self._boxes.move_to_end(mailbox.id)
            return box
        async with self._updating:  # one regrouping at a time: it extends the kept groups in place
            box = self._boxes.get(mailbox.id)
            if box is not None and box.state == state:
                return box
            return await self._regroup(mailbox, state, box)

    async def _regroup(self, mailbox: Mailbox, state: tuple[int, int, int], box: _Box | None) -> _Box:
        kept = box if box is not None and box.state[0] == mailbox.uidvalidity else None
        added = await self.pages.mailbox_contents(mailbox.id, kept.top if kept is not None else 0)
        if kept is not None and kept.count + len(added) != mailbox.messages:
            kept_links = kept.links  # something was expunged: group again from the stored keys
            kept = None
            added = await self.pages.mailbox_contents(mailbox.id)
        else:
            kept_links = kept.links if kept is not None else {}
        missing = sorted({cid for _, cid, keys in added if keys is None and cid not in kept_links})
        filled: dict[int, str] = {}
        if missing:  # contents stored before keys were kept at ingestion: work them out once
            stored = await self.pages.thread_links(missing)
            filled = await asyncio.to_thread(
                lambda: {t.content_id: thread_keys(t.message_id, t.envelope, t.extra) for t in stored}
            )
            await self.pages.save_thread_keys(sorted(filled.items()))

        def regroup() -> _Box:
            # Up to a whole folder's worth of grouping: off the event loop.
            links = (
                kept_links if kept is not None else {cid: kept_links[cid] for _, cid, _ in added if cid in kept_links}
            )
            for _, cid, keys in added:
                if cid not in links:
                    found = keys if keys is not None else filled.get(cid)
                    if found is not None:
                        links[cid] = _links(found)
            return _grouped(kept, state, links, [(uid, cid) for uid, cid, _ in added if cid in links])

        box = await asyncio.to_thread(regroup)
        self._boxes[mailbox.id] = box
        self._boxes.move_to_end(mailbox.id)
        while len(self._boxes) > _BOXES:
            self._boxes.popitem(last=False)
        return box

    async def page(self, mailbox: Mailbox, before_uid: int | None, limit: int) -> list[Conversation]:
        """At most ``limit`` conversations whose newest UID is below ``before_uid`` (None:
        from the newest), newest first."""
        box = await self._box(mailbox)
        start = 0 if before_uid is None else bisect.bisect_right(box.keys, -before_uid)
        return box.conversations[start : start + max(0, limit)]
