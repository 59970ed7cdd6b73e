"""Whether a container file can be played from its start and seeked as it is, read
from a few octets of its structure (no FFmpeg): where an MP4 keeps its index, whether
a WebM lists its Cues. Blocking reads of a seekable file object.

``mp4_faststart`` moves an MP4's index to its front without copying its media: the
rendition is a new head (``ftyp`` and the index with its chunk offsets shifted) followed
by spans of the original file, so it shares the original's octets in the part store.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

__all__ = ["seekable_as_is", "mp4_top_boxes", "mp4_faststart", "Faststart", "MAX_INDEX"]

MAX_INDEX = 64 * 1024 * 1024  # octets: a larger moov box is not read into memory

_HEAD = 256 * 1024  # a Matroska SeekHead sits in the first octets of the Segment
# Matroska element IDs (RFC 9559 §5.1): Seek's SeekID holding the Cues ID.
_SEEK_ID_CUES = bytes.fromhex("53AB841C53BB6B")


def _boxes(f: BinaryIO, size: int, limit: int) -> list[tuple[str, int, int]]:
    """(type, offset, length) of the top-level boxes (ISO/IEC 14496-12 §4.2), in order."""
    boxes: list[tuple[str, int, int]] = []
    position = 0
    while position + 8 <= size and len(boxes) < limit:
        f.seek(position)
        head = f.read(16)
        if len(head) < 8:
            break
        length, kind = struct.unpack(">I4s", head[:8])
        if length == 1 and len(head) == 16:  # 64-bit largesize
            length = struct.unpack(">Q", head[8:16])[0]
        elif length == 0:  # to the end of the file
            length = size - position
        if length < 8:
            break
        boxes.append((kind.decode("latin-1"), position, length))
        position += length
    return boxes


def mp4_top_boxes(f: BinaryIO, size: int, limit: int = 64) -> list[str]:
    """The types of the top-level boxes of an ISO BMFF file (ISO/IEC 14496-12 §4.2), in order."""
    return [kind for kind, _, _ in _boxes(f, size, limit)]


@dataclass(frozen=True, slots=True)
class Faststart:
    """An MP4 with its index first: ``head`` (``ftyp`` + the moved ``moov``), then these
    (offset, length) spans of the original, in order."""

    head: bytes
    spans: tuple[tuple[int, int], ...]


# Boxes that hold the boxes on the way to the chunk offset tables (§8.1-§8.7).
_CONTAINERS = frozenset({"moov", "trak", "mdia", "minf", "stbl"})


def _shift_chunk_offsets(index: bytearray, start: int, end: int, shift: Callable[[int], int]) -> bool:
    """Rewrite every ``stco``/``co64`` entry (§8.7.5) in ``index[start:end]`` in place;
    False when one no longer fits its 32 bits (or the boxes are malformed)."""
    position = start
    while position + 8 <= end:
        length, kind_raw = struct.unpack_from(">I4s", index, position)
        header = 8
        if length == 1:
            if position + 16 > end:
                return False
            length, header = struct.unpack_from(">Q", index, position + 8)[0], 16
        elif length == 0:
            length = end - position
        if length < header or position + length > end:
            return False
        kind = kind_raw.decode("latin-1")
        body = position + header
        if kind in _CONTAINERS:
            if not _shift_chunk_offsets(index, body, position + length, shift):
                return False
        elif kind in ("stco", "co64"):
            width, fmt = (4, ">I") if kind == "stco" else (8, ">Q")
            if body + 8 > position + length:
                return False
            (count,) = struct.unpack_from(">I", index, body + 4)  # after version and flags
            if body + 8 + count * width > position + length:
                return False
            for n in range(count):
                at = body + 8 + n * width
                moved = shift(struct.unpack_from(fmt, index, at)[0])
                if moved >= 1 << (8 * width):
                    return False
                struct.pack_into(fmt, index, at, moved)
        position += length
    return position == end


def mp4_faststart(f: BinaryIO, size: int) -> Faststart | None:
    """The index-first form of an MP4 whose ``moov`` follows its media data, as a head and
    spans of the original; None when the file is not one (or not a simple one: fragmented,
    an item location table, an index over ``MAX_INDEX``), and FFmpeg's remux is used."""
    boxes = _boxes(f, size, 1024)
    kinds = [kind for kind, _, _ in boxes]
    if not boxes or kinds[0] != "ftyp" or kinds.count("moov") != 1 or "mdat" not in kinds or "moof" in kinds:
        return None
    if sum(length for _, _, length in boxes) != size:
        return None  # trailing octets that are not a box
    _, moov_at, moov_length = boxes[kinds.index("moov")]
    if kinds.index("moov") < kinds.index("mdat") or moov_length > MAX_INDEX:
        return None
    _, _, ftyp_length = boxes[0]
    f.seek(0)
    ftyp = f.read(ftyp_length)
    f.seek(moov_at)
    index = bytearray(f.read(moov_length))
    if len(ftyp) != ftyp_length or len(index) != moov_length or b"iloc" in index:
        return None

    def shift(offset: int) -> int:
        # What lay between ftyp and moov moves back by the index's length; what followed
        # the index stays where it was.
        return offset + moov_length if ftyp_length <= offset < moov_at else offset

    if not _shift_chunk_offsets(index, 0, moov_length, shift):
        return None
    spans = [(ftyp_length, moov_at - ftyp_length), (moov_at + moov_length, size - moov_at - moov_length)]
    return Faststart(ftyp + bytes(index), tuple((o, n) for o, n in spans if n > 0))


def seekable_as_is(f: BinaryIO, container: str, size: int) -> bool:
    """An MP4 whose ``moov`` comes before its ``mdat`` (so a player reads the index
    first); a Matroska/WebM whose SeekHead points at Cues. Anything else: False."""
    names = container.split(",")
    if "mp4" in names or "mov" in names:
        boxes = mp4_top_boxes(f, size)
        return "moov" in boxes and "mdat" in boxes and boxes.index("moov") < boxes.index("mdat")
    if "matroska" in names or "webm" in names:
        f.seek(0)
        return _SEEK_ID_CUES in f.read(_HEAD)
    return False
