"""Whether a container file can be played from its start and seeked as it is, read
from a few octets of its structure (no FFmpeg): where an MP4 keeps its index, whether
a WebM lists its Cues. Blocking reads of a seekable file object."""

from __future__ import annotations

import struct
from typing import BinaryIO

__all__ = ["seekable_as_is", "mp4_top_boxes"]

_HEAD = 256 * 1024  # a Matroska SeekHead sits in the first octets of the Segment
# Matroska element IDs (RFC 9559 §5.1): Seek's SeekID holding the Cues ID.
_SEEK_ID_CUES = bytes.fromhex("53AB841C53BB6B")


def mp4_top_boxes(f: BinaryIO, size: int, limit: int = 64) -> list[str]:
    """The types of the top-level boxes of an ISO BMFF file (ISO/IEC 14496-12 §4.2), in order."""
    boxes: list[str] = []
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
        boxes.append(kind.decode("latin-1"))
        position += length
    return boxes


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
