"""Parsing of ``.t`` protocol transcripts (format: docs/architecture.md §10.2).

Owns the file format; running it is ``runner.py``. A parsed :class:`Transcript` is
a header plus a list of steps: :class:`Send` (one ``C:`` command, literals joined in),
:class:`ExpectBlock` (a run of ``S:`` / ``!S:`` lines of one connection) and
:class:`Action` (an ``@`` line). Parse errors raise :class:`TranscriptSyntaxError`
naming the file and line.

Format, in full detail:

Header lines (before the first step; ``# comment`` allowed after the value):
    protocol: imap|smtp|pop3     default: the folder name (tests/transcripts/imap/)
    state: nonauth|authenticated|selected   the runner logs in / SELECTs INBOX first
    user: alice / users: alice bob          accounts alice@example.test ... with password
                                            "password"; default: alice
    login: alice bob             which user connection 1, 2, ... logs in as
                                 (default: users in turn, cycling)
    connections: 2               connections opened before the first step (default 1)
    listener: submission         listener to connect to (default: imap, smtp, pop3)
    tls: yes                     connect with implicit TLS (default listener then: imaps,
                                 submissions, pop3s)
    config: limits.imap.max_commands_before_auth = 3    (value in TOML syntax; repeatable)
    timeout: 10s                 the deadline of every wait (default 10 s)

Steps (an optional leading connection number ``2 `` picks the connection; default 1):
    C: text      sent with CRLF. ``$name`` is replaced by a captured value.
                 IMAP: a line ending in ``{n}`` (or ``~{n}``) waits for the server's
                 ``+`` and then sends the literal; ``{n+}`` sends it without waiting. The
                 literal is the n octets of the FOLLOWING ``C:`` lines of that connection
                 joined with CRLF; what remains of the line where the n-th octet falls
                 continues the command (it may end in another literal). E.g.
                     C: a1 LOGIN {5}
                     C: alice {8}
                     C: password
                 The consumed ``+`` is not matched against ``S:`` lines.
    C!: text     raw bytes: Python escapes (\\r \\n \\x00 \\\\) decoded, NO CRLF added, no
                 literal handling. For smuggling / bare-LF / BDAT-chunk tests.
    S: text      an expected response line (rules in runner.py / match.py). IMAP: a line
                 ending in ``{n}`` takes its literal from the following ``S:`` lines as above.
    !S: text     must not appear among the responses read for its block.
    S: ...       the block may contain responses it does not list.
    @ordered     the next block's lines must arrive in the written order.
    @deliver alice[,bob] FILE        FILE relative to the .t file, via MailService.deliver
    @deliver-text alice SUBJECT...   a small generated message with that subject
    @advance-clock 31m               advance the services' ManualClock
    @expect-count alice INBOX 4      number of messages in a mailbox
    @delete-user bob                 delete a user (through MailService.delete_user)
    @wait 2 "* 4 EXISTS" [2s]        read connection 2 until a matching response arrives
                                     (responses before it are dropped)
    @starttls 1                      upgrade connection 1's client side to TLS now
    @close 2                         drop connection 2 without a goodbye
    @connect 2 [LISTENER]            open (again) connection 2, unauthenticated; its next
                                     ``S:`` lines before a ``C:`` match the greeting
    @expect-closed 2                 the server closes connection 2 (nothing else arrives)
Blank lines and lines starting with ``#`` are ignored.
"""

from __future__ import annotations

import codecs
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "Header",
    "Piece",
    "Send",
    "ExpectLine",
    "ExpectBlock",
    "Action",
    "Step",
    "Transcript",
    "TranscriptSyntaxError",
    "parse_transcript",
    "parse_file",
    "PROTOCOLS",
    "STATES",
]

PROTOCOLS = ("imap", "smtp", "pop3")
STATES = ("nonauth", "authenticated", "selected")
DEFAULT_LISTENER = {"imap": "imap", "smtp": "smtp", "pop3": "pop3"}
TLS_LISTENER = {"imap": "imaps", "smtp": "submissions", "pop3": "pop3s"}
ACTIONS = frozenset(
    {"ordered", "deliver", "deliver-text", "advance-clock", "expect-count", "delete-user", "wait", "starttls", "close", "connect", "expect-closed"}
)

_STEP_RE = re.compile(r"(?:(\d+)\s+)?(C!|C|!S|S):(?: (.*)|)\Z")
_HEADER_RE = re.compile(r"([a-z]+):\s*(.*?)\s*(?:\s#.*)?\Z")
_LITERAL_RE = re.compile(r"~?\{(\d+)(\+?)\}\Z")


class TranscriptSyntaxError(ValueError):
    """A malformed transcript; the message names the file and line."""


@dataclass
class Header:
    protocol: str = "imap"
    state: str = "nonauth"
    users: list[str] = field(default_factory=lambda: ["alice"])
    login: list[str] = field(default_factory=list)
    connections: int = 1
    listener: str = ""
    tls: bool = False
    config: dict[str, Any] = field(default_factory=dict)
    timeout: float = 10.0

    def login_user(self, conn: int) -> str:
        if self.login:
            return self.login[(conn - 1) % len(self.login)]
        return self.users[(conn - 1) % len(self.users)]


@dataclass(frozen=True)
class Piece:
    """Part of one command: ``data`` is sent, then, if ``wait``, the runner waits for ``+``.
    ``substitute``: ``$name`` captures are replaced in it (command text, not literal data)."""

    data: bytes
    wait: bool = False
    substitute: bool = True


@dataclass
class Send:
    conn: int
    pieces: list[Piece]
    line: int  # 1-based line number of the C: line
    raw: bool = False

    @property
    def text(self) -> str:
        """The command line as written (first piece, without CRLF)."""
        return self.pieces[0].data.decode("utf-8", "surrogateescape").rstrip("\r\n")


@dataclass
class ExpectLine:
    pattern: bytes  # literals flattened in: "... {5}\r\nhello)"
    negated: bool
    line: int

    @property
    def text(self) -> str:
        return self.pattern.decode("utf-8", "surrogateescape")


@dataclass
class ExpectBlock:
    conn: int
    lines: list[ExpectLine]
    ordered: bool = False
    allow_extra: bool = False

    @property
    def line(self) -> int:
        return self.lines[0].line if self.lines else 0


@dataclass
class Action:
    name: str
    args: list[str]
    line: int


Step = Send | ExpectBlock | Action


@dataclass
class Transcript:
    header: Header
    steps: list[Step]
    source: str  # file name or "<inline>"
    text: str  # the file's text, for failure reports
    base_dir: Path

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines()


def _split_args(text: str) -> list[str]:
    """Whitespace-separated words; "double quotes" group a word (for @wait patterns)."""
    out: list[str] = []
    for m in re.finditer(r'"((?:[^"\\]|\\.)*)"|(\S+)', text):
        out.append(m.group(1).replace('\\"', '"') if m.group(1) is not None else m.group(2))
    return out


def _set_config(header: Header, text: str, where: str) -> None:
    key, eq, value = text.partition("=")
    key = key.strip()
    if not eq or not re.fullmatch(r"[a-z_]+(\.[a-z0-9_]+)*", key):
        raise TranscriptSyntaxError(f"{where}: expected 'config: section.key = VALUE', got {text!r}")
    try:
        parsed = tomllib.loads(f"v = {value.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value.strip()  # a bare word: take it as a string ("refuse", "30s")
    header.config[key] = parsed


def _parse_header(header: Header, key: str, value: str, where: str) -> None:
    if key == "protocol":
        if value not in PROTOCOLS:
            raise TranscriptSyntaxError(f"{where}: protocol must be one of {', '.join(PROTOCOLS)}")
        header.protocol = value
    elif key == "state":
        if value not in STATES:
            raise TranscriptSyntaxError(f"{where}: state must be one of {', '.join(STATES)}")
        header.state = value
    elif key in ("user", "users"):
        header.users = value.split()
    elif key == "login":
        header.login = value.split()
    elif key == "connections":
        if not value.isdigit() or int(value) < 1:
            raise TranscriptSyntaxError(f"{where}: connections must be a number >= 1")
        header.connections = int(value)
    elif key == "listener":
        header.listener = value
    elif key == "tls":
        header.tls = value.lower() in ("yes", "true", "1", "on")
    elif key == "config":
        _set_config(header, value, where)
    elif key == "timeout":
        from postoffice.config import parse_duration

        header.timeout = parse_duration(value)
    else:
        raise TranscriptSyntaxError(f"{where}: unknown header {key!r}")


def _take_literal(rest: list[tuple[int, str]], size: int, where: str) -> tuple[bytes, str, int]:
    """Take ``size`` octets from the following lines joined with CRLF.

    Returns (literal, continuation text, number of lines consumed)."""
    buf = b""
    for i, (_, text) in enumerate(rest):
        data = text.encode("utf-8", "surrogateescape")
        if i > 0:
            buf += b"\r\n"
            if len(buf) > size:
                # The literal ended between CR and LF of the joint: write it as a C!: line.
                raise TranscriptSyntaxError(f"{where}: the literal ends inside a line break")
            if len(buf) == size:
                return buf, text, i + 1
        need = size - len(buf)
        if len(data) >= need:
            return buf + data[:need], data[need:].decode("utf-8", "surrogateescape"), i + 1
        buf += data
    raise TranscriptSyntaxError(f"{where}: the literal of {size} octets runs past the following lines")


def _join_literals(first: str, rest: list[tuple[int, str]], where: str, *, client: bool) -> tuple[list[Piece], int]:
    """Pieces of one IMAP line with literals; returns (pieces, following lines consumed)."""
    pieces: list[Piece] = []
    current = first
    consumed = 0
    while True:
        m = _LITERAL_RE.search(current)
        if not m:
            pieces.append(Piece(current.encode("utf-8", "surrogateescape") + b"\r\n"))
            return pieces, consumed
        size = int(m.group(1))
        wait = client and not m.group(2)
        pieces.append(Piece(current.encode("utf-8", "surrogateescape") + b"\r\n", wait=wait))
        literal, current, used = _take_literal(rest[consumed:], size, where)
        consumed += used
        pieces.append(Piece(literal, substitute=False))


def parse_transcript(text: str, *, source: str = "<inline>", protocol: str | None = None, base_dir: Path | None = None) -> Transcript:
    """Parse transcript text. ``protocol`` is the default when the header names none."""
    header = Header(protocol=protocol or "imap")
    steps: list[Step] = []
    in_header = True
    pending_ordered = False
    raw_lines = text.splitlines()
    # (line number, connection, kind, text) of step lines, plus actions in order.
    entries: list[tuple[int, int, str, str]] = []
    for number, line in enumerate(raw_lines, 1):
        stripped = line.strip()
        where = f"{source}:{number}"
        if not stripped or stripped.startswith("#"):
            continue
        m = _STEP_RE.match(line.rstrip("\r\n").lstrip())
        if m:
            in_header = False
            conn = int(m.group(1) or 1)
            if conn < 1:
                raise TranscriptSyntaxError(f"{where}: connection numbers start at 1")
            entries.append((number, conn, m.group(2), m.group(3) or ""))
            continue
        if stripped.startswith("@"):
            in_header = False
            name, _, rest = stripped[1:].partition(" ")
            if name not in ACTIONS:
                raise TranscriptSyntaxError(f"{where}: unknown action @{name} (known: {', '.join(sorted(ACTIONS))})")
            entries.append((number, 0, "@" + name, rest.strip()))
            continue
        hm = _HEADER_RE.match(stripped)
        if in_header and hm:
            _parse_header(header, hm.group(1), hm.group(2), where)
            continue
        raise TranscriptSyntaxError(f"{where}: not a header, C:, S:, !S: or @ line: {line!r}")
    if not header.listener:
        header.listener = (TLS_LISTENER if header.tls else DEFAULT_LISTENER)[header.protocol]
    imap = header.protocol == "imap"

    i = 0
    while i < len(entries):
        number, conn, kind, body = entries[i]
        where = f"{source}:{number}"
        if kind.startswith("@"):
            if kind == "@ordered":
                pending_ordered = True
            else:
                steps.append(Action(kind[1:], _split_args(body), number))
            i += 1
            continue
        if kind == "C!":
            try:
                data = codecs.escape_decode(body.encode("utf-8", "surrogateescape"))[0]
            except ValueError as exc:
                raise TranscriptSyntaxError(f"{where}: bad escape in C!: line: {exc}") from None
            steps.append(Send(conn, [Piece(bytes(data))], number, raw=True))
            i += 1
            continue
        if kind == "C":
            following = _following(entries, i, conn, "C")
            if imap:
                pieces, used = _join_literals(body, following, where, client=True)
            else:
                pieces, used = [Piece(body.encode("utf-8", "surrogateescape") + b"\r\n")], 0
            steps.append(Send(conn, pieces, number))
            i += 1 + used
            continue
        # S: / !S: lines: one block per run of the same connection.
        block = ExpectBlock(conn, [], ordered=pending_ordered)
        pending_ordered = False
        while i < len(entries) and entries[i][2] in ("S", "!S") and entries[i][1] == conn:
            number, _, kind, body = entries[i]
            where = f"{source}:{number}"
            if body.strip() == "...":
                block.allow_extra = True
                i += 1
                continue
            used = 0
            if imap and kind == "S" and _LITERAL_RE.search(body):
                pieces, used = _join_literals(body, _following(entries, i, conn, "S"), where, client=False)
                pattern = b"".join(p.data for p in pieces)[:-2]
            else:
                pattern = body.encode("utf-8", "surrogateescape")
            block.lines.append(ExpectLine(pattern, kind == "!S", number))
            i += 1 + used
        if block.lines and all(line.negated for line in block.lines) and imap:
            raise TranscriptSyntaxError(f"{source}:{block.line}: a block of only !S: lines has nothing to wait for; add the tagged answer")
        steps.append(block)
    return Transcript(header, steps, source, text, base_dir or Path.cwd())


def _following(entries: list[tuple[int, int, str, str]], i: int, conn: int, kind: str) -> list[tuple[int, str]]:
    """The run of lines of the same kind and connection after entry ``i``."""
    out: list[tuple[int, str]] = []
    for number, c, k, body in entries[i + 1 :]:
        if c != conn or k != kind:
            break
        out.append((number, body))
    return out


def parse_file(path: Path | str) -> Transcript:
    """Parse a ``.t`` file; the protocol defaults to its folder name."""
    path = Path(path)
    folder = path.parent.name
    return parse_transcript(
        path.read_text("utf-8"),
        source=str(path),
        protocol=folder if folder in PROTOCOLS else None,
        base_dir=path.parent,
    )
