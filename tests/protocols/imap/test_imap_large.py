"""Big messages over IMAP (issue 4), at `make test` size (20 MB):

- the low-bandwidth case: in a message with a 20 MB video part, FETCH BODY.PEEK[HEADER]
  and FETCH BODY[1] send and read (``BlobStore.bytes_read``) only about those bytes, and
  BINARY[2]<offset.length> returns exactly the decoded bytes;
- large literals both ways: APPEND of a 20 MB message and FETCH BODY[] of it run in
  memory far below the message size (tracemalloc peak of this process, which holds
  both the server and a streaming client; the client never holds the message whole).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import re
import tracemalloc
from collections.abc import Iterator

from postoffice.testing.server import TranscriptServer

MB = 1024 * 1024
VIDEO_SIZE = 20 * MB  # stands for the seed's 100 MB video (20 MB in `make test`)


class RawClient:
    """A tiny IMAP client on a raw stream that counts the bytes the server sends."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int) -> RawClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
        client = cls(reader, writer)
        await reader.readline()  # greeting
        await client.command(b"l1 LOGIN alice@example.test password")
        await client.command(b"s1 SELECT INBOX")
        return client

    async def command(self, line: bytes, sink: hashlib._Hash | None = None) -> tuple[int, bytes]:
        """Send one command; (bytes received, everything but literal bodies fed to ``sink``)."""
        self.writer.write(line + b"\r\n")
        await self.writer.drain()
        return await self.response(line.split(b" ", 1)[0], sink)

    async def response(self, tag: bytes, sink: hashlib._Hash | None = None) -> tuple[int, bytes]:
        """Read up to the tagged OK of ``tag``."""
        total = 0
        kept = bytearray()
        while True:
            data = await self.reader.readline()
            if not data:
                raise ConnectionError("server closed")
            total += len(data)
            m = re.search(rb"\{(\d+)\}\r\n$", data)
            if m and sink is not None:
                kept += data
                left = int(m.group(1))
                while left:
                    chunk = await self.reader.read(min(left, 1 << 18))
                    sink.update(chunk)
                    left -= len(chunk)
                    total += len(chunk)
                continue
            if m:
                literal = await self.reader.readexactly(int(m.group(1)))
                total += len(literal)
                kept += data + literal
                continue
            kept += data
            if data.startswith(tag + b" "):
                assert data.split(b" ")[1] == b"OK", data
                return total, bytes(kept)

    async def close(self) -> None:
        self.writer.write(b"z LOGOUT\r\n")
        self.writer.close()


def video_message(video: bytes) -> bytes:
    encoded = base64.encodebytes(video).replace(b"\n", b"\r\n")
    return (
        b"From: bob@example.test\r\nTo: alice@example.test\r\nSubject: video\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee the video.\r\n"
        b"--b1\r\nContent-Type: video/mp4\r\nContent-Transfer-Encoding: base64\r\n\r\n" + encoded + b"\r\n--b1--\r\n"
    )


async def test_low_bandwidth_fetches_of_a_20mb_video_message() -> None:
    video = os.urandom(VIDEO_SIZE)
    async with TranscriptServer("imap", users=["alice"]) as srv:
        await srv.deliver(["alice"], video_message(video))
        port = await srv.start_listener("imap")
        blobs = srv.services.blobs
        client = await RawClient.connect(port)
        try:
            before = blobs.bytes_read
            sent, reply = await client.command(b"f1 FETCH 1 BODY.PEEK[HEADER]")
            assert b"Subject: video" in reply
            assert sent < 2048
            assert blobs.bytes_read - before < 4096

            before = blobs.bytes_read
            sent, reply = await client.command(b"f2 FETCH 1 BODY[1]")  # not PEEK: also sets \Seen
            assert b"See the video." in reply and b"\\Seen" in reply
            assert sent < 2048
            assert blobs.bytes_read - before < 4096

            offset, length = 15 * MB + 12345, 100_000
            before = blobs.bytes_read
            sent, reply = await client.command(f"f3 FETCH 1 BINARY.PEEK[2]<{offset}.{length}>".encode())
            m = re.search(rb"\{(\d+)\}\r\n", reply)
            assert m is not None and int(m.group(1)) == length
            assert reply[m.end() : m.end() + length] == video[offset : offset + length]
            assert sent < length + 2048
            assert blobs.bytes_read - before < length + 64 * 1024
        finally:
            await client.close()


def _message_chunks(size: int) -> Iterator[bytes]:
    """A deterministic text message of about ``size`` octets, made chunk by chunk."""
    yield b"From: bob@example.test\r\nTo: alice@example.test\r\nSubject: big\r\n\r\n"
    line = b"x" * 76 + b"\r\n"
    block = line * 4096  # 319 KiB
    made = 0
    n = 0
    while made < size:
        n += 1
        out = f"{n:010d}".encode() + block[10:]
        made += len(out)
        yield out


async def test_append_and_fetch_of_20mb_run_in_constant_memory() -> None:
    async with TranscriptServer("imap", users=["alice"]) as srv:
        port = await srv.start_listener("imap")
        client = await RawClient.connect(port)
        want = hashlib.sha256()
        size = 0
        for chunk in _message_chunks(VIDEO_SIZE):
            want.update(chunk)
            size += len(chunk)
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            client.writer.write(f"a1 APPEND INBOX {{{size}+}}\r\n".encode())
            for chunk in _message_chunks(VIDEO_SIZE):
                client.writer.write(chunk)
                await client.writer.drain()
            client.writer.write(b"\r\n")
            _, reply = await client.response(b"a1")
            assert b"APPENDUID" in reply
            append_peak = tracemalloc.get_traced_memory()[1]

            tracemalloc.reset_peak()
            got = hashlib.sha256()
            await client.command(b"n1 NOOP")
            _, reply = await client.command(b"f1 FETCH 1 BODY.PEEK[]", sink=got)
            fetch_peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            await client.close()
        assert got.hexdigest() == want.hexdigest()
        assert f"{{{size}}}".encode() in reply
        # Measured: about 6 MB for APPEND (bounded buffers of ingestion: the 1 MB search-text
        # sample, parser buffers) and 3 MB for FETCH, the same at 5, 20 and 40 MB.
        assert append_peak < 8 * MB, append_peak
        assert fetch_peak < 8 * MB, fetch_peak
