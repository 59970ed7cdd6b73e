"""Splitting a message stream into its header block and body, in constant memory.

Owns :class:`HeaderSplitter`: fed chunks, it holds the header block (up to a limit) and
hands every body octet on. Signing, verifying and rewriting the header block (removing a
forged Authentication-Results) all start here.
"""

from __future__ import annotations

__all__ = ["HeaderSplitter", "HeaderTooLong"]


class HeaderTooLong(Exception):
    """The header block exceeds the limit."""


class HeaderSplitter:
    """Collects the header block (up to and including the empty line); then body bytes."""

    def __init__(self, max_header: int) -> None:
        self.max_header = max_header
        self._held = bytearray()
        self.header: bytes | None = None  # set once the empty line (or the end) is seen
        self.overflow = False

    def feed(self, data: bytes) -> bytes:
        """Body bytes in ``data`` (b"" while the header block is still incomplete)."""
        if self.header is not None:
            return data
        start = max(0, len(self._held) - 3)
        self._held += data
        held = self._held
        if held.startswith(b"\r\n") or held.startswith(b"\n"):  # no header fields at all
            end = 2 if held.startswith(b"\r\n") else 1
        else:
            end = _blank_line(held, start)
        if end < 0:
            if len(held) > self.max_header:
                self.overflow = True
                self.header = b""
                body = bytes(held)
                self._held = bytearray()
                return body
            return b""
        self.header = bytes(held[:end])
        body = bytes(held[end:])
        self._held = bytearray()
        return body

    def close(self) -> bytes:
        """At the end of the message: a message with no body is all header."""
        if self.header is None:
            self.header = bytes(self._held)
            self._held = bytearray()
        return b""


def _blank_line(data: bytearray, start: int) -> int:
    """Offset just past the first empty line (CRLF CRLF or LF LF), or -1."""
    i = data.find(b"\n\r\n", start)
    j = data.find(b"\n\n", start)
    candidates = [x + 3 for x in (i,) if x >= 0] + [x + 2 for x in (j,) if x >= 0]
    return min(candidates) if candidates else -1
