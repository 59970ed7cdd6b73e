"""Connection and listener over real loopback sockets: STARTTLS injection, long lines,
timeouts, the per-IP limit, implicit TLS."""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from postoffice.config import Config
from postoffice.net.connection import Connection, ConnectionClosed, LineTooLong, Timeout
from postoffice.net.listener import ConnectionCounter, Handler, start_listener
from postoffice.net.tls import client_context_insecure, server_context
from postoffice.store.shared import LocalSharedState, SharedState

DEADLINE = 10.0


async def wait_until(condition: Callable[[], bool], what: str) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + DEADLINE
    while not condition():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


@pytest.fixture
def tls_server_context(tmp_path: Path) -> ssl.SSLContext:
    return server_context(Config(hostname="mail.example.test", data_dir=tmp_path))


class Served:
    def __init__(self, server: asyncio.Server, counter: ConnectionCounter) -> None:
        self.server = server
        self.counter = counter
        self.port = server.sockets[0].getsockname()[1]

    async def connect(self, tls: bool = False) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.port, ssl=client_context_insecure() if tls else None)


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Awaitable[Served]]]:
    servers: list[Served] = []

    async def start(handler: Handler, max_per_ip: int = 0, counter_shared: SharedState | None = None, **kwargs: object) -> Served:
        counter = ConnectionCounter(max_per_ip, shared=counter_shared, key="test")
        server = await start_listener(
            "127.0.0.1",
            0,
            handler,
            name="test",
            max_connections_per_ip=max_per_ip,
            counter=counter,
            **kwargs,  # type: ignore[arg-type]
        )
        served = Served(server, counter)
        servers.append(served)
        return served

    yield start
    for s in servers:
        s.server.close()
        await s.counter.close_all()
        await s.server.wait_closed()


# ---- STARTTLS ------------------------------------------------------------------------


async def test_starttls_discards_bytes_pipelined_before_handshake(serve, tls_server_context) -> None:  # type: ignore[no-untyped-def]
    seen: list[bytes] = []
    tls_after: list[bool] = []

    async def handler(conn: Connection) -> None:
        line = await conn.readline(512, timeout=DEADLINE)
        seen.append(line)
        assert line == b"STARTTLS\r\n"
        conn.write(b"220 2.0.0 ready\r\n")
        await conn.start_tls(tls_server_context)
        tls_after.append(conn.is_tls)
        while line := await conn.readline(512, timeout=DEADLINE):
            seen.append(line)
            conn.write(b"250 " + line)
            await conn.drain()

    served = await serve(handler)
    reader, writer = await served.connect()
    writer.write(b"STARTTLS\r\nINJECTED\r\n")  # one write: the injection attempt
    assert (await reader.readline()).startswith(b"220")
    await writer.start_tls(client_context_insecure())
    writer.write(b"AFTER\r\n")
    assert await asyncio.wait_for(reader.readline(), DEADLINE) == b"250 AFTER\r\n"
    writer.close()
    await wait_until(lambda: served.counter.active == 0, "the session to end")
    assert seen == [b"STARTTLS\r\n", b"AFTER\r\n"]
    assert tls_after == [True]


async def test_starttls_discards_bytes_still_in_the_stream_reader(serve, tls_server_context) -> None:  # type: ignore[no-untyped-def]
    # The injected line arrives after our last read, so it sits in asyncio's own buffer.
    seen: list[bytes] = []
    injected_sent = asyncio.Event()

    async def handler(conn: Connection) -> None:
        seen.append(await conn.readline(512, timeout=DEADLINE))
        await injected_sent.wait()
        await wait_until(lambda: len(conn._reader._buffer) > 0, "the injected bytes to arrive")  # type: ignore[attr-defined]
        conn.write(b"220 2.0.0 ready\r\n")
        await conn.start_tls(tls_server_context)
        while line := await conn.readline(512, timeout=DEADLINE):
            seen.append(line)
            conn.write(b"250 " + line)

    served = await serve(handler)
    reader, writer = await served.connect()
    writer.write(b"STARTTLS\r\n")
    await wait_until(lambda: len(seen) == 1, "STARTTLS to be read")
    writer.write(b"INJECTED\r\n")
    await writer.drain()
    injected_sent.set()
    assert (await asyncio.wait_for(reader.readline(), DEADLINE)).startswith(b"220")
    await writer.start_tls(client_context_insecure())
    writer.write(b"AFTER\r\n")
    assert await asyncio.wait_for(reader.readline(), DEADLINE) == b"250 AFTER\r\n"
    writer.close()
    await wait_until(lambda: served.counter.active == 0, "the session to end")
    assert seen == [b"STARTTLS\r\n", b"AFTER\r\n"]


# ---- line limits ---------------------------------------------------------------------


async def test_line_too_long_is_consumed_and_the_session_goes_on(serve) -> None:  # type: ignore[no-untyped-def]
    async def handler(conn: Connection) -> None:
        while True:
            try:
                line = await conn.readline(12, timeout=DEADLINE)
            except LineTooLong:
                conn.write(b"500 too long\r\n")
                continue
            if not line:
                return
            conn.write(b"250 " + line)

    served = await serve(handler)
    reader, writer = await served.connect()
    exact = b"x" * 10 + b"\r\n"  # 12 octets: exactly the limit
    writer.write(b"short\r\n" + exact + b"y" * 11 + b"\r\n" + b"z" * 300_000 + b"\r\n" + b"next\r\n")
    await writer.drain()
    answers = [await asyncio.wait_for(reader.readline(), DEADLINE) for _ in range(5)]
    assert answers == [b"250 short\r\n", b"250 " + exact, b"500 too long\r\n", b"500 too long\r\n", b"250 next\r\n"]
    writer.close()


async def test_readline_returns_partial_line_then_empty_at_eof(serve) -> None:  # type: ignore[no-untyped-def]
    got: list[bytes] = []

    async def handler(conn: Connection) -> None:
        got.append(await conn.readline(100, timeout=DEADLINE))
        got.append(await conn.readline(100, timeout=DEADLINE))
        got.append(await conn.readline(100, timeout=DEADLINE))

    served = await serve(handler)
    _reader, writer = await served.connect()
    writer.write(b"one\nunterminated")
    writer.write_eof()
    await wait_until(lambda: len(got) == 3, "three reads")
    assert got == [b"one\n", b"unterminated", b""]
    writer.close()


# ---- exact reads, streams, timeouts --------------------------------------------------


async def test_readexactly_read_and_write_stream(serve) -> None:  # type: ignore[no-untyped-def]
    async def handler(conn: Connection) -> None:
        assert await conn.readline(100) == b"LITERAL {5}\r\n"
        literal = await conn.readexactly(5, timeout=DEADLINE)
        rest = await conn.read(100, timeout=DEADLINE)

        async def chunks() -> AsyncIterator[bytes]:
            yield literal
            yield b"|"
            yield rest

        await conn.write_stream(chunks())
        with pytest.raises(ConnectionClosed):
            await conn.readexactly(10, timeout=DEADLINE)

    served = await serve(handler)
    reader, writer = await served.connect()
    writer.write(b"LITERAL {5}\r\nhelloXY")
    await writer.drain()
    assert await asyncio.wait_for(reader.readexactly(8), DEADLINE) == b"hello|XY"
    writer.write(b"abc")
    writer.write_eof()
    await wait_until(lambda: served.counter.active == 0, "the session to end")
    writer.close()


async def test_timeouts_raise_timeout(serve) -> None:  # type: ignore[no-untyped-def]
    raised: list[str] = []

    async def handler(conn: Connection) -> None:
        for name, call in (
            ("readline", lambda: conn.readline(100, timeout=0.05)),
            ("readexactly", lambda: conn.readexactly(10, timeout=0.05)),
            ("read buffered", lambda: conn.read(10, timeout=0.05)),  # "par" is there: no timeout
            ("read", lambda: conn.read(10, timeout=0.05)),
        ):
            try:
                await call()
            except Timeout:
                raised.append(name)
        conn.write(b"421 timeout\r\n")

    served = await serve(handler)
    reader, writer = await served.connect()
    writer.write(b"par")  # a partial line and too few octets: still times out
    assert await asyncio.wait_for(reader.readline(), DEADLINE) == b"421 timeout\r\n"
    assert raised == ["readline", "readexactly", "read"]
    writer.close()


async def test_a_later_longer_wait_outlives_an_earlier_shorter_deadline(serve) -> None:  # type: ignore[no-untyped-def]
    # One timer serves every read of a connection: when it fires for an earlier, shorter
    # deadline while a later read waits under a longer one, that read goes on waiting.
    loop = asyncio.get_running_loop()
    got: list[bytes | str] = []
    waiting = asyncio.Event()
    first_deadline: list[float] = []

    async def handler(conn: Connection) -> None:
        got.append(await conn.readline(100, timeout=0.2))  # leaves the timer armed at ~0.2 s
        first_deadline.append(loop.time() + 0.2)
        waiting.set()
        got.append(await conn.readline(100, timeout=DEADLINE))
        try:
            await conn.readline(100, timeout=0.05)  # a shorter deadline than the armed one
        except Timeout:
            got.append("timeout")
        conn.write(b"done\r\n")

    served = await serve(handler)
    reader, writer = await served.connect()
    writer.write(b"one\r\n")
    await asyncio.wait_for(waiting.wait(), DEADLINE)
    # Send the second line only once the first read's deadline has surely passed.
    await asyncio.sleep(max(0.0, first_deadline[0] + 0.1 - loop.time()))
    writer.write(b"two\r\n")
    assert await asyncio.wait_for(reader.readline(), DEADLINE) == b"done\r\n"
    assert got == [b"one\r\n", b"two\r\n", "timeout"]
    writer.close()


async def test_cancelling_a_timed_read_is_not_a_timeout(serve) -> None:  # type: ignore[no-untyped-def]
    outcome: list[str] = []
    reading = asyncio.Event()

    async def handler(conn: Connection) -> None:
        async def read() -> None:
            reading.set()
            await conn.readline(100, timeout=DEADLINE)

        task = asyncio.create_task(read())
        await reading.wait()
        await asyncio.sleep(0)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            outcome.append("cancelled")
        except Timeout:
            outcome.append("timeout")
        # The connection still works, under a deadline of its own.
        try:
            await conn.readline(100, timeout=0.05)
        except Timeout:
            outcome.append("timeout")
        conn.write(b"bye\r\n")

    served = await serve(handler)
    reader, writer = await served.connect()
    assert await asyncio.wait_for(reader.readline(), DEADLINE) == b"bye\r\n"
    assert outcome == ["cancelled", "timeout"]
    writer.close()


# ---- per-IP limit --------------------------------------------------------------------


async def test_per_ip_limit_allows_n_and_refuses_n_plus_one(serve) -> None:  # type: ignore[no-untyped-def]
    release = asyncio.Event()
    handled = 0

    async def handler(conn: Connection) -> None:
        nonlocal handled
        handled += 1
        conn.write(b"220 hello\r\n")
        await release.wait()

    served = await serve(
        handler, max_per_ip=3, refuse_message=lambda ip: b"421 4.7.0 too many connections from " + ip.encode() + b"\r\n"
    )
    clients = [await served.connect() for _ in range(3)]
    for reader, _ in clients:
        assert (await asyncio.wait_for(reader.readline(), DEADLINE)) == b"220 hello\r\n"
    assert served.counter.active == 3

    reader, writer = await served.connect()
    assert await asyncio.wait_for(reader.readline(), DEADLINE) == b"421 4.7.0 too many connections from 127.0.0.1\r\n"
    assert await asyncio.wait_for(reader.read(), DEADLINE) == b""  # closed at once
    writer.close()
    assert served.counter.refused == 1 and handled == 3

    # One leaves: a new one is accepted again.
    clients[0][1].close()
    release.set()
    await wait_until(lambda: served.counter.active == 0, "sessions to end")
    release.clear()
    reader, writer = await served.connect()
    assert (await asyncio.wait_for(reader.readline(), DEADLINE)) == b"220 hello\r\n"
    writer.close()
    for _, w in clients[1:]:
        w.close()
    release.set()


async def test_handler_crash_is_contained_and_counted_out(serve) -> None:  # type: ignore[no-untyped-def]
    async def handler(conn: Connection) -> None:
        raise RuntimeError("boom")

    served = await serve(handler, max_per_ip=1)
    for _ in range(3):  # the slot is released every time
        reader, writer = await served.connect()
        assert await asyncio.wait_for(reader.read(), DEADLINE) == b""
        writer.close()
        await wait_until(lambda: served.counter.active == 0, "release")
    assert served.counter.accepted == 3 and served.counter.refused == 0


# ---- implicit TLS --------------------------------------------------------------------


async def test_implicit_tls_listener(serve, tls_server_context) -> None:  # type: ignore[no-untyped-def]
    async def handler(conn: Connection) -> None:
        conn.write(b"* OK tls=%s\r\n" % str(conn.is_tls).encode())
        with pytest.raises(RuntimeError):
            await conn.start_tls(tls_server_context)

    served = await serve(handler, tls_context=tls_server_context)
    reader, writer = await served.connect(tls=True)
    assert await asyncio.wait_for(reader.readline(), DEADLINE) == b"* OK tls=True\r\n"
    ssl_object = writer.get_extra_info("ssl_object")
    assert ssl_object.version() in ("TLSv1.2", "TLSv1.3")
    writer.close()


async def test_send_file_without_tls(serve, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    blob = tmp_path / "blob"
    blob.write_bytes(bytes(range(256)) * 1000)

    async def handler(conn: Connection) -> None:
        with blob.open("rb") as f:
            await conn.send_file(f, 1000, 5000)

    served = await serve(handler)
    reader, writer = await served.connect()
    data = await asyncio.wait_for(reader.read(-1), DEADLINE)
    assert data == blob.read_bytes()[1000:6000]
    writer.close()


async def test_listeners_sharing_a_count_enforce_one_limit_per_address(serve) -> None:  # type: ignore[no-untyped-def]
    """Two listeners with one SharedState (as two processes on one data dir): the
    connections to the first count toward the limit of the second, and the slot comes
    back when one ends."""
    shared = LocalSharedState()
    release = asyncio.Event()

    async def handler(conn: Connection) -> None:
        conn.write(b"220 hello\r\n")
        await release.wait()

    def refuse(ip: str) -> bytes:
        return b"421 4.7.0 too many connections\r\n"

    first = await serve(handler, max_per_ip=2, counter_shared=shared, refuse_message=refuse)
    second = await serve(handler, max_per_ip=2, counter_shared=shared, refuse_message=refuse)
    clients = [await first.connect() for _ in range(2)]
    for reader, _ in clients:
        assert await asyncio.wait_for(reader.readline(), DEADLINE) == b"220 hello\r\n"
    reader, writer = await second.connect()
    assert await asyncio.wait_for(reader.readline(), DEADLINE) == b"421 4.7.0 too many connections\r\n"
    writer.close()
    assert second.counter.refused == 1 and first.counter.active == 2
    release.set()
    for _, w in clients:
        w.close()
    await wait_until(lambda: first.counter.active == 0, "sessions to end")
    release.clear()
    reader, writer = await second.connect()
    assert await asyncio.wait_for(reader.readline(), DEADLINE) == b"220 hello\r\n"
    writer.close()
    release.set()


def _unacked(sock: socket.socket) -> int:
    """tcpi_unacked of Linux's struct tcp_info: segments sent and not yet ACKed."""
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    return int(struct.unpack_from("I", info, 24)[0])


@pytest.mark.skipif(not hasattr(socket, "TCP_QUICKACK"), reason="TCP_QUICKACK is Linux's")
async def test_acknowledge_acks_a_literal_at_once_so_its_crlf_is_not_held_by_nagle(serve) -> None:  # type: ignore[no-untyped-def]
    # An IMAP client writes a literal, then its CRLF, with Nagle's algorithm on: the CRLF
    # waits until the literal is ACKed. Without acknowledge() the server's ACK waits for
    # the delayed-ACK timer (40 ms on Linux) and every APPEND takes that long.
    literal = b"x" * 6000
    acknowledged = asyncio.Event()
    proceed = asyncio.Event()
    got: list[bytes] = []

    async def handler(conn: Connection) -> None:
        await conn.readline(512, timeout=DEADLINE)
        conn.write(b"+ Ready\r\n")  # a reply soon after a read: the socket delays its ACKs now
        await conn.drain()
        got.append(await conn.readexactly(len(literal), timeout=DEADLINE))
        conn.acknowledge()
        acknowledged.set()
        await proceed.wait()
        got.append(await conn.readline(512, timeout=DEADLINE))
        conn.write(b"A1 OK APPEND completed\r\n")
        await conn.drain()

    served = await serve(handler)
    reader, writer = await served.connect()
    sock = writer.get_extra_info("socket")
    writer.write(b"A1 APPEND INBOX {6000}\r\n")
    assert (await reader.readline()) == b"+ Ready\r\n"
    writer.write(literal)
    await asyncio.wait_for(acknowledged.wait(), DEADLINE)
    unacked = _unacked(sock)  # read at once: the delayed ACK would still be pending
    proceed.set()
    writer.write(b"\r\n")
    assert await asyncio.wait_for(reader.readline(), DEADLINE) == b"A1 OK APPEND completed\r\n"
    writer.close()
    assert got == [literal, b"\r\n"]
    assert unacked == 0
