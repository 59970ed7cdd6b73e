"""In-memory Store and BlobStore, for fast unit tests only (never for transcripts).

Same contract as the SQLite backend (the suites in tests/store/ run both). State
lives in plain dicts; every method is atomic because it never awaits mid-change, and
a multi-step method checks everything that can fail before it changes anything.
The blob store's ``collect`` and a writer's ``finish`` exclude each other by a lock,
as the file backend's do (``store/api.py``: garbage collection).
"""

from __future__ import annotations

import hashlib
import io
import itertools
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, BinaryIO, Literal

from postoffice.clock import Clock, SystemClock
from postoffice.errors import Kind, MailError
from postoffice.store import _rules
from postoffice.store.api import (
    Account,
    Alias,
    Changes,
    Content,
    Credentials,
    Delivery,
    FlagSnapshot,
    FlagUpdate,
    FlagUpdateResult,
    Mailbox,
    MailboxSpec,
    MessageRecord,
    NewContent,
    NewDelivery,
    NewMessage,
    SearchText,
    StoreTotals,
)

__all__ = ["MemoryStore", "MemoryBlobStore", "MemoryBlobWriter"]


class MemoryBlobWriter:
    def __init__(self, store: MemoryBlobStore) -> None:
        self._store = store
        self._buf = bytearray()
        self._done = False

    def write(self, data: bytes) -> None:
        if self._done:
            raise ValueError("blob writer is closed")
        self._buf += data

    def finish(self) -> str:
        if self._done:
            raise ValueError("blob writer is closed")
        self._done = True
        data = bytes(self._buf)
        blob_id = hashlib.sha256(data).hexdigest()
        store = self._store
        with store.lock:  # exclusive with collect: written or found, the blob is fresh
            store.blobs.setdefault(blob_id, data)
            store.fresh[blob_id] = store.time()
        return blob_id

    def abort(self) -> None:
        self._done = True
        self._buf.clear()


class MemoryBlobStore:
    """``time`` (seconds) is when a blob is written or found again; tests inject it."""

    def __init__(self, time: Callable[[], float] = time.time) -> None:
        self.blobs: dict[str, bytes] = {}
        self.fresh: dict[str, float] = {}  # blob id -> last time written or found by a writer
        self.time = time
        self.lock = threading.Lock()
        self.bytes_read = 0

    def writer(self) -> MemoryBlobWriter:
        return MemoryBlobWriter(self)

    def put(self, data: bytes) -> str:
        w = self.writer()
        w.write(data)
        return w.finish()

    def _get(self, blob_id: str) -> bytes:
        try:
            return self.blobs[blob_id]
        except KeyError:
            raise MailError(Kind.NOT_FOUND, "no such blob")

    def exists(self, blob_id: str) -> bool:
        return blob_id in self.blobs

    def size(self, blob_id: str) -> int:
        return len(self._get(blob_id))

    def read(self, blob_id: str, offset: int = 0, length: int | None = None) -> bytes:
        if offset < 0 or (length is not None and length < 0):
            raise MailError(Kind.INVALID, "negative offset or length")
        data = self._get(blob_id)
        out = data[offset:] if length is None else data[offset : offset + length]
        self.bytes_read += len(out)
        return out

    def open(self, blob_id: str) -> BinaryIO:
        return io.BytesIO(self._get(blob_id))

    def delete(self, blob_id: str) -> None:
        with self.lock:
            self.blobs.pop(blob_id, None)
            self.fresh.pop(blob_id, None)

    def total_size(self) -> int:
        return sum(len(b) for b in self.blobs.values())

    def list_ids(self) -> list[str]:
        with self.lock:
            return list(self.blobs)

    def collect(self, blob_id: str, grace: float) -> bool:
        with self.lock:
            if blob_id not in self.blobs or self.time() - self.fresh.get(blob_id, 0.0) < grace:
                return False
            del self.blobs[blob_id]
            self.fresh.pop(blob_id, None)
            return True


@dataclass
class _Box:
    mailbox: Mailbox
    messages: dict[int, MessageRecord] = field(default_factory=dict)  # uid -> record, insertion = UID order
    expunged: dict[int, int] = field(default_factory=dict)  # uid -> modseq
    recent_uid: int = 0  # RFC 3501 \Recent: highest UID already announced as recent


_FIELD_TEXT: dict[str, tuple[str, ...]] = {
    "from": ("from_",),
    "to": ("to",),
    "cc": ("cc",),
    "bcc": ("bcc",),
    "subject": ("subject",),
    "headers": ("headers",),
    "body": ("body",),
    "text": ("headers", "body"),  # RFC 9051 §6.4.4 TEXT: header or body
}


class MemoryStore:
    """Store in dicts. ``clock`` drives account creation times, UIDVALIDITY and lock expiry."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self._ids = itertools.count(1)
        self._domains: set[str] = set()
        self._accounts: dict[int, Account] = {}
        self._credentials: dict[int, Credentials] = {}
        self._quotas: dict[int, int] = {}  # per-account storage quota overrides (RFC 9208)
        self._metadata: dict[tuple[int, int | None], dict[str, bytes]] = {}  # RFC 5464 annotations
        self._aliases: set[tuple[str, str]] = set()
        self._boxes: dict[int, _Box] = {}
        self._subscriptions: dict[int, set[str]] = {}
        self._contents: dict[int, Content] = {}
        self._search: dict[int, SearchText] = {}
        self.thread_keys: dict[int, str] = {}  # content id → NewContent.thread_keys (read by memory_web)
        self._search_version = 1  # the text extraction that made _search, but _stale
        self._stale: set[int] = set()
        self._by_sha: dict[str, int] = {}
        self._locks: dict[str, tuple[str, float]] = {}
        self._deliveries: dict[int, Delivery] = {}
        self._submissions: dict[int, list[float]] = {}
        self._last_uidvalidity = 0

    async def close(self) -> None:
        return None

    # ---- domains ----------------------------------------------------------------------
    async def add_domain(self, name: str) -> None:
        name = name.lower()
        if name in self._domains:
            raise MailError(Kind.EXISTS, "domain exists")
        self._domains.add(name)

    async def list_domains(self) -> list[str]:
        return sorted(self._domains)

    # ---- accounts -----------------------------------------------------------------------
    async def add_account(
        self, address: str, credentials: Credentials, mailboxes: Sequence[MailboxSpec] = ()
    ) -> Account:
        address = address.lower()
        if any(a.address == address for a in self._accounts.values()):
            raise MailError(Kind.EXISTS, "account exists")
        names = [_rules.mailbox_name(m.name) for m in mailboxes]
        if len(set(names)) != len(names):  # checked before anything is created
            raise MailError(Kind.EXISTS, "mailbox exists")
        account = Account(next(self._ids), address, self.clock.now())
        self._accounts[account.id] = account
        self._credentials[account.id] = credentials
        for name, spec in zip(names, mailboxes, strict=True):
            self._create(account.id, name, spec.special_use)
            if spec.subscribed:
                self._subscriptions.setdefault(account.id, set()).add(name)
        return account

    async def get_account(self, address: str) -> Account | None:
        address = address.lower()
        return next((a for a in self._accounts.values() if a.address == address), None)

    async def get_account_by_id(self, account_id: int) -> Account | None:
        return self._accounts.get(account_id)

    async def list_accounts(self) -> list[Account]:
        return sorted(self._accounts.values(), key=lambda a: a.address)

    async def delete_account(self, account_id: int) -> None:
        if self._accounts.pop(account_id, None) is None:
            raise MailError(Kind.NOT_FOUND, "no such account")
        self._credentials.pop(account_id, None)
        self._quotas.pop(account_id, None)
        for key in [k for k in self._metadata if k[0] == account_id]:
            del self._metadata[key]
        self._subscriptions.pop(account_id, None)
        self._submissions.pop(account_id, None)
        for box_id in [b for b, box in self._boxes.items() if box.mailbox.account_id == account_id]:
            del self._boxes[box_id]
        for did, d in list(self._deliveries.items()):
            if any(a == account_id for a, _, _ in d.mailboxes):
                self._deliveries[did] = replace(d, mailboxes=tuple(t for t in d.mailboxes if t[0] != account_id))

    async def get_credentials(self, account_id: int) -> Credentials | None:
        return self._credentials.get(account_id)

    async def set_credentials(self, account_id: int, credentials: Credentials) -> None:
        if account_id not in self._accounts:
            raise MailError(Kind.NOT_FOUND, "no such account")
        self._credentials[account_id] = credentials

    # ---- quota (store/quota.py, RFC 9208) ----------------------------------------------
    async def get_storage_quota(self, account_id: int) -> int | None:
        return self._quotas.get(account_id)

    async def set_storage_quota(self, account_id: int, storage: int | None) -> None:
        if account_id not in self._accounts:
            raise MailError(Kind.NOT_FOUND, "no such account")
        if storage is None:
            self._quotas.pop(account_id, None)
        else:
            self._quotas[account_id] = storage

    # ---- metadata (store/metadata.py, RFC 5464) ----------------------------------------
    async def get_metadata(self, account_id: int, mailbox_id: int | None) -> dict[str, bytes]:
        return dict(self._metadata.get((account_id, mailbox_id), {}))

    async def set_metadata(
        self, account_id: int, mailbox_id: int | None, changes: Mapping[str, bytes | None], max_entries: int
    ) -> bool:
        if mailbox_id is not None:
            if self._box(mailbox_id).mailbox.account_id != account_id:
                raise MailError(Kind.NOT_FOUND, "no such mailbox")
        elif account_id not in self._accounts:
            raise MailError(Kind.NOT_FOUND, "no such account")
        entries = dict(self._metadata.get((account_id, mailbox_id), {}))
        for entry, value in changes.items():
            if value is None:
                entries.pop(entry, None)
            else:
                entries[entry] = value
        if len(entries) > max_entries:
            return False
        self._metadata[(account_id, mailbox_id)] = entries
        return True

    # ---- aliases ------------------------------------------------------------------------
    async def add_alias(self, address: str, target: str) -> None:
        key = (address.lower(), target.lower())
        if key in self._aliases:
            raise MailError(Kind.EXISTS, "alias exists")
        self._aliases.add(key)

    async def delete_alias(self, address: str, target: str | None = None) -> None:
        address = address.lower()
        gone = {a for a in self._aliases if a[0] == address and (target is None or a[1] == target.lower())}
        if not gone:
            raise MailError(Kind.NOT_FOUND, "no such alias")
        self._aliases -= gone

    async def list_aliases(self) -> list[Alias]:
        return [Alias(a, t) for a, t in sorted(self._aliases)]

    async def get_alias_targets(self, address: str) -> list[str]:
        address = address.lower()
        return sorted(t for a, t in self._aliases if a == address)

    # ---- mailboxes ------------------------------------------------------------------------
    def _box(self, mailbox_id: int) -> _Box:
        box = self._boxes.get(mailbox_id)
        if box is None:
            raise MailError(Kind.NOT_FOUND, "no such mailbox")
        return box

    def _find(self, account_id: int, name: str) -> _Box | None:
        return next(
            (b for b in self._boxes.values() if b.mailbox.account_id == account_id and b.mailbox.name == name), None
        )

    async def create_mailbox(self, account_id: int, name: str, special_use: str | None = None) -> Mailbox:
        name = _rules.mailbox_name(name)
        if account_id not in self._accounts:
            raise MailError(Kind.NOT_FOUND, "no such account")
        if self._find(account_id, name) is not None:
            raise MailError(Kind.EXISTS, "mailbox exists")
        return self._create(account_id, name, special_use)

    def _create(self, account_id: int, name: str, special_use: str | None) -> Mailbox:
        self._last_uidvalidity = _rules.next_uidvalidity(self.clock.now(), self._last_uidvalidity)
        mb = Mailbox(next(self._ids), account_id, name, self._last_uidvalidity, 1, 1, special_use)
        self._boxes[mb.id] = _Box(mb)
        return mb

    async def get_mailbox(self, account_id: int, name: str) -> Mailbox | None:
        box = self._find(account_id, _rules.mailbox_name(name))
        return None if box is None else box.mailbox

    async def get_mailbox_by_id(self, mailbox_id: int) -> Mailbox | None:
        box = self._boxes.get(mailbox_id)
        return None if box is None else box.mailbox

    async def list_mailboxes(self, account_id: int) -> list[Mailbox]:
        return sorted((b.mailbox for b in self._boxes.values() if b.mailbox.account_id == account_id), key=lambda m: m.name)

    async def rename_mailbox(self, mailbox_id: int, new_name: str) -> Mailbox:
        new_name = _rules.mailbox_name(new_name)
        box = self._box(mailbox_id)
        account_id = box.mailbox.account_id
        boxes = {b.mailbox.name: b for b in self._boxes.values() if b.mailbox.account_id == account_id}
        renames = _rules.renamed_names(box.mailbox.name, new_name, set(boxes))  # raises before any change
        for parent in _rules.missing_parents(new_name, set(boxes)):
            self._create(account_id, parent, None)
        if box.mailbox.name == "INBOX":  # RFC 9051 §6.3.6: the messages move to a new mailbox
            moved_to = self._create(account_id, new_name, None)
            await self._copy(mailbox_id, list(box.messages), moved_to.id, True, None)
            return self._boxes[moved_to.id].mailbox
        subs = self._subscriptions.setdefault(account_id, set())
        for name, target in renames:
            b = boxes[name]
            b.mailbox = replace(b.mailbox, name=target)
            if name in subs:  # subscriptions follow the renamed names (RFC 9051 §6.3.6 leaves it open)
                subs.discard(name)
                subs.add(target)
        return box.mailbox

    async def delete_mailbox(self, mailbox_id: int) -> None:
        box = self._box(mailbox_id)
        del self._boxes[mailbox_id]
        self._metadata.pop((box.mailbox.account_id, mailbox_id), None)

    async def set_uidvalidity(self, mailbox_id: int, uidvalidity: int, uidnext: int) -> Mailbox:
        box = self._box(mailbox_id)
        box.mailbox = replace(box.mailbox, uidvalidity=uidvalidity, uidnext=max(box.mailbox.uidnext, uidnext))
        self._last_uidvalidity = max(self._last_uidvalidity, uidvalidity)
        return box.mailbox

    async def set_subscribed(self, account_id: int, name: str, subscribed: bool) -> None:
        name = _rules.mailbox_name(name)
        subs = self._subscriptions.setdefault(account_id, set())
        if subscribed:
            subs.add(name)
        else:
            subs.discard(name)

    async def list_subscriptions(self, account_id: int) -> list[str]:
        return sorted(self._subscriptions.get(account_id, ()))

    # ---- messages -----------------------------------------------------------------------------
    def _bump(self, box: _Box, **deltas: int) -> int:
        """Next MODSEQ of the mailbox, applying counter deltas; returns the new HIGHESTMODSEQ."""
        mb = box.mailbox
        modseq = mb.highest_modseq + 1
        box.mailbox = replace(
            mb,
            highest_modseq=modseq,
            uidnext=mb.uidnext + deltas.get("uids", 0),
            messages=mb.messages + deltas.get("messages", 0),
            unseen=mb.unseen + deltas.get("unseen", 0),
            deleted=mb.deleted + deltas.get("deleted", 0),
            size=mb.size + deltas.get("size", 0),
        )
        return modseq

    def _add(
        self, box: _Box, content_id: int, size: int, flags: frozenset[str], date: float, tz: int, uid: int | None
    ) -> MessageRecord:
        unseen, deleted = _rules.flag_counters(flags)
        if uid is None:
            uid = box.mailbox.uidnext
            modseq = self._bump(box, uids=1, messages=1, unseen=unseen, deleted=deleted, size=size)
        else:  # import keeps its UIDs; never one used before in this mailbox
            modseq = self._bump(box, messages=1, unseen=unseen, deleted=deleted, size=size)
            box.mailbox = replace(box.mailbox, uidnext=max(box.mailbox.uidnext, uid + 1))
        rec = MessageRecord(box.mailbox.id, uid, content_id, flags, modseq, date, tz, size, self.clock.now())
        box.messages[uid] = rec
        return rec

    async def insert_messages(
        self, content: NewContent, targets: Sequence[NewMessage], delivery: NewDelivery | None = None
    ) -> list[MessageRecord]:
        boxes = [self._box(t.mailbox_id) for t in targets]  # check all before changing any
        wanted = [(t.mailbox_id, t.uid) for t in targets if t.uid is not None]
        for box, t in zip(boxes, targets, strict=True):
            if t.uid is not None and (
                t.uid < 1 or t.uid in box.messages or t.uid in box.expunged or wanted.count((t.mailbox_id, t.uid)) > 1
            ):
                raise MailError(Kind.EXISTS, "UID already used")
        content_id = self._by_sha.get(content.sha256)
        if content_id is None:
            content_id = next(self._ids)
            self._contents[content_id] = Content(
                content_id, content.sha256, content.size, content.layout, tuple(content.blob_ids),
                content.envelope, content.bodystructure, content.preview, content.subject, content.from_,
                content.to, content.date, content.message_id, content.extra,
            )  # fmt: skip
            self._search[content_id] = content.search
            if content.thread_keys is not None:
                self.thread_keys[content_id] = content.thread_keys
            self._by_sha[content.sha256] = content_id
        size = self._contents[content_id].size
        records = [
            self._add(box, content_id, size, _rules.canonical_flags(t.flags), t.internaldate, t.internaldate_tz, t.uid)
            for box, t in zip(boxes, targets, strict=True)
        ]
        if delivery is not None:
            did = next(self._ids)
            where = tuple(
                sorted((box.mailbox.account_id, r.mailbox_id, r.uid) for box, r in zip(boxes, records, strict=True))
            )
            self._deliveries[did] = Delivery(did, content_id, delivery, where)
        return records

    async def deliveries_of_content(self, content_id: int) -> list[Delivery]:
        return [d for _, d in sorted(self._deliveries.items()) if d.content_id == content_id]

    async def deliveries_of_account(self, account_id: int, *, since: float = 0.0) -> list[Delivery]:
        return [
            d
            for _, d in sorted(self._deliveries.items())
            if d.envelope.received >= since and any(a == account_id for a, _, _ in d.mailboxes)
        ]

    async def mark_search_text_stale(self, version: int) -> int:
        if self._search_version < version:
            self._stale = set(self._search)
            self._search_version = version
        return len(self._stale)

    async def stale_search_texts(self, limit: int) -> list[int]:
        return sorted(self._stale)[:limit]

    async def replace_search_text(self, content_id: int, text: SearchText | None) -> None:
        self._stale.discard(content_id)
        if text is not None and content_id in self._search:
            self._search[content_id] = text

    async def collect_contents(self, limit: int = 1000) -> tuple[int, bool]:
        referenced = {r.content_id for box in self._boxes.values() for r in box.messages.values()}
        unreferenced = [cid for cid in self._contents if cid not in referenced]
        for cid in unreferenced[:limit]:
            content = self._contents.pop(cid)
            self._search.pop(cid, None)
            self.thread_keys.pop(cid, None)
            self._stale.discard(cid)
            self._by_sha.pop(content.sha256, None)
            for did in [d for d, rec in self._deliveries.items() if rec.content_id == cid]:
                del self._deliveries[did]
        return min(limit, len(unreferenced)), len(unreferenced) > limit

    async def list_messages(self, mailbox_id: int) -> list[MessageRecord]:
        return sorted(self._box(mailbox_id).messages.values(), key=lambda r: r.uid)

    async def list_flags(self, mailbox_id: int) -> FlagSnapshot:
        records = sorted(self._box(mailbox_id).messages.values(), key=lambda r: r.uid)
        return FlagSnapshot([m.uid for m in records], [m.flags for m in records], [m.modseq for m in records])

    async def get_messages(self, mailbox_id: int, uids: Sequence[int]) -> list[MessageRecord]:
        msgs = self._box(mailbox_id).messages
        return [msgs[u] for u in sorted(set(uids)) if u in msgs]

    async def get_content(self, content_id: int) -> Content:
        try:
            return self._contents[content_id]
        except KeyError:
            raise MailError(Kind.NOT_FOUND, "no such content")

    async def get_contents(self, content_ids: Sequence[int]) -> dict[int, Content]:
        return {cid: self._contents[cid] for cid in content_ids if cid in self._contents}

    async def claim_recent(self, mailbox_id: int, *, claim: bool = True) -> int:
        box = self._box(mailbox_id)
        previous = box.recent_uid
        if claim:
            box.recent_uid = max(previous, box.mailbox.uidnext - 1)
        return previous

    async def find_content(self, sha256: str) -> Content | None:
        cid = self._by_sha.get(sha256)
        return None if cid is None else self._contents[cid]

    async def update_flags(self, mailbox_id: int, uids: Sequence[int], update: FlagUpdate) -> FlagUpdateResult:
        box = self._box(mailbox_id)
        failed: list[int] = []
        changes: list[tuple[MessageRecord, frozenset[str]]] = []
        for rec in await self.get_messages(mailbox_id, uids):
            # RFC 7162 §3.1.3: UNCHANGEDSINCE fails messages modified after it.
            if update.unchangedsince is not None and rec.modseq > update.unchangedsince:
                failed.append(rec.uid)
                continue
            new = _rules.apply_flag_update(rec.flags, update)
            if new != rec.flags:
                changes.append((rec, new))
        if not changes:
            return FlagUpdateResult((), tuple(failed), box.mailbox.highest_modseq)
        unseen = deleted = 0
        for rec, new in changes:
            u0, d0 = _rules.flag_counters(rec.flags)
            u1, d1 = _rules.flag_counters(new)
            unseen += u1 - u0
            deleted += d1 - d0
        modseq = self._bump(box, unseen=unseen, deleted=deleted)
        updated = []
        for rec, new in changes:
            box.messages[rec.uid] = r = replace(rec, flags=new, modseq=modseq)
            updated.append(r)
        return FlagUpdateResult(tuple(updated), tuple(failed), modseq)

    def _remove(self, box: _Box, uids: Sequence[int]) -> int:
        gone = [box.messages[u] for u in sorted(set(uids)) if u in box.messages]
        if not gone:
            return box.mailbox.highest_modseq
        unseen = sum(_rules.flag_counters(r.flags)[0] for r in gone)
        deleted = sum(_rules.flag_counters(r.flags)[1] for r in gone)
        modseq = self._bump(
            box, messages=-len(gone), unseen=-unseen, deleted=-deleted, size=-sum(r.size for r in gone)
        )
        for r in gone:
            del box.messages[r.uid]
            box.expunged[r.uid] = modseq
        return modseq

    async def expunge(self, mailbox_id: int, uids: Sequence[int]) -> int:
        return self._remove(self._box(mailbox_id), uids)

    async def copy_messages(
        self, src_mailbox_id: int, uids: Sequence[int], dest_mailbox_id: int, *, move: bool = False
    ) -> list[tuple[int, int]]:
        return await self._copy(src_mailbox_id, uids, dest_mailbox_id, move, self.clock.now())

    async def _copy(
        self, src_mailbox_id: int, uids: Sequence[int], dest_mailbox_id: int, move: bool, saved: float | None
    ) -> list[tuple[int, int]]:
        """``saved``: the copies' save date (RFC 8514), None to keep each record's own."""
        src, dest = self._box(src_mailbox_id), self._box(dest_mailbox_id)
        records = await self.get_messages(src_mailbox_id, uids)
        if not records:
            return []
        pairs: list[tuple[int, int]] = []
        first_uid = dest.mailbox.uidnext
        unseen = sum(_rules.flag_counters(r.flags)[0] for r in records)
        deleted = sum(_rules.flag_counters(r.flags)[1] for r in records)
        modseq = self._bump(
            dest, uids=len(records), messages=len(records), unseen=unseen, deleted=deleted,
            size=sum(r.size for r in records),
        )  # fmt: skip
        for i, r in enumerate(records):
            new_uid = first_uid + i
            savedate = r.savedate if saved is None else saved
            dest.messages[new_uid] = replace(r, mailbox_id=dest_mailbox_id, uid=new_uid, modseq=modseq, savedate=savedate)
            pairs.append((r.uid, new_uid))
        if move:
            self._remove(src, [r.uid for r in records])
        return pairs

    async def changes_since(self, mailbox_id: int, modseq: int) -> Changes:
        box = self._box(mailbox_id)
        changed = tuple(sorted((r for r in box.messages.values() if r.modseq > modseq), key=lambda r: r.uid))
        expunged = tuple(sorted(u for u, m in box.expunged.items() if m > modseq))
        return Changes(changed, expunged, box.mailbox.highest_modseq)

    async def search_text(
        self,
        mailbox_id: int,
        query: str,
        field: Literal["text", "body", "subject", "from", "to", "cc", "bcc", "headers"],
    ) -> set[int]:
        if field not in _FIELD_TEXT:
            raise MailError(Kind.INVALID, "unknown search field")
        names = _FIELD_TEXT[field]
        needle = query.lower()
        out: set[int] = set()
        for r in self._box(mailbox_id).messages.values():
            text = self._search[r.content_id]
            if any(needle in str(getattr(text, n)).lower() for n in names):
                out.add(r.uid)
        return out

    async def store_totals(self) -> StoreTotals:
        # Computed here (the in-memory backend is for small tests); SQLite keeps them.
        records = [r for box in self._boxes.values() for r in box.messages.values()]
        held = {r.content_id for r in records}
        return StoreTotals(
            len(records), sum(r.size for r in records), len(held), sum(self._contents[c].size for c in held)
        )

    async def list_blob_ids(self) -> set[str]:
        return {b for c in self._contents.values() for b in c.blob_ids}

    # ---- locks ---------------------------------------------------------------------------------
    async def acquire_lock(self, name: str, holder: str, ttl: float) -> bool:
        now = self.clock.now()
        held = self._locks.get(name)
        if held is not None and held[0] != holder and held[1] > now:
            return False
        self._locks[name] = (holder, now + ttl)
        return True

    async def release_lock(self, name: str, holder: str) -> None:
        held = self._locks.get(name)
        if held is not None and held[0] == holder:
            del self._locks[name]

    # ---- submission rate -----------------------------------------------------------------------
    async def count_submissions(self, account_id: int, since: float) -> int:
        return sum(1 for at in self._submissions.get(account_id, ()) if at >= since)

    async def record_submission(self, account_id: int, at: float, forget_before: float) -> None:
        kept = [t for t in self._submissions.get(account_id, ()) if t >= forget_before]
        self._submissions[account_id] = [*kept, at]

if TYPE_CHECKING:  # mypy proves that the backend plays every role (static conformance)
    from postoffice.store.api import (
        BlobStore,
        ContentStore,
        DirectoryStore,
        LockStore,
        MailboxStore,
        MessageStore,
        Store,
    )

    def _roles(s: MemoryStore) -> tuple[DirectoryStore, MailboxStore, MessageStore, ContentStore, LockStore, Store]:
        return (s, s, s, s, s, s)

    def _blob_store(b: MemoryBlobStore) -> BlobStore:
        return b
