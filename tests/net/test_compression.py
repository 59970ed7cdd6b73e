"""The DEFLATE transform of a connection (RFC 4978, ``Connection.start_compression``)
over real loopback sockets: both directions compressed after the switch, each drained
response complete on the wire (sync flush), octets the protocol read past its command
inflated, a small stream that inflates hugely never held whole (line limits still
hold), a corrupt stream read as the end of the connection."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator

import pytest

from postoffice.net.connection import Connection, Deflate, LineTooLong
from postoffice.net.listener import ConnectionCounter, Handler, start_listener

DEADLINE = 10.0


@pytest.fixture
async def serve() -> AsyncIterator[list[asyncio.Server]]:
    servers: list[asyncio.Server] = []
    yield servers
    for s in servers:
        s.close()
        await s.wait_closed()


async def _start(servers: list[asyncio.Server], handler: Handler) -> int:
    server = await start_listener(
        "127.0.0.1", 0, handler, name="test", max_connections_per_ip=0, counter=ConnectionCounter(0, key="test")
    )
    servers.append(server)
    return int(server.sockets[0].getsockname()[1])


class Client:
    """The client side of a compressed stream, done with zlib directly."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.out = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.inflate = zlib.decompressobj(-15)
        self.plain = bytearray()
        self.raw_received = 0

    def send(self, data: bytes) -> None:
        self.writer.write(self.out.compress(data) + self.out.flush(zlib.Z_SYNC_FLUSH))

    async def readline(self) -> bytes:
        while b"\n" not in self.plain:
            raw = await asyncio.wait_for(self.reader.read(65536), DEADLINE)
            if not raw:
                return b""
            self.raw_received += len(raw)
            self.plain += self.inflate.decompress(raw)
        idx = self.plain.index(b"\n") + 1
        line = bytes(self.plain[:idx])
        del self.plain[:idx]
        return line


def test_deflate_round_trip_and_bounded_inflation() -> None:
    a, b = Deflate(), Deflate()
    wire = a.compress(b"hello ") + a.compress(b"world\r\n") + a.flush()
    assert a.flush() == b""  # nothing new: no empty flush blocks
    assert a.compress(b"") == b"" and a.flush() == b""  # an empty write is nothing to flush
    assert b.decompress(wire, 1024) == b"hello world\r\n"
    bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = bomb.compress(b"\0" * 10_000_000) + bomb.flush(zlib.Z_SYNC_FLUSH)
    got = b.decompress(data, 65536)
    assert len(got) == 65536 and b.has_pending  # the rest waits, still compressed
    total = len(got)
    while b.has_pending:
        total += len(b.decompress(b"", 65536))
    assert total == 10_000_000


async def test_both_directions_compressed_after_the_switch(serve: list[asyncio.Server]) -> None:
    seen: list[bytes] = []

    async def handler(conn: Connection) -> None:
        line = await conn.readline(512, timeout=DEADLINE)
        assert line == b"COMPRESS\r\n"
        conn.write(b"OK go\r\n")
        await conn.drain()
        conn.start_compression()
        assert conn.compressed
        while line := await conn.readline(512, timeout=DEADLINE):
            seen.append(line)
            for _ in range(100):  # many small writes, one flush at the drain
                conn.write(b"* echo " + line)
            conn.write(b"OK " + line)
            await conn.drain()
        await conn.close()

    port = await _start(serve, handler)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"COMPRESS\r\n")
    assert await asyncio.wait_for(reader.readline(), DEADLINE) == b"OK go\r\n"  # plain
    client = Client(reader, writer)
    for word in (b"one\r\n", b"two\r\n"):
        client.send(word)
        lines = [await client.readline() for _ in range(101)]
        assert lines[-1] == b"OK " + word  # whole response arrived: no waiting on the compressor
    assert client.raw_received < 101 * 12 * 2 // 4  # a repetitive response really is compressed
    writer.close()
    assert seen == [b"one\r\n", b"two\r\n"]


async def test_pending_octets_are_inflated_and_limits_hold(serve: list[asyncio.Server]) -> None:
    results: list[object] = []

    async def handler(conn: Connection) -> None:
        line = await conn.readline(512, timeout=DEADLINE)
        assert line == b"COMPRESS\r\n"
        # Octets a protocol read past its command are handed over: compressed too.
        conn.start_compression(await conn.readexactly(2, timeout=DEADLINE))
        results.append(await conn.readline(512, timeout=DEADLINE))
        try:
            await conn.readline(1024, timeout=DEADLINE)
        except LineTooLong as exc:
            results.append(exc)
        results.append(await conn.readline(512, timeout=DEADLINE))
        conn.write(b"done\r\n")
        await conn.close()

    port = await _start(serve, handler)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    out = zlib.compressobj(6, zlib.DEFLATED, -15)
    first = out.compress(b"first\n") + out.flush(zlib.Z_SYNC_FLUSH)
    # One write: the compressed octets follow the plain command in the same segment,
    # so some of them sit in the connection's buffer when compression starts.
    # 20 MB of one line that deflates to about 20 KB: read and dropped chunk by chunk.
    body = out.compress(b"x" * 20_000_000 + b"\r\nafter\r\n") + out.flush(zlib.Z_SYNC_FLUSH)
    writer.write(b"COMPRESS\r\n" + first + body)
    writer.write_eof()
    inflate = zlib.decompressobj(-15)
    data = await asyncio.wait_for(reader.read(), DEADLINE)
    assert inflate.decompress(data) == b"done\r\n"
    assert results[0] == b"first\n"
    assert isinstance(results[1], LineTooLong)
    assert results[2] == b"after\r\n"


async def test_a_corrupt_stream_ends_the_input(serve: list[asyncio.Server]) -> None:
    got: list[bytes] = []

    async def handler(conn: Connection) -> None:
        await conn.readline(512, timeout=DEADLINE)
        conn.start_compression()
        got.append(await conn.readline(512, timeout=DEADLINE))
        await conn.close()

    port = await _start(serve, handler)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"COMPRESS\r\n")
    await writer.drain()
    writer.write(b"\xff\xff\xff\xff not deflate\r\n")
    assert await asyncio.wait_for(reader.read(), DEADLINE) == b""
    assert got == [b""]


async def test_nothing_written_sends_nothing(serve: list[asyncio.Server]) -> None:
    # An empty sync-flush block after the switch broke mbsync ("empty response"): a
    # drain or close with nothing written since the last flush sends no octet.
    async def handler(conn: Connection) -> None:
        await conn.readline(512, timeout=DEADLINE)
        conn.write(b"OK\r\n")
        await conn.drain()
        conn.start_compression()
        conn.write(b"")
        await conn.drain()
        await conn.close()

    port = await _start(serve, handler)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"COMPRESS\r\n")
    assert await asyncio.wait_for(reader.read(), DEADLINE) == b"OK\r\n"
    writer.close()
