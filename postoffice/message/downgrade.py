"""Content-transfer-encoding downgrade for a peer that lacks 8BITMIME or BINARYMIME.

Owns :class:`Downgrader`, a streaming (feed/finish) rewrite of a MIME message:

- with ``convert_8bit`` (the peer lacks 8BITMIME, RFC 6152 §3): every leaf part whose
  Content-Transfer-Encoding is ``8bit`` is re-encoded as quoted-printable (RFC 2045 §6.7);
- with ``convert_binary`` (the peer lacks BINARYMIME, RFC 3030 §3): every leaf part whose
  encoding is ``binary`` is re-encoded as base64 (RFC 2045 §6.8);
- a multipart or message/rfc822 entity declared ``8bit``/``binary`` whose contents were
  converted is relabelled ``7bit`` (RFC 2045 §6.4: a composite's encoding is that of its
  contents); an embedded message/rfc822 is walked like the top level.

Invariants: memory is bounded whatever the size of the message (a header block is held
at most ``max_header`` octets, past which the rest of the message passes unchanged; a
body holds back only the octets that might start a boundary); the output depends only on
the input bytes, never on how they were split into chunks; parts that need no change
pass through byte for byte. Pure: no I/O.
"""

from __future__ import annotations

import base64
import re

from postoffice.message.headers import parse_params, split_header_block

__all__ = ["Downgrader", "downgrade"]

_B64_LINE = 57  # input octets per 76-character base64 line (RFC 2045 §6.8)
_QP_MAX = 76  # RFC 2045 §6.7 rule 5: encoded lines at most 76 characters
_QP_SAFE = re.compile(rb"[!-<>-~]+")  # printable ASCII but "=" (RFC 2045 §6.7 rule 2)
_MAX_BOUNDARY_LINE = 1000


class _QPEncoder:
    """Streaming quoted-printable of octets whose CRLF pairs are line ends."""

    def __init__(self) -> None:
        self.col = 0
        self.pending_ws: int | None = None  # a space/tab: literal unless a line end follows
        self.pending_cr = False

    def _put(self, out: bytearray, token: bytes) -> None:
        if self.col + len(token) > _QP_MAX - 1:  # room for the soft break "="
            out += b"=\r\n"
            self.col = 0
        out += token
        self.col += len(token)

    def _flush_ws(self, out: bytearray, before_line_end: bool) -> None:
        if self.pending_ws is not None:
            ws = self.pending_ws
            self.pending_ws = None
            self._put(out, b"=%02X" % ws if before_line_end else bytes([ws]))

    def _flush_cr(self, out: bytearray) -> None:
        if self.pending_cr:
            self.pending_cr = False
            self._flush_ws(out, False)
            self._put(out, b"=0D")

    def feed(self, data: bytes) -> bytes:
        out = bytearray()
        i, n = 0, len(data)
        while i < n:
            c = data[i]
            if self.pending_cr:
                if c == 10:
                    self.pending_cr = False
                    self._flush_ws(out, True)  # RFC 2045 §6.7 rule 3: no trailing white space
                    out += b"\r\n"
                    self.col = 0
                    i += 1
                    continue
                self._flush_cr(out)
            m = _QP_SAFE.match(data, i)
            if m is not None:
                self._flush_ws(out, False)
                run = m.group()
                while run:
                    if self.col >= _QP_MAX - 1:
                        out += b"=\r\n"
                        self.col = 0
                    room = _QP_MAX - 1 - self.col
                    self._put(out, run[:room])
                    run = run[room:]
                i = m.end()
                continue
            if c == 13:
                self.pending_cr = True
            elif c in (32, 9):
                self._flush_ws(out, False)
                self.pending_ws = c
            else:
                self._flush_ws(out, False)
                self._put(out, b"=%02X" % c)
            i += 1
        return bytes(out)

    def finish(self) -> bytes:
        out = bytearray()
        self._flush_cr(out)
        self._flush_ws(out, True)
        return bytes(out)


class _Base64Encoder:
    def __init__(self) -> None:
        self.carry = b""
        self.first = True

    def _lines(self, data: bytes) -> bytes:
        out = bytearray()
        for start in range(0, len(data), _B64_LINE):
            if not self.first:
                out += b"\r\n"
            self.first = False
            out += base64.b64encode(data[start : start + _B64_LINE])
        return bytes(out)

    def feed(self, data: bytes) -> bytes:
        data = self.carry + data
        whole = len(data) - len(data) % _B64_LINE
        self.carry = data[whole:]
        return self._lines(data[:whole])

    def finish(self) -> bytes:
        data, self.carry = self.carry, b""
        return self._lines(data)


class Downgrader:
    """Feed the message's bytes, collect what :meth:`feed` and :meth:`finish` return."""

    def __init__(self, *, convert_8bit: bool, convert_binary: bool, max_header: int = 1024 * 1024) -> None:
        self.convert_8bit = convert_8bit
        self.convert_binary = convert_binary
        self.max_header = max_header
        self.changed = False  # some part was re-encoded
        self._buffer = bytearray()
        self._in_header = True
        self._boundaries: list[bytes] = []  # enclosing multipart boundaries, innermost last
        self._encoder: _QPEncoder | _Base64Encoder | None = None
        self._passthrough = False  # give up structure (header too large): copy the rest
        self._after_header_message = False

    # ---- header blocks ------------------------------------------------------------------
    def _header_end(self) -> int:
        """Index just past the blank line ending the header block in the buffer, or -1."""
        buf = self._buffer
        if buf[:2] == b"\r\n":
            return 2
        if buf[:1] == b"\n":
            return 1
        i = buf.find(b"\n\r\n")
        j = buf.find(b"\n\n")
        ends = [k for k in ((i + 3) if i >= 0 else -1, (j + 2) if j >= 0 else -1) if k >= 0]
        return min(ends) if ends else -1

    def _rewrite_header(self, block: bytes) -> bytes:
        fields = split_header_block(block)
        ctype, params = "text/plain", dict[str, str]()
        cte = "7bit"
        for name, value in fields:
            lname = name.lower()
            if lname == "content-type":
                ctype, params = parse_params(value.decode("latin-1"))
            elif lname == "content-transfer-encoding":
                cte = value.decode("latin-1").strip().lower()
        new_cte: str | None = None
        self._encoder = None
        if ctype.startswith("multipart/") and params.get("boundary"):
            self._boundaries.append(params["boundary"].encode("latin-1"))
            if (cte == "8bit" and self.convert_8bit) or (cte == "binary" and self.convert_binary):
                new_cte = "7bit"
        elif ctype in ("message/rfc822", "message/global") and cte in ("8bit", "binary"):
            if (cte == "8bit" and self.convert_8bit) or (cte == "binary" and self.convert_binary):
                new_cte = "7bit"
            self._after_header_message = True
        elif cte == "8bit" and self.convert_8bit:
            new_cte, self._encoder = "quoted-printable", _QPEncoder()
        elif cte == "binary" and self.convert_binary:
            new_cte, self._encoder = "base64", _Base64Encoder()
        if new_cte is None:
            return block
        self.changed = True
        return _replace_cte(block, new_cte)

    # ---- streaming ---------------------------------------------------------------------------
    def feed(self, data: bytes) -> bytes:
        if self._passthrough:
            return data
        self._buffer += data
        return self._run(final=False)

    def finish(self) -> bytes:
        if self._passthrough:
            return b""
        out = self._run(final=True)
        rest = bytes(self._buffer)
        self._buffer.clear()
        if self._in_header:
            return out + rest
        tail = self._encode(rest) if rest else b""
        if self._encoder is not None:
            tail += self._encoder.finish()
            self._encoder = None
        return out + tail

    def _encode(self, data: bytes) -> bytes:
        return data if self._encoder is None else self._encoder.feed(data)

    def _run(self, *, final: bool) -> bytes:
        out = bytearray()
        buf = self._buffer
        while True:
            if self._in_header:
                self._after_header_message = False
                end = self._header_end()
                if end < 0:
                    if len(buf) > self.max_header:
                        self._passthrough = True
                        out += buf
                        buf.clear()
                    return bytes(out)
                block = bytes(buf[:end])
                del buf[:end]
                out += self._rewrite_header(block)
                # A message/rfc822 body is itself an entity with a header block.
                self._in_header = self._after_header_message
                continue
            # Body: look for a delimiter line of an enclosing multipart (RFC 2046 §5.1.1).
            if not self._boundaries:
                out += self._encode(bytes(buf))
                buf.clear()
                return bytes(out)
            found = self._find_delimiter()
            if found is None:
                # Keep back what could be the start of a delimiter.
                keep = self._holdback()
                if keep < len(buf):
                    cut = len(buf) - keep
                    out += self._encode(bytes(buf[:cut]))
                    del buf[:cut]
                return bytes(out)
            start, line_end, boundary, closing = found
            if line_end < 0:  # the delimiter line is not complete yet
                if start > 0:
                    out += self._encode(bytes(buf[:start]))
                    del buf[:start]
                if len(buf) > _MAX_BOUNDARY_LINE and not final:
                    out += self._encode(bytes(buf))
                    buf.clear()
                return bytes(out)
            out += self._encode(bytes(buf[:start]))
            if self._encoder is not None:
                out += self._encoder.finish()
                self._encoder = None
            out += buf[start:line_end]
            del buf[:line_end]
            # Leave inner multiparts whose boundary was not the one found.
            while self._boundaries and self._boundaries[-1] != boundary:
                self._boundaries.pop()
            if closing:
                self._boundaries.pop()
                self._in_header = False  # the epilogue is copied as it is
            else:
                self._in_header = True

    def _find_delimiter(self) -> tuple[int, int, bytes, bool] | None:
        """(start, end of its line or -1, boundary, closing) of the first delimiter."""
        buf = self._buffer
        pos = 0
        while True:
            i = buf.find(b"--", pos)
            if i < 0:
                return None
            # A delimiter starts a line: at the start of a body or after CRLF / LF.
            if i == 0 or buf[i - 1] == 10:
                start = i - 2 if i >= 2 and buf[i - 2 : i] == b"\r\n" else (i - 1 if i >= 1 else 0)
                rest = buf[i + 2 : i + 2 + _MAX_BOUNDARY_LINE]
                for boundary in reversed(self._boundaries):
                    if rest.startswith(boundary):
                        after = i + 2 + len(boundary)
                        closing = buf[after : after + 2] == b"--"
                        nl = buf.find(b"\n", after)
                        return start, (nl + 1 if nl >= 0 else -1), boundary, closing
                    if boundary.startswith(bytes(rest)) and len(rest) < len(boundary):
                        return start, -1, boundary, False  # may still become a delimiter
            pos = i + 2

    def _holdback(self) -> int:
        """Octets at the end of the buffer that could begin a delimiter line."""
        longest = max(len(b) for b in self._boundaries) + 4
        buf = self._buffer
        tail_start = max(0, len(buf) - longest)
        for k in range(tail_start, len(buf)):
            if buf[k] in (13, 10):
                return len(buf) - k
        return 0


def _replace_cte(block: bytes, value: str) -> bytes:
    """The header block with its Content-Transfer-Encoding field (folded lines too) set to ``value``."""
    eol = b"\r\n" if b"\r\n" in block else b"\n"
    lines = block.splitlines(keepends=True)
    out: list[bytes] = []
    skipping = False
    for line in lines:
        if skipping and line[:1] in (b" ", b"\t"):
            continue
        skipping = False
        if line.lower().startswith(b"content-transfer-encoding:"):
            out.append(b"Content-Transfer-Encoding: " + value.encode() + eol)
            skipping = True
            continue
        out.append(line)
    return b"".join(out)


def downgrade(message: bytes, *, convert_8bit: bool, convert_binary: bool) -> bytes:
    """The whole of :class:`Downgrader` over one message in memory (tests, small messages)."""
    d = Downgrader(convert_8bit=convert_8bit, convert_binary=convert_binary)
    return d.feed(message) + d.finish()
