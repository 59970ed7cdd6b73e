"""IMAP sequence sets (RFC 9051 §9 ``sequence-set``) and the ``$`` marker of SEARCHRES.

A :class:`SequenceSet` is syntax only: it keeps the ranges as the client wrote them,
with ``None`` standing for ``*``. It is resolved against the mailbox by the server with
:meth:`SequenceSet.resolve` (``largest`` = number of messages for sequence numbers, or
the largest UID in use for UID sets). Invariants: every number is >= 1 (RFC 9051 §9
``nz-number``); a range ``a:b`` means the same as ``b:a`` (RFC 9051 §9 ``seq-range``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .errors import ImapSyntaxError

__all__ = ["SequenceSet", "MAX_NUMBER"]

MAX_NUMBER = 2**32 - 1  # RFC 9051 §9: nz-number fits in 32 bits (number is uint32)


def _num(text: str) -> int | None:
    if text == "*":
        return None
    if not text.isdigit() or not text.isascii() or text.startswith("0"):
        raise ImapSyntaxError(f"bad number in sequence set: {text!r}")
    if len(text) > 10:  # before int(): Python refuses to convert more than 4,300 digits
        raise ImapSyntaxError("number in sequence set too large")
    value = int(text)
    if value > MAX_NUMBER:
        raise ImapSyntaxError("number in sequence set too large")
    return value


@dataclass(frozen=True)
class SequenceSet:
    """``ranges``: (first, last) pairs as written; None means ``*``.

    ``saved`` is True for ``$`` (RFC 5182 SEARCHRES), in which case ``ranges`` is empty
    and the server substitutes the saved search result.
    """

    ranges: tuple[tuple[int | None, int | None], ...] = ()
    saved: bool = False

    @classmethod
    def parse(cls, text: str) -> SequenceSet:
        """Parse ``1:3,5,7:*`` or ``$``; raises :class:`ImapSyntaxError`."""
        if text == "$":
            return cls((), saved=True)
        if not text:
            raise ImapSyntaxError("empty sequence set")
        ranges: list[tuple[int | None, int | None]] = []
        for item in text.split(","):
            first, sep, last = item.partition(":")
            lo = _num(first)
            hi = _num(last) if sep else lo
            ranges.append((lo, hi))
        return cls(tuple(ranges))

    @classmethod
    def of(cls, numbers: Iterable[int]) -> SequenceSet:
        """The compact set holding exactly ``numbers`` (for COPYUID, MODIFIED, ESEARCH ALL)."""
        ordered = sorted(set(numbers))
        ranges: list[tuple[int | None, int | None]] = []
        for n in ordered:
            if n < 1:
                raise ValueError("sequence numbers and UIDs start at 1")
            if ranges and ranges[-1][1] == n - 1:
                ranges[-1] = (ranges[-1][0], n)
            else:
                ranges.append((n, n))
        return cls(tuple(ranges))

    def __str__(self) -> str:
        if self.saved:
            return "$"

        def one(n: int | None) -> str:
            return "*" if n is None else str(n)

        return ",".join(one(a) if a == b else f"{one(a)}:{one(b)}" for a, b in self.ranges)

    def resolve(self, largest: int) -> list[tuple[int, int]]:
        """Sorted, merged, ascending inclusive ranges, ``*`` taken as ``largest``.

        Numbers above ``largest`` are kept (a UID set may name UIDs that do not
        exist; whether a sequence number past the end is an error is for the server:
        see :meth:`out_of_range`). With ``largest == 0``, ``*`` resolves to nothing.
        Raises ValueError on ``$``: the server resolves the saved result itself.
        """
        if self.saved:
            raise ValueError("'$' is resolved from the saved search result")
        spans: list[tuple[int, int]] = []
        for a, b in self.ranges:
            if (a is None or b is None) and largest == 0:
                continue  # RFC 9051 §9: "*" is the largest number in use; none is in use
            lo = largest if a is None else a
            hi = largest if b is None else b
            if lo > hi:
                lo, hi = hi, lo
            spans.append((lo, hi))
        spans.sort()
        merged: list[tuple[int, int]] = []
        for lo, hi in spans:
            if merged and lo <= merged[-1][1] + 1:
                if hi > merged[-1][1]:
                    merged[-1] = (merged[-1][0], hi)
            else:
                merged.append((lo, hi))
        return merged

    def iter(self, largest: int, *, clamp: bool = True) -> Iterator[int]:
        """Each number of the set in ascending order; with ``clamp``, only 1..largest."""
        for lo, hi in self.resolve(largest):
            if clamp:
                hi = min(hi, largest)
            yield from range(lo, hi + 1)

    def contains(self, n: int, largest: int) -> bool:
        return any(lo <= n <= hi for lo, hi in self.resolve(largest))

    def out_of_range(self, largest: int) -> bool:
        """True when a message sequence number names a message past ``largest``
        (RFC 9051 §6.4.5 servers answer BAD for invalid message sequence numbers)."""
        return any(hi > largest for _lo, hi in self.resolve(largest)) or (largest == 0 and bool(self.ranges))
