"""A capturing SMTP server for client tests (the outbound queue, ``smtpclient``).

:class:`SMTPSink` listens on 127.0.0.1, advertises the EHLO extensions a test chooses
(none for a plain-RFC 821 peer), and records every transaction: envelope, the octets as
they crossed the wire, and the message after DATA un-stuffing (RFC 5321 §4.5.2) or BDAT
reassembly. ``rcpt_replies`` and ``data_reply`` script refusals; ``misbehave`` makes it
stall, close, or send an endless or garbage reply line. Test-only: no limits of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SMTPSink", "Captured"]


@dataclass
class Captured:
    sender: str
    mail_params: str
    recipients: list[str]
    wire: bytes = b""  # octets as sent after 354 (with the final dot) or the BDAT payloads
    message: bytes = b""  # the message as the sender meant it
    via: str = "DATA"
    bdat_chunks: int = 0  # BDAT commands that carried the message
    size: int = 0  # octets of the message (also when discarded)
    sha256: str = ""
    digest: Any = field(default_factory=hashlib.sha256)
    arrived: float = 0.0  # wall-clock time of the final reply (time.time(): benchmarks compare processes)


@dataclass
class SMTPSink:
    extensions: Iterable[str] = ("PIPELINING", "8BITMIME", "SIZE 100000000", "CHUNKING", "BINARYMIME", "SMTPUTF8", "DSN")
    ehlo: bool = True  # False: EHLO is answered 500 (HELO only)
    rcpt_replies: dict[str, bytes] = field(default_factory=dict)  # address -> reply line
    data_reply: bytes = b"250 2.0.0 Ok"
    greeting: bytes = b"220 sink.test ESMTP"  # the greeting line (without CRLF)
    discard: bool = False  # keep only the size and SHA-256 of each message (big-message tests)
    # "", "stall-greeting", "stall-data", "endless-line", "garbage", "close-after-mail", "421", or
    # "stall-after-data": the message is taken whole (counted in ``messages``), its reply never sent
    misbehave: str = ""
    reply_delay: float = 0.0  # seconds before the reply to the end of the data (a slow peer)
    messages: list[Captured] = field(default_factory=list)
    connections: int = 0
    data_started: int = 0  # transactions that got their 354
    active: int = 0  # connections open now
    max_active: int = 0  # the most open at once
    received: asyncio.Event = field(default_factory=asyncio.Event)
    _server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, limit=1 << 24)  # long data lines
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def wait_for(self, count: int, timeout: float = 20.0) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while len(self.messages) < count:
                self.received.clear()
                await self.received.wait()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            await self._session(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.active -= 1
            writer.close()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        def send(line: bytes) -> None:
            writer.write(line + b"\r\n")

        if self.misbehave == "stall-greeting":
            await asyncio.sleep(3600)
        if self.misbehave == "endless-line":
            while True:
                writer.write(b"220-" + b"x" * 65536)
                await writer.drain()
        if self.misbehave == "garbage":
            send(b"hello there, this is not SMTP")
            await writer.drain()
            await asyncio.sleep(3600)
        if self.misbehave == "421":
            send(b"421 4.3.2 Go away")
            await writer.drain()
            return
        send(self.greeting)
        tx: Captured | None = None
        while True:
            await writer.drain()
            line = await reader.readline()
            if not line:
                return
            verb = line[:4].upper()
            arg = line[5:].rstrip(b"\r\n").decode("utf-8", "replace")
            if verb == b"EHLO":
                if not self.ehlo:
                    send(b"500 5.5.2 What?")
                    continue
                lines = [b"sink.test", *(e.encode() for e in self.extensions)]
                for i, text in enumerate(lines):
                    send(b"250" + (b" " if i == len(lines) - 1 else b"-") + text)
            elif verb == b"HELO":
                send(b"250 sink.test")
            elif verb == b"MAIL":
                path, _, params = arg.partition(">")
                tx = Captured(path.split("<", 1)[1], params.strip(), [])
                if self.misbehave == "close-after-mail":
                    return
                send(b"250 2.1.0 Ok")
            elif verb == b"RCPT":
                address = arg.split("<", 1)[1].split(">", 1)[0]
                reply = self.rcpt_replies.get(address, b"250 2.1.5 Ok")
                if tx is not None and reply.startswith(b"2"):
                    tx.recipients.append(address)
                send(reply)
            elif verb == b"DATA":
                if tx is None or not tx.recipients:
                    send(b"554 5.5.1 No valid recipients")
                    continue
                send(b"354 Go ahead")
                await writer.drain()
                self.data_started += 1
                if self.misbehave == "stall-data":
                    await asyncio.sleep(3600)
                # Line by line: a client may pipeline its next command (QUIT, RSET, MAIL)
                # right after the final dot, in the same segment (RFC 2920 §3.1; Postfix does).
                wire = bytearray(b"\r\n")
                while True:
                    line = await reader.readline()
                    if not line:
                        return
                    wire += line
                    if line == b".\r\n" and wire.endswith(b"\r\n.\r\n"):
                        break
                tx.wire = bytes(wire[2:])
                body = bytes(wire[2:-3])  # up to the CRLF before the final dot
                tx.message = b"\r\n".join(
                    piece[1:] if piece.startswith(b".") else piece for piece in body.split(b"\r\n")
                )
                await self._finish(tx, send)
                tx = None
            elif verb == b"BDAT":
                parts = arg.split()
                size = int(parts[0])
                data = await reader.readexactly(size)
                if tx is None:
                    send(b"503 5.5.1 No MAIL")
                    continue
                tx.via = "BDAT"
                tx.bdat_chunks += 1
                tx.size += len(data)
                tx.digest.update(data)
                if not self.discard:
                    tx.wire += data
                    tx.message += data
                if len(parts) > 1 and parts[1].upper() == "LAST":
                    await self._finish(tx, send)
                    tx = None
                else:
                    send(b"250 2.0.0 Chunk ok")
            elif verb == b"RSET":
                tx = None
                send(b"250 2.0.0 Ok")
            elif verb == b"QUIT":
                send(b"221 2.0.0 Bye")
                await writer.drain()
                return
            elif verb == b"NOOP":
                send(b"250 2.0.0 Ok")
            else:
                send(b"502 5.5.1 Not implemented")

    async def _finish(self, tx: Captured, send: object) -> None:
        assert callable(send)
        if tx.via == "BDAT":
            tx.sha256 = tx.digest.hexdigest()
        else:
            tx.size = len(tx.message)
            tx.sha256 = hashlib.sha256(tx.message).hexdigest()
        if self.misbehave == "stall-after-data":  # delivered here; the sender never learns it
            self.messages.append(tx)
            self.received.set()
            await asyncio.sleep(3600)
        if self.reply_delay:
            await asyncio.sleep(self.reply_delay)
        send(self.data_reply)
        if self.data_reply.startswith(b"2"):
            tx.arrived = time.time()
            self.messages.append(tx)
            self.received.set()
