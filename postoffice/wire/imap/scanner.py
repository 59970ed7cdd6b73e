"""Token scanner over a framed command (lines with literals between them).

Implements the lexical rules of RFC 9051 §9 (atom, quoted, literal, literal8, astring,
nstring, list-mailbox, number, sequence-set). Keywords compare case-insensitively
(RFC 9051 §9 note 3). Invariant: every failure raises :class:`ImapSyntaxError`.
"""

from __future__ import annotations

import re

from .commands import FramedCommand, StreamedLiteral
from .errors import ImapSyntaxError
from .seqset import SequenceSet

__all__ = ["Scanner", "ATOM_SPECIALS"]

# RFC 9051 §9: atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards / quoted-specials / resp-specials
ATOM_SPECIALS = frozenset(b'(){ %*"\\]') | frozenset(range(0x00, 0x20)) | {0x7F}
_ATOM_CHARS = frozenset(range(0x01, 0x80)) - ATOM_SPECIALS
_ASTRING_CHARS = _ATOM_CHARS | {ord("]")}
_LIST_CHARS = _ATOM_CHARS | frozenset(b"%*]")
_SEQ_CHARS = frozenset(b"0123456789:*,$")
_RUN_PATTERNS: dict[frozenset[int], re.Pattern[bytes]] = {}
MAX_UINT32 = 2**32 - 1
MAX_MODSEQ = 2**63 - 1  # RFC 7162 §7: mod-sequence-value is 1*DIGIT up to 2^63-1


class Scanner:
    def __init__(self, framed: FramedCommand, *, max_nesting: int = 32, max_search_depth: int = 100) -> None:
        self.lines = framed.lines
        self.literals = framed.literals
        self.line_no = 0
        self.line = framed.lines[0]
        self.pos = 0
        self.depth = 0
        self.max_nesting = max_nesting
        self.search_depth = 0  # search keys being parsed inside one another (wire.imap.search)
        self.max_search_depth = max_search_depth

    # -- positions --------------------------------------------------------------------

    def error(self, text: str) -> ImapSyntaxError:
        return ImapSyntaxError(text)

    def peek(self) -> int | None:
        return self.line[self.pos] if self.pos < len(self.line) else None

    def at_end(self) -> bool:
        return self.pos >= len(self.line) and self.line_no == len(self.lines) - 1

    def end(self) -> None:
        if not self.at_end():
            raise self.error("unexpected text at end of command")

    def sp(self) -> None:
        if self.peek() != 0x20:
            raise self.error("expected a space")
        self.pos += 1

    def try_sp(self) -> bool:
        if self.peek() == 0x20:
            self.pos += 1
            return True
        return False

    def char(self, c: bytes) -> None:
        if self.peek() != c[0]:
            raise self.error(f"expected {c.decode()!r}")
        self.pos += 1

    def try_char(self, c: bytes) -> bool:
        if self.peek() == c[0]:
            self.pos += 1
            return True
        return False

    def open(self) -> None:
        self.char(b"(")
        self.depth += 1
        if self.depth > self.max_nesting:
            raise self.error("parentheses nested too deep")

    def try_open(self) -> bool:
        if self.peek() == 0x28:
            self.open()
            return True
        return False

    def close(self) -> None:
        self.char(b")")
        self.depth -= 1

    def try_close(self) -> bool:
        if self.peek() == 0x29:
            self.close()
            return True
        return False

    # -- tokens -----------------------------------------------------------------------

    def _run(self, chars: frozenset[int]) -> bytes:
        """The longest run of bytes from ``chars`` at the position (may be empty)."""
        pattern = _RUN_PATTERNS.get(chars)
        if pattern is None:
            pattern = _RUN_PATTERNS[chars] = re.compile(
                b"[" + b"".join(re.escape(bytes([c])) for c in sorted(chars)) + b"]*"
            )
        m = pattern.match(self.line, self.pos)
        assert m is not None  # "*" always matches
        self.pos = m.end()
        return m.group()

    def atom(self) -> str:
        raw = self._run(_ATOM_CHARS)
        if not raw:
            raise self.error("expected an atom")
        return raw.decode("ascii")

    def keyword(self) -> str:
        """An atom, upper-cased (command names, search keys, options)."""
        return self.atom().upper()

    def peek_keyword(self) -> str:
        save = self.pos
        try:
            return self._run(_ATOM_CHARS).decode("ascii").upper()
        finally:
            self.pos = save

    def expect(self, word: str) -> None:
        got = self._run(_ATOM_CHARS).decode("ascii").upper()
        if got != word:
            raise self.error(f"expected {word}")

    def try_keyword(self, word: str) -> bool:
        save = self.pos
        got = self._run(_ATOM_CHARS).decode("ascii").upper()
        if got == word:
            return True
        self.pos = save
        return False

    def number(self, *, nonzero: bool = False, maximum: int = MAX_UINT32) -> int:
        raw = self._run(frozenset(b"0123456789"))
        if not raw:
            raise self.error("expected a number")
        if len(raw.lstrip(b"0")) > 20:  # before int(): Python refuses to convert more than 4,300 digits
            raise self.error("number out of range")
        value = int(raw)
        if value > maximum or (nonzero and value == 0):
            raise self.error("number out of range")
        return value

    def modseq(self) -> int:
        return self.number(maximum=MAX_MODSEQ)

    def sequence_set(self) -> SequenceSet:
        raw = self._run(_SEQ_CHARS)
        if not raw:
            raise self.error("expected a sequence set")
        return SequenceSet.parse(raw.decode("ascii"))

    def quoted(self) -> bytes:
        self.char(b'"')
        out = bytearray()
        line = self.line
        while True:
            if self.pos >= len(line):
                raise self.error("unterminated quoted string")
            c = line[self.pos]
            self.pos += 1
            if c == 0x22:
                return bytes(out)
            if c == 0x5C:
                if self.pos >= len(line) or line[self.pos] not in (0x22, 0x5C):
                    raise self.error("bad escape in quoted string")  # RFC 9051 §9 quoted-specials
                c = line[self.pos]
                self.pos += 1
            elif c == 0:
                raise self.error("NUL in quoted string")
            out.append(c)

    def at_literal(self) -> bool:
        c = self.peek()
        return c == 0x7B or (c == 0x7E and self.line[self.pos + 1 : self.pos + 2] == b"{")

    def literal_any(self) -> tuple[bytes | StreamedLiteral, bool]:
        """A literal or literal8; returns (value, is_literal8). Must end its line."""
        binary = self.try_char(b"~")
        self.char(b"{")
        self.number(maximum=2**64)
        self.try_char(b"+")
        self.char(b"}")
        if self.pos != len(self.line) or self.line_no >= len(self.literals):
            raise self.error("literal must end the line")
        value = self.literals[self.line_no]
        self.line_no += 1
        self.line = self.lines[self.line_no]
        self.pos = 0
        return value, binary

    def literal(self) -> bytes:
        value, binary = self.literal_any()
        if binary:
            raise self.error("literal8 not allowed here")
        if isinstance(value, StreamedLiteral):  # pragma: no cover - reader streams only APPEND messages
            raise self.error("unexpected streamed literal")
        if 0 in value:
            raise self.error("NUL in literal")  # RFC 9051 §4.3: only literal8 may hold NUL
        return value

    def string(self) -> bytes:
        if self.peek() == 0x22:
            return self.quoted()
        if self.at_literal():
            return self.literal()
        raise self.error("expected a string")

    def astring(self) -> bytes:
        c = self.peek()
        if c == 0x22 or (c is not None and self.at_literal()):
            return self.string()
        raw = self._run(_ASTRING_CHARS)
        if not raw:
            raise self.error("expected an astring")
        return raw

    def nstring(self) -> bytes | None:
        if self.try_keyword("NIL"):
            return None
        return self.string()

    def list_mailbox(self) -> bytes:
        c = self.peek()
        if c == 0x22 or (c is not None and self.at_literal()):
            return self.string()
        raw = self._run(_LIST_CHARS)
        if not raw:
            raise self.error("expected a mailbox pattern")
        return raw

    def flag(self) -> str:
        """``\\Seen``, ``$Forwarded``, ``\\*`` (only meaningful in PERMANENTFLAGS)."""
        if self.try_char(b"\\"):
            if self.try_char(b"*"):
                return "\\*"
            return "\\" + self.atom()
        return self.atom()

    def text(self, raw: bytes) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.error("invalid UTF-8") from None
