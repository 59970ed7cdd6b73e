"""The low-bandwidth case (issue 4): in a message with a big attachment, FETCH of the
header, of the text part, and a BINARY partial of the attachment read from the store
only about the bytes they send (``BlobStore.bytes_read``)."""

from __future__ import annotations

import base64
import os
import re

from postoffice.testing.server import TranscriptServer

VIDEO = os.urandom(3 * 1024 * 1024)  # stands for the 100 MB video part (kept small for `make test`)


def video_message() -> bytes:
    encoded = base64.encodebytes(VIDEO).replace(b"\n", b"\r\n")
    return (
        b"From: bob@example.test\r\nTo: alice@example.test\r\nSubject: video\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee the video.\r\n"
        b"--b1\r\nContent-Type: video/mp4\r\nContent-Transfer-Encoding: base64\r\n\r\n" + encoded + b"\r\n--b1--\r\n"
    )


async def test_partial_fetches_read_only_what_they_send() -> None:
    async with TranscriptServer("imap", users=["alice"]) as srv:
        await srv.deliver(["alice"], video_message())
        blobs = srv.services.blobs

        before = blobs.bytes_read
        await srv.run("state: selected\nC: a1 FETCH 1 BODY.PEEK[HEADER]\nS: * 1 FETCH (BODY[HEADER] $_)\nS: a1 OK")
        assert blobs.bytes_read - before < 4096

        before = blobs.bytes_read
        await srv.run('state: selected\nC: a1 FETCH 1 BODY.PEEK[1]\nS: * 1 FETCH (BODY[1] "See the video.")\nS: a1 OK')
        assert blobs.bytes_read - before < 4096

        before = blobs.bytes_read
        caps = await srv.run(
            "state: selected\nC: a1 FETCH 1 BINARY.PEEK[2]<1000000.64>\nS: * 1 FETCH (BINARY[2]<1000000> $data)\nS: a1 OK"
        )
        assert blobs.bytes_read - before < 64 * 1024
        assert "data" in caps


async def test_binary_partial_returns_the_decoded_bytes() -> None:
    import asyncio
    import imaplib

    async with TranscriptServer("imap", users=["alice"]) as srv:
        await srv.deliver(["alice"], video_message())
        port = await srv.start_listener("imap")

        def client() -> tuple[bytes, bytes]:
            m = imaplib.IMAP4("127.0.0.1", port)
            m.login("alice@example.test", "password")
            m.select("INBOX")
            typ, data = m.fetch("1", "(BINARY.PEEK[2]<123457.1000>)")
            partial = data[0][1]
            typ, data = m.fetch("1", "(BINARY.SIZE[2])")
            m.logout()
            return partial, data[0]

        partial, size_line = await asyncio.to_thread(client)
        assert partial == VIDEO[123457 : 123457 + 1000]
        assert re.search(rb"BINARY.SIZE\[2\] (\d+)", size_line).group(1) == str(len(VIDEO)).encode()  # type: ignore[union-attr]
