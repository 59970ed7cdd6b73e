"""Reading SMTP replies (RFC 5321 §4.2): typed, bounded, and strict about syntax.

Owns :class:`ServerReply` and :class:`ReplyParser`, a sans-I/O parser fed one line at a
time. A line longer than the limit, a line that is not ``DDD``, ``DDD SP text`` or
``DDD-text``, a code outside 200-599, a multi-line reply whose lines change code, or
more lines than the limit raise :class:`ReplyError`: a peer never makes the client hold
an unbounded reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ServerReply", "ReplyParser", "ReplyError"]

_LINE = re.compile(rb"([2-5][0-9][0-9])([ -]?)(.*)", re.S)
_ENHANCED = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})(?: |$)")


class ReplyError(Exception):
    """The peer sent something that is not an SMTP reply."""


@dataclass(frozen=True, slots=True)
class ServerReply:
    code: int
    lines: tuple[str, ...]  # the text of each line, without code and separator

    @property
    def enhanced(self) -> str | None:
        """The RFC 3463 enhanced status code of the first line, if it has one that fits."""
        m = _ENHANCED.match(self.lines[0]) if self.lines else None
        if m is None or m.group(1) != str(self.code)[0]:
            return None
        return f"{m.group(1)}.{m.group(2)}.{m.group(3)}"

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def is_positive(self) -> bool:
        return self.code < 400

    @property
    def is_transient(self) -> bool:
        return 400 <= self.code < 500

    @property
    def is_permanent(self) -> bool:
        return self.code >= 500

    def __str__(self) -> str:
        return f"{self.code} {' / '.join(self.lines)}".strip()


class ReplyParser:
    def __init__(self, *, max_lines: int = 100) -> None:
        self.max_lines = max_lines
        self._code: int | None = None
        self._lines: list[str] = []

    def feed_line(self, line: bytes) -> ServerReply | None:
        """One line (its CRLF or LF optional); the reply once its last line arrived."""
        if line.endswith(b"\n"):
            line = line[:-1]
        if line.endswith(b"\r"):
            line = line[:-1]
        m = _LINE.fullmatch(line)
        if m is None or (m.group(3) and not m.group(2)):
            raise ReplyError(f"not an SMTP reply line: {line[:80]!r}")
        code = int(m.group(1))
        if self._code is not None and code != self._code:
            raise ReplyError(f"reply code changed within a multi-line reply: {self._code} then {code}")
        self._code = code
        self._lines.append(m.group(3).decode("utf-8", "replace"))
        if len(self._lines) > self.max_lines:
            raise ReplyError(f"reply of more than {self.max_lines} lines")
        if m.group(2) == b"-":
            return None
        reply = ServerReply(code, tuple(self._lines))
        self._code, self._lines = None, []
        return reply
