"""HTTP byte ranges (RFC 9110 §14): parsing ``Range`` and ``If-Range``, no I/O.

``parse_range(header, size)`` answers what a GET of a representation of ``size``
octets must send:

- ``None``: send the whole representation (200): no Range field, a range unit other
  than ``bytes`` (§14.2: an origin server MUST ignore a unit it does not understand),
  an invalid ranges-specifier (§14.1.1, which §14.2 lets a server ignore), more
  ranges than ``max_ranges`` (§14.2: "many small ranges" may be ignored), or a
  zero-length representation (no byte range of it can be expressed in Content-Range).
- ``UNSATISFIABLE``: 416 with ``Content-Range: bytes */size`` (§15.5.17).
- a tuple of ``ByteRange``: 206, one range as a single part, several as
  multipart/byteranges (§14.6). Overlapping ranges are coalesced (§14.2 allows it);
  the order of the request is kept otherwise (§14.6 SHOULD).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

__all__ = ["ByteRange", "UNSATISFIABLE", "Unsatisfiable", "parse_range", "if_range_allows", "content_range"]

_DIGITS = re.compile(r"[0-9]+")
_HUGE = 10**19  # past any representation's size; int() of thousands of digits would raise


def _position(digits: str) -> int:
    return int(digits) if len(digits.lstrip("0")) <= 19 else _HUGE
# RFC 9110 §5.6.2 token, used by range-unit.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# RFC 9110 §8.8.3: entity-tag = [ weak ] opaque-tag; etagc excludes DQUOTE, space and CTLs.
_ENTITY_TAG = re.compile(r'(W/)?"[\x21\x23-\x7e\x80-\xff]*"')


@dataclass(frozen=True, slots=True)
class ByteRange:
    """Octets ``first`` to ``last`` inclusive (RFC 9110 §14.1.2), both within the size."""

    first: int
    last: int
    open_ended: bool = field(default=False, compare=False)  # asked as "first-": to the end

    @property
    def length(self) -> int:
        return self.last - self.first + 1


class Unsatisfiable:
    """The range-set selects nothing of the representation (RFC 9110 §14.1.1)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNSATISFIABLE"


UNSATISFIABLE: Final = Unsatisfiable()


def parse_range(header: str | None, size: int, *, max_ranges: int = 16) -> tuple[ByteRange, ...] | Unsatisfiable | None:
    """The ranges of a ``Range`` field for a representation of ``size`` octets (module docstring)."""
    if header is None:
        return None
    unit, eq, range_set = header.strip().partition("=")
    unit = unit.strip()
    if not eq or not _TOKEN.fullmatch(unit) or unit.lower() != "bytes":
        return None  # §14.2: other units (and nonsense) are ignored
    specs: list[tuple[int | None, int | None]] = []
    # §5.6.1: a list allows empty elements and optional whitespace around commas.
    for element in range_set.split(","):
        element = element.strip(" \t")
        if not element:
            continue
        first, dash, last = element.partition("-")
        if not dash:
            return None
        if first:
            if not _DIGITS.fullmatch(first) or (last and not _DIGITS.fullmatch(last)):
                return None
            a, b = _position(first), (_position(last) if last else None)
            if b is not None and b < a:
                return None  # §14.1.1: an int-range with last-pos < first-pos is invalid
            specs.append((a, b))
        else:
            if not _DIGITS.fullmatch(last):
                return None
            specs.append((None, _position(last)))
    if not specs or len(specs) > max_ranges:
        return None
    if size <= 0:
        return None
    ranges: list[ByteRange] = []
    for first_pos, last_pos in specs:
        if first_pos is None:  # suffix-range: the last N octets (§14.1.2)
            assert last_pos is not None
            if last_pos == 0:
                continue  # §14.1.1: a suffix-length of zero is unsatisfiable
            ranges.append(ByteRange(max(0, size - last_pos), size - 1))
        elif first_pos < size:  # §14.1.1: satisfiable when first-pos < length
            end = size - 1 if last_pos is None else min(last_pos, size - 1)
            ranges.append(ByteRange(first_pos, end, open_ended=last_pos is None))
    if not ranges:
        return UNSATISFIABLE
    return _coalesce(ranges)


def _coalesce(ranges: list[ByteRange]) -> tuple[ByteRange, ...]:
    """Overlapping ranges merged, at the place of the first of them; otherwise the
    request's order. The ranges kept are disjoint, so one pass per new range suffices:
    the union of a range and the kept ones it overlaps is one interval."""
    merged: list[ByteRange] = []
    for r in ranges:
        lo, hi = r.first, r.last
        kept: list[ByteRange] = []
        at: int | None = None
        for m in merged:
            if m.first <= hi and lo <= m.last:
                lo, hi = min(lo, m.first), max(hi, m.last)
                if at is None:
                    at = len(kept)
            else:
                kept.append(m)
        kept.insert(len(kept) if at is None else at, r if (lo, hi) == (r.first, r.last) else ByteRange(lo, hi))
        merged = kept
    return tuple(merged)


def if_range_allows(if_range: str | None, etag: str) -> bool:
    """RFC 9110 §13.1.5: whether the Range field is honoured. ``etag`` is the current strong
    entity-tag with its quotes. A date never matches (no Last-Modified is sent), nor does a
    weak tag (the comparison is strong), nor anything malformed: the whole is sent instead."""
    if if_range is None:
        return True
    value = if_range.strip()
    if not _ENTITY_TAG.fullmatch(value) or value.startswith("W/"):
        return False
    return value == etag


def content_range(r: ByteRange, size: int) -> str:
    """RFC 9110 §14.4: ``bytes first-last/complete-length``."""
    return f"bytes {r.first}-{r.last}/{size}"
