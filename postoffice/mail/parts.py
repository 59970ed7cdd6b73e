"""The part store (docs/architecture.md §4): a message as a skeleton blob plus decoded large parts.

A stored message is a *layout* (``NewContent.layout``, JSON) and blobs. The layout::

    {"v": 1, "size": N, "skel": SKELETON_BLOB_ID,
     "seg": [SEGMENT, ...],            # concatenated, they are the N message octets
     "leaves": {SECTION: [body_offset, body_length, encoding, seg_index, decoded_size]}}

Segments:

- ``["skel", offset, length]``: octets of the skeleton blob (the message with every
  large leaf body cut out).
- ``["blob", blob_id, length]``: a blob's octets as they are: a large leaf with an
  identity encoding (7bit/8bit/binary: its decoded form IS its raw form), or a
  large leaf kept raw (quoted-printable, or base64 whose rebuild would not be exact).
- ``["b64", blob_id, decoded_size, line_length, eol]``: the base64 encoding of the
  DECODED blob, in lines of ``line_length`` characters separated by ``eol`` (the last
  line may be shorter; the line end after the last line lives in the skeleton).

A skeleton of at most ``[limits.message] skeleton_inline_max`` octets is kept IN the
layout instead of a blob (version 2): ``layout = JSON + b"\n" + skeleton octets`` with
``"skel": null`` (compact JSON never holds a raw newline, so the first b"\n" ends it).
A small message is then one content row and no file at all; ``parse_layout`` splits
either form.

``leaves`` maps each leaf part's IMAP section number to its body range in the message,
its transfer encoding, the index of the segment holding its body when it was split
out (else -1) and its decoded size (-1 when not split).

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
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from postoffice.config import MessageLimits
from postoffice.message.structure import sections
from postoffice.message.text import decoder_for
from postoffice.store.api import BlobStore, BlobWriter

__all__ = ["PartStoreResult", "build_part_store", "StoredMessage", "encode_b64_lines", "parse_layout"]

_CHUNK = 256 * 1024
_IDENTITY = {"7bit", "8bit", "binary", ""}
Segment = list[Any]


@dataclass(frozen=True, slots=True)
class PartStoreResult:
    layout: bytes
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


def _store_b64(f: BinaryIO, offset: int, length: int, blobs: BlobStore) -> tuple[Segment, int] | None:
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
    return ["b64", blob_id, decoded_size, line_length, eol.decode("ascii")], length


def build_part_store(spool: BinaryIO, size: int, structure: dict[str, Any], blobs: BlobStore, limits: MessageLimits) -> PartStoreResult:
    """Cut the large leaves of a spooled message into blobs; write the skeleton.

    Blocking (reads the spool, writes and fsyncs blobs): run it in a thread."""
    leaves: dict[str, list[Any]] = {}
    cuts: list[tuple[int, int, Segment, str]] = []  # (offset, raw length, segment, section)
    raw_fallback = 0
    for section, node in sections(structure).items():
        if "children" in node or "message" in node:
            continue
        off, length = node["body"]
        encoding = (node["encoding"] or "").lower()
        leaves[section] = [off, length, encoding, -1, -1]
        estimate = length * 3 // 4 if encoding == "base64" else length
        if estimate < limits.part_store_threshold or length == 0:
            continue
        if encoding == "base64":
            stored = _store_b64(spool, off, length, blobs)
            if stored is not None:
                segment, covered = stored
                cuts.append((off, covered, segment, section))
                leaves[section][4] = segment[2]
                continue
            raw_fallback += 1
        blob_id = _copy_to_blob(spool, off, length, blobs)
        cuts.append((off, length, ["blob", blob_id, length], section))
        if encoding in _IDENTITY:
            leaves[section][4] = length
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
                segments.append(["skel", skel_pos, off - pos])
                skel_pos += off - pos
            leaves[section][3] = len(segments)
            segments.append(segment)
            pos = off + length
        if size > pos:
            for data in _read(spool, pos, size - pos):
                if skel is not None:
                    skel.write(data)
                else:
                    assert inline is not None
                    inline += data
            segments.append(["skel", skel_pos, size - pos])
        skel_id = skel.finish() if skel is not None else None
    except BaseException:
        if skel is not None:
            skel.abort()
        raise
    blob_ids = ([skel_id] if skel_id is not None else []) + [c[2][1] for c in cuts]
    head = {"v": 1 if inline is None else 2, "size": size, "skel": skel_id, "seg": segments, "leaves": leaves}
    layout = json.dumps(head, separators=(",", ":")).encode("ascii")
    if inline is not None:
        layout += b"\n" + bytes(inline)
    return PartStoreResult(
        layout=layout,
        blob_ids=tuple(dict.fromkeys(blob_ids)),
        raw_fallback=raw_fallback,
        split=len(cuts),
    )


def parse_layout(layout: bytes) -> tuple[dict[str, Any], bytes | None]:
    """(the layout's JSON data, the inline skeleton octets or None)."""
    head, newline, rest = layout.partition(b"\n")
    return json.loads(head), (rest if newline else None)


# ---- reading -----------------------------------------------------------------------------


class StoredMessage:
    """Reads a stored message (or one decoded part) by range, from the blobs only."""

    def __init__(self, layout: bytes, blobs: BlobStore) -> None:
        data, self.inline = parse_layout(layout)
        self.blobs = blobs
        self.skel: str | None = data["skel"]
        self.size: int = data["size"]
        self.segments: list[Segment] = data["seg"]
        self.leaves: dict[str, list[Any]] = data["leaves"]
        self._starts: list[int] = []
        pos = 0
        for seg in self.segments:
            self._starts.append(pos)
            pos += self._seg_len(seg)

    @staticmethod
    def _seg_len(seg: Segment) -> int:
        if seg[0] == "b64":
            return _b64_raw_size(seg[2], seg[3], len(seg[4]))
        return int(seg[2])

    # raw message octets
    def read(self, offset: int, length: int) -> bytes:
        return b"".join(self.iter_range(offset, length))

    def iter_range(self, offset: int, length: int, chunk: int = _CHUNK) -> Iterator[bytes]:
        """The message octets [offset, offset+length), clamped, in pieces <= ``chunk``."""
        offset = max(0, offset)
        end = min(self.size, offset + max(0, length))
        for index, seg in enumerate(self.segments):
            start = self._starts[index]
            seg_end = start + self._seg_len(seg)
            if seg_end <= offset or start >= end:
                continue
            a, b = max(offset, start) - start, min(end, seg_end) - start
            yield from self._iter_segment(seg, a, b, chunk)

    def _iter_segment(self, seg: Segment, a: int, b: int, chunk: int) -> Iterator[bytes]:
        if seg[0] == "skel":
            base = int(seg[1])
            if self.inline is not None:
                for pos in range(a, b, chunk):
                    yield self.inline[base + pos : base + pos + min(chunk, b - pos)]
                return
            assert self.skel is not None
            for pos in range(a, b, chunk):
                yield self.blobs.read(self.skel, base + pos, min(chunk, b - pos))
        elif seg[0] == "blob":
            for pos in range(a, b, chunk):
                yield self.blobs.read(seg[1], pos, min(chunk, b - pos))
        else:
            yield from self._iter_b64(seg, a, b, chunk)

    def _iter_b64(self, seg: Segment, a: int, b: int, chunk: int) -> Iterator[bytes]:
        _, blob_id, decoded_size, line_length, eol_str = seg
        eol = eol_str.encode("ascii")
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
            decoded = self.blobs.read(blob_id, d_start, d_end - d_start)
            text = encode_b64_lines(decoded, line_length, eol, trailing_eol=upto < total_lines - 1)
            base = line * stride
            yield text[max(a, base) - base : min(b, base + len(text)) - base]
            line = upto + 1

    # decoded leaf parts
    def _leaf(self, section: str) -> list[Any]:
        leaf = self.leaves.get(section)
        if leaf is None:
            raise KeyError(section)
        return leaf

    def part_size(self, section: str) -> int:
        """Decoded octets of a leaf part (KeyError for an unknown section)."""
        leaf = self._leaf(section)
        if leaf[4] >= 0:
            return int(leaf[4])
        return sum(len(d) for d in self._iter_decoded(leaf))

    def _iter_decoded(self, leaf: list[Any]) -> Iterator[bytes]:
        decoder = decoder_for(leaf[2])
        for raw in self.iter_range(leaf[0], leaf[1]):
            out = decoder.feed(raw)
            if out:
                yield out
        out = decoder.flush()
        if out:
            yield out

    def read_part(self, section: str, offset: int = 0, length: int | None = None) -> bytes:
        """Decoded octets [offset, offset+length) of a leaf part; from its blob when split."""
        return b"".join(self.iter_part(section, offset, length))

    def iter_part(self, section: str, offset: int = 0, length: int | None = None, chunk: int = _CHUNK) -> Iterator[bytes]:
        leaf = self._leaf(section)
        offset = max(0, offset)
        if leaf[3] >= 0 and leaf[4] >= 0:
            seg = self.segments[leaf[3]]
            blob_id, size = seg[1], int(leaf[4])
            stop = size if length is None else min(size, offset + length)
            for pos in range(offset, stop, chunk):
                yield self.blobs.read(blob_id, pos, min(chunk, stop - pos))
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
