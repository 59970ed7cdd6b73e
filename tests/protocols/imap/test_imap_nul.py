"""NUL octets (RFC 3501 §9, RFC 9051 §9: a literal is CHAR8, which excludes NUL; only a
literal8 ``~{n}`` may carry it, RFC 3516 §4.2). BODY[] of a message with NUL sends 0x80
in its place, octet for octet, as Dovecot does; BINARY[] sends the octets as stored, as
a literal8. What imaplib receives is checked byte for byte (a transcript cannot spell
these octets)."""

from __future__ import annotations

import asyncio
import imaplib

from postoffice.testing.server import TranscriptServer

MESSAGE = (
    b"From: bob@example.test\r\nSubject: nul\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n"
    b"before\x00after\r\n"
)


def _fetch(port: int, item: str) -> tuple[bytes, bytes]:
    m = imaplib.IMAP4("127.0.0.1", port)
    try:
        m.login("alice@example.test", "password")
        m.select("INBOX")
        typ, data = m.fetch("1", f"({item})")
        assert typ == "OK"
        first = data[0]
        assert isinstance(first, tuple)
        return first[0], first[1]
    finally:
        m.logout()


async def test_body_sends_no_nul_in_a_literal_and_binary_sends_a_literal8() -> None:
    async with TranscriptServer("imap", users=["alice"]) as srv:
        await srv.deliver(["alice"], MESSAGE)
        port = await srv.start_listener("imap")

        head, body = await asyncio.to_thread(_fetch, port, "BODY.PEEK[]")
        assert b"~{" not in head and head.endswith(b"{%d}" % len(MESSAGE))
        assert b"\x00" not in body
        assert body == MESSAGE.replace(b"\x00", b"\x80")

        head, text = await asyncio.to_thread(_fetch, port, "BODY.PEEK[TEXT]<2.10>")
        assert b"\x00" not in text and text == b"fore\x80after"[:10]

        head, part = await asyncio.to_thread(_fetch, port, "BINARY.PEEK[1]")
        assert head.endswith(b"~{14}")
        assert part == b"before\x00after\r\n"
