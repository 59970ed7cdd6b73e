"""COMPRESS (RFC 4978): DEFLATE under the rest of the connection.

The transform itself is the connection's (``net/connection.py``, ``start_compression``),
so it lies under literals, streamed FETCH bodies and IDLE alike. Invariants: the tagged
OK goes out uncompressed and everything after it compressed (RFC 4978 §3); what the
client sent after its command is inflated, never read as plain text; COMPRESS once only.
"""

from __future__ import annotations

from postoffice.wire.imap import commands as c
from postoffice.wire.imap import response as r

from .errors import Refusal
from .session import Session

__all__ = ["compress"]


async def compress(s: Session, cmd: c.Compress) -> bytes | None:
    if s.conn.compressed:
        # RFC 4978 §3 and RFC 5530 §3: the same layer is active already.
        raise Refusal(r.NO_COMPRESSIONACTIVE, "DEFLATE is active already")
    if cmd.mechanism != "DEFLATE":
        raise Refusal(r.BAD, f"unknown compression mechanism {cmd.mechanism}")  # RFC 4978 §3: BAD
    # TLS-level compression (RFC 4978 §3: NO [COMPRESSIONACTIVE] then) is never on:
    # Python's ssl module disables it (OP_NO_COMPRESSION).
    s.write(r.tagged(cmd.tag, "OK", "DEFLATE active"))
    await s.flush()
    # RFC 4978 §3: the client waits for this OK, then compresses all it sends; any
    # octet already read past the command is compressed data.
    s.conn.start_compression(s.reader.take_unread())
    return b""
