"""What differs between IMAP, SMTP and POP3 when a transcript runs: how one response
is read off the wire, how a block of ``S:`` lines is matched, and how the runner logs in.

Matching rules per protocol (the details of docs/architecture.md §10.2):

IMAP
- A response is one line plus any literals it carries (``{n}`` CRLF n octets, read
  whole). A block is split at each tagged ``S:`` line; for each part the runner reads
  until a tagged response arrives, then matches the untagged lines read before it as a
  multiset (in order with ``@ordered``). Every untagged response read must match a
  line, unless the block has a ``S: ...`` line. A part without a tagged line (e.g. IDLE
  updates, a continuation ``+``) reads until each of its lines has matched.
- Status responses (tagged or ``*`` with OK/NO/BAD/BYE/PREAUTH) match on tag, status
  and the ``[response code]`` when the pattern has one; the text is never compared.
  ``S: +`` matches any continuation request.
SMTP
- A response is a whole reply (``250-`` lines up to the ``250 `` line). Each ``S:``
  reply matches the next reply read, in order. A one-line pattern (``S: 550 5.1.1``)
  checks the code and, if written, the enhanced code of a reply of any length. A
  multi-line pattern (``S: 250-*`` ``S: 250-PIPELINING`` ``S: 250 SIZE $_``) also
  matches the text of the lines after the first as a multiset of token patterns
  (EHLO keywords come in any order); ``S: 250 ...`` as its last line allows more lines.
POP3
- A response is the status line, plus, for +OK to CAPA, RETR, TOP, and LIST / UIDL
  without argument, the lines up to the terminating ``.`` (shown byte-stuffed, as on
  the wire). ``S: +OK`` / ``S: -ERR [IN-USE]`` match on status, code and the tokens
  written (a prefix: ``S: +OK 2`` matches ``+OK 2 320``). Body lines, when written,
  are matched as a multiset (in order with ``@ordered``) and must all be there,
  up to ``S: .``; a pattern with no body lines accepts any body.
"""

from __future__ import annotations

import base64
import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from postoffice.testing.match import Atom, Group, Token, tokenize, tokenize_simple, try_match
from postoffice.testing.transcript import ExpectBlock, ExpectLine

if TYPE_CHECKING:
    from postoffice.testing.runner import Connection, Runner

__all__ = ["Response", "Dialect", "ImapDialect", "SmtpDialect", "Pop3Dialect", "DIALECTS", "IMAP_STATUS"]

IMAP_STATUS = frozenset({"OK", "NO", "BAD", "BYE", "PREAUTH"})
_LITERAL_END = re.compile(rb"~?\{(\d+)\+?\}\Z")
_SMTP_LINE = re.compile(r"(\d{3})([ -]?)(.*)\Z", re.S)
_ENHANCED = re.compile(r"[245]\.\d{1,3}\.\d{1,3}\Z")


@dataclass
class Response:
    raw: bytes  # exactly as received
    text: str  # first line without CRLF (IMAP: the whole response, literals included)
    body: list[str] = field(default_factory=list)  # SMTP: every line; POP3: lines before "."

    def __str__(self) -> str:
        return self.text


def _dec(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


class Dialect(Protocol):
    name: str

    async def read_response(self, conn: Connection) -> Response | None: ...
    def greeting_ok(self, response: Response) -> bool: ...
    def is_continuation(self, response: Response) -> bool: ...
    def on_send(self, conn: Connection, data: bytes) -> None: ...
    def matches(self, pattern: str, response: Response, caps: dict[str, str]) -> bool: ...
    async def run_block(self, runner: Runner, conn: Connection, block: ExpectBlock) -> None: ...
    async def login(self, runner: Runner, conn: Connection, address: str, password: str, select: bool) -> None: ...


# ---- IMAP ------------------------------------------------------------------------------


def _imap_tokens(data: bytes) -> list[Token]:
    return tokenize(data)


class ImapDialect:
    name = "imap"

    async def read_response(self, conn: Connection) -> Response | None:
        line = await conn.read_line()
        if not line:
            return None
        raw = line
        # RFC 9051 §4.3: a literal is {n} CRLF then n octets; the response goes on after it.
        while True:
            m = _LITERAL_END.search(line.rstrip(b"\r\n"))
            if not m:
                break
            raw += await conn.read_exact(int(m.group(1)))
            line = await conn.read_line()
            raw += line
        text = raw[:-2] if raw.endswith(b"\r\n") else raw.rstrip(b"\n")
        return Response(raw, _dec(text))

    def greeting_ok(self, response: Response) -> bool:
        return response.text.upper().startswith(("* OK", "* PREAUTH"))

    def is_continuation(self, response: Response) -> bool:
        return response.text.startswith("+")

    def on_send(self, conn: Connection, data: bytes) -> None:
        return None

    @staticmethod
    def is_tagged_text(text: str) -> bool:
        return not text.startswith(("*", "+"))

    def matches(self, pattern: str, response: Response, caps: dict[str, str]) -> bool:
        return self.match_bytes(pattern.encode("utf-8", "surrogateescape"), response, caps)

    def match_bytes(self, pattern: bytes, response: Response, caps: dict[str, str]) -> bool:
        ptoks = _imap_tokens(pattern)
        vtoks = _imap_tokens(response.raw.rstrip(b"\r\n"))
        if ptoks == [Atom("+")]:
            return bool(vtoks) and vtoks[0] == Atom("+")
        if len(ptoks) >= 2 and isinstance(ptoks[1], Atom) and ptoks[1].text.upper() in IMAP_STATUS:
            # Tag, status, [code]: the human text is never compared.
            if len(vtoks) < 2 or not isinstance(vtoks[1], Atom) or vtoks[1].text.upper() != ptoks[1].text.upper():
                return False
            trial = dict(caps)
            if not try_match(ptoks[:1], vtoks[:1], trial):
                return False
            if len(ptoks) > 2 and isinstance(ptoks[2], Group) and ptoks[2].open == "[":
                if len(vtoks) < 3 or not try_match(ptoks[2:3], vtoks[2:3], trial):
                    return False
            caps.update(trial)
            return True
        return try_match(ptoks, vtoks, caps)

    async def run_block(self, runner: Runner, conn: Connection, block: ExpectBlock) -> None:
        part: list[ExpectLine] = []
        for line in block.lines:
            part.append(line)
            if not line.negated and self.is_tagged_text(line.text):
                await self._run_part(runner, conn, block, part)
                part = []
        if part:
            await self._run_part(runner, conn, block, part)

    async def _run_part(self, runner: Runner, conn: Connection, block: ExpectBlock, part: list[ExpectLine]) -> None:
        positive = [line for line in part if not line.negated]
        negative = [line for line in part if line.negated]
        tagged = positive[-1] if positive and self.is_tagged_text(positive[-1].text) else None
        untagged = [line for line in positive if line is not tagged]
        received: list[Response] = []
        seen: list[Response] = []
        if tagged is not None:
            while True:
                response = await runner.next_response(conn, tagged)
                if self.is_tagged_text(response.text):
                    break
                received.append(response)
            if not self.match_bytes(tagged.pattern, response, runner.captures):
                runner.fail(tagged, f"expected the tagged answer {tagged.text!r}, got {response.text!r}", conn)
            runner.match_untagged(self, conn, untagged, received, ordered=block.ordered, allow_extra=block.allow_extra, tagged=tagged)
            seen = [*received, response]
        else:
            seen = await runner.read_until_matched(self, conn, untagged, ordered=block.ordered, allow_extra=block.allow_extra)
        for line in negative:
            for response in seen:
                if self.match_bytes(line.pattern, response, dict(runner.captures)):
                    runner.fail(line, f"{response.text!r} arrived, but the transcript says it must not (!S:)", conn)

    async def login(self, runner: Runner, conn: Connection, address: str, password: str, select: bool) -> None:
        await runner.setup_command(conn, f'po1 LOGIN "{address}" "{password}"', "po1")
        if select:
            await runner.setup_command(conn, "po2 SELECT INBOX", "po2")


# ---- SMTP ------------------------------------------------------------------------------


def _smtp_split(line: str) -> tuple[str, str, str]:
    m = _SMTP_LINE.match(line)
    if not m:
        return "", "", line
    return m.group(1), m.group(2), m.group(3)


class SmtpDialect:
    name = "smtp"

    async def read_response(self, conn: Connection) -> Response | None:
        raw = b""
        lines: list[str] = []
        while True:
            line = await conn.read_line()
            if not line:
                return Response(raw, lines[0], lines) if lines else None
            raw += line
            text = _dec(line.rstrip(b"\r\n"))
            lines.append(text)
            # RFC 5321 §4.2.1: "250-" continues the reply, "250 " (or "250") ends it.
            if not (len(text) >= 4 and text[3] == "-"):
                return Response(raw, lines[0], lines)

    def greeting_ok(self, response: Response) -> bool:
        return response.text.startswith("220")

    def is_continuation(self, response: Response) -> bool:
        return response.text.startswith(("334", "354"))

    def on_send(self, conn: Connection, data: bytes) -> None:
        return None

    def _match_first(self, pattern: str, line: str, caps: dict[str, str]) -> bool:
        pcode, _, ptext = _smtp_split(pattern)
        vcode, _, vtext = _smtp_split(line)
        if pcode != vcode:
            return False
        words = ptext.split()
        if words and (_ENHANCED.match(words[0]) or words[0].startswith("$")):
            vwords = vtext.split()
            return try_match(tokenize_simple(words[0]), tokenize_simple(vwords[0] if vwords else ""), caps)
        return True

    def matches(self, pattern: str, response: Response, caps: dict[str, str]) -> bool:
        return self.match_reply([pattern], response, caps)

    def match_reply(self, patterns: Sequence[str], response: Response, caps: dict[str, str]) -> bool:
        trial = dict(caps)
        if not self._match_first(patterns[0], response.body[0], trial):
            return False
        if len(patterns) > 1:
            texts = [_smtp_split(p)[2] for p in patterns[1:]]
            extra = "..." in texts
            texts = [t for t in texts if t != "..."]
            got = [_smtp_split(line)[2] for line in response.body[1:]]
            if any(_smtp_split(line)[0] != _smtp_split(patterns[0])[0] for line in response.body[1:]):
                return False
            p_tokens = [Group("(", tuple(tokenize_simple(t))) for t in texts] + ([Atom("*")] if extra else [])
            v_tokens = [Group("(", tuple(tokenize_simple(t))) for t in got]
            if not try_match(p_tokens, v_tokens, trial, unordered=True):
                return False
        caps.update(trial)
        return True

    async def run_block(self, runner: Runner, conn: Connection, block: ExpectBlock) -> None:
        replies: list[list[ExpectLine]] = []
        current: list[ExpectLine] = []
        negative = [line for line in block.lines if line.negated]
        for line in block.lines:
            if line.negated:
                continue
            current.append(line)
            code, sep, _ = _smtp_split(line.text)
            if sep != "-":
                replies.append(current)
                current = []
        if current:
            replies.append(current)
        if block.allow_extra and replies and len(replies[-1]) > 1:
            replies[-1] = [*replies[-1], ExpectLine(replies[-1][-1].pattern[:3] + b" ...", False, replies[-1][-1].line)]
        received: list[Response] = []
        for reply in replies:
            response = await runner.next_response(conn, reply[0])
            received.append(response)
            if not self.match_reply([line.text for line in reply], response, runner.captures):
                want = " / ".join(line.text for line in reply)
                runner.fail(reply[0], f"expected the reply {want!r}, got {' / '.join(response.body)!r}", conn)
        for line in negative:
            for response in received:
                if self.matches(line.text, response, dict(runner.captures)):
                    runner.fail(line, f"{response.text!r} arrived, but the transcript says it must not (!S:)", conn)

    async def login(self, runner: Runner, conn: Connection, address: str, password: str, select: bool) -> None:
        await runner.setup_command(conn, "EHLO client.example.test", "250")
        token = base64.b64encode(f"\0{address}\0{password}".encode()).decode()
        await runner.setup_command(conn, f"AUTH PLAIN {token}", "235")


# ---- POP3 ------------------------------------------------------------------------------

_POP3_MULTI = frozenset({"CAPA", "RETR", "TOP"})
_POP3_MULTI_NOARG = frozenset({"LIST", "UIDL"})


class Pop3Dialect:
    name = "pop3"

    async def read_response(self, conn: Connection) -> Response | None:
        line = await conn.read_line()
        if not line:
            return None
        text = _dec(line.rstrip(b"\r\n"))
        response = Response(line, text)
        if text.startswith("+ ") or text == "+":  # RFC 5034 §4: SASL challenge
            return response
        pending: deque[str] = conn.pending
        command = pending.popleft() if pending else ""
        words = command.split()
        verb = words[0].upper() if words else ""
        multi = verb in _POP3_MULTI or (verb in _POP3_MULTI_NOARG and len(words) == 1)
        if text.startswith("+OK") and multi:
            # RFC 1939 §3: multi-line responses end with "." alone on a line.
            while True:
                body_line = await conn.read_line()
                if not body_line:
                    break
                response.raw += body_line
                body_text = _dec(body_line.rstrip(b"\r\n"))
                if body_text == ".":
                    break
                response.body.append(body_text)
        return response

    def greeting_ok(self, response: Response) -> bool:
        return response.text.startswith("+OK")

    def is_continuation(self, response: Response) -> bool:
        return response.text.startswith("+ ") or response.text == "+"

    def on_send(self, conn: Connection, data: bytes) -> None:
        if conn.in_continuation:  # a SASL response line, not a command
            return
        for line in data.split(b"\r\n"):
            if line:
                conn.pending.append(_dec(line))

    def matches(self, pattern: str, response: Response, caps: dict[str, str]) -> bool:
        return self.match_response([pattern], response, caps, ordered=False)

    def _match_status(self, pattern: str, text: str, caps: dict[str, str]) -> bool:
        ptoks = tokenize(pattern.encode("utf-8", "surrogateescape"))
        vtoks = tokenize(text.encode("utf-8", "surrogateescape"))
        if ptoks == [Atom("+")]:
            return self.is_continuation(Response(b"", text))
        if not ptoks or not vtoks or ptoks[0] != vtoks[0]:
            return False
        # A prefix match: what is written is checked, the rest (human text) is not.
        prefix = ptoks if ptoks and ptoks[-1] == Atom("*") else [*ptoks, Atom("*")]
        return try_match(prefix, vtoks, caps)

    def match_response(self, patterns: Sequence[str], response: Response, caps: dict[str, str], *, ordered: bool) -> bool:
        trial = dict(caps)
        if not self._match_status(patterns[0], response.text, trial):
            return False
        body = [p for p in patterns[1:] if p != "."]
        if len(patterns) > 1:
            extra = "..." in body
            body = [p for p in body if p != "..."]
            p_tokens = [Group("(", tuple(tokenize_simple(p))) for p in body] + ([Atom("*")] if extra else [])
            v_tokens = [Group("(", tuple(tokenize_simple(v))) for v in response.body]
            if not try_match(p_tokens, v_tokens, trial, unordered=not ordered):
                return False
        caps.update(trial)
        return True

    async def run_block(self, runner: Runner, conn: Connection, block: ExpectBlock) -> None:
        groups: list[list[ExpectLine]] = []
        negative = [line for line in block.lines if line.negated]
        in_body = False
        for line in block.lines:
            if line.negated:
                continue
            status = line.text.startswith(("+OK", "-ERR", "+ ")) or line.text == "+"
            if in_body and not status:
                # The lines after a +OK line, up to ".", are its body.
                groups[-1].append(line)
                in_body = line.text != "."
                continue
            groups.append([line])
            in_body = line.text.startswith("+OK")
        received: list[Response] = []
        for group in groups:
            response = await runner.next_response(conn, group[0])
            received.append(response)
            patterns = [line.text for line in group]
            if block.allow_extra and len(group) > 1:
                patterns.insert(-1, "...")
            if not self.match_response(patterns, response, runner.captures, ordered=block.ordered):
                got = " / ".join([response.text, *response.body])
                runner.fail(group[0], f"expected {' / '.join(patterns)!r}, got {got!r}", conn)
        for line in negative:
            for response in received:
                if self.matches(line.text, response, dict(runner.captures)) or any(line.text == b for b in response.body):
                    runner.fail(line, f"{line.text!r} arrived, but the transcript says it must not (!S:)", conn)

    async def login(self, runner: Runner, conn: Connection, address: str, password: str, select: bool) -> None:
        await runner.setup_command(conn, f"USER {address}", "+OK")
        await runner.setup_command(conn, f"PASS {password}", "+OK")


DIALECTS: dict[str, type[ImapDialect] | type[SmtpDialect] | type[Pop3Dialect]] = {
    "imap": ImapDialect,
    "smtp": SmtpDialect,
    "pop3": Pop3Dialect,
}
