"""Wire-level fuzzing: mutated command lines sent over real sockets to a running server.

Each driver (:func:`fuzz_imap`, :func:`fuzz_smtp`, :func:`fuzz_pop3`) takes valid
command lines of its protocol, mutates them (flipped and inserted bytes, the protocol's
own tokens, deleted, doubled and repeated spans, numbers of thousands of digits), sends
each over a connection it keeps (reconnecting when the server says goodbye), reads the
whole answer, and then checks that the connection still answers a harmless command. It
knows the framing a client knows — literals, IDLE, AUTH continuations, DATA and BDAT —
so it never loses its place. CR and LF are removed from the mutated lines: line framing
is fuzzed in process (tests/wire).

What counts as a problem (:attr:`FuzzReport.problems`): the failure policy's answer for
an unexpected exception (IMAP ``NO [SERVERBUG]``, SMTP ``451 4.3.0``, POP3 ``-ERR
[SYS/TEMP]``), a connection closed without the protocol's goodbye (``* BYE``, ``421`` /
``221``, a last response), and no answer within ``DEADLINE``. Used by
tests/protocols/test_wire_fuzz.py and bench/fuzz.py.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from postoffice.wire import pop3, smtp

__all__ = ["FuzzReport", "message", "mutate", "fuzz_imap", "fuzz_smtp", "fuzz_pop3", "IMAP_LINES", "SMTP_LINES", "POP3_LINES"]

DEADLINE = 30.0  # seconds for any one answer; only a failing run waits this long
MAX_LINE = 6000  # octets of a mutated line
# Literals and BDAT chunks up to this size are sent. The server under test must refuse
# larger ones before reading them: its [limits.imap] max_literal_size and [limits.smtp]
# max_message_size are at most this (tests/protocols/test_wire_fuzz.py sets both).
MAX_LITERAL = 1 << 20

IMAP_LINES: list[bytes] = [
    b"a1 NOOP", b"a1 CAPABILITY", b"a1 SELECT INBOX", b"a1 EXAMINE INBOX (CONDSTORE)", b'a1 LIST "" "*"',
    b'a1 LIST (SUBSCRIBED RECURSIVEMATCH) "" (INBOX "%") RETURN (CHILDREN STATUS (MESSAGES UIDNEXT))',
    b'a1 LSUB "" %', b"a1 STATUS INBOX (MESSAGES UNSEEN UIDNEXT HIGHESTMODSEQ SIZE)", b"a1 CREATE Fuzz/Box",
    b"a1 RENAME Fuzz/Box Fuzz/Other", b"a1 DELETE Fuzz/Other", b"a1 SUBSCRIBE INBOX", b"a1 NAMESPACE",
    b"a1 FETCH 1:* (FLAGS UID INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE)",
    b"a1 FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)] BODY[1]<0.10> BINARY.PEEK[1] BINARY.SIZE[1])",
    b"a1 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)", b"a1 STORE 1:* +FLAGS.SILENT (\\Seen $Fuzz)",
    b"a1 UID STORE 1 -FLAGS (\\Flagged) (UNCHANGEDSINCE 5)",
    b'a1 SEARCH CHARSET UTF-8 OR (SUBJECT "x" FROM y) NOT (SINCE 1-Feb-1994 LARGER 10) UID 1:*',
    b"a1 UID SEARCH RETURN (MIN MAX COUNT SAVE) MODSEQ 1 OLDER 100", b"a1 SEARCH $",
    b"a1 SORT (REVERSE DATE SUBJECT) UTF-8 ALL", b"a1 THREAD REFERENCES UTF-8 ALL", b"a1 COPY 1:2 INBOX",
    b"a1 UID MOVE 99 INBOX", b"a1 EXPUNGE", b"a1 UID EXPUNGE 1:*", b"a1 CLOSE", b"a1 UNSELECT",
    b"a1 ENABLE CONDSTORE QRESYNC UTF8=ACCEPT", b'a1 ID ("name" "fuzz" "version" "1")', b"a1 IDLE",
    b"a1 APPEND INBOX (\\Seen) {22+}", b'a1 APPEND INBOX "05-Dec-2026 10:00:00 +0000" {22}',
    b"a1 APPEND INBOX CATENATE (URL \"/INBOX/;UID=1/;SECTION=1\" TEXT {22+}",
    b"a1 GETMETADATA (DEPTH 1) INBOX /private/comment", b'a1 SETMETADATA INBOX (/private/comment "x")',
    b"a1 GETQUOTAROOT INBOX", b"a1 AUTHENTICATE PLAIN", b"a1 LOGIN {5}", b"a1 CHECK", b"a1 LOGOUT",
]  # fmt: skip
SMTP_LINES: list[bytes] = [
    b"EHLO client.example.test", b"HELO client.example.test", b"MAIL FROM:<sender@example.net> SIZE=100 BODY=8BITMIME",
    b"MAIL FROM:<> RET=HDRS ENVID=x+2By", b"MAIL FROM:<s@example.net> SMTPUTF8",
    b"RCPT TO:<alice@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;alice@example.test",
    b"RCPT TO:<Postmaster>", b"RCPT TO:<@relay.example:alice@example.test>", b"RCPT TO:<\"a b\"@[127.0.0.1]>",
    b"DATA", b"BDAT 20", b"BDAT 0 LAST", b"BDAT 99999999999999999999 LAST", b"RSET", b"NOOP x", b"VRFY alice",
    b"EXPN list", b"HELP MAIL", b"AUTH PLAIN AGFsaWNlAHBhc3N3b3Jk", b"AUTH LOGIN", b"AUTH PLAIN =", b"QUIT",
]  # fmt: skip
POP3_LINES: list[bytes] = [
    b"USER alice@example.test", b"PASS password", b"CAPA", b"STAT", b"LIST", b"LIST 1", b"UIDL", b"UIDL 2",
    b"RETR 1", b"TOP 1 3", b"DELE 2", b"RSET", b"NOOP", b"UTF8", b"AUTH", b"AUTH PLAIN AGFsaWNlAHBhc3N3b3Jk",
    b"AUTH PLAIN", b"APOP alice 0123456789abcdef0123456789abcdef", b"QUIT",
]  # fmt: skip
HEADER_LINES: list[bytes] = [
    b"Subject: =?utf-8?B?w6k=?= and =?iso-8859-1?Q?caf=E9?=", b"From: \"A, B\" <a@example.net>, group: c@d;",
    b"To: undisclosed-recipients:;", b"Date: Sat, 05 Dec 2026 10:00:00 +0000", b"Message-ID: <x@example.net>",
    b"MIME-Version: 1.0", b"Content-Type: text/plain; charset=\"utf-8\"; format=flowed",
    b"Content-Type: multipart/mixed; boundary=b1; name*0*=utf-8''%C3%A9; name*1=x",
    b"Content-Disposition: attachment; filename*=utf-8''a%20b.txt", b"Content-Transfer-Encoding: base64",
    b"References: <a@b> <c@d>", b"Received: from x by y; Sat, 05 Dec 2026 10:00:00 +0000",
]  # fmt: skip
TOKENS: list[bytes] = [
    b" ", b"(", b")", b"[", b"]", b"<", b">", b"{", b"}", b'"', b"\\", b"*", b"%", b"$", b":", b",", b".", b"+",
    b"-", b"=", b"@", b"\x00", b"\xff", b"\xc3\xa9", b"\xe2\x80\xa8", b"NIL", b"OR ", b"NOT ", b"0", b"4294967296",
    b"99999999999999999999", b"{5}", b"{1+}", b"~{3}", b"&", b"&AGE-", b"=?utf-8?B?", b"LAST", b"PLAIN", b"((",
]  # fmt: skip


@dataclass
class FuzzReport:
    """What one driver saw."""

    protocol: str
    lines: int = 0
    connections: int = 0
    goodbyes: int = 0  # connections the server ended, with its goodbye
    messages: int = 0  # SMTP: messages sent after a 354 or as BDAT chunks
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.protocol}: {self.lines} lines, {self.connections} connections, "
            f"{self.goodbyes} goodbyes, {self.messages} messages, {len(self.problems)} problems"
        )


def message(rng: random.Random) -> bytes:
    """A message for DATA: mutated header fields (dot-stuffed), a body, the final dot."""
    fields = [mutate(rng, rng.choice(HEADER_LINES), HEADER_LINES) for _ in range(rng.randint(1, 6))]
    lines = [b"." + f if f.startswith(b".") else f for f in fields]
    return b"\r\n".join(lines) + b"\r\n\r\nbody\r\n--b1--\r\n.\r\n"


def mutate(rng: random.Random, line: bytes, others: Sequence[bytes]) -> bytes:
    """One to four random edits of ``line``; never CR or LF, at most ``MAX_LINE`` octets."""
    data = bytearray(line)
    for _ in range(rng.randint(1, 4)):
        pos = rng.randint(0, len(data))
        op = rng.randrange(9)
        if op == 0 and data:  # flip one byte
            data[min(pos, len(data) - 1)] = rng.randrange(256)
        elif op == 1:  # insert a token
            data[pos:pos] = rng.choice(TOKENS)
        elif op == 2:  # delete a span
            del data[pos : pos + rng.randint(1, 8)]
        elif op == 3:  # double a span
            data[pos:pos] = data[pos : pos + rng.randint(1, 12)]
        elif op == 4:  # repeat a span many times (backtracking, nesting, long lines)
            span = bytes(data[pos : pos + rng.randint(1, 4)]) or rng.choice(TOKENS)
            data[pos:pos] = span * rng.randint(10, 3000)
        elif op == 5:  # truncate
            del data[pos:]
        elif op == 6:  # splice with another line
            other = rng.choice(others)
            data[pos:] = other[rng.randint(0, len(other)) :]
        elif op == 7:  # a number of thousands of digits
            data[pos:pos] = b"9" * rng.choice([21, 4400, 5000])
        else:  # change case
            data[pos : pos + 6] = bytes(data[pos : pos + 6]).swapcase()
    return bytes(data).replace(b"\r", b"").replace(b"\n", b"")[:MAX_LINE]


_SERVER_LITERAL = re.compile(rb"~?\{([0-9]{1,20})\}\r\n\Z")


class _Closed(Exception):
    """The server closed the connection."""


class _Stream:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.last = b""  # the last line the server sent
        self.goodbye = False  # it sent the protocol's goodbye (IMAP * BYE, SMTP 421/221)

    @classmethod
    async def open(cls, port: int) -> _Stream:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 24)
        return cls(reader, writer)

    async def line(self) -> bytes:
        try:
            line = await asyncio.wait_for(self.reader.readline(), DEADLINE)
        except ConnectionError:  # a reset: the server closed with octets of ours unread
            raise _Closed() from None
        if not line:
            raise _Closed()
        self.last = line
        if line.startswith((b"* BYE", b"421", b"221")):
            self.goodbye = True
        return line

    async def imap_line(self) -> bytes:
        """One IMAP response line with the literals it carries (``{n}`` then n octets)."""
        line = await self.line()
        while (m := _SERVER_LITERAL.search(line)) is not None:
            try:
                line += await asyncio.wait_for(self.reader.readexactly(int(m.group(1))), DEADLINE)
            except asyncio.IncompleteReadError:
                raise _Closed() from None
            line += await self.line()
        return line

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        try:
            await self.writer.drain()
        except ConnectionError:
            raise _Closed() from None

    def close(self) -> None:
        self.writer.close()


# ---- IMAP -------------------------------------------------------------------------------------
_IMAP_LITERAL = re.compile(rb"~?\{([0-9]{1,20})(\+?)\}\Z")


async def _imap_connect(port: int, user: str, password: str, rng: random.Random) -> _Stream:
    stream = await _Stream.open(port)
    await stream.line()  # greeting
    if rng.random() < 0.8:
        for command in (b"l1 LOGIN " + user.encode() + b" " + password.encode(), b"l2 SELECT INBOX"):
            await stream.send(command + b"\r\n")
            while not (await stream.line()).startswith(command[:3]):
                pass
    return stream


async def _imap_answer(stream: _Stream, line: bytes) -> list[bytes]:
    """Send ``line`` and read until its tagged (or untagged BAD) answer, feeding continuations."""
    m = _IMAP_LITERAL.search(line)
    if m is not None and m.group(2) and int(m.group(1)) > MAX_LITERAL:
        line = line[: m.start()]  # the server would read (and drop) its octets: don't announce them
        m = None
    # A synchronizing literal over MAX_LITERAL is refused before "+", so it is never sent.
    literal = b"x" * int(m.group(1)) + b"\r\n" if m is not None and int(m.group(1)) <= MAX_LITERAL else b""
    await stream.send(line + b"\r\n" + (literal if m is not None and m.group(2) else b""))
    seen: list[bytes] = []
    while True:
        answer = await stream.imap_line()
        seen.append(answer)
        if answer.startswith(b"+"):
            if literal and m is not None and not m.group(2):
                await stream.send(literal)
                literal = b""
            elif b"IDLE" in line.upper():
                await stream.send(b"DONE\r\n")
            else:
                await stream.send(b"*\r\n")  # cancels AUTHENTICATE; ends anything else
        elif not answer.startswith(b"* ") or answer.startswith((b"* BAD", b"* BYE")):
            if answer.startswith(b"* BYE"):
                continue  # the tagged answer (LOGOUT) or the close follows
            return seen


async def fuzz_imap(port: int, user: str, password: str, lines: int, rng: random.Random) -> FuzzReport:
    report = FuzzReport("imap")
    stream: _Stream | None = None
    for n in range(lines):
        line = mutate(rng, rng.choice(IMAP_LINES), IMAP_LINES)
        if b"STARTTLS" in line.upper() or b"COMPRESS" in line.upper():
            continue  # they change the stream itself
        if stream is None:
            stream = await _imap_connect(port, user, password, rng)
            report.connections += 1
        report.lines += 1
        try:
            answers = await _imap_answer(stream, line)
            answers += await _imap_answer(stream, b"p%d NOOP" % n)
            if not answers[-1].startswith(b"p%d OK" % n):
                report.problems.append(f"IMAP probe after {line[:200]!r}: {answers[-1][:200]!r}")
        except _Closed:
            if stream.goodbye:
                report.goodbyes += 1
            else:
                report.problems.append(f"IMAP connection closed without BYE after {line[:200]!r}")
            stream.close()
            stream = None
            continue
        except TimeoutError:
            report.problems.append(f"IMAP: no answer within {DEADLINE} s to {line[:200]!r}")
            stream.close()
            stream = None
            continue
        for answer in answers:
            if b"[SERVERBUG]" in answer:
                report.problems.append(f"IMAP SERVERBUG for {line[:200]!r}: {answer[:200]!r}")
    if stream is not None:
        stream.close()
    return report


# ---- SMTP -------------------------------------------------------------------------------------
async def _smtp_reply(stream: _Stream) -> bytes:
    while True:
        line = await stream.line()
        if line[3:4] != b"-":
            return line


async def fuzz_smtp(port: int, lines: int, rng: random.Random) -> FuzzReport:
    report = FuzzReport("smtp")
    stream: _Stream | None = None
    for _ in range(lines):
        line = mutate(rng, rng.choice(SMTP_LINES), SMTP_LINES)
        try:
            command: smtp.Command | None = smtp.parse_command(line)
        except smtp.SMTPSyntaxError:
            command = None
        if isinstance(command, smtp.StartTls):
            continue
        if stream is None:
            stream = await _Stream.open(port)
            report.connections += 1
            await _smtp_reply(stream)
            if rng.random() < 0.8:
                await stream.send(b"EHLO fuzz.example.test\r\n")
                await _smtp_reply(stream)
        report.lines += 1
        try:
            if rng.random() < 0.4:  # a transaction, so that DATA and BDAT get through
                for prelude in (b"RSET", b"MAIL FROM:<s@example.net>", b"RCPT TO:<alice@example.test>"):
                    await stream.send(prelude + b"\r\n")
                    await _smtp_reply(stream)
            chunk = b""
            if isinstance(command, smtp.Bdat) and command.size <= MAX_LITERAL:  # else refused at once
                chunk = b"x" * command.size
                report.messages += 1
            await stream.send(line + b"\r\n" + chunk)
            replies = [await _smtp_reply(stream)]
            if replies[-1].startswith(b"354"):
                await stream.send(message(rng))
                report.messages += 1
                replies.append(await _smtp_reply(stream))
            elif replies[-1].startswith(b"334"):
                await stream.send(b"*\r\n")
                replies.append(await _smtp_reply(stream))
            if not stream.goodbye:
                await stream.send(b"NOOP\r\n")
                replies.append(await _smtp_reply(stream))
                if not replies[-1].startswith((b"250", b"421")):
                    report.problems.append(f"SMTP probe after {line[:200]!r}: {replies[-1][:200]!r}")
            for reply in replies:
                if reply.startswith(b"451 4.3.0"):
                    report.problems.append(f"SMTP local error for {line[:200]!r}: {reply[:200]!r}")
            if stream.goodbye:
                raise _Closed()
        except _Closed:
            # A goodbye, or the 5xx that ends a session which cannot read past a BDAT
            # chunk (over the size limit: RFC 3030 §2 leaves no other way).
            if stream.goodbye or stream.last.startswith(b"5"):
                report.goodbyes += 1
            else:
                report.problems.append(f"SMTP connection closed without a goodbye after {line[:200]!r}")
            stream.close()
            stream = None
            continue
        except TimeoutError:
            report.problems.append(f"SMTP: no answer within {DEADLINE} s to {line[:200]!r}")
            stream.close()
            stream = None
            continue
    if stream is not None:
        stream.close()
    return report


# ---- POP3 -------------------------------------------------------------------------------------
async def _pop3_answer(stream: _Stream, line: bytes) -> list[bytes]:
    try:
        command: pop3.Command | None = pop3.parse_command(line)
    except pop3.POP3SyntaxError:
        command = None
    await stream.send(line + b"\r\n")
    answers = [await stream.line()]
    while answers[-1].startswith(b"+ "):  # AUTH continuation: cancel
        await stream.send(b"*\r\n")
        answers.append(await stream.line())
    multiline = isinstance(command, (pop3.Capa, pop3.Retr, pop3.Top)) or (
        isinstance(command, (pop3.List, pop3.Uidl)) and command.msg is None
    )
    if answers[-1].startswith(b"+OK") and (multiline or (isinstance(command, pop3.Auth) and command.mechanism is None)):
        while answers[-1] != b".\r\n":
            answers.append(await stream.line())
    return answers


async def fuzz_pop3(port: int, user: str, password: str, lines: int, rng: random.Random) -> FuzzReport:
    report = FuzzReport("pop3")
    stream: _Stream | None = None
    for _ in range(lines):
        line = mutate(rng, rng.choice(POP3_LINES), POP3_LINES)
        if line.upper().startswith(b"STLS"):
            continue
        try:
            if stream is None:
                stream = await _Stream.open(port)
                report.connections += 1
                await stream.line()
                if rng.random() < 0.7:
                    await _pop3_answer(stream, b"USER " + user.encode())
                    await _pop3_answer(stream, b"PASS " + password.encode())
            report.lines += 1
            answers = await _pop3_answer(stream, line)
            answers += await _pop3_answer(stream, b"NOOP")
        except _Closed:
            if stream is not None and stream.last.startswith((b"+OK", b"-ERR")):
                report.goodbyes += 1
            else:
                report.problems.append(f"POP3 connection closed without a response after {line[:200]!r}")
            if stream is not None:
                stream.close()
            stream = None
            continue
        except TimeoutError:
            report.problems.append(f"POP3: no answer within {DEADLINE} s to {line[:200]!r}")
            if stream is not None:
                stream.close()
            stream = None
            continue
        for answer in answers:
            if answer.startswith(b"-ERR [SYS/TEMP]"):
                report.problems.append(f"POP3 temporary failure for {line[:200]!r}: {answer[:200]!r}")
    if stream is not None:
        stream.close()
    return report
