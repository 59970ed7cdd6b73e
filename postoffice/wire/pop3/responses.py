"""POP3 responses: ``+OK`` / ``-ERR [CODE]`` lines, multi-line bodies, and the dot-stuffer.

Owns: :class:`Response` and its constants (RFC 1939 §3; response codes of RFC 2449 §8,
RFC 3206 and RFC 6856), :func:`multiline` for CAPA / LIST / UIDL listings and
:class:`DotStuffer`, the streaming encoder for RETR / TOP bodies.

Invariants:
- A status line never contains CR or LF inside it; it ends in CRLF.
- :class:`DotStuffer` output, whatever the chunking of its input, is the body with every
  line end as CRLF, a "." added before each line that starts with ".", at least one
  complete line end at the end, and then ``.\\r\\n`` (RFC 1939 §3). Its state is two
  booleans: constant memory.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from postoffice.wire.transparency import SAFE_RUN, clean_until

__all__ = [
    "Response",
    "DotStuffer",
    "multiline",
    "dot_stuff",
    "ALL_RESPONSES",
    "OK",
    "OK_GREETING",
    "OK_BYE",
    "OK_CAPA",
    "OK_USER",
    "OK_LOGGED_IN",
    "OK_STLS",
    "OK_UTF8",
    "OK_DELETED",
    "OK_RESET",
    "OK_FOLLOWS",
    "ERR",
    "ERR_UNKNOWN_COMMAND",
    "ERR_SYNTAX",
    "ERR_LINE_TOO_LONG",
    "ERR_ARGUMENT_TOO_LONG",
    "ERR_BAD_MESSAGE_NUMBER",
    "ERR_NO_SUCH_MESSAGE",
    "ERR_MESSAGE_DELETED",
    "ERR_BAD_STATE",
    "ERR_NEED_USER",
    "ERR_AUTH",
    "ERR_AUTH_CANCELLED",
    "ERR_AUTH_MECHANISM",
    "ERR_ENCRYPTION_REQUIRED",
    "ERR_IN_USE",
    "ERR_LOGIN_DELAY",
    "ERR_SYS_TEMP",
    "ERR_TOO_MANY_CONNECTIONS",
    "ERR_SYS_PERM",
    "ERR_UTF8",
    "ERR_APOP_NOT_SUPPORTED",
    "ERR_TLS_ACTIVE",
    "ERR_TLS_UNAVAILABLE",
    "ERR_TOO_MANY_ERRORS",
    "ERR_TIMEOUT",
]

_CODE = re.compile(r"[A-Z0-9-]+(?:/[A-Z0-9-]+)*\Z")  # RFC 2449 §8 resp-code: hierarchical


@dataclass(frozen=True, slots=True)
class Response:
    """A POP3 status line. Tests compare ``ok`` and ``code``, never ``text``."""

    ok: bool
    code: str | None  # RFC 2449 §8 response code, without brackets: "IN-USE", "SYS/TEMP"
    text: str = ""

    def __post_init__(self) -> None:
        if self.code is not None and not _CODE.match(self.code):
            raise ValueError(f"bad response code {self.code!r}")

    def with_text(self, text: str) -> Response:
        return replace(self, text=text)

    def to_bytes(self) -> bytes:
        text = self.text.replace("\r", " ").replace("\n", " ")
        parts = ["+OK" if self.ok else "-ERR"]
        if self.code is not None:
            parts.append(f"[{self.code}]")
        if text:
            parts.append(text)
        return (" ".join(parts) + "\r\n").encode("utf-8")

    def __bytes__(self) -> bytes:
        return self.to_bytes()


OK = Response(True, None, "")
OK_GREETING = Response(True, None, "POP3 server ready")
OK_BYE = Response(True, None, "Bye")
OK_CAPA = Response(True, None, "Capability list follows")
OK_USER = Response(True, None, "Send PASS")
OK_LOGGED_IN = Response(True, None, "Logged in")
OK_STLS = Response(True, None, "Begin TLS negotiation")  # RFC 2595 §4
OK_UTF8 = Response(True, None, "UTF8 enabled")  # RFC 6856 §2
OK_DELETED = Response(True, None, "Message deleted")
OK_RESET = Response(True, None, "Maildrop reset")
OK_FOLLOWS = Response(True, None, "Message follows")
ERR = Response(False, None, "Error")
ERR_UNKNOWN_COMMAND = Response(False, None, "Unknown command")
ERR_SYNTAX = Response(False, None, "Syntax error")
ERR_LINE_TOO_LONG = Response(False, None, "Line too long")  # RFC 2449 §4: 255 octets
ERR_ARGUMENT_TOO_LONG = Response(False, None, "Argument too long")  # RFC 2449 §4: 40 characters
ERR_BAD_MESSAGE_NUMBER = Response(False, None, "Bad message number")
ERR_NO_SUCH_MESSAGE = Response(False, None, "No such message")
ERR_MESSAGE_DELETED = Response(False, None, "Message already deleted")  # RFC 1939 §5
ERR_BAD_STATE = Response(False, None, "Command not valid in this state")
ERR_NEED_USER = Response(False, None, "Send USER first")
ERR_AUTH = Response(False, "AUTH", "Authentication failed")  # RFC 3206 §4: credentials
ERR_AUTH_CANCELLED = Response(False, None, "Authentication cancelled")  # RFC 5034 §4
ERR_AUTH_MECHANISM = Response(False, None, "Unsupported authentication mechanism")
ERR_ENCRYPTION_REQUIRED = Response(False, "AUTH", "Plain-text authentication needs TLS (use STLS)")
ERR_IN_USE = Response(False, "IN-USE", "Maildrop is locked by another session")  # RFC 2449 §8.1.1
ERR_LOGIN_DELAY = Response(False, "LOGIN-DELAY", "Too soon since the last login")  # RFC 2449 §8.1.2
ERR_SYS_TEMP = Response(False, "SYS/TEMP", "Temporary system problem")  # RFC 3206 §3
ERR_TOO_MANY_CONNECTIONS = Response(False, "SYS/TEMP", "Too many connections from your address")  # RFC 3206 §3
ERR_SYS_PERM = Response(False, "SYS/PERM", "Permanent system problem")  # RFC 3206 §3
ERR_UTF8 = Response(False, "UTF8", "This maildrop needs UTF8 mode")  # RFC 6856 §2
ERR_APOP_NOT_SUPPORTED = Response(False, None, "APOP is not supported")  # docs/architecture.md §9
ERR_TLS_ACTIVE = Response(False, None, "TLS already active")  # RFC 2595 §4
ERR_TLS_UNAVAILABLE = Response(False, "SYS/TEMP", "TLS not available")
ERR_TOO_MANY_ERRORS = Response(False, None, "Too many errors, closing connection")
ERR_TIMEOUT = Response(False, None, "Timeout, closing connection")

ALL_RESPONSES: dict[str, Response] = {
    name: value
    for name, value in dict(globals()).items()
    if (name == "OK" or name == "ERR" or name.startswith(("OK_", "ERR_"))) and isinstance(value, Response)
}
"""Every constant by name, for the transcript meta-test."""

_CR, _LF, _DOT = 13, 10, 46


class DotStuffer:
    """Streaming multi-line body encoder (RFC 1939 §3).

    ``feed(chunk) -> bytes`` any number of times, then ``finish() -> bytes`` once. Line ends
    in the input may be CRLF, bare LF or bare CR; each comes out as CRLF.
    """

    def __init__(self) -> None:
        self._line_start = True
        self._after_cr = False  # a CR was emitted as CRLF; swallow an LF that follows it
        self._finished = False

    def feed(self, chunk: bytes) -> bytes:
        if self._finished:
            raise RuntimeError("DotStuffer already finished")
        out: list[bytes] = []
        i, n = 0, len(chunk)
        dirty_until = 0  # bytes before this were found not clean: skip the C-speed check there
        while i < n:
            if self._after_cr:
                self._after_cr = False
                if chunk[i] == _LF:
                    i += 1
                    continue
            if self._line_start:
                if chunk[i] == _DOT:
                    out.append(b".")
                self._line_start = False
            end = i
            if i >= dirty_until:
                end, dirty_until = clean_until(chunk, i, n)
            if end > i:  # C-speed path: only paired CRLFs up to the next CRLF "."
                out.append(chunk[i:end])
                self._line_start = chunk[end - 1] == _LF
                i = end
                continue
            k = SAFE_RUN.match(chunk, i).end()  # type: ignore[union-attr]  # always matches
            if k > i:  # a run that needs no change: copy it
                out.append(chunk[i:k])
                self._line_start = chunk[k - 1] == _LF
                i = k
                continue
            out.append(b"\r\n")  # chunk[i] is a CR or a bare LF
            self._line_start = True
            self._after_cr = chunk[i] == _CR
            i += 1
        return b"".join(out)

    def finish(self) -> bytes:
        """The end: a CRLF if the body did not end with a line end, then ``.\\r\\n``."""
        if self._finished:
            raise RuntimeError("DotStuffer already finished")
        self._finished = True
        return b".\r\n" if self._line_start else b"\r\n.\r\n"


def dot_stuff(body: bytes) -> bytes:
    """The whole multi-line body encoding of ``body`` at once, terminator included."""
    stuffer = DotStuffer()
    return stuffer.feed(body) + stuffer.finish()


def multiline(first: Response, lines: Iterable[str]) -> bytes:
    """A status line then a dot-stuffed listing (CAPA, LIST, UIDL): one item a line."""
    body = "".join(f"{line}\r\n" for line in lines).encode("utf-8")
    return first.to_bytes() + dot_stuff(body)
