"""The one ingestion pipeline (docs/architecture.md §5): bytes in, part-store blobs and NewContent out.

``ingest()`` streams the source (``prepend`` first) through a line-end normaliser
(every bare LF and bare CR becomes CRLF, also across chunk boundaries; ``message.lineends``, docs/architecture.md §5)
into a spool — unless the caller passes ``normalise_line_ends=False``, which only SMTP
does, for a message received with BODY=BINARYMIME (RFC 3030 §3) — feeding the streaming MIME parser and SHA-256 on the way, in
constant memory: the spool stays in memory up to ``SPOOL_IN_MEMORY`` octets and
moves to a file in ``spool_dir`` beyond that. Then, in a thread, it cuts the part store (skeleton + decoded large
parts, ``mail.parts``) and precomputes what readers need (ENVELOPE, BODYSTRUCTURE,
preview, search text). It does not insert into any mailbox: the caller does that in
one transaction with the returned ``NewContent``.

The spool is a temporary copy, never synced: durability comes from the part-store
blobs cut from it, which the BlobStore makes durable (at ``finish``, or at
``BlobBatch.sync()`` for a batch view) before the caller inserts rows pointing at them.
Every blob it writes, or finds already stored, is fresh for the garbage collector
(``store/api.py``): the caller inserts those rows within ``[server] gc_grace``.

Invariants: the spool file is removed in every case; over ``max_size`` the whole
source is still consumed (so the protocol stays in sync), nothing is kept and
MailError(TOO_BIG) is raised; blocking work (file writes, fsync, parsing, hashing)
runs in threads, never on the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from postoffice.config import MessageLimits
from postoffice.errors import Kind, MailError
from postoffice.mail.codec import encode_bodystructure, encode_envelope, encode_layout
from postoffice.mail.conversations import thread_keys
from postoffice.mail.parts import build_part_store
from postoffice.mail.sort import references_extra
from postoffice.message.lineends import LineEndNormaliser
from postoffice.message.parser import MimeParser, Part
from postoffice.message.structure import BodyStructure, Envelope, bodystructure_of, envelope_of, header_date
from postoffice.message.text import extract_text, make_preview, search_fields
from postoffice.store.api import BlobStore, NewContent, SearchText

__all__ = [
    "ingest",
    "ingest_bytes",
    "Ingested",
    "Source",
    "SPOOL_IN_MEMORY",
    "SEARCH_TEXT_VERSION",
    "search_text_of",
    "search_text_again",
]

Source = bytes | AsyncIterable[bytes] | Path
_BATCH = 256 * 1024  # octets handed to a worker thread at a time
_READ = 256 * 1024
ON_LOOP = 16 * 1024  # octets: a message this small is ingested on the event loop (pure CPU)
SPOOL_IN_MEMORY = 1024 * 1024  # octets: a message up to this size is spooled in memory


@dataclass(frozen=True, slots=True)
class Ingested:
    content: NewContent
    raw_parts_fallback: int  # base64 parts kept raw because their rebuild was not exact
    parts_split: int  # large leaf parts stored as their own blob
    structure: BodyStructure  # also in content (encoded)
    envelope: Envelope  # also in content (encoded)
    root: Part | None = None  # the parsed tree (header blocks only)


class _Spool:
    """Spool (memory, then a file past SPOOL_IN_MEMORY) + parser + hash; every method
    is blocking (called in threads)."""

    def __init__(
        self, spool_dir: Path, limits: MessageLimits, max_size: int | None, *, normalise_line_ends: bool = True
    ) -> None:
        self.spool_dir = spool_dir
        self.path: Path | None = None
        self.file: BinaryIO = io.BytesIO()
        self.normaliser = LineEndNormaliser() if normalise_line_ends else None
        self.parser = MimeParser(limits, text_limit=limits.max_search_text)
        self.sha = hashlib.sha256()
        self.size = 0
        self.max_size = max_size
        self.too_big = False

    def write(self, data: bytes) -> None:
        if self.too_big:
            return
        if self.normaliser is not None:
            data = self.normaliser.feed(data)
        self._append(data)

    def _append(self, data: bytes) -> None:
        if not data or self.too_big:
            return
        if self.max_size is not None and self.size + len(data) > self.max_size:
            self.too_big = True
            return
        if self.path is None and self.size + len(data) > SPOOL_IN_MEMORY:
            self._to_file()
        self.file.write(data)
        self.parser.feed(data)
        self.sha.update(data)
        self.size += len(data)

    def _to_file(self) -> None:
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.spool_dir, prefix="ingest-", suffix=".eml")
        self.path = Path(name)
        memory = self.file
        self.file = os.fdopen(fd, "w+b")
        self.file.write(memory.getbuffer())  # type: ignore[attr-defined]
        memory.close()

    def finish(self) -> None:
        # No fsync: the spool is a temporary copy (see the module docstring).
        if self.normaliser is not None:
            self._append(self.normaliser.flush())
        if not self.too_big:
            self.file.flush()

    def remove(self) -> None:
        try:
            self.file.close()
        finally:
            if self.path is not None:
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


def _decoded_references(root: Part) -> str | None:
    value = root.header("references")
    return value.decode("utf-8", "replace") if value is not None else None


# The version of the text extraction that makes the search text (search_fields and
# extract_text of message/text.py): raise it when their output changes, and the
# search text of every stored message is made again in the background
# (MailService.run_search_reindexer), so a fix applies to old mail too.
#   1: as extracted before the version existed (migration 0014)
#   2: NUL stored as a space (body search goes past it), quoted-printable as RFC 2045
#      §6.7 says, the MIME header fields of every part in TEXT
SEARCH_TEXT_VERSION = 2


def search_text_of(root: Part) -> SearchText:
    """What the full-text index holds of a parsed message (SEARCH_TEXT_VERSION)."""
    fields = search_fields(root)
    return SearchText(
        from_=fields.from_,
        to=fields.to,
        cc=fields.cc,
        bcc=fields.bcc,
        subject=fields.subject,
        headers=fields.headers,
        body=extract_text(root),
    )


async def search_text_again(chunks: AsyncIterable[bytes], limits: MessageLimits) -> SearchText:
    """The search text of a stored message read again (its bytes as stored), parsed in
    a worker thread a chunk at a time: the event loop is never held."""
    parser = MimeParser(limits, text_limit=limits.max_search_text)
    async for data in chunks:
        await asyncio.to_thread(parser.feed, data)

    def finish() -> SearchText:
        return search_text_of(parser.close())

    return await asyncio.to_thread(finish)


def _finish(spool: _Spool, blobs: BlobStore, limits: MessageLimits) -> Ingested:
    root = spool.parser.close()
    structure = bodystructure_of(root)
    envelope = envelope_of(root)
    spool.file.seek(0)
    stored = build_part_store(spool.file, spool.size, structure, blobs, limits)
    fields = search_fields(root)
    encoded_envelope = encode_envelope(envelope)
    # RFC 5256 §3 THREAD=REFERENCES reads References of every message: kept once, here.
    extra = json.dumps(references_extra(_decoded_references(root)))
    content = NewContent(
        sha256=spool.sha.hexdigest(),
        size=spool.size,
        layout=encode_layout(stored.layout),
        blob_ids=stored.blob_ids,
        envelope=encoded_envelope,
        bodystructure=encode_bodystructure(structure),
        preview=make_preview(root),
        subject=fields.subject,
        from_=fields.from_,
        to=fields.to,
        date=header_date(root),
        message_id=fields.message_id,
        extra=extra,
        thread_keys=thread_keys(fields.message_id, encoded_envelope, extra),  # the webmail's conversations
        search=search_text_of(root),
    )
    return Ingested(content, stored.raw_fallback, stored.split, structure, envelope, root)


def _last(spool: _Spool, data: bytes, blobs: BlobStore, limits: MessageLimits) -> Ingested:
    spool.write(data)
    spool.finish()
    if spool.too_big:
        raise MailError(Kind.TOO_BIG, f"message larger than {spool.max_size} octets")
    return _finish(spool, blobs, limits)


def ingest_bytes(
    data: bytes,
    blobs: BlobStore,
    limits: MessageLimits,
    spool_dir: Path,
    *,
    max_size: int | None = None,
    normalise_line_ends: bool = True,
) -> Ingested:
    """Blocking twin of ``ingest`` for a message already in memory (import runs many
    in one worker thread: no event loop round trip per message). Call from a thread."""
    spool = _Spool(spool_dir, limits, max_size, normalise_line_ends=normalise_line_ends)
    try:
        return _last(spool, data, blobs, limits)
    finally:
        spool.remove()


async def ingest(
    source: Source,
    blobs: BlobStore,
    limits: MessageLimits,
    spool_dir: Path,
    *,
    prepend: bytes = b"",
    max_size: int | None = None,
    fsync: Callable[[int], None] = os.fsync,
    normalise_line_ends: bool = True,
) -> Ingested:
    """Stream one message into the part store; see the module docstring.

    ``normalise_line_ends=False`` stores the octets exactly as received. Decision (lead):
    only a message received with BODY=BINARYMIME (RFC 3030 §3) takes it — its CR and LF
    octets are data, not line ends, and RFC 3030 requires the content be delivered
    unchanged; every other route normalises (docs/architecture.md §5). ``prepend`` (trace headers)
    is written by us and is CRLF already.

    ``fsync`` is accepted for callers written when the spool was synced; it is unused."""
    del fsync
    spool = _Spool(spool_dir, limits, max_size, normalise_line_ends=normalise_line_ends)
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
        total = spool.size + pending
        small = total < limits.part_store_threshold
        if small and total <= ON_LOOP and total >= limits.media_part_threshold:
            # An audio or video part this small still becomes a blob (to be probed):
            # only a message that names none stays on the loop. All of it is in ``batch``.
            lowered = b"".join(batch).lower()
            small = b"audio/" not in lowered and b"video/" not in lowered
        if spool.path is None and total <= ON_LOOP and small and total <= limits.skeleton_inline_max:
            # Nothing to write anywhere: no part is big enough to split and the skeleton
            # goes inline in the layout. Parsing a few KiB costs less than a thread hop.
            return _last(spool, b"".join(batch), blobs, limits)
        # The last piece, the end of spooling and the part store in ONE thread hop:
        # for a small message that is the whole pipeline.
        return await asyncio.to_thread(_last, spool, b"".join(batch), blobs, limits)
    finally:
        if spool.path is None:
            spool.remove()
        else:
            await asyncio.to_thread(spool.remove)
