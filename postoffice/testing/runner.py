"""The transcript runner: plays a parsed :class:`Transcript` against live servers.

Owns the connections of one run, the captures, the ``@`` actions and the failure
report. What it needs from the world is a :class:`TranscriptHost` (where each listener
is, how to deliver, the clock, message counts): ``server.TranscriptServer`` is the real
one on the SQLite store; the kit's own tests use a host around toy servers.

Invariants:
- Every wait has a deadline (the header's ``timeout:``, 10 s by default; ``@wait`` its
  own); a missed deadline fails the transcript with the line it waited for, never hangs.
- Failures raise :class:`TranscriptFailure` (an AssertionError) whose message shows
  the file with the first wrong line marked ``>>`` and the raw bytes exchanged on that
  connection just before.
- The runner's own setup commands (greeting check, LOGIN/SELECT, USER/PASS, EHLO/AUTH)
  use tags ``po1``, ``po2``; scripts should use other tags.
- Connections are closed when the run ends, whatever happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn, Protocol

from postoffice.config import parse_duration
from postoffice.testing.dialects import DIALECTS, Dialect, ImapDialect, Response
from postoffice.testing.match import VAR_RE
from postoffice.testing.transcript import Action, ExpectBlock, ExpectLine, Send, Transcript

__all__ = ["TranscriptHost", "TranscriptFailure", "Connection", "Runner", "client_tls_context", "run_transcript"]

STREAM_LIMIT = 64 * 1024 * 1024  # longest line the runner accepts from a server


class TranscriptFailure(AssertionError):
    """A transcript did not go as written; ``str()`` is the full report."""


class ReadTimeout(Exception):
    pass


class TranscriptHost(Protocol):
    """What the runner needs besides sockets."""

    password: str

    async def address(self, listener: str) -> tuple[str, int]:
        """(host, port) of a listener, started on first use."""
        ...
    def user_address(self, user: str) -> str: ...
    async def deliver(self, users: Sequence[str], message: bytes) -> None: ...
    async def advance_clock(self, seconds: float) -> None: ...
    async def count_messages(self, user: str, mailbox: str) -> int: ...
    async def delete_user(self, user: str) -> None: ...


def client_tls_context() -> ssl.SSLContext:
    """A client context that accepts the server's self-signed test certificate."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class Connection:
    """One client connection of a run, with the bytes exchanged on it."""

    def __init__(self, number: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, listener: str) -> None:
        self.number = number
        self.reader = reader
        self.writer = writer
        self.listener = listener
        self.log: list[tuple[str, bytes]] = []
        self.pushback: deque[Response] = deque()
        self.pending: deque[str] = deque()  # POP3: commands whose response is not read yet
        self.in_continuation = False
        self.greeting: list[Response] = []
        self.greeting_pending = True
        self.timeout = 10.0

    async def read_line(self) -> bytes:
        try:
            line = await asyncio.wait_for(self.reader.readline(), self.timeout)
        except TimeoutError:
            raise ReadTimeout() from None
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
            line = b""
        if line:
            self.log.append(("S<", line))
        return line

    async def read_exact(self, size: int) -> bytes:
        try:
            data = await asyncio.wait_for(self.reader.readexactly(size), self.timeout)
        except TimeoutError:
            raise ReadTimeout() from None
        except asyncio.IncompleteReadError as exc:
            data = exc.partial
        self.log.append(("S<", data))
        return data

    async def write(self, data: bytes) -> None:
        self.log.append(("C>", data))
        self.writer.write(data)
        with contextlib.suppress(ConnectionError):
            await self.writer.drain()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.writer.wait_closed(), 2.0)


class Runner:
    """Runs one transcript against ``host``; ``await run()`` returns the captures."""

    def __init__(self, host: TranscriptHost, transcript: Transcript) -> None:
        self.host = host
        self.transcript = transcript
        self.header = transcript.header
        self.dialect: Dialect = DIALECTS[self.header.protocol]()
        self.captures: dict[str, str] = {}
        self.connections: dict[int, Connection] = {}
        self.current_line = 0

    # ---- running ---------------------------------------------------------------------
    async def run(self) -> dict[str, str]:
        try:
            for number in range(1, self.header.connections + 1):
                await self.open(number, self.header.listener, login=self.header.state != "nonauth")
            for step in self.transcript.steps:
                if isinstance(step, Send):
                    await self._send(step)
                elif isinstance(step, ExpectBlock):
                    await self._expect(step)
                else:
                    await self._action(step)
        finally:
            for conn in list(self.connections.values()):
                await conn.close()
        return self.captures

    async def open(self, number: int, listener: str, *, login: bool) -> Connection:
        host, port = await self.host.address(listener)
        tls = client_tls_context() if (self.header.tls or listener in ("imaps", "pop3s", "submissions")) else None
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port, ssl=tls, limit=STREAM_LIMIT, server_hostname="localhost" if tls else None),
                self.header.timeout,
            )
        except (OSError, TimeoutError) as exc:
            self.fail(None, f"cannot connect connection {number} to {listener} at {host}:{port}: {exc!r}", None)
        conn = Connection(number, reader, writer, listener)
        conn.timeout = self.header.timeout
        self.connections[number] = conn
        greeting = await self._read(conn, None, "the greeting")
        conn.greeting = [greeting] if greeting is not None else []
        if login:
            if not conn.greeting or not self.dialect.greeting_ok(conn.greeting[0]):
                self.fail(None, f"connection {number}: bad greeting {conn.greeting[0].text if conn.greeting else '(closed)'!r}", conn)
            user = self.header.login_user(number)
            await self.dialect.login(self, conn, self.host.user_address(user), self.host.password, self.header.state == "selected")
        return conn

    def conn(self, number: int, line: int) -> Connection:
        conn = self.connections.get(number)
        if conn is None:
            self.fail(line, f"connection {number} is not open (header 'connections:' or @connect)", None)
        return conn

    async def _read(self, conn: Connection, line: ExpectLine | int | None, what: str) -> Response | None:
        if conn.pushback:
            return conn.pushback.popleft()
        try:
            response = await self.dialect.read_response(conn)
        except ReadTimeout:
            self.fail(line, f"timed out after {conn.timeout:g} s on connection {conn.number} waiting for {what}", conn)
        if response is not None:
            conn.in_continuation = self.dialect.is_continuation(response)
        return response

    async def next_response(self, conn: Connection, line: ExpectLine | int | None) -> Response:
        what = repr(line.text) if isinstance(line, ExpectLine) else "a response"
        response = await self._read(conn, line, what)
        if response is None:
            self.fail(line, f"connection {conn.number} was closed by the server while waiting for {what}", conn)
        return response

    def _substitute(self, data: bytes, line: int) -> bytes:
        text = data.decode("utf-8", "surrogateescape")
        text = VAR_RE.sub(lambda m: self.captures.get(m.group(1), m.group(0)), text)
        return text.encode("utf-8", "surrogateescape")

    def _check_greeting(self, conn: Connection, line: int) -> None:
        if conn.greeting_pending:
            conn.greeting_pending = False
            if self.header.state == "nonauth" and (not conn.greeting or not self.dialect.greeting_ok(conn.greeting[0])):
                got = conn.greeting[0].text if conn.greeting else "(connection closed)"
                self.fail(line, f"unexpected greeting {got!r} on connection {conn.number} (write S: lines for it)", conn)

    async def _send(self, step: Send) -> None:
        self.current_line = step.line
        conn = self.conn(step.conn, step.line)
        self._check_greeting(conn, step.line)
        for piece in step.pieces:
            data = self._substitute(piece.data, step.line) if piece.substitute and not step.raw else piece.data
            if piece.substitute:
                self.dialect.on_send(conn, data)
            conn.in_continuation = False
            await conn.write(data)
            if piece.wait:
                # RFC 9051 §7.5: a synchronizing literal is sent only after "+".
                response = await self.next_response(conn, step.line)
                if not self.dialect.is_continuation(response):
                    conn.pushback.appendleft(response)  # refused: the S: lines match it
                    break

    async def _expect(self, block: ExpectBlock) -> None:
        self.current_line = block.line
        conn = self.conn(block.conn, block.line)
        if conn.greeting_pending:
            conn.greeting_pending = False
            conn.pushback.extendleft(reversed(conn.greeting))
        await self.dialect.run_block(self, conn, block)

    async def setup_command(self, conn: Connection, text: str, expect: str) -> None:
        """Send a setup command (login); IMAP: ``expect`` is the tag that must answer OK,
        otherwise the prefix the one response must have."""
        conn.in_continuation = False
        self.dialect.on_send(conn, text.encode() + b"\r\n")
        await conn.write(text.encode() + b"\r\n")
        while True:
            response = await self.next_response(conn, None)
            if not isinstance(self.dialect, ImapDialect) or response.text.startswith(expect + " "):
                break
        words = response.text.split()
        ok = words[1:2] == ["OK"] if isinstance(self.dialect, ImapDialect) else response.text.startswith(expect)
        if not ok:
            self.fail(None, f"setup for 'state: {self.header.state}' failed: {text!r} was answered {response.text!r}", conn)

    # ---- IMAP block helpers (used by ImapDialect) ---------------------------------------------------
    def match_untagged(
        self,
        dialect: ImapDialect,
        conn: Connection,
        patterns: list[ExpectLine],
        received: list[Response],
        *,
        ordered: bool,
        allow_extra: bool,
        tagged: ExpectLine,
    ) -> None:
        got = [r.text for r in received]
        if ordered:
            index = 0
            for response in received:
                if index < len(patterns) and dialect.match_bytes(patterns[index].pattern, response, self.captures):
                    index += 1
                elif not allow_extra:
                    where = patterns[index] if index < len(patterns) else tagged
                    self.fail(where, f"unexpected {response.text!r} (@ordered block; untagged received: {got!r})", conn)
            if index < len(patterns):
                self.fail(patterns[index], f"{patterns[index].text!r} did not arrive in order before the tagged answer; untagged received: {got!r}", conn)
            return
        used: set[int] = set()
        for pattern in patterns:
            for j, response in enumerate(received):
                if j not in used and dialect.match_bytes(pattern.pattern, response, self.captures):
                    used.add(j)
                    break
            else:
                left = [r.text for j, r in enumerate(received) if j not in used]
                self.fail(pattern, f"{pattern.text!r} did not arrive before the tagged answer; unmatched untagged: {left!r}", conn)
        extras = [r.text for j, r in enumerate(received) if j not in used]
        if extras and not allow_extra:
            self.fail(tagged, f"unexpected untagged responses {extras!r} (list them, or add 'S: ...')", conn)

    async def read_until_matched(
        self, dialect: ImapDialect, conn: Connection, patterns: list[ExpectLine], *, ordered: bool, allow_extra: bool
    ) -> list[Response]:
        remaining = list(patterns)
        received: list[Response] = []
        while remaining:
            response = await self.next_response(conn, remaining[0])
            received.append(response)
            for pattern in remaining[:1] if ordered else remaining:
                if dialect.match_bytes(pattern.pattern, response, self.captures):
                    remaining.remove(pattern)
                    break
            else:
                if not allow_extra:
                    want = [p.text for p in remaining]
                    self.fail(remaining[0], f"got {response.text!r}, expected {'the next of ' if ordered else 'one of '}{want!r}", conn)
        return received

    # ---- @ actions -------------------------------------------------------------------------
    async def _action(self, action: Action) -> None:
        self.current_line = action.line
        args = action.args
        try:
            handler = getattr(self, "_do_" + action.name.replace("-", "_"))
        except AttributeError:  # pragma: no cover - the parser knows the names
            self.fail(action.line, f"unknown action @{action.name}", None)
        try:
            await handler(action, args)
        except (TranscriptFailure, asyncio.CancelledError):
            raise
        except (IndexError, ValueError) as exc:
            self.fail(action.line, f"bad arguments to @{action.name}: {args!r} ({exc})", None)
        except Exception as exc:
            self.fail(action.line, f"@{action.name} failed: {exc!r}", None)

    def _number(self, text: str) -> int:
        return int(text)

    async def _do_deliver(self, action: Action, args: list[str]) -> None:
        path = Path(args[1])
        if not path.is_absolute():
            path = self.transcript.base_dir / path
        await self.host.deliver(args[0].split(","), path.read_bytes())

    async def _do_deliver_text(self, action: Action, args: list[str]) -> None:
        users = args[0].split(",")
        subject = " ".join(args[1:]) or "test"
        to = ", ".join(self.host.user_address(u) for u in users)
        message = (
            f"From: sender@example.test\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Date: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <{time.monotonic_ns()}@example.test>\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{subject}\r\n"
        ).encode()
        await self.host.deliver(users, message)

    async def _do_advance_clock(self, action: Action, args: list[str]) -> None:
        await self.host.advance_clock(parse_duration(args[0]))

    async def _do_expect_count(self, action: Action, args: list[str]) -> None:
        user, mailbox, want = args[0], args[1], int(args[2])
        got = await self.host.count_messages(user, mailbox)
        if got != want:
            self.fail(action.line, f"{user} {mailbox} holds {got} messages, expected {want}", None)

    async def _do_delete_user(self, action: Action, args: list[str]) -> None:
        await self.host.delete_user(args[0])

    async def _do_wait(self, action: Action, args: list[str]) -> None:
        conn = self.conn(self._number(args[0]), action.line)
        pattern = args[1]
        timeout = parse_duration(args[2]) if len(args) > 2 else self.header.timeout
        saved, conn.timeout = conn.timeout, timeout
        deadline = asyncio.get_running_loop().time() + timeout
        try:
            while True:
                conn.timeout = max(0.01, deadline - asyncio.get_running_loop().time())
                response = await self._read(conn, action.line, repr(pattern))
                if response is None:
                    self.fail(action.line, f"connection {conn.number} was closed while waiting for {pattern!r}", conn)
                if self.dialect.matches(pattern, response, self.captures):
                    return
        finally:
            conn.timeout = saved

    async def _do_starttls(self, action: Action, args: list[str]) -> None:
        conn = self.conn(self._number(args[0]), action.line)
        buffered = len(getattr(conn.reader, "_buffer", b""))
        if conn.pushback or buffered:
            # RFC 3207 §4.2 / RFC 9051 §6.2.1: nothing may follow the STARTTLS answer in clear.
            self.fail(action.line, "the server sent data after its STARTTLS answer, before the TLS handshake", conn)
        await asyncio.wait_for(conn.writer.start_tls(client_tls_context(), server_hostname="localhost"), self.header.timeout)
        conn.log.append(("--", b"TLS handshake done"))

    async def _do_close(self, action: Action, args: list[str]) -> None:
        conn = self.conn(self._number(args[0]), action.line)
        del self.connections[conn.number]
        await conn.close()

    async def _do_connect(self, action: Action, args: list[str]) -> None:
        number = self._number(args[0])
        old = self.connections.pop(number, None)
        if old is not None:
            await old.close()
        await self.open(number, args[1] if len(args) > 1 else self.header.listener, login=False)

    async def _do_expect_closed(self, action: Action, args: list[str]) -> None:
        conn = self.conn(self._number(args[0]), action.line)
        if conn.pushback:
            self.fail(action.line, f"expected the server to close connection {conn.number}, but {conn.pushback[0].text!r} is unread", conn)
        try:
            line = await conn.read_line()
        except ReadTimeout:
            self.fail(action.line, f"the server did not close connection {conn.number} within {conn.timeout:g} s", conn)
        if line:
            self.fail(action.line, f"expected the server to close connection {conn.number}, got {line!r}", conn)
        del self.connections[conn.number]
        await conn.close()

    # ---- failure report --------------------------------------------------------------------
    def fail(self, line: ExpectLine | int | None, reason: str, conn: Connection | None) -> NoReturn:
        number = line.line if isinstance(line, ExpectLine) else (line or self.current_line)
        raise TranscriptFailure(self.report(number, reason, conn))

    def report(self, number: int, reason: str, conn: Connection | None) -> str:
        source = self.transcript.source
        out = [f"transcript {source} failed at line {number}: {reason}", ""]
        lines = self.transcript.lines
        if len(lines) <= 60:
            window = range(1, len(lines) + 1)
        else:
            window = range(max(1, number - 20), min(len(lines), number + 10) + 1)
        for i in window:
            mark = ">>" if i == number else "  "
            out.append(f"{mark} {i:4} | {lines[i - 1]}")
        if conn is not None:
            out.append("")
            out.append(f"bytes on connection {conn.number} ({conn.listener}), oldest first (C> sent, S< received):")
            for direction, data in conn.log[-16:]:
                shown = repr(data)
                out.append(f"  {direction} {shown[:400]}{' ...' if len(shown) > 400 else ''}")
            if conn.pushback:
                out.append(f"  (read, not yet matched: {[r.text for r in conn.pushback]!r})")
        if self.captures:
            out.append(f"captures: {self.captures!r}")
        return "\n".join(out)


async def run_transcript(host: TranscriptHost, transcript: Transcript) -> dict[str, str]:
    """Run ``transcript`` against ``host``; returns the captures, raises TranscriptFailure."""
    return await Runner(host, transcript).run()
