"""NOTIFY (RFC 5465) where Python must look: a session waiting with NOTIFY on (reading
the client and the ChangeBus at once) still ends with ``* BYE`` at shutdown; a change
made while the client is sending a command (a literal in flight) is told once, before
that command's tagged answer; a client that stops reading gets NOTIFICATIONOVERFLOW."""

from __future__ import annotations

import asyncio
import socket

from postoffice.testing.server import TranscriptServer

DEADLINE = 10.0


async def line(reader: asyncio.StreamReader) -> bytes:
    got = await asyncio.wait_for(reader.readline(), DEADLINE)
    assert got, "the server closed the connection"
    return got


async def command(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, tag: str, text: str) -> list[bytes]:
    writer.write(f"{tag} {text}\r\n".encode())
    out: list[bytes] = []
    while not (got := await line(reader)).startswith(tag.encode() + b" "):
        out.append(got)
    assert got.split()[1] == b"OK", got
    return out


async def test_shutdown_while_waiting_with_notify_says_bye() -> None:
    async with TranscriptServer("imap", users=["alice"]) as srv:
        port = await srv.start_listener("imap")
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await line(reader)
        await command(reader, writer, "a", "LOGIN alice@example.test password")
        await command(reader, writer, "b", "NOTIFY SET (personal (MessageNew MessageExpunge MailboxName))")
        await srv.deliver(["alice"], b"Subject: x\r\n\r\nx\r\n")
        assert await line(reader) == b"* STATUS INBOX (MESSAGES 1 UIDNEXT 2)\r\n"
        await srv.listener("imap").shutdown()
        assert (await line(reader)).startswith(b"* BYE")
        writer.close()


async def test_no_notification_inside_a_command_being_sent() -> None:
    async with TranscriptServer("imap", users=["alice"]) as srv:
        port = await srv.start_listener("imap")
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await line(reader)
        await command(reader, writer, "a", "LOGIN alice@example.test password")
        await command(reader, writer, "b", "NOTIFY SET (personal (MessageNew MessageExpunge))")
        # The command's first line, with a synchronising literal: the server answers "+"
        # and then waits for the octets; a delivery meanwhile is told only afterwards.
        writer.write(b"c APPEND Sent {10}\r\n")
        assert (await line(reader)).startswith(b"+")
        await srv.deliver(["alice"], b"Subject: y\r\n\r\ny\r\n")
        writer.write(b"Subject: z\r\n")
        answers = [await line(reader), await line(reader)]
        # the delivery; not this session's own APPEND (RFC 5465 §5)
        assert answers[0] == b"* STATUS INBOX (MESSAGES 1 UIDNEXT 2)\r\n", answers
        assert answers[1].startswith(b"c OK"), answers
        # once
        rest = await command(reader, writer, "d", "NOOP")
        assert not [r for r in rest if r.startswith(b"* STATUS")]
        writer.close()


async def read_response(reader: asyncio.StreamReader) -> bytes:
    """One response line, with the octets of any literal it announces folded in."""
    got = await line(reader)
    while got.endswith(b"}\r\n") and b"{" in got:
        size = int(got[got.rindex(b"{") + 1 : -3])
        got += await asyncio.wait_for(reader.readexactly(size), DEADLINE)
        got += await line(reader)
    return got


async def test_a_client_that_stops_reading_gets_notificationoverflow() -> None:
    # RFC 5465 §5.8: while the session cannot write (the client reads nothing, a big
    # FETCH of MessageNew's attributes is stuck), changes pile up; past
    # max_notify_backlog the client gets * OK [NOTIFICATIONOVERFLOW] once it reads
    # again, and notifications are off (as after NOTIFY NONE).
    overrides = {"limits.imap.max_notify_backlog": 3}
    async with TranscriptServer("imap", users=["alice"], config_overrides=overrides) as srv:
        port = await srv.start_listener("imap")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", port))
        sock.setblocking(False)
        reader, writer = await asyncio.open_connection(sock=sock, limit=16 * 1024)
        await line(reader)
        await command(reader, writer, "a", "LOGIN alice@example.test password")
        await command(reader, writer, "b", "SELECT INBOX")
        await command(reader, writer, "c", "NOTIFY SET (selected (MessageNew (UID BODY.PEEK[]) MessageExpunge))")
        big = b"Subject: big\r\n\r\n" + b"x" * 76 + b"\r\n"
        await srv.deliver(["alice"], big * (8 * 1024 * 1024 // len(big)))  # 8 MiB: more than any socket buffer
        for n in range(4):
            await srv.deliver(["alice"], b"Subject: %d\r\n\r\nsmall\r\n" % n)
        seen: list[bytes] = []
        while not any(b"[NOTIFICATIONOVERFLOW]" in r for r in seen):
            seen.append(await read_response(reader))
        # notifications are off: the next arrival is told only at a command, and
        # without the FETCH NOTIFY asked for
        await srv.deliver(["alice"], b"Subject: after\r\n\r\nlate\r\n")
        rest = await command(reader, writer, "d", "NOOP")
        assert any(r.endswith(b" EXISTS\r\n") for r in rest), rest
        assert not any(b"FETCH" in r for r in rest), rest
        writer.close()
