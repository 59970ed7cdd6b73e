"""The part store (docs/architecture.md §4): a message as a skeleton blob plus decoded large parts.

A stored message is a :class:`Layout` and blobs; ``postoffice.mail.codec`` keeps the
layout in the store (``NewContent.layout``), nothing else reads that stored form. A
layout's :attr:`~Layout.segments`, concatenated, are the message octets:

- :class:`SkeletonSegment`: octets of the skeleton (the message with every large leaf
  body cut out), a blob (``Layout.skeleton``) or, for a skeleton of at most
  ``[limits.message] skeleton_inline_max`` octets, kept in the layout itself
  (``Layout.inline``): a small message is then one content row and no file at all.
- :class:`BlobSegment`: a blob's octets as they are: a large leaf with an identity
  encoding (7bit/8bit/binary: its decoded form IS its raw form), or a large leaf kept
  raw (quoted-printable, or base64 whose rebuild would not be exact).
- :class:`Base64Segment`: the base64 encoding of the DECODED blob, in lines of
  ``line_length`` characters separated by ``eol`` (the last line may be shorter; the
  line end after the last line lives in the skeleton).

``Layout.leaves`` maps each leaf part's IMAP section number to a :class:`Leaf`: its body
range in the message, its transfer encoding, the index of the segment holding its body
when it was split out (else -1) and its decoded size (-1 when not split).

Invariants: rebuilding the segments gives exactly the octets received (verified at
ingestion by streaming the rebuilt octets through SHA-256; a base64 part that does
not rebuild exactly is kept raw and counted in ``PartStoreResult.raw_fallback``);
every blob a layout names is in ``blob_ids``; a ranged read reads from the blobs
about what it returns (base64: whole lines at the range's ends only).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from postoffice.config import MessageLimits
from postoffice.message.structure import BodyStructure
from postoffice.message.text import decoder_for
from postoffice.store.api import BlobStore, BlobWriter

__all__ = [
    "Layout",
    "Leaf",
    "Segment",
    "SkeletonSegment",
    "BlobSegment",
    "Base64Segment",
    "PartStoreResult",
    "build_part_store",
    "StoredMessage",
    "encode_b64_lines",
]

_CHUNK = 256 * 1024
_IDENTITY = {"7bit", "8bit", "binary", ""}


# ---- the layout --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SkeletonSegment:
    offset: int  # in the skeleton
    length: int


@dataclass(frozen=True, slots=True)
class BlobSegment:
    blob_id: str
    length: int


@dataclass(frozen=True, slots=True)
class Base64Segment:
    blob_id: str  # the DECODED octets
    decoded_size: int
    line_length: int  # base64 characters per line, a multiple of 4
    eol: bytes  # b"\r\n" or b"\n"

    @property
    def length(self) -> int:
        """Octets of the base64 text this segment stands for."""
        return _b64_raw_size(self.decoded_size, self.line_length, len(self.eol))


Segment = SkeletonSegment | BlobSegment | Base64Segment


@dataclass(frozen=True, slots=True)
class Leaf:
    """Where a leaf part's body is and how to decode it."""

    body_offset: int  # in the message
    body_length: int
    encoding: str  # transfer encoding, lower-case ("" when absent)
    segment: int = -1  # index of the segment holding the body when split out, else -1
    decoded_size: int = -1  # decoded octets when split out (known without decoding), else -1


@dataclass(frozen=True, slots=True)
class Layout:
    """The recipe that rebuilds a stored message from its blobs (module docstring)."""

    size: int
    skeleton: str | None  # the skeleton blob; None when ``inline`` holds it
    segments: tuple[Segment, ...]
    leaves: dict[str, Leaf] = field(default_factory=dict)
    inline: bytes | None = None

    @property
    def blob_ids(self) -> tuple[str, ...]:
        ids = [self.skeleton] if self.skeleton is not None else []
        ids += [s.blob_id for s in self.segments if not isinstance(s, SkeletonSegment)]
        return tuple(dict.fromkeys(ids))


@dataclass(frozen=True, slots=True)
class PartStoreResult:
    layout: Layout
    blob_ids: tuple[str, ...]
    raw_fallback: int  # base64 parts kept raw because their rebuild would not be exact
    split: int  # large leaf parts stored as their own blob


def encode_b64_lines(decoded: bytes, line_length: int, eol: bytes, trailing_eol: bool) -> bytes:
    """Base64 of ``decoded`` in lines of ``line_length`` (a multiple of 4), each line
    followed by ``eol`` except the last one unless ``trailing_eol``."""
    enc = base64.b64encode(decoded)
    n = len(enc)
    # map() over slice objects keeps the per-line work in C (4x a generator expression)
    out = eol.join(map(enc.__getitem__, map(slice, range(0, n, line_length), range(line_length, n + line_length, line_length))))
    return out + eol if trailing_eol and out else out


def _b64_raw_size(decoded: int, line_length: int, eol_len: int) -> int:
    enc = 4 * ((decoded + 2) // 3)
    if enc == 0:
        return 0
    lines = (enc + line_length - 1) // line_length
    return enc + (lines - 1) * eol_len


# ---- building ----------------------------------------------------------------------------


def _read(f: BinaryIO, offset: int, length: int) -> Iterator[bytes]:
    f.seek(offset)
    while length > 0:
        data = f.read(min(_CHUNK, length))
        if not data:
            return
        length -= len(data)
        yield data


def _copy_to_blob(f: BinaryIO, offset: int, length: int, blobs: BlobStore) -> str:
    writer = blobs.writer()
    try:
        for data in _read(f, offset, length):
            writer.write(data)
        return writer.finish()
    except BaseException:
        writer.abort()
        raise


def _store_b64(f: BinaryIO, offset: int, length: int, blobs: BlobStore) -> tuple[Base64Segment, int] | None:
    """Split a base64 body into a decoded blob; None if it would not rebuild exactly.

    Returns the segment and the raw length it covers (trailing line ends excluded)."""
    f.seek(max(offset, offset + length - 4096))
    tail = f.read(min(length, 4096))
    end = len(tail.rstrip(b"\r\n \t"))
    length -= len(tail) - end
    if length <= 0:
        return None
    f.seek(offset)
    first = f.read(min(length, 65536))
    nl = first.find(b"\n")
    if nl < 0:
        if length > len(first):
            return None
        line_length, eol = length, b"\r\n"
    else:
        eol = b"\r\n" if first[nl - 1 : nl] == b"\r" else b"\n"
        line_length = nl + 1 - len(eol)
    if line_length <= 0 or line_length % 4:
        return None
    stride = line_length + len(eol)
    per_read = max(1, _CHUNK // stride) * stride  # whole lines per step
    raw_hash = hashlib.sha256()
    rebuilt_hash = hashlib.sha256()
    writer: BlobWriter = blobs.writer()
    decoded_size = 0
    try:
        pos = 0
        while pos < length:
            n = min(per_read, length - pos)
            f.seek(offset + pos)
            raw = f.read(n)
            if len(raw) != n:
                writer.abort()
                return None
            last = pos + n >= length
            try:
                decoded = binascii.a2b_base64(raw, strict_mode=False)
            except binascii.Error:
                writer.abort()
                return None
            rebuilt = encode_b64_lines(decoded, line_length, eol, trailing_eol=not last)
            raw_hash.update(raw)
            rebuilt_hash.update(rebuilt)
            if rebuilt != raw:  # cheap early exit; the hashes below are the verification
                writer.abort()
                return None
            writer.write(decoded)
            decoded_size += len(decoded)
            pos += n
        if raw_hash.digest() != rebuilt_hash.digest() or _b64_raw_size(decoded_size, line_length, len(eol)) != length:
            writer.abort()
            return None
        blob_id = writer.finish()
    except BaseException:
        writer.abort()
        raise
    return Base64Segment(blob_id, decoded_size, line_length, eol), length


def build_part_store(spool: BinaryIO, size: int, structure: BodyStructure, blobs: BlobStore, limits: MessageLimits) -> PartStoreResult:
    """Cut the large leaves of a spooled message into blobs; write the skeleton.

    Blocking (reads the spool, writes and fsyncs blobs): run it in a thread."""
    leaves: dict[str, Leaf] = {}
    cuts: list[tuple[int, int, Segment, str]] = []  # (offset, raw length, segment, section)
    raw_fallback = 0
    for section, node in structure.sections.items():
        if not node.is_leaf:
            continue
        off, length = node.body_offset, node.body_length
        encoding = (node.encoding or "").lower()
        leaves[section] = Leaf(off, length, encoding)
        estimate = length * 3 // 4 if encoding == "base64" else length
        threshold = limits.part_store_threshold
        if node.type.lower() in ("audio", "video"):  # short recordings are probed too (mail/media.py)
            threshold = min(threshold, limits.media_part_threshold)
        if estimate < threshold or length == 0:
            continue
        if encoding == "base64":
            stored = _store_b64(spool, off, length, blobs)
            if stored is not None:
                b64, covered = stored
                cuts.append((off, covered, b64, section))
                leaves[section] = Leaf(off, length, encoding, decoded_size=b64.decoded_size)
                continue
            raw_fallback += 1
        blob_id = _copy_to_blob(spool, off, length, blobs)
        cuts.append((off, length, BlobSegment(blob_id, length), section))
        if encoding in _IDENTITY:
            leaves[section] = Leaf(off, length, encoding, decoded_size=length)
    cuts.sort(key=lambda c: c[0])
    skel_size = size - sum(c[1] for c in cuts)
    inline: bytearray | None = bytearray() if skel_size <= limits.skeleton_inline_max else None
    segments: list[Segment] = []
    skel: BlobWriter | None = blobs.writer() if inline is None else None
    try:
        skel_pos = 0
        pos = 0
        for off, length, segment, section in cuts:
            if off > pos:
                for data in _read(spool, pos, off - pos):
                    if skel is not None:
                        skel.write(data)
                    else:
                        assert inline is not None
                        inline += data
                segments.append(SkeletonSegment(skel_pos, off - pos))
                skel_pos += off - pos
            leaf = leaves[section]
            leaves[section] = Leaf(leaf.body_offset, leaf.body_length, leaf.encoding, len(segments), leaf.decoded_size)
            segments.append(segment)
            pos = off + length
        if size > pos:
            for data in _read(spool, pos, size - pos):
                if skel is not None:
                    skel.write(data)
                else:
                    assert inline is not None
                    inline += data
            segments.append(SkeletonSegment(skel_pos, size - pos))
        skel_id = skel.finish() if skel is not None else None
    except BaseException:
        if skel is not None:
            skel.abort()
        raise
    layout = Layout(size, skel_id, tuple(segments), leaves, bytes(inline) if inline is not None else None)
    return PartStoreResult(layout=layout, blob_ids=layout.blob_ids, raw_fallback=raw_fallback, split=len(cuts))


# ---- reading -----------------------------------------------------------------------------


class StoredMessage:
    """Reads a stored message (or one decoded part) by range, from the blobs only."""

    def __init__(self, layout: Layout, blobs: BlobStore) -> None:
        self.layout = layout
        self.blobs = blobs
        self.size = layout.size
        self.segments = layout.segments
        self.leaves = layout.leaves
        self._starts: list[int] = []
        pos = 0
        for seg in self.segments:
            self._starts.append(pos)
            pos += seg.length

    # raw message octets
    def read(self, offset: int, length: int) -> bytes:
        return b"".join(self.iter_range(offset, length))

    def iter_range(self, offset: int, length: int, chunk: int = _CHUNK) -> Iterator[bytes]:
        """The message octets [offset, offset+length), clamped, in pieces <= ``chunk``."""
        offset = max(0, offset)
        end = min(self.size, offset + max(0, length))
        for index, seg in enumerate(self.segments):
            start = self._starts[index]
            seg_end = start + seg.length
            if seg_end <= offset or start >= end:
                continue
            a, b = max(offset, start) - start, min(end, seg_end) - start
            yield from self._iter_segment(seg, a, b, chunk)

    def _iter_segment(self, seg: Segment, a: int, b: int, chunk: int) -> Iterator[bytes]:
        if isinstance(seg, SkeletonSegment):
            base = seg.offset
            inline = self.layout.inline
            if inline is not None:
                for pos in range(a, b, chunk):
                    yield inline[base + pos : base + pos + min(chunk, b - pos)]
                return
            skel = self.layout.skeleton
            assert skel is not None
            for pos in range(a, b, chunk):
                yield self.blobs.read(skel, base + pos, min(chunk, b - pos))
        elif isinstance(seg, BlobSegment):
            for pos in range(a, b, chunk):
                yield self.blobs.read(seg.blob_id, pos, min(chunk, b - pos))
        else:
            yield from self._iter_b64(seg, a, b, chunk)

    def _iter_b64(self, seg: Base64Segment, a: int, b: int, chunk: int) -> Iterator[bytes]:
        line_length, eol, decoded_size = seg.line_length, seg.eol, seg.decoded_size
        stride = line_length + len(eol)
        per_line = line_length * 3 // 4
        total_lines = (4 * ((decoded_size + 2) // 3) + line_length - 1) // line_length
        lines_per_step = max(1, chunk // stride)
        first, last = a // stride, (b - 1) // stride
        line = first
        while line <= last:
            upto = min(last, line + lines_per_step - 1)
            d_start = line * per_line
            d_end = min(decoded_size, (upto + 1) * per_line)
            decoded = self.blobs.read(seg.blob_id, d_start, d_end - d_start)
            text = encode_b64_lines(decoded, line_length, eol, trailing_eol=upto < total_lines - 1)
            base = line * stride
            yield text[max(a, base) - base : min(b, base + len(text)) - base]
            line = upto + 1

    # decoded leaf parts
    def leaf(self, section: str) -> Leaf:
        """The stored leaf part of that section number (KeyError for an unknown one)."""
        return self.leaves[section]

    def part_size(self, section: str | Leaf) -> int:
        """Decoded octets of a leaf part (KeyError for an unknown section)."""
        leaf = self.leaf(section) if isinstance(section, str) else section
        if leaf.decoded_size >= 0:
            return leaf.decoded_size
        return sum(len(d) for d in self._iter_decoded(leaf))

    def _iter_decoded(self, leaf: Leaf) -> Iterator[bytes]:
        decoder = decoder_for(leaf.encoding)
        for raw in self.iter_range(leaf.body_offset, leaf.body_length):
            out = decoder.feed(raw)
            if out:
                yield out
        out = decoder.flush()
        if out:
            yield out

    def read_part(self, section: str | Leaf, offset: int = 0, length: int | None = None) -> bytes:
        """Decoded octets [offset, offset+length) of a leaf part; from its blob when split."""
        return b"".join(self.iter_part(section, offset, length))

    def iter_part(self, section: str | Leaf, offset: int = 0, length: int | None = None, chunk: int = _CHUNK) -> Iterator[bytes]:
        """``section`` is a leaf's section number, or a :class:`Leaf` the layout does not
        hold (a part decoded from its raw range)."""
        leaf = self.leaf(section) if isinstance(section, str) else section
        offset = max(0, offset)
        if leaf.segment >= 0 and leaf.decoded_size >= 0:
            seg = self.segments[leaf.segment]
            assert not isinstance(seg, SkeletonSegment)
            size = leaf.decoded_size
            stop = size if length is None else min(size, offset + length)
            for pos in range(offset, stop, chunk):
                yield self.blobs.read(seg.blob_id, pos, min(chunk, stop - pos))
            return
        pos = 0
        end: int | None = None if length is None else offset + length
        for data in self._iter_decoded(leaf):
            d_start, d_end = pos, pos + len(data)
            pos = d_end
            if d_end <= offset:
                continue
            lo = max(offset, d_start) - d_start
            hi = len(data) if end is None else min(end, d_end) - d_start
            if hi > lo:
                yield data[lo:hi]
            if end is not None and d_end >= end:
                return
