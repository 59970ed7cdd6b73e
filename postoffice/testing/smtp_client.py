"""A raw SMTP client for tests that need exact control of the bytes and their timing
(timeouts, shutdown): replies are read as (code, enhanced status code)."""

from __future__ import annotations

import asyncio
from typing import Self

__all__ = ["SMTPClient", "DEADLINE"]

DEADLINE = 20.0  # seconds: generous, only a failing test waits this long


class SMTPClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int, *, ehlo: bool = False) -> Self:
        """Connect to 127.0.0.1:port, read the 220 greeting, and say EHLO if asked."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = cls(reader, writer)
        assert (await client.reply())[0] == 220
        if ehlo:
            assert (await client.send(b"EHLO client.example.test\r\n"))[0] == 250
        return client

    async def reply(self) -> tuple[int, str]:
        """The last line of one reply: (code, enhanced status code or first word)."""
        while True:
            line = await asyncio.wait_for(self.reader.readline(), DEADLINE)
            assert line, "connection closed"
            if line[3:4] != b"-":
                return int(line[:3]), line[4:].decode().split(" ", 1)[0]

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def send(self, data: bytes) -> tuple[int, str]:
        await self.write(data)
        return await self.reply()

    async def closed(self) -> bool:
        """The server closed the connection (end of stream within the deadline)."""
        return await asyncio.wait_for(self.reader.read(), DEADLINE) == b""

    def close(self) -> None:
        self.writer.close()
