"""Import of Maildir / Maildir++ trees and mbox files, and export to Maildir++.

``import_path`` puts every message through the one ingestion pipeline (DESIGN.md §4)
in batches of ``BATCH`` messages: a batch is ingested with several messages in flight
and its blobs written unsynced (``FileBlobStore.batch()``); then ONE sync makes every
blob of the batch durable, and only then are its rows inserted, concurrently, so the
store's group commit writes them in a few transactions. The next batch is ingested
while the previous one commits. So no row ever points at a blob that is not durable,
and a crash mid-import loses only messages not yet reported imported (a re-run
imports them; orphan blobs cost space, never correctness); ``export_account`` writes a Maildir++ tree
that ``import_path`` reads back with the same flags, keywords and UIDs.

Invariants:
- Re-importing the same source adds nothing: a message whose stored (CRLF) bytes have
  the SHA-256 of a message already in the target mailbox is skipped.
- UIDs and UIDVALIDITY of a ``dovecot-uidlist`` are kept when the target mailbox is
  empty (or already has that UIDVALIDITY), so IMAP clients keep their caches
  (RFC 9051 §2.3.1.1); otherwise messages get new UIDs as for any delivery. During a
  UID-keeping import the mailbox's UIDs may appear out of order to a client that has
  it selected; import into a mailbox nobody uses.
- Export writes LF line ends (Maildir convention); import converts back to CRLF.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, cast

from postoffice.errors import Kind, MailError
from postoffice.mail import maildir
from postoffice.mail.ingest import ingest_bytes
from postoffice.mail.mbox import is_mbox, read_mbox
from postoffice.mail.service import MailService
from postoffice.store.api import Account, BlobStore, Mailbox, MessageRecord, NewContent

__all__ = ["ImportResult", "ExportResult", "Progress", "import_path", "export_account"]

MAX_KEYWORDS = len(maildir.KEYWORD_LETTERS)
BATCH = 200  # messages whose blobs are made durable by one sync


class Progress(Protocol):
    """Where progress goes (the CLI draws a bar); totals may be unknown (mbox)."""

    def add_total(self, n: int) -> None: ...
    def advance(self, n: int = 1) -> None: ...


class _NoProgress:
    def add_total(self, n: int) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass


@dataclass
class ImportResult:
    imported: int = 0
    skipped: int = 0  # already present (same bytes in the same mailbox)
    failed: int = 0
    kept_uids: int = 0  # imported messages that kept their dovecot-uidlist UID
    mailboxes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # "path: reason", one per failure


@dataclass
class ExportResult:
    messages: int = 0
    mailboxes: int = 0
    dropped_keywords: set[str] = field(default_factory=set)  # past the 26 Maildir can name


@dataclass(frozen=True, slots=True)
class _Item:
    box: Mailbox
    label: str  # for error messages
    load: Callable[[], bytes]  # blocking: runs in a thread
    flags: frozenset[str]
    internaldate: float | None
    uid: int | None


@dataclass
class _Target:
    """What the import knows about one target mailbox."""

    box: Mailbox
    shas: set[str]
    used_uids: set[int]
    keep_uids: bool


def _prepare(load: Callable[[], bytes]) -> tuple[bytes, str]:
    data = maildir.to_crlf(load())
    return data, hashlib.sha256(data).hexdigest()


async def _account(mail: MailService, address: str) -> Account:
    account = await mail.get_account(address)
    if account is None:
        raise MailError(Kind.NOT_FOUND, f"no such user {address!r}")
    return account


async def _mailbox(mail: MailService, account: Account, name: str) -> Mailbox:
    try:
        return await mail.get_mailbox(account, name)
    except MailError as exc:
        if exc.kind is not Kind.NOT_FOUND:
            raise
    return await mail.create_mailbox(account, name)


async def _target(mail: MailService, box: Mailbox, uidlist: maildir.UidList | None) -> _Target:
    records = await mail.store.list_messages(box.id)
    content_ids = sorted({r.content_id for r in records})
    shas: set[str] = set()
    for i in range(0, len(content_ids), 256):
        contents = await asyncio.gather(*(mail.store.get_content(c) for c in content_ids[i : i + 256]))
        shas.update(c.sha256 for c in contents)
    used = {r.uid for r in records}
    keep = False
    if uidlist is not None and hasattr(mail.store, "set_uidvalidity"):
        if not records and box.uidvalidity != uidlist.uidvalidity:
            uidnext = max([uidlist.uidnext, *(u + 1 for u in uidlist.uids.values())])
            box = await mail.store.set_uidvalidity(box.id, uidlist.uidvalidity, uidnext)
            keep = True
        elif box.uidvalidity == uidlist.uidvalidity:
            keep = True
    return _Target(box, shas, used, keep)


async def import_path(
    mail: MailService,
    address: str,
    path: Path,
    *,
    concurrency: int = 2,
    batch_size: int = BATCH,
    progress: Progress | None = None,
) -> ImportResult:
    """Import a Maildir, Maildir++ tree, tree of Maildirs or mbox file into an account.

    ``concurrency`` worker threads ingest each batch (small messages are CPU-bound:
    more threads than cores only fight over the GIL)."""
    account = await _account(mail, address)
    progress = progress or _NoProgress()
    result = ImportResult()
    targets: dict[int, _Target] = {}
    committing: asyncio.Task[None] | None = None
    items: list[_Item] = []

    async def flush() -> None:
        nonlocal committing, items
        todo, items = items, []
        batch = _blob_batch(mail)
        ready = await _prepare_batch(mail, todo, targets, batch, concurrency, result, progress)
        if committing is not None:
            await committing
        committing = asyncio.create_task(_commit(mail, batch, ready, targets, result, progress))

    try:
        async for item in _items(mail, account, path, targets, result, progress):
            items.append(item)
            if len(items) >= batch_size:
                await flush()
        if items:
            await flush()
    finally:
        if committing is not None:
            await committing
    return result


@dataclass(frozen=True, slots=True)
class _Prepared:
    item: _Item
    content: NewContent
    flags: frozenset[str]
    uid: int | None


class _Batch(Protocol):
    def sync(self) -> None: ...


def _blob_batch(mail: MailService) -> BlobStore | None:
    """A batch view of the blob store when it has one (FileBlobStore), else None."""
    make = getattr(mail.blobs, "batch", None)
    return make() if make is not None else None  # type: ignore[no-any-return]


def _prepare_slice(
    mail: MailService, items: list[_Item], targets: dict[int, _Target], batch: BlobStore | None, lock: threading.Lock
) -> list[_Prepared | str | None]:
    """Blocking: read, dedupe and ingest messages one after the other into ``batch``.
    Per item: _Prepared, None (skipped: already present) or an error text."""
    blobs = batch if batch is not None else mail.blobs
    max_size = mail.config.limits.imap.max_literal_size
    out: list[_Prepared | str | None] = []
    for item in items:
        target = targets[item.box.id]
        try:
            data, sha = _prepare(item.load)
        except OSError as exc:
            out.append(f"{item.label}: {exc.strerror or exc}")
            continue
        with lock:
            if sha in target.shas:
                out.append(None)
                continue
            target.shas.add(sha)
        try:
            content = ingest_bytes(data, blobs, mail.config.limits.message, mail.config.spool_dir, max_size=max_size).content
        except MailError as exc:
            out.append(f"{item.label}: {exc}")
            continue
        with lock:
            if content.sha256 != sha:
                # The pipeline normalised differently from to_crlf: dedupe on its digest too.
                if content.sha256 in target.shas:
                    out.append(None)
                    continue
                target.shas.add(content.sha256)
            uid = item.uid if target.keep_uids and item.uid is not None and item.uid not in target.used_uids else None
            if uid is not None:
                target.used_uids.add(uid)
        flags = frozenset(f for f in item.flags if f.lower() != "\\recent")
        out.append(_Prepared(item, content, flags, uid))
    return out


async def _prepare_batch(
    mail: MailService,
    items: list[_Item],
    targets: dict[int, _Target],
    batch: BlobStore | None,
    concurrency: int,
    result: ImportResult,
    progress: Progress,
) -> list[_Prepared]:
    """Ingest ``items`` in ``concurrency`` worker threads, each taking a slice in turn."""
    lock = threading.Lock()
    n = max(1, min(concurrency, len(items)))
    slices = await asyncio.gather(*(asyncio.to_thread(_prepare_slice, mail, items[i::n], targets, batch, lock) for i in range(n)))
    ready: list[_Prepared] = []
    for outcomes in slices:
        for outcome in outcomes:
            if isinstance(outcome, _Prepared):
                ready.append(outcome)
                continue
            if outcome is None:
                result.skipped += 1
            else:
                result.failed += 1
                result.errors.append(outcome)
            progress.advance()
    position = {id(item): n for n, item in enumerate(items)}
    ready.sort(key=lambda p: position[id(p.item)])  # new UIDs in source order
    return ready


async def _commit(
    mail: MailService,
    batch: BlobStore | None,
    prepared: list[_Prepared],
    targets: dict[int, _Target],
    result: ImportResult,
    progress: Progress,
) -> None:
    """Make the batch's blobs durable, THEN insert its rows (DESIGN.md §3)."""
    if batch is not None and prepared:
        await asyncio.to_thread(cast(_Batch, batch).sync)
    await asyncio.gather(*(_insert_one(mail, p, targets[p.item.box.id], result, progress) for p in prepared))


async def _insert_one(mail: MailService, p: _Prepared, target: _Target, result: ImportResult, progress: Progress) -> None:
    try:
        try:
            await mail.import_message(p.content, target.box, flags=p.flags, internaldate=p.item.internaldate, uid=p.uid)
            kept = p.uid is not None
        except MailError as exc:
            if p.uid is None or exc.kind is not Kind.EXISTS:
                raise
            # That UID was used before (expunged since): RFC 9051 §2.3.1.1 forbids reuse.
            await mail.import_message(p.content, target.box, flags=p.flags, internaldate=p.item.internaldate)
            kept = False
    except MailError as exc:
        result.failed += 1
        result.errors.append(f"{p.item.label}: {exc}")
    else:
        result.imported += 1
        result.kept_uids += kept
    finally:
        progress.advance()


async def _items(
    mail: MailService,
    account: Account,
    path: Path,
    targets: dict[int, _Target],
    result: ImportResult,
    progress: Progress,
) -> AsyncIterator[_Item]:
    if not await asyncio.to_thread(path.exists):
        raise MailError(Kind.NOT_FOUND, f"{path}: no such file or directory")
    if await asyncio.to_thread(path.is_file):
        if not await asyncio.to_thread(is_mbox, path):
            raise MailError(Kind.INVALID, f"{path}: not an mbox file (no From_ line at the start)")
        box = await _mailbox(mail, account, "INBOX")
        targets[box.id] = await _target(mail, box, None)
        result.mailboxes.append("INBOX")
        async for item in _mbox_items(targets[box.id].box, path, progress):
            yield item
        return
    folders = await asyncio.to_thread(maildir.find_folders, path)
    if not folders:
        raise MailError(Kind.INVALID, f"{path}: neither a Maildir (cur/new/tmp) nor a tree of Maildirs")
    for folder in folders:
        keywords, uidlist, messages = await asyncio.to_thread(_scan, folder.path)
        try:
            box = await _mailbox(mail, account, folder.name)
        except MailError as exc:
            result.failed += len(messages)
            result.errors.append(f"{folder.path}: {exc}")
            continue
        target = await _target(mail, box, uidlist)
        targets[target.box.id] = target
        result.mailboxes.append(target.box.name)
        progress.add_total(len(messages))
        for m in messages:
            uid = uidlist.uids.get(m.base) if uidlist is not None else None
            yield _Item(target.box, str(m.path), m.path.read_bytes, m.flags, m.mtime, uid)
    subscriptions = path / "subscriptions"
    if subscriptions.is_file():
        for line in subscriptions.read_text("utf-8", errors="replace").splitlines():
            # Ours and Dovecot's v1: "."-separated mUTF-7; Dovecot's v2: "V\t2" then tabs.
            if not line.strip() or line.startswith("V\t"):
                continue
            levels = line.strip().split("\t") if "\t" in line else line.strip().split(".")
            name = "/".join(maildir.mutf7_decode(p) for p in levels)
            name = "INBOX" if name.upper() == "INBOX" else name
            if name in result.mailboxes:
                await mail.set_subscribed(account, name, True)


def _scan(folder: Path) -> tuple[list[str], maildir.UidList | None, list[maildir.MaildirMessage]]:
    keywords = maildir.read_keywords(folder)
    return keywords, maildir.read_uidlist(folder), maildir.list_messages(folder, keywords)


async def _mbox_items(box: Mailbox, path: Path, progress: Progress) -> AsyncIterator[_Item]:
    f = await asyncio.to_thread(open, path, "rb")
    try:
        messages = read_mbox(f)
        n = 0
        while (message := await asyncio.to_thread(next, messages, None)) is not None:
            n += 1
            progress.add_total(1)
            yield _Item(box, f"{path} message {n}", _constant(message.data), message.flags, message.internaldate, None)
    finally:
        f.close()


def _constant(data: bytes) -> Callable[[], bytes]:
    return lambda: data


async def export_account(
    mail: MailService,
    address: str,
    directory: Path,
    *,
    concurrency: int = 16,
    progress: Progress | None = None,
) -> ExportResult:
    """Write every mailbox of the account as a Maildir++ tree rooted at ``directory``."""
    account = await _account(mail, address)
    progress = progress or _NoProgress()
    result = ExportResult()
    boxes = await mail.list_mailboxes(account)
    records_of = {box.id: await mail.list_messages(box) for box in boxes}
    for records in records_of.values():
        progress.add_total(len(records))
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    for box in boxes:
        folder = directory / maildir.folder_dirname(box.name)
        await _export_mailbox(mail, box, records_of[box.id], folder, concurrency, progress, result)
    subscribed = await mail.list_subscriptions(account)
    lines = "".join(".".join(maildir.mutf7_encode(p, also=".") for p in name.split("/")) + "\n" for name in subscribed)
    await asyncio.to_thread((directory / "subscriptions").write_text, lines, "utf-8")
    return result


async def _export_mailbox(
    mail: MailService,
    box: Mailbox,
    records: list[MessageRecord],
    folder: Path,
    concurrency: int,
    progress: Progress,
    result: ExportResult,
) -> None:
    await asyncio.to_thread(maildir.ensure_maildir, folder)
    if box.name != "INBOX":
        await asyncio.to_thread((folder / "maildirfolder").touch)
    keywords = sorted({f for r in records for f in r.flags if not f.startswith("\\")})
    result.dropped_keywords.update(keywords[MAX_KEYWORDS:])
    keywords = keywords[:MAX_KEYWORDS]
    letters = {k: maildir.KEYWORD_LETTERS[i] for i, k in enumerate(keywords)}
    uidlist = maildir.UidList(box.uidvalidity, box.uidnext, guid=uuid.uuid4().hex)
    semaphore = asyncio.Semaphore(concurrency)
    hostname = mail.config.hostname

    async def write(n: int, record: MessageRecord) -> None:
        async with semaphore:
            content = await mail.get_content(record.content_id)
            data = maildir.to_lf(await mail.read(content))
            base = maildir.message_filename(record.internaldate, record.uid, n, hostname, len(data), content.size)
            info = maildir.info_from_flags(record.flags, letters)
            await asyncio.to_thread(maildir.write_message, folder, base, info, data, record.internaldate)
            uidlist.uids[base] = record.uid
            progress.advance()

    await asyncio.gather(*(write(n, record) for n, record in enumerate(records, 1)))
    await asyncio.to_thread(maildir.write_keywords, folder, keywords)
    await asyncio.to_thread(maildir.write_uidlist, folder, uidlist)
    result.messages += len(records)
    result.mailboxes += 1
