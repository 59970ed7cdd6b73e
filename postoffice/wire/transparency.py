"""Scanning helpers for dot transparency, shared by the SMTP DATA reader and the POP3
multi-line encoder (RFC 5321 §4.5.2, RFC 1939 §3).

Both walk message bytes looking for the places where a line starts with "." or where a
line end is not a CRLF pair; everything else is copied at C speed. These two helpers
find the stretches that need no change. Pure functions over bytes, no state.
"""

from __future__ import annotations

import re

__all__ = ["SAFE_RUN", "clean_until"]

_CR = 13

# Bytes that pass through unchanged: anything but CR/LF, and CRLF pairs not followed by ".".
SAFE_RUN = re.compile(rb"(?:[^\r\n]++|\r\n(?!\.))*+")


def clean_until(chunk: bytes, i: int, n: int) -> tuple[int, int]:
    """(end, stretch end): ``end`` is where the stretch from ``i`` to the next CRLF "." stops if
    it holds only paired CRLFs, else ``i``. A failed stretch is not tried again (linear time)."""
    stop = chunk.find(b"\r\n.", i)
    end = n if stop < 0 else stop
    if end == n and chunk[n - 1] == _CR:
        end -= 1
    if end > i:
        pairs = chunk.count(b"\r\n", i, end)
        if chunk.count(b"\r", i, end) == pairs == chunk.count(b"\n", i, end):
            return end, end
    return i, end
