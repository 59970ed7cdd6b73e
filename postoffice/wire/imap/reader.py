"""Incremental IMAP command framing: bytes in (any chunking), events out.

The :class:`CommandReader` is sans-I/O and pull-based (like h11): the server calls
:meth:`CommandReader.feed` with whatever the socket gave, then calls
:meth:`CommandReader.next_event` until it returns None (more bytes needed). Pull-based
matters: after ``IDLE`` or ``AUTHENTICATE`` the server switches the reader to raw-line
mode (:meth:`CommandReader.expect_line`) *before* it asks for the next event, so
pipelined bytes are read in the right mode.

Events:

* :class:`CommandReady` — a whole command, parsed (see ``parser.py``).
* :class:`ContinuationNeeded` — a synchronizing literal ``{n}`` was accepted: write
  ``+ Ready\\r\\n`` now; the client sends the literal only after it (RFC 9051 §4.3).
* :class:`LiteralStart` / :class:`LiteralChunk` / :class:`LiteralEnd` — an APPEND
  message literal that is streamed rather than buffered (see ``stream_threshold``).
  The chunks are slices of what was fed, never the whole literal; the command that
  follows holds a :class:`StreamedLiteral` placeholder with the same ``index``.
* :class:`LineReceived` — a raw line in :meth:`expect_line` mode (SASL responses,
  the ``DONE`` that ends IDLE).
* :class:`Rejected` — an :class:`ImapSyntaxError` (with the tag when known); the
  command was consumed whole and the reader is ready for the next one, unless the
  error is ``fatal``. An APPEND is syntax-checked up to each message literal before
  its ``+`` (so a broken APPEND is refused before any literal byte is streamed), but a
  Rejected can still follow streamed chunks when the text *after* a literal is
  broken: the server then drops what it spooled.

Invariants: a streamed literal is never held in memory; buffered bytes of one command
(lines plus buffered literals) never exceed ``max_command_size``; each line is at most
the current line limit (``authenticated`` switches the limit); a literal too large for
its limit is refused *before* the continuation is sent (sync, RFC 9051 §7.1 TOOBIG) or
skipped without buffering (non-sync, RFC 7888 §4). Bare LF is accepted as a line end.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass

from .commands import Command, FramedCommand, StreamedLiteral
from .errors import ImapSyntaxError

__all__ = [
    "ReaderLimits",
    "CommandReader",
    "FramedCommand",
    "StreamedLiteral",
    "Event",
    "CommandReady",
    "ContinuationNeeded",
    "LiteralStart",
    "LiteralChunk",
    "LiteralEnd",
    "LineReceived",
    "Rejected",
    "LITERAL_MINUS_MAX",
]

LITERAL_MINUS_MAX = 4096  # RFC 7888 §5: LITERAL- allows non-synchronizing literals up to 4096 octets


@dataclass(frozen=True)
class ReaderLimits:
    """Limits of one connection's reader; :meth:`from_config` takes ``config.IMAPLimits``."""

    max_line_length_before_auth: int = 32 * 1024  # octets of one line before authentication
    max_line_length: int = 64 * 1024  # octets of one line after authentication
    max_literal_size: int = 2 * 1024**3  # octets of one APPEND message literal (APPENDLIMIT)
    max_command_size: int = 1024 * 1024  # octets of one command held in memory (lines + buffered literals)
    max_nesting: int = 32  # parenthesis depth (checked by the parser)
    max_search_depth: int = 100  # search keys nested through NOT, OR and parentheses

    @classmethod
    def from_config(cls, limits: object) -> ReaderLimits:
        """Build from a ``postoffice.config.IMAPLimits`` (duck-typed: wire/ imports no config)."""
        return cls(
            max_line_length_before_auth=int(getattr(limits, "max_line_length_before_auth")),  # noqa: B009
            max_line_length=int(getattr(limits, "max_line_length")),  # noqa: B009
            max_literal_size=int(getattr(limits, "max_literal_size")),  # noqa: B009
            max_command_size=max(1024 * 1024, int(getattr(limits, "max_line_length")) * 4),  # noqa: B009
            max_nesting=int(getattr(limits, "max_nesting")),  # noqa: B009
            max_search_depth=int(getattr(limits, "max_search_depth")),  # noqa: B009
        )


@dataclass(frozen=True)
class CommandReady:
    command: Command


@dataclass(frozen=True)
class ContinuationNeeded:
    """Send ``+`` for a synchronizing literal. ``urls``: the CATENATE URLs of the APPEND
    so far (RFC 4469 §5), for the server to check first; when one is bad it answers NO
    instead and calls :meth:`CommandReader.abandon` (the client will not send the literal)."""

    tag: str | None
    urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class LiteralStart:
    tag: str | None
    command_name: str  # "APPEND"
    size: int
    binary: bool
    index: int


@dataclass(frozen=True)
class LiteralChunk:
    data: bytes


@dataclass(frozen=True)
class LiteralEnd:
    index: int


@dataclass(frozen=True)
class LineReceived:
    line: bytes  # without CRLF


@dataclass(frozen=True)
class Rejected:
    error: ImapSyntaxError


Event = CommandReady | ContinuationNeeded | LiteralStart | LiteralChunk | LiteralEnd | LineReceived | Rejected

_LITERAL_RE = re.compile(rb"(~?)\{([0-9]{1,20})(\+?)\}\Z")
# RFC 9051 §9: tag = 1*<any ASTRING-CHAR except "+">
_UTF8_OPEN_RE = re.compile(rb"(?i) UTF8 \(~\{[0-9]+\+?\}\Z")
_TAG_RE = re.compile(rb"[^\x00-\x20\x7f-\xff(){%*\"\\+]+")
_NAME_RE = re.compile(rb"[A-Za-z]+")

_CATENATE_OPEN_RE = re.compile(rb"(?i) CATENATE \(")


def _catenate_open(lines: list[bytes]) -> bool:
    """RFC 4469: the command so far ends inside a CATENATE part list (so a probe of it
    needs the closing parenthesis)."""
    text = b"\n".join(lines)
    starts = [m.end() for m in _CATENATE_OPEN_RE.finditer(text)]
    return bool(starts) and b")" not in text[starts[-1] :]


_LINE, _LITERAL, _STREAM, _SKIP_LINE, _SKIP_LITERAL = range(5)


def _first_tokens(line: bytes) -> tuple[str | None, str]:
    """The tag and upper-cased command name at the start of a first line (best effort)."""
    m = _TAG_RE.match(line)
    if m is None or line[m.end() : m.end() + 1] != b" ":
        return None, ""
    tag = m.group().decode("ascii", "replace")
    rest = line[m.end() + 1 :]
    n = _NAME_RE.match(rest)
    name = n.group().decode("ascii").upper() if n else ""
    if name == "UID":
        n2 = _NAME_RE.match(rest[4:]) if rest[3:4] == b" " else None
        name = "UID " + n2.group().decode("ascii").upper() if n2 else name
    return tag, name


class CommandReader:
    """Frames and parses the commands of one IMAP connection.

    ``stream_threshold``: APPEND message literals of at least this many octets are
    streamed (LiteralStart/Chunk/End); None buffers every literal (then an APPEND literal
    still obeys ``max_literal_size`` but counts against memory). ``literal_plus``: accept
    non-synchronizing literals of any size (LITERAL+, RFC 7888); otherwise LITERAL-
    semantics apply (at most 4096 octets). Set ``authenticated`` after login to switch the
    line limit, and ``utf8_names`` after ENABLE IMAP4rev2/UTF8=ACCEPT (mailbox names are
    then UTF-8 rather than modified UTF-7, RFC 9051 §5.1, RFC 6855 §3).
    """

    def __init__(
        self,
        limits: ReaderLimits | None = None,
        *,
        stream_threshold: int | None = None,
        literal_plus: bool = True,
        utf8_names: bool = False,
    ) -> None:
        self.limits = limits or ReaderLimits()
        self.stream_threshold = stream_threshold
        self.literal_plus = literal_plus
        self.utf8_names = utf8_names
        self.authenticated = False
        self._buf = bytearray()
        self._off = 0  # bytes of _buf already consumed (compacted on the next feed)
        self._events: deque[Event] = deque()
        self._state = _LINE
        self._expect_line = False
        self._reset_command()

    # -- public API -------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Append bytes received from the client."""
        if self._off:
            del self._buf[: self._off]
            self._off = 0
        self._buf += data

    def take_unread(self) -> bytes:
        """Remove and return the bytes received but not parsed yet (after COMPRESS they
        were compressed by the client, RFC 4978 §3, and go to the inflater)."""
        rest = bytes(self._buf[self._off :])
        self._buf.clear()
        self._off = 0
        return rest

    def expect_line(self) -> None:
        """Return the next line raw as LineReceived (AUTHENTICATE exchange, IDLE's DONE)."""
        self._expect_line = True

    @property
    def line_limit(self) -> int:
        return self.limits.max_line_length if self.authenticated else self.limits.max_line_length_before_auth

    @property
    def in_command(self) -> bool:
        """True when part of a command has been received (an EOF now truncates it)."""
        return bool(self._lines) or self._state != _LINE or len(self._buf) > self._off

    def next_event(self) -> Event | None:
        """The next event, or None when more bytes are needed."""
        while not self._events:
            if not self._step():
                return None
        return self._events.popleft()

    def events(self) -> list[Event]:
        """Every event available now (convenience for tests; servers should pull one by one)."""
        out: list[Event] = []
        while (ev := self.next_event()) is not None:
            out.append(ev)
        return out

    # -- machinery --------------------------------------------------------------------

    def _reset_command(self) -> None:
        self._lines: list[bytes] = []
        self._literals: list[bytes | StreamedLiteral] = []
        self._tag: str | None = None
        self._name = ""
        self._size = 0
        self._remaining = 0
        self._discarding = False
        self._pending_literal = bytearray()

    def _reject(self, error: ImapSyntaxError) -> None:
        self._events.append(Rejected(error.with_tag(self._tag)))

    def _step(self) -> bool:
        """Make progress; False when blocked on input."""
        state = self._state
        if state == _LINE:
            return self._step_line()
        if state == _SKIP_LINE:
            idx = self._buf.find(b"\n", self._off)
            if idx < 0:
                self._off = len(self._buf)
                return False
            self._off = idx + 1
            self._state = _LINE
            if self._discarding:
                self._reset_command()
            return True
        avail = len(self._buf) - self._off
        if not avail and self._remaining:
            return False
        take = min(self._remaining, avail)
        chunk = bytes(self._buf[self._off : self._off + take])
        self._off += take
        self._remaining -= take
        if state == _LITERAL:
            self._pending_literal += chunk
            if not self._remaining:
                self._literals.append(bytes(self._pending_literal))
                self._pending_literal = bytearray()
                self._state = _LINE
        elif state == _STREAM:
            if chunk:
                self._events.append(LiteralChunk(chunk))
            if not self._remaining:
                self._events.append(LiteralEnd(len(self._literals) - 1))
                self._state = _LINE
        else:  # _SKIP_LITERAL
            if not self._remaining:
                self._state = _LINE
        return True

    def _step_line(self) -> bool:
        limit = self.line_limit
        off = self._off
        idx = self._buf.find(b"\n", off, off + limit + 2)
        if idx < 0:
            if len(self._buf) - off <= limit + 1:
                return False
            # RFC 9051 §4: a server may refuse over-long lines; skip to the line end.
            tag, _name = _first_tokens(bytes(self._buf[off : off + 200])) if not self._lines else (self._tag, "")
            self._off = off + limit + 2  # no LF in there; _SKIP_LINE discards up to the next one
            self._state = _SKIP_LINE
            expecting = self._expect_line
            self._expect_line = False
            if not self._discarding:
                err = ImapSyntaxError("line too long", None if expecting else tag, code="TOOBIG")
                if not self._lines:
                    self._tag = None if expecting else tag
                self._reject(err)
            self._discarding = True
            return True
        line = bytes(self._buf[off:idx])
        self._off = idx + 1
        if line.endswith(b"\r"):
            line = line[:-1]
        if self._expect_line and not self._lines:
            self._expect_line = False
            self._events.append(LineReceived(line))
            return True
        if not self._lines:
            self._tag, self._name = _first_tokens(line)
        self._lines.append(line)
        self._size += len(line) + 2
        m = _LITERAL_RE.search(line)
        if m is None:
            self._finish()
            return True
        binary = bool(m.group(1))
        size = int(m.group(2))
        sync = not m.group(3)
        if self._discarding:
            if sync:
                self._reset_command()  # the client waits for "+" that never comes: command over
            else:
                self._state, self._remaining = _SKIP_LITERAL, size
            return True
        self._begin_literal(size, binary, sync)
        return True

    def _is_append_message(self) -> bool:
        if self._name != "APPEND":
            return False
        if self._literals:
            return True
        # The first literal is the mailbox name when the line holds only "tag APPEND {n}".
        return len(self._lines[0].split()) > 3

    def _begin_literal(self, size: int, binary: bool, sync: bool) -> None:
        lim = self.limits
        message = self._is_append_message()
        stream = message and self.stream_threshold is not None and size >= self.stream_threshold
        error: ImapSyntaxError | None = None
        if message and size > lim.max_literal_size:
            # RFC 7889 §2 / RFC 9051 §7.1: APPEND over the limit gets NO [TOOBIG].
            error = ImapSyntaxError("message too big", code="TOOBIG", status="NO")
        elif (
            not stream and self._size + size > lim.max_command_size and not (message and self.stream_threshold is None)
        ):
            error = ImapSyntaxError("literal too big", code="TOOBIG")
        elif not sync and not self.literal_plus and size > LITERAL_MINUS_MAX:
            # RFC 7888 §5: LITERAL- non-synchronizing literals are at most 4096 octets.
            error = ImapSyntaxError("non-synchronizing literal over 4096 octets", code="TOOBIG")
        urls: tuple[str, ...] = ()
        if error is None and message:
            error, urls = self._probe_append(size, binary)
        if error is not None:
            self._reject(error)
            if sync:
                self._reset_command()  # no "+" was sent: the client will not send the literal
            else:
                self._discarding = True
                self._state, self._remaining = _SKIP_LITERAL, size
            return
        if sync:
            self._events.append(ContinuationNeeded(self._tag, urls))
        if stream:
            index = len(self._literals)
            self._literals.append(StreamedLiteral(index, size, binary))
            self._events.append(LiteralStart(self._tag, self._name, size, binary, index))
            self._state, self._remaining = _STREAM, size
            if size == 0:
                self._events.append(LiteralEnd(index))
                self._state = _LINE
            return
        if not message or self.stream_threshold is not None:
            self._size += size
        self._pending_literal = bytearray()
        self._state, self._remaining = _LITERAL, size
        if size == 0:
            self._literals.append(b"")
            self._state = _LINE

    def abandon(self) -> None:
        """The command waiting for a synchronizing literal is refused: no ``+`` was sent, so
        the client sends nothing more of it; read the next command."""
        self._reset_command()
        self._state = _LINE

    def _probe_append(self, size: int, binary: bool) -> tuple[ImapSyntaxError | None, tuple[str, ...]]:
        """Check the APPEND so far as if this literal ended it, so that a broken command
        is refused before ``+`` and before a large literal is streamed (RFC 9051 §7.5);
        with the CATENATE URLs it names so far."""
        from .parser import parse_command  # local import: parser imports this module

        last = b")" if _UTF8_OPEN_RE.search(self._lines[-1]) or _catenate_open(self._lines) else b""
        probe = FramedCommand(
            tuple(self._lines) + (last,),
            tuple(self._literals) + (StreamedLiteral(len(self._literals), size, binary),),
        )
        try:
            command = parse_command(probe, utf8_names=self.utf8_names, max_nesting=self.limits.max_nesting, max_search_depth=self.limits.max_search_depth)
        except ImapSyntaxError as exc:
            return exc, ()
        messages = getattr(command, "messages", ())
        return None, tuple(p.url for m in messages for p in m.parts if p.url is not None)

    def _finish(self) -> None:
        framed = FramedCommand(tuple(self._lines), tuple(self._literals))
        if self._discarding:
            self._reset_command()
            return
        tag = self._tag
        self._reset_command()
        from .parser import parse_command  # local import: parser imports this module

        try:
            command = parse_command(framed, utf8_names=self.utf8_names, max_nesting=self.limits.max_nesting, max_search_depth=self.limits.max_search_depth)
        except ImapSyntaxError as exc:
            self._events.append(Rejected(exc.with_tag(tag)))
            return
        self._events.append(CommandReady(command))
