"""Line ends: a message is stored with CRLF line ends only (RFC 5322 §2.3).

Owns the one normaliser every road in uses (the ingestion pipeline, and the import's
digest of a Maildir or mbox message before it is ingested): CRLF stays as it is, every
bare LF and every bare CR becomes CRLF. ``docs/architecture.md`` §5 says where it runs
and the one route that skips it (SMTP BODY=BINARYMIME, RFC 3030 §3).

Invariants: the output depends only on the bytes, never on how they were split into
chunks; the streaming form keeps one bit of state (a CR at the end of a chunk), so
memory is constant; input that is already CRLF-clean is returned without a copy.
"""

from __future__ import annotations

__all__ = ["LineEndNormaliser", "to_crlf"]


class LineEndNormaliser:
    """Streaming CRLF normaliser: ``feed(chunk)`` any number of times, then ``flush()``."""

    def __init__(self) -> None:
        self._cr = False  # the previous chunk ended with CR (its line end is not yet written)

    def feed(self, data: bytes) -> bytes:
        if not data:
            return b""
        prefix = b""
        if self._cr:
            prefix = b"\r\n"
            if data[:1] == b"\n":
                data = data[1:]
            self._cr = False
        if data.endswith(b"\r"):
            self._cr = True
            data = data[:-1]
        crlf = data.count(b"\r\n")
        if crlf == data.count(b"\n") == data.count(b"\r"):  # already CRLF: no copies
            return prefix + data if prefix else data
        return prefix + data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")

    def flush(self) -> bytes:
        if self._cr:
            self._cr = False
            return b"\r\n"
        return b""


def to_crlf(data: bytes) -> bytes:
    """``data`` with every bare LF and bare CR made CRLF (existing CRLF kept)."""
    normaliser = LineEndNormaliser()
    return normaliser.feed(data) + normaliser.flush()
