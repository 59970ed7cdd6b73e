"""One client connection, as every protocol server sees it.

Owns: buffered reading with per-call limits and timeouts, writing and streaming,
STARTTLS, and closing. Protocol servers never touch asyncio streams directly.

Invariants:
- ``readline`` never holds more than ``limit`` octets of a line in memory: an overlong
  line is discarded up to and including its line end, then :class:`LineTooLong` is
  raised, so the protocol can answer ("500 line too long", "BAD") and read on.
- ``start_tls`` throws away every byte the client sent before the handshake that has
  not been read yet. Bytes pipelined after STARTTLS are never read as commands after
  the upgrade (CVE-2011-0411; RFC 3207 §4.2, RFC 2595 §3.1, RFC 9051 §6.2.1).
- Timeouts raise :class:`Timeout`; the end of the stream in ``readexactly`` raises
  :class:`ConnectionClosed`; ``readline``/``read`` return ``b""`` at the end.
- A call's timeout covers the whole call (every chunk read for one line). Calls served
  from the buffer, and ``drain`` with nothing left to flush, arm no timer at all; a
  waiting call sets the connection's deadline, and one timer per connection (re-armed
  lazily, only when it fires early or a shorter deadline comes) cancels the waiting task
  once that deadline has passed. So a command-per-read protocol pays a float store per
  read, not a timer object (issue 3: per-message CPU).
- ``start_compression`` (RFC 4978 COMPRESS=DEFLATE, usable by any protocol) puts a raw
  DEFLATE transform under everything read and written afterwards. Output is compressed
  as written and sync-flushed whenever the connection drains (after each response, after
  each streamed chunk) or closes, so the client never waits on bytes held back by the
  compressor. Input is inflated at most one chunk at a time, so a small deflate stream
  that expands hugely never sits in memory (the same limits apply as without it).
- ``acknowledge`` ACKs what was received at once (Linux TCP_QUICKACK). A protocol calls
  it when the client is mid-command and sends on before any answer: an IMAP client
  writes a literal, then its closing CRLF in a second small write that Nagle's algorithm
  holds until the literal is ACKed, and a delayed ACK waits 40 ms for a reply that
  cannot come before that CRLF (issue 14: APPEND at 50 ms each).
"""


from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import zlib
from collections.abc import AsyncIterable
from typing import BinaryIO

__all__ = ["Connection", "Deflate", "LineTooLong", "Timeout", "ConnectionClosed"]

log = logging.getLogger("postoffice.net")

_CHUNK = 64 * 1024
_TCP_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)  # Linux only


def _quickack_socket(writer: asyncio.StreamWriter) -> socket.socket | None:
    """The TCP socket under ``writer`` when TCP_QUICKACK can be set on it."""
    sock = writer.get_extra_info("socket")
    if _TCP_QUICKACK is None or sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return None
    return sock  # type: ignore[no-any-return]


class LineTooLong(Exception):
    """The line was longer than the limit; it has been read and thrown away."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"line longer than {limit} octets")
        self.limit = limit


class Timeout(TimeoutError):
    """The client sent nothing (or too little) within the allowed time."""


class ConnectionClosed(ConnectionError):
    """The client closed the connection before sending what was expected."""


class Deflate:
    """Raw DEFLATE both ways (RFC 1951, zlib ``wbits=-15``; RFC 4978 §3), without I/O."""

    def __init__(self, level: int = 6) -> None:
        self._out = zlib.compressobj(level, zlib.DEFLATED, -15)
        self._in = zlib.decompressobj(-15)
        self._unflushed = False

    def compress(self, data: bytes) -> bytes:
        if not data:
            return b""
        self._unflushed = True
        return self._out.compress(data)

    def flush(self) -> bytes:
        """Everything compressed so far, ending on a byte boundary (Z_SYNC_FLUSH); b""
        when nothing was written since the last flush. An empty flush block is never
        sent: some clients (mbsync) take a read that inflates to nothing for an error."""
        if not self._unflushed:
            return b""
        self._unflushed = False
        return self._out.flush(zlib.Z_SYNC_FLUSH)

    def decompress(self, data: bytes, limit: int) -> bytes:
        """At most ``limit`` octets of plain text from ``data`` and what was left before.

        Raises ``zlib.error`` on a corrupt stream."""
        tail = self._in.unconsumed_tail
        return self._in.decompress(tail + data if tail else data, limit)

    @property
    def has_pending(self) -> bool:
        """Inflated input is waiting (``decompress(b"", n)`` gives more without reading)."""
        return bool(self._in.unconsumed_tail)


class Connection:
    """A client connection over an asyncio StreamReader/StreamWriter pair."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._buf = bytearray()
        self._eof = False
        self._closed = False
        self._loop = asyncio.get_running_loop()
        self._transport = writer.transport
        # The deadline machinery (see the module docstring): the deadline of the waiting
        # call, the task waiting (None when no call waits), the armed timer and its time,
        # and whether the timer cancelled the waiting task.
        self._deadline = 0.0
        self._waiting: asyncio.Task[object] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._expired = False
        self._cancelling = 0  # the waiting task's cancel requests before it began to wait
        self._tls = writer.get_extra_info("sslcontext") is not None
        self._deflate: Deflate | None = None
        peer = writer.get_extra_info("peername")
        self.peer_ip: str = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        self.peer_port: int = int(peer[1]) if isinstance(peer, tuple) and len(peer) > 1 else 0
        self.bytes_sent = 0  # octets written (before TLS): the metrics of net.listener
        self._quickack = _quickack_socket(writer)

    # ---- facts --------------------------------------------------------------------------

    @property
    def is_tls(self) -> bool:
        return self._tls

    @property
    def tls_version(self) -> str | None:
        """ "TLSv1.3" and the like, for Received headers and logs."""
        obj = self._writer.get_extra_info("ssl_object")
        return obj.version() if isinstance(obj, ssl.SSLObject) else None

    @property
    def tls_cipher(self) -> str | None:
        cipher = self._writer.get_extra_info("cipher")
        return str(cipher[0]) if cipher else None

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def compressed(self) -> bool:
        return self._deflate is not None

    # ---- reading ------------------------------------------------------------------------

    async def _fill(self) -> bool:
        """Read one more chunk into the buffer; False at the end of the stream."""
        if self._eof:
            return False
        deflate = self._deflate
        while True:
            if deflate is not None and deflate.has_pending:
                data = b""
            else:
                try:
                    data = await self._reader.read(_CHUNK)
                except (ConnectionError, ssl.SSLError, OSError) as exc:
                    log.debug("read from %s failed: %s", self.peer_ip, exc)
                    data = b""
                if not data:
                    self._eof = True
                    return False
            if deflate is None:
                self._buf += data
                return True
            try:
                plain = deflate.decompress(data, _CHUNK)
            except zlib.error as exc:
                log.info("%s: corrupt compressed input: %s", self.peer_ip, exc)
                self._eof = True  # nothing after a corrupt stream can be read
                return False
            if plain:
                self._buf += plain
                return True
            # Only part of a deflate block so far: read on.

    # ---- deadlines ----------------------------------------------------------------------

    def _arm(self, timeout: float) -> asyncio.Task[object]:
        """Start a timed wait of the current task: deadline now + ``timeout``."""
        task = asyncio.current_task()
        assert task is not None
        loop = self._loop
        deadline = loop.time() + timeout
        self._deadline = deadline
        self._waiting = task
        self._expired = False
        self._cancelling = task.cancelling()
        timer = self._timer
        if timer is None or self._timer_at > deadline:
            if timer is not None:
                timer.cancel()
            self._timer = loop.call_at(deadline, self._on_timer)
            self._timer_at = deadline
        return task

    def _disarm(self, task: asyncio.Task[object], exc: BaseException | None) -> bool:
        """End a timed wait; True when ``exc`` is the timer's own cancellation (a timeout)."""
        self._waiting = None
        if self._expired and isinstance(exc, asyncio.CancelledError):
            self._expired = False
            # Ours alone unless somebody else cancelled the task too (then theirs wins).
            return task.uncancel() <= self._cancelling
        return False

    def _on_timer(self) -> None:
        self._timer = None
        task = self._waiting
        if task is None:
            return  # no call waits: the next one arms a timer of its own
        if self._loop.time() < self._deadline:
            # A later call moved the deadline on: sleep until then.
            self._timer = self._loop.call_at(self._deadline, self._on_timer)
            self._timer_at = self._deadline
            return
        self._expired = True
        task.cancel()

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def _fill_by(self, timeout: float | None, what: str) -> bool:  # noqa: ASYNC109 - per-call protocol timeouts are the API
        """``_fill`` under a fresh deadline; Timeout (naming ``what``) when it passes."""
        if timeout is None:
            return await self._fill()
        task = self._arm(timeout)
        try:
            result = await self._fill()
        except asyncio.CancelledError as exc:
            if self._disarm(task, exc):
                raise Timeout(f"timed out waiting for {what}") from None
            raise
        self._waiting = None
        return result

    # ---- reading ------------------------------------------------------------------------

    async def readline(self, limit: int, *, timeout: float | None = None) -> bytes:  # noqa: ASYNC109 - per-call protocol timeouts are the API
        """One line including its LF (CRLF or bare LF); at most ``limit`` octets with it.

        Returns ``b""`` at the end of the stream, or the unterminated rest if the
        client closed mid-line. Raises LineTooLong after discarding the whole line.
        """
        buf = self._buf
        idx = buf.find(b"\n")
        if 0 <= idx < limit:  # the common case: the whole line is here already
            line = bytes(buf[: idx + 1])
            del buf[: idx + 1]
            return line
        if timeout is None:
            return await self._readline(limit)
        task = self._arm(timeout)
        try:
            line = await self._readline(limit)
        except asyncio.CancelledError as exc:
            if self._disarm(task, exc):
                raise Timeout("timed out waiting for a line") from None
            raise
        except BaseException:
            self._waiting = None
            raise
        self._waiting = None
        return line

    async def _readline(self, limit: int) -> bytes:
        scanned = 0
        while True:
            idx = self._buf.find(b"\n", scanned)
            if idx >= 0:
                if idx + 1 > limit:
                    del self._buf[: idx + 1]
                    raise LineTooLong(limit)
                line = bytes(self._buf[: idx + 1])
                del self._buf[: idx + 1]
                return line
            if len(self._buf) >= limit:
                await self._discard_line()
                raise LineTooLong(limit)
            scanned = len(self._buf)
            if not await self._fill():
                line = bytes(self._buf)
                self._buf.clear()
                return line

    async def _discard_line(self) -> None:
        """Drop bytes up to and including the next LF, in constant memory."""
        while True:
            idx = self._buf.find(b"\n")
            if idx >= 0:
                del self._buf[: idx + 1]
                return
            self._buf.clear()
            if not await self._fill():
                return

    async def readexactly(self, n: int, *, timeout: float | None = None) -> bytes:  # noqa: ASYNC109 - per-call protocol timeouts are the API
        """Exactly ``n`` octets (a literal, a BDAT chunk); ConnectionClosed if the client leaves."""
        if len(self._buf) < n:
            task = self._arm(timeout) if timeout is not None else None
            try:
                while len(self._buf) < n:
                    if not await self._fill():
                        raise ConnectionClosed(f"connection closed after {len(self._buf)} of {n} octets")
            except asyncio.CancelledError as exc:
                if task is not None and self._disarm(task, exc):
                    raise Timeout(f"timed out waiting for {n} octets") from None
                raise
            finally:
                self._waiting = None
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    async def read(self, n: int = _CHUNK, *, timeout: float | None = None) -> bytes:  # noqa: ASYNC109 - per-call protocol timeouts are the API
        """Up to ``n`` octets, whatever is available; ``b""`` at the end of the stream."""
        if not self._buf:
            await self._fill_by(timeout, "data")
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    def acknowledge(self) -> None:
        """ACK the octets received so far now, not after the delayed-ACK timer (see the
        module docstring); nothing where TCP_QUICKACK does not exist."""
        if self._quickack is not None and _TCP_QUICKACK is not None:
            with contextlib.suppress(OSError):
                self._quickack.setsockopt(socket.IPPROTO_TCP, _TCP_QUICKACK, 1)

    def buffered(self) -> int:
        """Octets received but not read yet (pipelining: RFC 2920, RFC 2449)."""
        return len(self._buf)

    # ---- writing ------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        if not self._closed:
            if self._deflate is not None:
                data = self._deflate.compress(data)
                if not data:
                    return
            self.bytes_sent += len(data)
            self._writer.write(data)

    def _flush_deflate(self) -> None:
        if self._deflate is not None and not self._closed:
            data = self._deflate.flush()
            if data:
                self.bytes_sent += len(data)
                self._writer.write(data)

    async def drain(self, *, timeout: float | None = None) -> None:  # noqa: ASYNC109 - per-call protocol timeouts are the API
        """Wait until the write buffer is flushed enough; Timeout for a client that stopped reading."""
        self._flush_deflate()  # RFC 4978 §3: the client must see each whole response
        transport = self._transport
        if not transport.get_write_buffer_size() and not transport.is_closing():
            return  # nothing to flush: no timer, no suspension
        try:
            async with asyncio.timeout(timeout):
                await self._writer.drain()
        except TimeoutError:
            raise Timeout("timed out writing to the client") from None

    async def write_stream(self, chunks: AsyncIterable[bytes], *, timeout: float | None = None) -> int:  # noqa: ASYNC109 - per-call protocol timeouts are the API
        """Write every chunk, draining between them (constant memory); returns octets written."""
        total = 0
        async for chunk in chunks:
            if chunk:
                self.write(chunk)
                total += len(chunk)
                await self.drain(timeout=timeout)
        return total

    async def send_file(self, file: BinaryIO, offset: int = 0, count: int | None = None) -> int:
        """Send part of an open file: sendfile(2) without TLS, read/write with it."""
        if self._deflate is not None:
            return await self._send_file_compressed(file, offset, count)
        await self.drain()
        loop = asyncio.get_running_loop()
        sent = await loop.sendfile(self._writer.transport, file, offset, count, fallback=True)
        self.bytes_sent += sent
        return sent

    async def _send_file_compressed(self, file: BinaryIO, offset: int, count: int | None) -> int:
        total = 0
        await asyncio.to_thread(file.seek, offset)
        while count is None or total < count:
            want = _CHUNK if count is None else min(_CHUNK, count - total)
            chunk = await asyncio.to_thread(file.read, want)
            if not chunk:
                break
            self.write(chunk)
            total += len(chunk)
            await self.drain()
        return total

    # ---- compression --------------------------------------------------------------------

    def start_compression(self, pending: bytes = b"") -> None:
        """Compress everything written and inflate everything read from now on (RFC 4978).

        Write (and drain) the protocol's "OK" before calling this: it goes out plain.
        ``pending``: octets the protocol had read past its command, which the client
        sent compressed; octets still in this connection's buffer are compressed too.
        """
        if self._deflate is not None:
            raise RuntimeError("compression is already active")
        self._deflate = Deflate()
        raw = pending + bytes(self._buf)
        self._buf.clear()
        if raw:
            try:
                self._buf += self._deflate.decompress(raw, _CHUNK)
            except zlib.error:
                self._eof = True

    # ---- STARTTLS -----------------------------------------------------------------------

    async def start_tls(self, context: ssl.SSLContext, *, handshake_timeout: float = 60.0) -> None:  # noqa: ASYNC109 - per-call protocol timeouts are the API
        """Upgrade to TLS. Write the protocol's "ready" answer before calling this.

        Every byte the client pipelined after its STARTTLS command is discarded first
        (CVE-2011-0411). After our own drain, ``StreamWriter.start_tls`` does not
        yield before ``loop.start_tls`` pauses reading on the plain transport, so no
        plain-text byte can slip into the buffers between the discard and the switch;
        anything that arrives later is fed to the TLS layer, where it breaks the handshake.
        Raises ConnectionClosed if the handshake fails, Timeout if it takes too long.
        """
        if self.is_tls:
            raise RuntimeError("the connection already uses TLS")
        if self._deflate is not None:
            raise RuntimeError("TLS cannot start under compression")
        await self._writer.drain()
        dropped = len(self._buf) + _clear_reader_buffer(self._reader)
        self._buf.clear()
        if dropped:
            log.warning("%s: discarded %d octets pipelined before the TLS handshake", self.peer_ip, dropped)
        try:
            await self._writer.start_tls(context, ssl_handshake_timeout=handshake_timeout)
        except TimeoutError:
            raise Timeout("TLS handshake timed out") from None
        except (ssl.SSLError, ConnectionError, OSError) as exc:
            # The connection cannot go on in plain text: the protocol ends the session.
            raise ConnectionClosed(f"TLS handshake failed: {exc}") from None
        self._eof = False
        self._transport = self._writer.transport
        self._tls = True

    # ---- closing ------------------------------------------------------------------------

    async def close(self, *, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - per-call protocol timeouts are the API
        """Flush what was written, close, and wait (at most ``timeout``) for the close."""
        if self._closed:
            return
        self._flush_deflate()  # the last response (BYE) reaches the client whole
        self._closed = True
        if self._waiting is None:
            self._stop_timer()  # else the waiting call still gets its timeout
        transport = self._transport
        if transport.get_write_buffer_size() and not transport.is_closing():
            with contextlib.suppress(Exception):
                async with asyncio.timeout(timeout):
                    await self._writer.drain()
        self._writer.close()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(timeout):
                await self._writer.wait_closed()

    def abort(self) -> None:
        """Drop the connection at once, without flushing."""
        self._closed = True
        self._stop_timer()
        self._transport.abort()


def _clear_reader_buffer(reader: asyncio.StreamReader) -> int:
    # StreamReader has no public way to drop what it has buffered without waiting;
    # its buffer is the ``_buffer`` bytearray (CPython 3.11-3.13).
    buffer = getattr(reader, "_buffer", None)
    if isinstance(buffer, bytearray):
        n = len(buffer)
        buffer.clear()
        return n
    return 0
