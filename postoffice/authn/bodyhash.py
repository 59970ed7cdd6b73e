"""DKIM body canonicalization and hashing in constant memory (RFC 6376 §3.4.3, §3.4.4).

dkimpy canonicalizes a body held whole in memory; a message of any size cannot be. A
:class:`BodyHasher` is fed the body in chunks of any size and keeps only the current
incomplete line and a count of trailing empty lines, so a 2 GiB body costs a few KiB.
dkimpy still does everything else (header canonicalization, the signatures themselves).

Invariants: the digest equals that of dkimpy's ``canonicalize_body`` over the same
bytes (tested); ``l=`` (a body length limit, RFC 6376 §3.5) counts canonicalized octets.
"""

from __future__ import annotations

import hashlib
import re

__all__ = ["BodyHasher"]

_WSP_RUN = re.compile(rb"[ \t]+")


class BodyHasher:
    """SHA-256 of a canonicalized body (``canon`` "simple" or "relaxed"), fed in chunks."""

    def __init__(self, canon: str = "relaxed", *, length: int | None = None) -> None:
        if canon not in ("simple", "relaxed"):
            raise ValueError(f"unknown body canonicalization {canon!r}")
        self.relaxed = canon == "relaxed"
        self.length = length  # RFC 6376 §3.5 l=: octets of canonical body hashed
        self._sha = hashlib.sha256()
        self._partial = b""  # an incomplete last line (no LF seen yet)
        self._empty_lines = 0  # empty lines held back: RFC 6376 ignores them at the end
        self._any = False  # a non-empty line was seen (relaxed: empty body hashes as "")
        self.hashed = 0  # canonical octets hashed so far

    def _emit(self, data: bytes) -> None:
        if self.length is not None:
            room = self.length - self.hashed
            if room <= 0:
                return
            data = data[:room]
        self._sha.update(data)
        self.hashed += len(data)

    def _line(self, line: bytes) -> None:
        """One line without its line end."""
        if line.endswith(b"\r"):
            line = line[:-1]
        if self.relaxed:
            # RFC 6376 §3.4.4: WSP at line end removed, runs of WSP become one SP.
            line = _WSP_RUN.sub(b" ", line).rstrip(b" ")
        if not line:
            self._empty_lines += 1
            return
        if self._empty_lines:
            self._emit(b"\r\n" * self._empty_lines)
            self._empty_lines = 0
        self._emit(line + b"\r\n")
        self._any = True

    def update(self, data: bytes) -> None:
        if not data:
            return
        buffer = self._partial + data if self._partial else data
        start = 0
        while True:
            end = buffer.find(b"\n", start)
            if end < 0:
                break
            self._line(buffer[start:end])
            start = end + 1
        self._partial = buffer[start:]

    def digest(self) -> bytes:
        """The body hash; the hasher must not be fed afterwards."""
        if self._partial:
            # RFC 6376 §3.4.3/§3.4.4: a body not ending in CRLF gets one.
            self._line(self._partial)
            self._partial = b""
        if not self._any and not self.relaxed:
            self._emit(b"\r\n")  # RFC 6376 §3.4.3: an empty body is one CRLF (simple)
        return self._sha.digest()
