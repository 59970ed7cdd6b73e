"""Reading mbox files for import (mboxrd, which also reads mboxo files).

Owns the mbox format only (no store, no asyncio). A message starts at a line
beginning with ``From `` (the From_ line, not part of the message); inside a
message, mboxrd quotes lines matching ``>*From `` with one more ``>``, which
reading removes (https://www.loc.gov/preservation/digital/formats/fdd/fdd000385.shtml).
The blank line a writer puts before the next From_ line is not part of the message.
Flags come from the ``Status:`` and ``X-Status:`` headers written by mutt, pine and
Thunderbird; the internal date comes from the From_ line.

Invariant: messages are read one at a time (memory bounded by the largest message).
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

__all__ = ["MboxMessage", "is_mbox", "read_mbox", "parse_from_line", "flags_from_status"]

_QUOTED_FROM = re.compile(rb"^>+From ")
_WEEKDAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
# asctime as in "From sender Sat Jan  3 01:05:34 1996", optionally with a zone.
_ASCTIME = re.compile(
    rf"({_WEEKDAY})\s+({_MONTH})\s+(\d{{1,2}})\s+(\d{{1,2}}):(\d{{2}})(?::(\d{{2}}))?\s+(?:([A-Z]{{3,4}}|[+-]\d{{4}})\s+)?(\d{{4}})(?:\s+([+-]\d{{4}}))?"
)


@dataclass(frozen=True, slots=True)
class MboxMessage:
    data: bytes  # the message, unquoted, line ends as in the file
    internaldate: float | None
    flags: frozenset[str]


def is_mbox(path: Path) -> bool:
    if not path.is_file():
        return False
    with open(path, "rb") as f:
        head = f.read(5)
    return head == b"From "


def parse_from_line(line: bytes) -> float | None:
    """Epoch seconds of the From_ line's date (UTC unless a zone is given), or None."""
    text = line.decode("latin-1")
    m = _ASCTIME.search(text)
    if not m:
        return None
    _, month, day, hh, mm, ss, zone1, year, zone2 = m.groups()
    zone = zone2 or zone1 or "+0000"
    stamp = f"{day} {month} {year} {hh}:{mm}:{ss or '00'} {zone}"
    parsed = email.utils.parsedate_tz(stamp)
    if parsed is None:
        return None
    try:
        return float(email.utils.mktime_tz(parsed))
    except (OverflowError, ValueError):
        return None


def flags_from_status(header: bytes) -> frozenset[str]:
    """Flags from the Status:/X-Status: header lines of a message's header block."""
    flags: set[str] = set()
    for line in header.splitlines():
        name, sep, value = line.partition(b":")
        if not sep:
            continue
        lname = name.strip().lower()
        letters = value.strip().decode("latin-1")
        if lname == b"status":
            if "R" in letters:
                flags.add("\\Seen")
        elif lname == b"x-status":
            for letter, flag in (("A", "\\Answered"), ("F", "\\Flagged"), ("T", "\\Draft"), ("D", "\\Deleted")):
                if letter in letters:
                    flags.add(flag)
    return frozenset(flags)


def _finish(from_line: bytes, lines: list[bytes]) -> MboxMessage:
    # The writer's separator: one empty line before the next From_ line (or EOF).
    if lines and lines[-1] in (b"\n", b"\r\n"):
        lines.pop()
    data = b"".join(lines)
    end = data.find(b"\n\n")
    end_crlf = data.find(b"\r\n\r\n")
    cut = min(x for x in (end, end_crlf, len(data)) if x >= 0)
    return MboxMessage(data, parse_from_line(from_line), flags_from_status(data[:cut]))


def read_mbox(f: BinaryIO) -> Iterator[MboxMessage]:
    """Messages of an open mbox file, one at a time."""
    from_line: bytes | None = None
    lines: list[bytes] = []
    for line in f:
        if line.startswith(b"From "):
            if from_line is not None:
                yield _finish(from_line, lines)
            from_line, lines = line, []
            continue
        if from_line is None:
            continue  # junk before the first From_ line
        if _QUOTED_FROM.match(line):
            line = line[1:]
        lines.append(line)
    if from_line is not None:
        yield _finish(from_line, lines)
