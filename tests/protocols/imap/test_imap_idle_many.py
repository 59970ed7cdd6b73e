"""Many connections in IDLE (issue 15): one server holds 200 IMAP connections in IDLE
and one APPEND wakes every one of them with the new EXISTS. bench/idle_10k.py holds
10,000 and measures memory per connection and the wake-up latency."""

from __future__ import annotations

import asyncio

from postoffice.testing.server import TranscriptServer

CONNECTIONS = 200
DEADLINE = 120.0  # seconds: only a failing test waits this long
CONFIG = {"limits.imap.max_connections_per_ip": CONNECTIONS + 10, "limits.imap.max_connections_per_user": CONNECTIONS + 10}


async def read_until(reader: asyncio.StreamReader, prefix: bytes) -> list[bytes]:
    lines = []
    while True:
        line = await asyncio.wait_for(reader.readline(), DEADLINE)
        assert line, f"connection closed before {prefix!r}"
        lines.append(line)
        if line.startswith(prefix):
            return lines


async def idle(port: int, user: str, password: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await read_until(reader, b"* OK")
    writer.write(f"a LOGIN {user} {password}\r\nb SELECT INBOX\r\nc IDLE\r\n".encode())
    assert (await read_until(reader, b"a "))[-1].startswith(b"a OK")
    assert (await read_until(reader, b"b "))[-1].startswith(b"b OK")
    await read_until(reader, b"+ ")
    return reader, writer


async def test_one_append_wakes_200_idle_connections() -> None:
    async with TranscriptServer("imap", listeners=["imap"], config_overrides=CONFIG) as srv:
        port, user = srv.port("imap"), srv.user_address("alice")
        sessions = await asyncio.gather(*(idle(port, user, srv.password) for _ in range(CONNECTIONS)))
        async with srv.no_stall():
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            await read_until(reader, b"* OK")
            message = b"Subject: wake up\r\n\r\nall of you\r\n"
            writer.write(f"a LOGIN {user} {srv.password}\r\n".encode())
            await read_until(reader, b"a OK")
            writer.write(b"b APPEND INBOX {%d+}\r\n" % len(message) + message + b"\r\n")
            assert (await read_until(reader, b"b "))[-1].startswith(b"b OK")
            # Every IDLE connection hears of the new message, then ends IDLE normally.
            woken = await asyncio.gather(*(read_until(r, b"* 1 EXISTS") for r, _ in sessions))
            assert len(woken) == CONNECTIONS
            for _, w in sessions:
                w.write(b"DONE\r\n")
            for r, w in sessions:
                assert (await read_until(r, b"c "))[-1].startswith(b"c OK")
                w.close()
            writer.close()
