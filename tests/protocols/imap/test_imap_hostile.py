"""Hostile IMAP input (issue 15): nothing a signed-in user sends stalls the event loop
that every listener shares, and what can be refused at once is refused at once.

The event-loop watchdog (net.watchdog) records any stall; ``TranscriptServer.no_stall``
fails the test if one happens while the hostile command runs, and an SMTP session on
the same server is answered meanwhile.
"""

from __future__ import annotations

import asyncio
import re

from postoffice.testing.server import TranscriptServer
from postoffice.testing.smtp_client import SMTPClient

DEADLINE = 60.0  # seconds: only a failing test waits this long


class IMAPClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def login(cls, port: int) -> IMAPClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 22)
        client = cls(reader, writer)
        assert (await client.line()).startswith(b"* OK")
        assert (await client.command(b"l1 LOGIN alice@example.test password"))[-1].startswith(b"l1 OK")
        return client

    async def line(self) -> bytes:
        line = await asyncio.wait_for(self.reader.readline(), DEADLINE)
        assert line, "connection closed"
        return line

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def response(self, tag: bytes) -> list[bytes]:
        lines = []
        while True:
            line = await self.line()
            m = re.search(rb"\{(\d+)\+?\}\r\n$", line)
            if m:
                line += await asyncio.wait_for(self.reader.readexactly(int(m.group(1))), DEADLINE)
                line += await self.line()
            lines.append(line)
            if line.startswith(tag + b" "):
                return lines

    async def command(self, line: bytes) -> list[bytes]:
        await self.send(line + b"\r\n")
        return await self.response(line.split(b" ", 1)[0])

    def close(self) -> None:
        self.writer.close()


def status(lines: list[bytes]) -> bytes:
    return lines[-1].split(b" ")[1]


async def test_list_wildcards_do_not_stall_the_loop() -> None:
    async with TranscriptServer("imap", listeners=["imap", "smtp"]) as srv:
        account = await srv.account("alice")
        names = [f"{'a' * 28}x{i:02d}" for i in range(20)]
        for name in names:
            await srv.mail.create_mailbox(account, name, None)
        smtp = await SMTPClient.open(srv.port("smtp"), ehlo=True)
        imap = await IMAPClient.login(srv.port("imap"))
        hostile = b"*a" * 13
        async with srv.no_stall():
            await imap.send(b'h1 LIST "" ' + hostile + b"\r\n")
            await imap.send(b'h2 LIST "" ' + b"%" * 2000 + b"a\r\n")
            await imap.send(b"h3 LSUB \"\" " + hostile + b"\r\n")
            # Another client's SMTP session is answered while the LIST runs.
            assert (await smtp.send(b"NOOP\r\n"))[0] == 250
            assert (await smtp.send(b"MAIL FROM:<bob@example.net>\r\n"))[0] == 250
            for tag in (b"h1", b"h2", b"h3"):
                lines = await imap.response(tag)
                assert status(lines) == b"OK"
                assert len(lines) == 1  # no name ends in "a"
        # The same matcher still finds what it should.
        lines = await imap.command(b'l2 LIST "" *a*x1%')
        assert len(lines) == 11 and status(lines) == b"OK"
        lines = await imap.command(b'l3 LIST "" %%%*a%%*%%x0*')
        assert len(lines) == 11 and status(lines) == b"OK"
        imap.close()
        smtp.close()


async def test_deeply_nested_search_is_bad_and_the_session_lives_on() -> None:
    async with TranscriptServer("imap", listeners=["imap"]) as srv:
        await srv.deliver(["alice"], b"Subject: one\r\n\r\nbody\r\n")
        imap = await IMAPClient.login(srv.port("imap"))
        assert status(await imap.command(b"s1 SELECT INBOX")) == b"OK"
        async with srv.no_stall():
            for hostile in (
                b"OR " * 5000 + b"ALL" + b" ALL" * 5000,  # left-nested: OR (OR (...) ALL) ALL
                b"OR ALL " * 5000 + b"ALL",  # right-nested
                b"NOT " * 5000 + b"ALL",
                b"(" * 5000 + b"ALL" + b")" * 5000,
            ):
                assert status(await imap.command(b"h1 SEARCH " + hostile)) == b"BAD"
                assert status(await imap.command(b"n1 NOOP")) == b"OK"
        imap.close()


def nested_multipart(depth: int) -> bytes:
    head = b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i) for i in range(depth))
    tail = b"".join(b"\r\n--b%d--\r\n" % i for i in reversed(range(depth)))
    return b"Subject: deep\r\nMIME-Version: 1.0\r\n" + head + b"Content-Type: text/plain\r\n\r\nleaf" + tail


async def test_deep_lists_and_deep_mime_are_answered() -> None:
    async with TranscriptServer("imap", listeners=["imap"]) as srv:
        imap = await IMAPClient.login(srv.port("imap"))
        message = nested_multipart(5000)
        async with srv.no_stall():
            assert status(await imap.command(b"s1 SELECT INBOX")) == b"OK"
            # Parenthesised lists nested past [limits.imap] max_nesting: BAD.
            assert status(await imap.command(b"f1 FETCH 1 " + b"(" * 5000 + b"FLAGS" + b")" * 5000)) == b"BAD"
            # MIME nested past [limits.message] max_depth: stored, and its structure answered.
            await imap.send(b"a1 APPEND INBOX {%d+}\r\n" % len(message) + message + b"\r\n")
            assert status(await imap.response(b"a1")) == b"OK"
            lines = await imap.command(b"f2 FETCH 1 (BODYSTRUCTURE ENVELOPE BODY[1])")
            assert status(lines) == b"OK"
            assert status(await imap.command(b"n1 NOOP")) == b"OK"
        imap.close()
