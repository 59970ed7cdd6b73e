"""Import of Maildir / Maildir++ trees and mbox files, and export to Maildir++.

``import_path`` puts every message through the one ingestion pipeline (docs/architecture.md §5)
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
import functools
import hashlib
import logging
import multiprocessing
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, cast

from postoffice.config import MessageLimits
from postoffice.errors import Kind, MailError
from postoffice.mail import maildir
from postoffice.mail.ingest import ingest_bytes
from postoffice.mail.mbox import is_mbox, read_mbox
from postoffice.mail.service import MailService
from postoffice.message.lineends import to_crlf
from postoffice.store.api import Account, BlobStore, Mailbox, MessageRecord, NewContent

__all__ = ["ImportResult", "ExportResult", "Progress", "import_path", "export_account"]

log = logging.getLogger(__name__)

MAX_KEYWORDS = len(maildir.KEYWORD_LETTERS)
BATCH = 200  # messages whose blobs are made durable by one sync
POOL_MIN = 64  # new small messages in one batch that justify starting worker processes
SMALL = 1024 * 1024  # octets: larger messages are ingested in this process, one at a time


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
    # The pipeline's own normaliser, so this digest is the stored content's sha256.
    data = to_crlf(load())
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
    pool = _Pool(mail, concurrency)

    async def flush() -> None:
        nonlocal committing, items
        todo, items = items, []
        batch = _blob_batch(mail)
        ready = await _prepare_batch(mail, todo, targets, batch, pool, result, progress)
        if committing is not None:
            await committing
        committing = asyncio.create_task(_commit(mail, batch, pool, ready, targets, result, progress))

    try:
        async for item in _items(mail, account, path, targets, result, progress):
            items.append(item)
            if len(items) >= batch_size:
                await flush()
        if items:
            await flush()
    finally:
        try:
            if committing is not None:
                await committing
        finally:
            await asyncio.to_thread(pool.close)
    return result


@dataclass(frozen=True, slots=True)
class _Prepared:
    item: _Item
    content: NewContent
    flags: frozenset[str]
    uid: int | None


@dataclass(frozen=True, slots=True)
class _Loaded:
    """A message read and hashed, not yet a duplicate; ``data`` is None for a big one
    (read again when it is ingested, so a batch never holds many big messages)."""

    item: _Item
    sha: str
    data: bytes | None


class _Batch(Protocol):
    def sync(self) -> None: ...


class _Shared(Protocol):  # a blob store that worker processes write too (FileBlobStore)
    def sync_filesystem(self) -> None: ...


def _blob_batch(mail: MailService) -> BlobStore | None:
    """A batch view of the blob store when it has one (FileBlobStore), else None."""
    make = getattr(mail.blobs, "batch", None)
    return make() if make is not None else None


# ---- worker processes --------------------------------------------------------------------
# Small messages are CPU-bound in Python: parsing and building the part store of one
# takes about a millisecond under the GIL. Past POOL_MIN messages, a pool of worker
# processes ingests them into the blob store (their own handle on the same files,
# batched, unsynced); the importing process makes those blobs durable with one
# syncfs(2) (``sync_filesystem``) before it inserts any row pointing at them.

_worker_blobs: BlobStore | None = None


def _worker_start(opener: Callable[[], BlobStore]) -> None:
    global _worker_blobs
    blobs = opener()
    make = getattr(blobs, "batch", None)
    _worker_blobs = make() if make is not None else blobs


def _worker_ingest(
    datas: list[bytes], limits: MessageLimits, spool_dir: Path, max_size: int | None
) -> list[NewContent | str]:
    """In a worker process: ingest each message; its NewContent, or the error text."""
    assert _worker_blobs is not None, "worker not started"
    return _ingest_here(datas, _worker_blobs, limits, spool_dir, max_size)


class _Pool:
    """Where a batch's messages are ingested: threads of this process, or worker
    processes once the import proved big enough to pay for starting them."""

    def __init__(self, mail: MailService, concurrency: int) -> None:
        self.mail = mail
        self.concurrency = max(1, concurrency)
        opener = getattr(mail.blobs, "opener", None)
        self._opener: Callable[[], BlobStore] | None = opener() if opener is not None else None
        self._executor: ProcessPoolExecutor | None = None

    @property
    def processes(self) -> bool:
        return self._executor is not None

    def grow(self, batch_len: int) -> None:
        if self._executor is None and self._opener is not None and batch_len >= POOL_MIN:
            self._executor = ProcessPoolExecutor(
                self.concurrency, mp_context=multiprocessing.get_context("spawn"),
                initializer=_worker_start, initargs=(self._opener,),
            )  # fmt: skip

    async def ingest(self, datas: list[bytes], blobs: BlobStore) -> list[NewContent | str]:
        """Ingest small messages (in memory): results in order."""
        if not datas:
            return []
        n = min(self.concurrency, len(datas))
        mail = self.mail
        limits, spool, max_size = mail.config.limits.message, mail.config.spool_dir, mail.config.limits.imap.max_literal_size
        slices: list[list[NewContent | str]] | None = None
        if self._executor is not None:
            loop = asyncio.get_running_loop()
            executor = self._executor
            try:
                slices = await asyncio.gather(
                    *(
                        loop.run_in_executor(executor, _worker_ingest, datas[i::n], limits, spool, max_size)
                        for i in range(n)
                    )
                )
            except (BrokenProcessPool, OSError) as exc:
                # A worker died or could not start: finish the import in threads.
                log.warning("import: worker processes failed (%s); going on in threads", exc)
                self._opener = None
                await asyncio.to_thread(self.close)
        if slices is None:
            slices = await asyncio.gather(
                *(asyncio.to_thread(_ingest_here, datas[i::n], blobs, limits, spool, max_size) for i in range(n))
            )
        out: list[NewContent | str] = [""] * len(datas)
        for i, results in enumerate(slices):
            out[i::n] = results
        return out

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown()
            self._executor = None


def _ingest_here(
    datas: list[bytes], blobs: BlobStore, limits: MessageLimits, spool_dir: Path, max_size: int | None
) -> list[NewContent | str]:
    """Blocking: ingest each message into ``blobs``; its NewContent, or the error text."""
    out: list[NewContent | str] = []
    for data in datas:
        try:
            out.append(ingest_bytes(data, blobs, limits, spool_dir, max_size=max_size).content)
        except MailError as exc:
            out.append(str(exc))
    return out


def _load_slice(items: list[_Item], targets: dict[int, _Target], lock: threading.Lock) -> list[_Loaded | str | None]:
    """Blocking: read and hash messages, dropping those already in their mailbox.
    Per item: _Loaded, None (skipped: already present) or an error text."""
    out: list[_Loaded | str | None] = []
    for item in items:
        try:
            data, sha = _prepare(item.load)
        except OSError as exc:
            out.append(f"{item.label}: {exc.strerror or exc}")
            continue
        target = targets[item.box.id]
        with lock:
            if sha in target.shas:
                out.append(None)
                continue
            target.shas.add(sha)
        out.append(_Loaded(item, sha, data if len(data) <= SMALL else None))
    return out


def _ingest_big(loaded: _Loaded, blobs: BlobStore, mail: MailService) -> NewContent | str:
    """Blocking: read a big message again and ingest it in this thread."""
    try:
        data, _ = _prepare(loaded.item.load)
        limits = mail.config.limits
        return ingest_bytes(data, blobs, limits.message, mail.config.spool_dir, max_size=limits.imap.max_literal_size).content
    except OSError as exc:
        return exc.strerror or str(exc)
    except MailError as exc:
        return str(exc)


async def _prepare_batch(
    mail: MailService,
    items: list[_Item],
    targets: dict[int, _Target],
    batch: BlobStore | None,
    pool: _Pool,
    result: ImportResult,
    progress: Progress,
) -> list[_Prepared]:
    """Read and dedupe ``items`` in threads, ingest the new ones (small ones in the
    pool, big ones here one at a time); the prepared messages in source order."""
    lock = threading.Lock()
    n = max(1, min(pool.concurrency, len(items)))
    slices = await asyncio.gather(*(asyncio.to_thread(_load_slice, items[i::n], targets, lock) for i in range(n)))
    outcomes: list[_Loaded | str | None] = [None] * len(items)
    for i, part in enumerate(slices):
        outcomes[i::n] = part
    loaded = [o for o in outcomes if isinstance(o, _Loaded)]
    small = [o for o in loaded if o.data is not None]
    pool.grow(len(small))
    blobs = batch if batch is not None else mail.blobs
    contents: dict[int, NewContent | str] = {}
    for o, content in zip(small, await pool.ingest([o.data for o in small if o.data is not None], blobs), strict=True):
        contents[id(o)] = content
    for o in loaded:
        if o.data is None:
            contents[id(o)] = await asyncio.to_thread(_ingest_big, o, blobs, mail)
    ready: list[_Prepared] = []
    for outcome in outcomes:
        if outcome is None:
            result.skipped += 1
            progress.advance()
            continue
        if isinstance(outcome, str):
            result.failed += 1
            result.errors.append(outcome)
            progress.advance()
            continue
        item, target, content = outcome.item, targets[outcome.item.box.id], contents[id(outcome)]
        if isinstance(content, str):
            result.failed += 1
            result.errors.append(f"{item.label}: {content}")
            progress.advance()
            continue
        uid = item.uid if target.keep_uids and item.uid is not None and item.uid not in target.used_uids else None
        if uid is not None:
            target.used_uids.add(uid)
        flags = frozenset(f for f in item.flags if f.lower() != "\\recent")
        ready.append(_Prepared(item, content, flags, uid))
    return ready


async def _commit(
    mail: MailService,
    batch: BlobStore | None,
    pool: _Pool,
    prepared: list[_Prepared],
    targets: dict[int, _Target],
    result: ImportResult,
    progress: Progress,
) -> None:
    """Make the batch's blobs durable, THEN insert its rows (docs/architecture.md §6)."""
    if prepared and pool.processes:
        # Written by the workers: one syncfs covers them (and this process's big ones).
        await asyncio.to_thread(cast(_Shared, mail.blobs).sync_filesystem)
    elif batch is not None and prepared:
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
        live = maildir.LiveFolder(folder.path)  # its server may move files meanwhile
        for m in messages:
            uid = uidlist.uids.get(m.base) if uidlist is not None else None
            yield _Item(target.box, str(m.path), functools.partial(live.read, m), m.flags, m.mtime, uid)
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
