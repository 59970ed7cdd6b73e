"""The one ingestion pipeline (DESIGN.md §4): bytes in, part-store blobs and NewContent out.

``ingest()`` streams the source (``prepend`` first) through a line-end normaliser
(every bare LF and bare CR becomes CRLF, also across chunk boundaries; DESIGN.md §5)
into a spool file, feeding the streaming MIME parser and SHA-256 on the way, in
constant memory. Then, in a thread, it cuts the part store (skeleton + decoded large
parts, ``mail.parts``) and precomputes what readers need (ENVELOPE, BODYSTRUCTURE,
preview, search text). It does not insert into any mailbox: the caller does that in
one transaction with the returned ``NewContent``.

Invariants: the spool file is removed in every case; over ``max_size`` the whole
source is still consumed (so the protocol stays in sync), nothing is kept and
MailError(TOO_BIG) is raised; blocking work (file writes, fsync, parsing, hashing)
runs in threads, never on the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from postoffice.config import MessageLimits
from postoffice.errors import Kind, MailError
from postoffice.mail.parts import build_part_store
from postoffice.message.parser import MimeParser, Part
from postoffice.message.structure import bodystructure_json, envelope_json, header_date
from postoffice.message.text import extract_text, make_preview, search_fields
from postoffice.store.api import BlobStore, NewContent, SearchText

__all__ = ["ingest", "Ingested", "LineEndNormaliser", "Source"]

Source = bytes | AsyncIterable[bytes] | Path
_BATCH = 256 * 1024  # octets handed to a worker thread at a time
_READ = 256 * 1024


class LineEndNormaliser:
    """Stateful CRLF normaliser: CRLF stays, bare LF and bare CR become CRLF."""

    def __init__(self) -> None:
        self._cr = False  # the previous chunk ended with CR

    def feed(self, data: bytes) -> bytes:
        if not data:
            return b""
        prefix = b""
        if self._cr:
            prefix = b"\r\n"
            if data[:1] == b"\n":
                data = data[1:]
            self._cr = False
        if data.endswith(b"\r"):
            self._cr = True
            data = data[:-1]
        crlf = data.count(b"\r\n")
        if crlf == data.count(b"\n") == data.count(b"\r"):  # already CRLF: no copies
            return prefix + data if prefix else data
        return prefix + data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")

    def flush(self) -> bytes:
        if self._cr:
            self._cr = False
            return b"\r\n"
        return b""


@dataclass(frozen=True, slots=True)
class Ingested:
    content: NewContent
    raw_parts_fallback: int  # base64 parts kept raw because their rebuild was not exact
    parts_split: int  # large leaf parts stored as their own blob
    structure: dict[str, Any] = field(default_factory=dict)  # BODYSTRUCTURE data (also in content)
    root: Part | None = None  # the parsed tree (header blocks only)


class _Spool:
    """Spool file + parser + hash; every method is blocking (called in threads)."""

    def __init__(self, spool_dir: Path, limits: MessageLimits, max_size: int | None, fsync: Callable[[int], None]) -> None:
        spool_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=spool_dir, prefix="ingest-", suffix=".eml")
        self.path = Path(name)
        self.file: BinaryIO = os.fdopen(fd, "w+b")
        self.normaliser = LineEndNormaliser()
        self.parser = MimeParser(limits, text_limit=limits.max_search_text)
        self.sha = hashlib.sha256()
        self.size = 0
        self.max_size = max_size
        self.too_big = False
        self.fsync = fsync

    def write(self, data: bytes) -> None:
        if self.too_big:
            return
        data = self.normaliser.feed(data)
        self._append(data)

    def _append(self, data: bytes) -> None:
        if not data or self.too_big:
            return
        if self.max_size is not None and self.size + len(data) > self.max_size:
            self.too_big = True
            return
        self.file.write(data)
        self.parser.feed(data)
        self.sha.update(data)
        self.size += len(data)

    def finish(self) -> None:
        self._append(self.normaliser.flush())
        if not self.too_big:
            self.file.flush()
            self.fsync(self.file.fileno())

    def remove(self) -> None:
        try:
            self.file.close()
        finally:
            self.path.unlink(missing_ok=True)


async def _chunks(source: Source) -> AsyncIterator[bytes]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        for pos in range(0, len(data), _BATCH):
            yield data[pos : pos + _BATCH]
    elif isinstance(source, Path):
        f = await asyncio.to_thread(source.open, "rb")
        try:
            while True:
                data = await asyncio.to_thread(f.read, _READ)
                if not data:
                    break
                yield data
        finally:
            await asyncio.to_thread(f.close)
    else:
        async for data in source:
            if data:
                yield bytes(data)


def _finish(spool: _Spool, blobs: BlobStore, limits: MessageLimits) -> Ingested:
    root = spool.parser.close()
    structure = bodystructure_json(root)
    envelope = envelope_json(root)
    spool.file.seek(0)
    stored = build_part_store(spool.file, spool.size, structure, blobs, limits)
    fields = search_fields(root)
    body_text = extract_text(root)
    content = NewContent(
        sha256=spool.sha.hexdigest(),
        size=spool.size,
        layout=stored.layout,
        blob_ids=stored.blob_ids,
        envelope=json.dumps(envelope, ensure_ascii=False),
        bodystructure=json.dumps(structure, ensure_ascii=False),
        preview=make_preview(root),
        subject=fields.subject,
        from_=fields.from_,
        to=fields.to,
        date=header_date(root),
        message_id=fields.message_id,
        search=SearchText(
            from_=fields.from_,
            to=fields.to,
            cc=fields.cc,
            bcc=fields.bcc,
            subject=fields.subject,
            headers=fields.headers,
            body=body_text,
        ),
    )
    return Ingested(content, stored.raw_fallback, stored.split, structure, root)


async def ingest(
    source: Source,
    blobs: BlobStore,
    limits: MessageLimits,
    spool_dir: Path,
    *,
    prepend: bytes = b"",
    max_size: int | None = None,
    fsync: Callable[[int], None] = os.fsync,
) -> Ingested:
    """Stream one message into the part store; see the module docstring.

    ``fsync`` (injectable for tests, like FileBlobStore's) syncs the spool file."""
    spool = await asyncio.to_thread(_Spool, spool_dir, limits, max_size, fsync)
    try:
        batch: list[bytes] = []
        pending = 0
        if prepend:
            batch.append(prepend)
            pending = len(prepend)
        async for data in _chunks(source):
            batch.append(data)
            pending += len(data)
            if pending >= _BATCH:
                joined = b"".join(batch)
                batch, pending = [], 0
                await asyncio.to_thread(spool.write, joined)
        if batch:
            await asyncio.to_thread(spool.write, b"".join(batch))
        await asyncio.to_thread(spool.finish)
        if spool.too_big:
            raise MailError(Kind.TOO_BIG, f"message larger than {max_size} octets")
        return await asyncio.to_thread(_finish, spool, blobs, limits)
    finally:
        await asyncio.to_thread(spool.remove)
