"""CATENATE (RFC 4469) of a big stored message: the new message is streamed from the
part store (memory far below its size) and its large part is not stored again (the
blob store grows by far less than the part)."""

from __future__ import annotations

import asyncio
import base64
import os
import tracemalloc

from postoffice.testing.server import TranscriptServer

MB = 1024 * 1024


def message_with(attachment: bytes) -> bytes:
    encoded = base64.encodebytes(attachment).replace(b"\n", b"\r\n")
    return (
        b"From: bob@example.test\r\nSubject: big\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        b"--b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
        b"--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + encoded
        + b"\r\n--b1--\r\n"
    )


async def _command(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, line: bytes) -> list[bytes]:
    tag = line.split(b" ", 1)[0]
    writer.write(line + b"\r\n")
    out: list[bytes] = []
    while True:
        got = await asyncio.wait_for(reader.readline(), 60)
        if not got:
            raise ConnectionError("closed")
        out.append(got)
        if got.startswith(tag + b" "):
            return out


async def test_catenate_of_a_big_message_streams_and_reuses_blobs() -> None:
    attachment = os.urandom(8 * MB)
    original = message_with(attachment)
    async with TranscriptServer("imap", users=["alice"]) as srv:
        await srv.deliver(["alice"], original)
        port = await srv.start_listener("imap")
        blobs = srv.services.blobs
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
        await reader.readline()
        await _command(reader, writer, b"l LOGIN alice@example.test password")
        before = blobs.total_size()
        tracemalloc.start()
        try:
            # A forward: new headers, then the original's body by URL (TEXT of the message).
            text = b"Subject: Fwd: big\r\nMIME-Version: 1.0\r\n"
            body_line = b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
            answer = await _command(
                reader,
                writer,
                b"c APPEND Drafts CATENATE (TEXT {%d+}\r\n%s URL \"/INBOX/;UID=1/;SECTION=TEXT\")"
                % (len(text + body_line), text + body_line),
            )
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert answer[-1].startswith(b"c OK [APPENDUID"), answer
        assert peak < 4 * MB  # the 11 MB message was never held whole (the spool keeps 1 MiB in memory)
        assert blobs.total_size() - before < MB  # the 8 MB part was found, not stored again
        answer = await _command(reader, writer, b"s SELECT Drafts")
        assert answer[-1].startswith(b"s OK")
        writer.write(b"f FETCH 1 BODY.PEEK[]\r\n")
        head = await asyncio.wait_for(reader.readline(), 60)
        size = int(head[head.index(b"{") + 1 : head.index(b"}")])
        data = await asyncio.wait_for(reader.readexactly(size), 60)
        expected = text + body_line + original[original.index(b"\r\n\r\n") + 4 :]
        assert data == expected
        writer.close()
