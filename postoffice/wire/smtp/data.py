"""Message data readers: DATA (dot-terminated, smuggling-safe), BDAT chunks, and command lines.

Owns: :class:`DataReader`, :class:`BdatReader` and :func:`split_command_lines`. All are sans-I/O: the server feeds bytes as they arrive and
writes what comes out to the spool.

Invariants of :class:`DataReader` (the SMTP smuggling defence, CVE-2023-51764/51765/51766):
- ONLY ``<CRLF>.<CRLF>`` ends the data, the start of the data counting as just after a
  CRLF (RFC 5321 §4.1.1.4). A bare LF or bare CR is never a line end for this purpose:
  ``\\n.\\n``, ``\\r.\\r``, ``\\n.\\r\\n``, ``\\r\\n.\\n``, ``\\r.\\r\\n`` end nothing. Equivalently, the
  data ends at the first occurrence of ``\\r\\n.\\r\\n`` in ``b"\\r\\n" + stream``.
- Dot-unstuffing (RFC 5321 §4.5.2) removes the first "." of a line that starts after a
  real CRLF and is not the terminator. A "." after a bare CR or LF is content and stays.
- The output is CRLF-clean: every bare CR and bare LF of the content comes out as CRLF,
  so no later hop can disagree with us about where lines end. ``bare_line_end_seen``
  records that one was met; in mode ``"refuse"`` :meth:`DataReader.error_reply` then
  answers 550 5.6.11 after the real end (the data is still read to the end).
- Output and flags depend only on the bytes, never on how they were split into chunks;
  memory is constant (the state is one small enum, nothing is buffered).
- ``size`` counts output octets even past ``max_size``; ``too_big`` tells the server to
  stop keeping data (RFC 1870 §6: read to the end, then answer 552 5.3.4).
"""

from __future__ import annotations

import enum
from typing import Literal

from postoffice.wire.smtp.replies import R550_BARE_LINE_END, R552_TOO_BIG, Reply
from postoffice.wire.transparency import SAFE_RUN, clean_until

__all__ = [
    "BareLineEndMode",
    "BdatReader",
    "DataReader",
    "split_command_lines",
]

BareLineEndMode = Literal["normalise", "refuse"]

_CR, _LF, _DOT = 13, 10, 46
_CRLF = b"\r\n"


class _State(enum.Enum):
    LINE_START = 0  # just after a real CRLF (or at the very start)
    MIDDLE = 1  # inside a line
    AFTER_CR = 2  # a CR was seen (CRLF already emitted for it); an LF now completes it
    DOT = 3  # a "." at line start (not emitted: it is either stuffing or the terminator)
    DOT_CR = 4  # ".\r" at line start: an LF now ends the data


class DataReader:
    """The DATA body reader: feed raw bytes, get dot-unstuffed CRLF-clean message bytes.

    ``feed(chunk) -> bytes`` returns the message bytes found in ``chunk``. Once ``done``
    is true, the bytes after the terminator (pipelined commands, RFC 2920) are in
    ``leftover`` and feeding again raises ``RuntimeError``.
    """

    def __init__(self, mode: BareLineEndMode = "normalise", max_size: int | None = None) -> None:
        if mode not in ("normalise", "refuse"):
            raise ValueError(f"unknown bare line end mode {mode!r}")
        self.mode: BareLineEndMode = mode
        self.max_size = max_size
        self.size = 0  # message octets produced
        self.octets_received = 0  # raw octets consumed, terminator included
        self.bare_line_end_seen = False
        self.done = False
        self.leftover = b""
        self._state = _State.LINE_START

    @property
    def too_big(self) -> bool:
        return self.max_size is not None and self.size > self.max_size

    @property
    def refused(self) -> bool:
        """Mode "refuse" and a bare CR or LF was met: the message must be refused."""
        return self.mode == "refuse" and self.bare_line_end_seen

    def error_reply(self) -> Reply | None:
        """What to answer instead of accepting, once ``done``: 552 5.3.4, 550 5.6.11, or None."""
        if self.too_big:
            return R552_TOO_BIG
        if self.refused:
            return R550_BARE_LINE_END
        return None

    def feed(self, chunk: bytes) -> bytes:
        if self.done:
            raise RuntimeError("DATA already ended")
        out: list[bytes] = []
        state = self._state
        i, n = 0, len(chunk)
        dirty_until = 0  # bytes before this were found not clean: skip the C-speed check there
        while i < n:
            if state is _State.MIDDLE:
                # Fastest path, all in C: up to the next CRLF "." the bytes pass unchanged when
                # every CR and LF in them pairs as CRLF (a final CR waits for the next chunk).
                end = i
                if i >= dirty_until:
                    end, dirty_until = clean_until(chunk, i, n)
                if end > i:
                    out.append(chunk[i:end])
                    if chunk[end - 1] == _LF:
                        state = _State.LINE_START
                    i = end
                    continue
                # Fast path: copy the longest run that needs no change (no bare CR/LF, no CRLF ".").
                k = SAFE_RUN.match(chunk, i).end()  # type: ignore[union-attr]  # always matches
                if k > i:
                    out.append(chunk[i:k])
                    if chunk[k - 1] == _LF:  # the run ended with a CRLF pair
                        state = _State.LINE_START
                    i = k
                    continue
                out.append(_CRLF)  # chunk[i] is a CR or a bare LF
                if chunk[i] == _CR:
                    state = _State.AFTER_CR
                else:
                    self.bare_line_end_seen = True  # bare LF: a line break in the output only
                i += 1
                continue
            byte = chunk[i]
            if state is _State.AFTER_CR:
                if byte == _LF:
                    state = _State.LINE_START
                    i += 1
                else:
                    self.bare_line_end_seen = True  # the CR was bare; its CRLF is already out
                    state = _State.MIDDLE
            elif state is _State.LINE_START:
                if byte == _DOT:
                    state = _State.DOT
                    i += 1
                else:
                    state = _State.MIDDLE
            elif state is _State.DOT:
                if byte == _CR:
                    state = _State.DOT_CR
                    i += 1
                else:
                    state = _State.MIDDLE  # RFC 5321 §4.5.2: the stuffed dot is dropped
            else:  # DOT_CR
                if byte == _LF:
                    i += 1
                    self.done = True
                    self.leftover = chunk[i:]
                    break
                self.bare_line_end_seen = True  # ".\r" + not LF: dot unstuffed, CR bare
                out.append(_CRLF)
                state = _State.MIDDLE
        self._state = state
        self.octets_received += i
        data = b"".join(out)
        self.size += len(data)
        return data


class BdatReader:
    """One BDAT chunk (RFC 3030 §2): exactly ``size`` octets, no dot or line-end handling.

    ``feed(data) -> bytes`` returns the chunk octets in ``data``; when ``done``, the rest
    of ``data`` (the next pipelined command) is in ``leftover``.
    """

    def __init__(self, size: int) -> None:
        if size < 0:
            raise ValueError("negative chunk size")
        self.size = size
        self.remaining = size
        self.leftover = b""

    @property
    def done(self) -> bool:
        return self.remaining == 0

    def feed(self, data: bytes) -> bytes:
        if self.done:
            self.leftover += data
            return b""
        taken = data[: self.remaining]
        self.remaining -= len(taken)
        if self.remaining == 0:
            self.leftover = data[len(taken) :]
        return taken


def split_command_lines(buffer: bytes) -> tuple[list[bytes], bytes]:
    """Split complete command lines off ``buffer``: (lines without their line end, rest).

    A command line ends at LF; one CR before it is removed (RFC 5321 §2.3.8 asks for CRLF;
    a bare LF in a command line is harmless, unlike in DATA). The server checks the length of
    each line and of ``rest`` against ``limits.smtp.max_line_length`` and answers
    R500_LINE_TOO_LONG; it hands ``rest`` to a :class:`DataReader` after DATA.
    """
    lines = buffer.split(b"\n")
    rest = lines.pop()
    return [line[:-1] if line.endswith(b"\r") else line for line in lines], rest
