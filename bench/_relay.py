"""The two ends of the relay benchmarks: a recording SMTP sink and an SMTP submitter.

Owns :class:`Sink` (a small, fast SMTP server on 127.0.0.1 that takes every message,
DATA or BDAT, in constant memory, and records for each its arrival time, size, the
``X-Bench-Id`` header field and a SHA-256 of the body after the header block) and
:func:`submit` (sessions in parallel that send messages over SMTP, with AUTH PLAIN when
given credentials, recording for each message the time its MAIL command was sent).

Both run on the benchmark's own asyncio loop; arrival and submission times are
``time.monotonic()`` of this process, so a latency is ``arrival - submitted``.
Invariants: the sink never holds a message in memory (only the first header block, at
most ``HEAD_MAX`` octets); the submitter fails loudly on any reply it did not expect.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import re
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field

__all__ = ["Arrival", "Sink", "Outgoing", "submit", "wait_arrivals"]

HEAD_MAX = 256 * 1024
_BENCH_ID = re.compile(rb"(?mi)^X-Bench-Id:[ \t]*(\S+)")
_READ = 1024 * 1024


@dataclass
class Arrival:
    bench_id: str
    at: float  # time.monotonic() when the end of the data arrived
    size: int  # octets of the message (after un-stuffing)
    body_sha256: str  # of the octets after the blank line that ends the header block
    head: bytes  # the header block (at most HEAD_MAX octets)
    via: str  # DATA or BDAT


class _Message:
    """One message as it streams in: header block kept, body hashed."""

    def __init__(self) -> None:
        self.size = 0
        self.head = bytearray()
        self.in_body = False
        self.body = hashlib.sha256()

    def feed(self, data: bytes) -> None:
        self.size += len(data)
        if self.in_body:
            self.body.update(data)
            return
        start = max(0, len(self.head) - 3)
        self.head += data
        end = self.head.find(b"\r\n\r\n", start)
        if end >= 0:
            rest = bytes(self.head[end + 4 :])
            del self.head[end + 4 :]
            self.in_body = True
            self.body.update(rest)
        elif len(self.head) > HEAD_MAX:
            self.in_body = True  # no header block to speak of: the rest is body
            del self.head[HEAD_MAX:]

    def arrival(self, via: str) -> Arrival:
        found = _BENCH_ID.search(self.head)
        bench_id = found.group(1).decode() if found else ""
        return Arrival(bench_id, time.monotonic(), self.size, self.body.hexdigest(), bytes(self.head), via)


@dataclass
class Sink:
    """Accepts every sender and recipient; ``chunking`` offers CHUNKING (BDAT)."""

    chunking: bool = True
    arrivals: list[Arrival] = field(default_factory=list)
    connections: int = 0
    active: int = 0
    max_active: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    _server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, limit=_READ)
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            await self._session(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self.active -= 1
            writer.close()

    def _arrived(self, message: _Message, via: str) -> None:
        self.arrivals.append(message.arrival(via))
        self.changed.set()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        extensions = [b"sink.bench", b"PIPELINING", b"8BITMIME", b"ENHANCEDSTATUSCODES", b"SIZE 0"]
        if self.chunking:
            extensions.append(b"CHUNKING")
        writer.write(b"220 sink.bench ESMTP\r\n")
        recipients = 0
        message: _Message | None = None
        while True:
            await writer.drain()
            line = await reader.readuntil(b"\n")
            verb = line[:4].upper()
            if verb == b"EHLO":
                writer.write(b"".join(b"250-" + e + b"\r\n" for e in extensions[:-1]) + b"250 " + extensions[-1] + b"\r\n")
            elif verb == b"HELO":
                writer.write(b"250 sink.bench\r\n")
            elif verb == b"MAIL":
                recipients = 0
                message = _Message()
                writer.write(b"250 2.1.0 Ok\r\n")
            elif verb == b"RCPT":
                recipients += 1
                writer.write(b"250 2.1.5 Ok\r\n")
            elif verb == b"DATA":
                if message is None or not recipients:
                    writer.write(b"554 5.5.1 No valid recipients\r\n")
                    continue
                writer.write(b"354 Go ahead\r\n")
                await writer.drain()
                while True:  # RFC 5321 §4.5.2: a line "." ends the data; a leading dot is removed
                    text = await reader.readuntil(b"\n")
                    if text[:1] == b".":
                        if text == b".\r\n":
                            break
                        text = text[1:]
                    message.feed(text)
                self._arrived(message, "DATA")
                message = None
                writer.write(b"250 2.0.0 Ok\r\n")
            elif verb == b"BDAT":
                words = line.split()
                remaining = int(words[1])
                while remaining:
                    data = await reader.read(min(remaining, _READ))
                    if not data:
                        return
                    remaining -= len(data)
                    if message is not None:
                        message.feed(data)
                if message is None:
                    writer.write(b"503 5.5.1 No MAIL\r\n")
                elif len(words) > 2 and words[2].upper() == b"LAST":
                    self._arrived(message, "BDAT")
                    message = None
                    writer.write(b"250 2.0.0 Ok\r\n")
                else:
                    writer.write(b"250 2.0.0 Chunk ok\r\n")
            elif verb == b"RSET":
                message = None
                writer.write(b"250 2.0.0 Ok\r\n")
            elif verb == b"NOOP":
                writer.write(b"250 2.0.0 Ok\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 2.0.0 Bye\r\n")
                await writer.drain()
                return
            else:
                writer.write(b"502 5.5.1 Not implemented\r\n")


async def wait_arrivals(sink: Sink, count: int, timeout: float) -> None:  # noqa: ASYNC109
    """Until the sink holds ``count`` arrivals; TimeoutError after ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        while len(sink.arrivals) < count:
            sink.changed.clear()
            await sink.changed.wait()


# ---- the submitter ---------------------------------------------------------------------


@dataclass
class Outgoing:
    """One message to submit: ``body`` is the message (CRLF lines) or a callable that
    streams it; ``size`` its length (for SIZE=)."""

    bench_id: str
    sender: str
    recipient: str
    body: bytes | Callable[[], AsyncIterator[bytes]]
    size: int
    submitted: float = 0.0  # time.monotonic() when MAIL was sent
    accepted: float = 0.0  # when the 250 to the end of the data came


class SubmitError(Exception):
    pass


async def _reply(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    lines = b""
    while True:
        line = await reader.readuntil(b"\n")
        lines += line
        if line[3:4] != b"-":
            return int(line[:3]), lines


async def _expect(reader: asyncio.StreamReader, codes: tuple[int, ...], what: str) -> bytes:
    code, text = await _reply(reader)
    if code not in codes:
        raise SubmitError(f"{what}: {text.decode(errors='replace').strip()}")
    return text


def _stuffed(message: bytes) -> bytes:
    body = message.replace(b"\r\n.", b"\r\n..")
    if body.startswith(b"."):
        body = b"." + body
    return body + (b"" if body.endswith(b"\r\n") else b"\r\n") + b".\r\n"


async def _session(port: int, work: asyncio.Queue[Outgoing], auth: tuple[str, str] | None, per_connection: int) -> None:
    while not work.empty():
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=_READ)
        try:
            await _expect(reader, (220,), "greeting")
            writer.write(b"EHLO client.bench\r\n")
            ehlo = await _expect(reader, (250,), "EHLO")
            chunking = b"CHUNKING" in ehlo.upper()
            if auth is not None:
                token = base64.b64encode(f"\0{auth[0]}\0{auth[1]}".encode())
                writer.write(b"AUTH PLAIN " + token + b"\r\n")
                await _expect(reader, (235,), "AUTH")
            for _ in range(per_connection):
                try:
                    out = work.get_nowait()
                except asyncio.QueueEmpty:
                    break
                await _transaction(reader, writer, out, chunking)
            writer.write(b"QUIT\r\n")
            await writer.drain()
            with contextlib.suppress(Exception):
                await _reply(reader)
        finally:
            writer.close()


async def _transaction(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, out: Outgoing, chunking: bool) -> None:
    out.submitted = time.monotonic()
    # RFC 2920: MAIL and RCPT (and DATA) in one write; both servers offer PIPELINING.
    head = f"MAIL FROM:<{out.sender}> SIZE={out.size}\r\nRCPT TO:<{out.recipient}>\r\n".encode()
    if isinstance(out.body, bytes):
        writer.write(head + b"DATA\r\n")
        await _expect(reader, (250,), "MAIL")
        await _expect(reader, (250, 251), "RCPT")
        await _expect(reader, (354,), "DATA")
        writer.write(_stuffed(out.body))
    elif chunking:
        writer.write(head)
        await _expect(reader, (250,), "MAIL")
        await _expect(reader, (250, 251), "RCPT")
        pending = 0
        async for chunk in out.body():
            writer.write(b"BDAT %d\r\n" % len(chunk) + chunk)
            pending += 1
            await writer.drain()
            while pending > 4:  # a few chunks in flight (RFC 3030 §4.2)
                await _expect(reader, (250,), "BDAT")
                pending -= 1
        writer.write(b"BDAT 0 LAST\r\n")
        for _ in range(pending):
            await _expect(reader, (250,), "BDAT")
    else:
        writer.write(head + b"DATA\r\n")
        await _expect(reader, (250,), "MAIL")
        await _expect(reader, (250, 251), "RCPT")
        await _expect(reader, (354,), "DATA")
        async for chunk in out.body():  # the callable yields whole lines: stuffed one chunk at a time
            writer.write((b"." if chunk[:1] == b"." else b"") + chunk.replace(b"\r\n.", b"\r\n.."))
            await writer.drain()
        writer.write(b".\r\n")
    await _expect(reader, (250,), "end of data")
    out.accepted = time.monotonic()


async def submit(port: int, messages: Iterable[Outgoing], *, sessions: int, auth: tuple[str, str] | None = None,
                 per_connection: int = 100) -> None:  # fmt: skip
    """Send every message over ``sessions`` parallel connections (each carrying up to
    ``per_connection`` transactions before QUIT)."""
    work: asyncio.Queue[Outgoing] = asyncio.Queue()
    for out in messages:
        work.put_nowait(out)
    await asyncio.gather(*(_session(port, work, auth, per_connection) for _ in range(sessions)))
