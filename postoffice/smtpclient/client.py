"""One SMTP client connection (RFC 5321 §3, §4): several transactions, streamed bodies.

Owns :class:`SMTPConnection`, :class:`Envelope`, :class:`RecipientResult`,
:class:`TransactionResult` and :class:`SMTPClientError`.

Invariants:
- Memory is constant whatever the message size: the body is read from an async
  iterator chunk by chunk, converted (``message.downgrade``) and framed
  (``framing.DataFramer``) or chunked (BDAT) as it goes.
- A reply line longer than ``[limits.relay] max_reply_line`` or a reply that is not SMTP
  ends the connection with a transient :class:`SMTPClientError`; every wait on the peer
  has its RFC 5321 §4.5.3.2 timeout; so a peer cannot hold the queue.
- Every recipient of a transaction gets its own final :class:`~.reply.ServerReply`:
  its RCPT refusal, or the reply to the end of the data (RFC 5321 §3.3). Checks that
  need no transmission (SIZE, SMTPUTF8) give synthetic replies with RFC 3463 codes.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from postoffice.config import RelayLimits
from postoffice.message.downgrade import Downgrader
from postoffice.message.lineends import LineEndNormaliser
from postoffice.wire.smtp.commands import encode_xtext

from .framing import DataFramer
from .reply import ReplyError, ReplyParser, ServerReply

__all__ = [
    "SignHook",
    "Envelope",
    "RecipientSpec",
    "RecipientResult",
    "TransactionResult",
    "SMTPClientError",
    "SMTPConnection",
    "TLSMode",
    "synthetic",
]

# A signer of the outbound path: the message as sent in, header fields to prepend out.
SignHook = Callable[[AsyncIterator[bytes]], Awaitable[bytes]]

TLSMode = Literal["opportunistic", "verify", "implicit", "none"]
_CHUNK = 256 * 1024  # octets gathered into one write (one BDAT chunk)


def synthetic(code: int, enhanced: str, text: str) -> ServerReply:
    """A reply made up by the client for a failure it found itself (RFC 3463 code)."""
    return ServerReply(code, (f"{enhanced} {text}",))


class SMTPClientError(Exception):
    """The connection failed: ``reply`` says why, as a 4xx (try again) or 5xx reply."""

    def __init__(self, reply: ServerReply) -> None:
        super().__init__(str(reply))
        self.reply = reply


@dataclass(frozen=True, slots=True)
class RecipientSpec:
    address: str
    notify: tuple[str, ...] | None = None  # RFC 3461 §4.1
    orcpt: tuple[str, str] | None = None  # RFC 3461 §4.2: (address type, address)


@dataclass(frozen=True, slots=True)
class Envelope:
    sender: str  # "" for the null reverse-path
    recipients: tuple[RecipientSpec, ...]
    size: int  # octets of the message as stored
    body: str | None = None  # None (7BIT), "8BITMIME" or "BINARYMIME"
    smtputf8: bool = False
    ret: str | None = None  # RFC 3461 §4.3: FULL or HDRS
    envid: str | None = None  # RFC 3461 §4.4


@dataclass(frozen=True, slots=True)
class RecipientResult:
    address: str
    reply: ServerReply

    @property
    def delivered(self) -> bool:
        return self.reply.is_positive


@dataclass(frozen=True, slots=True)
class TransactionResult:
    recipients: tuple[RecipientResult, ...]
    converted: bool = False  # the body was re-encoded for this peer
    dsn: bool = False  # the peer offered DSN: NOTIFY/RET/ENVID/ORCPT were passed on (RFC 3461)

    def reply_for(self, address: str) -> ServerReply:
        for r in self.recipients:
            if r.address == address:
                return r.reply
        raise KeyError(address)


def _client_context(verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not verify:
        # RFC 7435 (opportunistic security): encrypt without authenticating the peer.
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class SMTPConnection:
    """Open with :meth:`open`; then :meth:`send` any number of times; then :meth:`quit`."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        limits: RelayLimits,
        *,
        host: str,
        helo: str,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.limits = limits
        self.host = host
        self.helo = helo
        self.extensions: dict[str, str] = {}  # EHLO keyword (upper case) -> parameters
        self.esmtp = False
        self.tls = False
        self.greeting: ServerReply | None = None

    # ---- opening ------------------------------------------------------------------------
    @classmethod
    async def open(
        cls,
        host: str,
        port: int,
        limits: RelayLimits,
        *,
        helo: str,
        tls: TLSMode = "opportunistic",
        server_name: str | None = None,
        auth: tuple[str, str] | None = None,
        context: ssl.SSLContext | None = None,
    ) -> SMTPConnection:
        """Connect, read the greeting, EHLO (HELO if refused), STARTTLS when offered
        (``opportunistic``) or required (``verify``), EHLO again, AUTH if asked.

        An opportunistic STARTTLS whose handshake fails is retried once without TLS
        (RFC 7435 §3). SMTPClientError on any failure."""
        try:
            return await cls._open(host, port, limits, helo=helo, tls=tls, server_name=server_name, auth=auth, context=context)
        except _TLSFailed as failed:
            if tls != "opportunistic":
                raise SMTPClientError(synthetic(454, "4.7.5", f"TLS with {host} failed: {failed}")) from None
            return await cls._open(host, port, limits, helo=helo, tls="none", server_name=server_name, auth=auth, context=None)

    @classmethod
    async def _open(
        cls,
        host: str,
        port: int,
        limits: RelayLimits,
        *,
        helo: str,
        tls: TLSMode,
        server_name: str | None,
        auth: tuple[str, str] | None,
        context: ssl.SSLContext | None,
    ) -> SMTPConnection:
        name = server_name or host
        implicit = _client_context(True) if tls == "implicit" and context is None else context
        try:
            async with asyncio.timeout(limits.timeout_connect):
                reader, writer = await asyncio.open_connection(
                    host,
                    port,
                    # a line of at most max_reply_line octets with its CRLF (asyncio allows limit + 1)
                    limit=max(1, limits.max_reply_line - 1),
                    ssl=implicit if tls == "implicit" else None,
                    server_hostname=name if tls == "implicit" else None,
                )
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            raise SMTPClientError(synthetic(451, "4.4.1", f"cannot connect to {host}:{port}: {exc or 'timeout'}")) from None
        conn = cls(reader, writer, limits, host=host, helo=helo)
        conn.tls = tls == "implicit"
        try:
            conn.greeting = await conn._reply(limits.timeout_greeting, "greeting")
            if conn.greeting.code != 220:
                raise SMTPClientError(conn.greeting if not conn.greeting.is_positive else synthetic(451, "4.4.0", "bad greeting"))
            await conn._hello()
            if not conn.tls and tls in ("opportunistic", "verify") and "STARTTLS" in conn.extensions:
                await conn._starttls(context or _client_context(tls == "verify"), name)
                await conn._hello()
            elif not conn.tls and tls == "verify":
                raise SMTPClientError(synthetic(454, "4.7.10", f"{host} does not offer STARTTLS, and TLS is required"))
            if auth is not None:
                await conn._auth(*auth)
        except BaseException:
            conn.close()
            raise
        return conn

    async def _hello(self) -> None:
        reply = await self.command(f"EHLO {self.helo}", self.limits.timeout_command)
        if reply.code == 250:
            self.esmtp = True
            self.extensions = {}
            for line in reply.lines[1:]:
                keyword, _, params = line.partition(" ")
                self.extensions[keyword.upper()] = params
            return
        if reply.code in (421,) or reply.code < 500:
            raise SMTPClientError(reply)
        # RFC 5321 §3.2: a server that does not know EHLO gets HELO.
        reply = await self.command(f"HELO {self.helo}", self.limits.timeout_command)
        if reply.code != 250:
            raise SMTPClientError(reply)
        self.esmtp = False
        self.extensions = {}

    async def _starttls(self, context: ssl.SSLContext, name: str) -> None:
        reply = await self.command("STARTTLS", self.limits.timeout_command)
        if reply.code != 220:
            raise _TLSFailed(str(reply))
        try:
            async with asyncio.timeout(self.limits.timeout_command):
                await self.writer.start_tls(context, server_hostname=name)
        except (ssl.SSLError, OSError, TimeoutError) as exc:
            raise _TLSFailed(str(exc) or "handshake timeout") from None
        self.tls = True

    async def _auth(self, user: str, password: str) -> None:
        mechanisms = self.extensions.get("AUTH", "").upper().split()
        if not self.tls:
            raise SMTPClientError(synthetic(530, "5.7.0", f"{self.host}: no TLS, so no AUTH (the password stays secret)"))
        if "PLAIN" not in mechanisms:
            raise SMTPClientError(synthetic(504, "5.5.4", f"{self.host} does not offer AUTH PLAIN"))
        token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        reply = await self.command(f"AUTH PLAIN {token}", self.limits.timeout_command)
        if reply.code != 235:
            raise SMTPClientError(reply)

    # ---- I/O ------------------------------------------------------------------------------
    async def _reply(self, timeout: float, stage: str) -> ServerReply:  # noqa: ASYNC109 - protocol timeout
        parser = ReplyParser(max_lines=self.limits.max_reply_lines)
        try:
            async with asyncio.timeout(timeout):
                while True:
                    line = await self.reader.readuntil(b"\n")
                    reply = parser.feed_line(line)
                    if reply is not None:
                        return reply
        except TimeoutError:
            raise SMTPClientError(synthetic(451, "4.4.2", f"{self.host}: timeout waiting for the {stage} reply")) from None
        except asyncio.LimitOverrunError:
            raise SMTPClientError(synthetic(451, "4.5.0", f"{self.host}: reply line too long ({stage})")) from None
        except asyncio.IncompleteReadError:
            raise SMTPClientError(synthetic(451, "4.4.2", f"{self.host}: connection closed ({stage})")) from None
        except ReplyError as exc:
            raise SMTPClientError(synthetic(451, "4.5.0", f"{self.host}: {exc}")) from None
        except (OSError, ssl.SSLError) as exc:
            raise SMTPClientError(synthetic(451, "4.4.2", f"{self.host}: {exc}")) from None

    async def _write(self, data: bytes, timeout: float) -> None:  # noqa: ASYNC109 - protocol timeout
        try:
            self.writer.write(data)
            async with asyncio.timeout(timeout):
                await self.writer.drain()
        except TimeoutError:
            raise SMTPClientError(synthetic(451, "4.4.2", f"{self.host}: timeout sending")) from None
        except (OSError, ssl.SSLError) as exc:
            raise SMTPClientError(synthetic(451, "4.4.2", f"{self.host}: {exc}")) from None

    async def command(self, line: str, timeout: float) -> ServerReply:  # noqa: ASYNC109 - protocol timeout
        await self._write(line.encode() + b"\r\n", timeout)
        return await self._reply(timeout, line.split(" ", 1)[0])

    # ---- transactions ----------------------------------------------------------------------
    def max_size(self) -> int | None:
        """RFC 1870: the peer's declared limit (None: none declared or 0)."""
        value = self.extensions.get("SIZE")
        if value is None:
            return None
        try:
            size = int(value.split()[0]) if value.strip() else 0
        except ValueError:
            return None
        return size or None

    async def send(
        self,
        envelope: Envelope,
        source: AsyncIterable[bytes] | Callable[[], AsyncIterable[bytes]],
        *,
        sign: SignHook | None = None,
    ) -> TransactionResult:
        """One transaction; every recipient gets a final reply. SMTPClientError if the
        connection failed (then it is unusable: close it).

        ``sign`` (with ``source`` a callable that reads the message afresh each time):
        called once with the message exactly as it will be sent to this peer, after any
        8BITMIME/BINARYMIME conversion (RFC 6376 §5.3: a signature covers the octets on
        the wire); the header fields it returns (DKIM-Signature) go before the message."""
        ext = self.extensions
        everyone = envelope.recipients

        def all_get(reply: ServerReply) -> TransactionResult:
            return TransactionResult(tuple(RecipientResult(r.address, reply) for r in everyone))

        # RFC 6531 §3.2: a message that needs SMTPUTF8 cannot go to a peer without it.
        if envelope.smtputf8 and "SMTPUTF8" not in ext:
            return all_get(synthetic(553, "5.6.7", f"{self.host} does not support SMTPUTF8, which this message needs"))
        # Conversions (RFC 6152 §3, RFC 3030 §3).
        binary_ok = "BINARYMIME" in ext and "CHUNKING" in ext
        eight_ok = "8BITMIME" in ext
        body = envelope.body
        convert_8bit = body in ("8BITMIME", "BINARYMIME") and not eight_ok
        convert_binary = body == "BINARYMIME" and not binary_ok
        if body == "BINARYMIME" and not binary_ok:
            body = "8BITMIME" if eight_ok else None
        elif body == "8BITMIME" and not eight_ok:
            body = None
        # Only BINARYMIME data may hold bare CR or LF (RFC 3030 §3): anything else leaves
        # with CRLF line ends (by BDAT too), made here so that the signature covers them.
        crlf = body != "BINARYMIME"
        signature = b""
        if sign is not None and callable(source):
            # Signed before MAIL: the declared SIZE (RFC 1870) counts the signature fields too.
            signature = await sign(_converted(source(), convert_8bit, convert_binary, crlf))
        estimate = (envelope.size * 4 // 3 + 1024 if convert_binary else envelope.size) + len(signature)
        limit = self.max_size()
        if limit is not None and estimate > limit:
            return all_get(synthetic(552, "5.3.4", f"message of {estimate} octets is larger than {self.host} accepts ({limit})"))
        dsn = "DSN" in ext
        mail = f"MAIL FROM:<{envelope.sender}>"
        if "SIZE" in ext:
            mail += f" SIZE={estimate}"
        if body is not None:
            mail += f" BODY={body}"
        if envelope.smtputf8:
            mail += " SMTPUTF8"
        if dsn and envelope.ret:
            mail += f" RET={envelope.ret}"
        if dsn and envelope.envid:
            mail += f" ENVID={encode_xtext(envelope.envid)}"
        rcpts: list[str] = []
        for r in everyone:
            line = f"RCPT TO:<{r.address}>"
            if dsn and r.notify:
                line += " NOTIFY=" + ",".join(r.notify)
            if dsn and r.orcpt:
                line += f" ORCPT={r.orcpt[0]};{encode_xtext(r.orcpt[1])}"
            rcpts.append(line)
        chunking = "CHUNKING" in ext
        timeout = self.limits.timeout_command
        if "PIPELINING" in ext:
            # RFC 2920 §3.1: MAIL, RCPTs and DATA in one group; replies read in order.
            group = [mail, *rcpts] + ([] if chunking else ["DATA"])
            await self._write("".join(f"{c}\r\n" for c in group).encode(), timeout)
            mail_reply = await self._reply(timeout, "MAIL")
            rcpt_replies = [await self._reply(timeout, "RCPT") for _ in rcpts]
            data_reply = None if chunking else await self._reply(self.limits.timeout_data_init, "DATA")
        else:
            mail_reply = await self.command(mail, timeout)
            rcpt_replies = []
            if mail_reply.is_positive:
                rcpt_replies = [await self.command(c, timeout) for c in rcpts]
            data_reply = None
        if not mail_reply.is_positive:
            if data_reply is not None and data_reply.code == 354:
                await self._finish_empty_data()
            await self.reset()
            return all_get(mail_reply)
        accepted = [r for r, reply in zip(everyone, rcpt_replies, strict=True) if reply.is_positive]
        if not accepted:
            if data_reply is not None and data_reply.code == 354:
                await self._finish_empty_data()
            await self.reset()
            return TransactionResult(tuple(RecipientResult(r.address, rep) for r, rep in zip(everyone, rcpt_replies, strict=True)))
        if callable(source):
            body_source: AsyncIterator[bytes] = _prefixed(signature, _converted(source(), convert_8bit, convert_binary, crlf))
        else:
            body_source = _converted(source, convert_8bit, convert_binary, crlf)
        if chunking:
            final = await self._send_bdat(body_source)
        else:
            if data_reply is None:
                data_reply = await self.command("DATA", self.limits.timeout_data_init)
            if data_reply.code != 354:
                await self.reset()
                final = data_reply
            else:
                final = await self._send_data(body_source)
        if not final.is_positive:
            await self.reset()
        results = tuple(
            RecipientResult(r.address, final if rep.is_positive else rep) for r, rep in zip(everyone, rcpt_replies, strict=True)
        )
        return TransactionResult(results, converted=convert_8bit or convert_binary, dsn=dsn)

    async def _finish_empty_data(self) -> None:
        # RFC 2920 §3.1: DATA accepted though no recipient was: send an empty message's end.
        await self._write(b".\r\n", self.limits.timeout_data_block)
        await self._reply(self.limits.timeout_data_end, "end of data")

    async def _send_data(self, source: AsyncIterator[bytes]) -> ServerReply:
        framer = DataFramer()
        out = bytearray()
        async for chunk in source:
            out += framer.feed(chunk)
            if len(out) >= _CHUNK:  # small pieces go out together: one write, not one per piece
                await self._write(bytes(out), self.limits.timeout_data_block)
                out.clear()
        out += framer.finish()
        await self._write(bytes(out), self.limits.timeout_data_block)
        return await self._reply(self.limits.timeout_data_end, "end of data")

    async def _send_bdat(self, source: AsyncIterator[bytes]) -> ServerReply:
        # RFC 3030 §2: the last chunk is marked LAST; chunks carry octets as they are.
        # Pieces of the source (the signature, the first line, the rest) are gathered up
        # to _CHUNK octets: a small message is one BDAT LAST, one round trip.
        pending = bytearray()
        async for chunk in source:
            pending += chunk
            if len(pending) >= _CHUNK:
                await self._write(b"BDAT %d\r\n" % len(pending) + pending, self.limits.timeout_data_block)
                pending.clear()
                reply = await self._reply(self.limits.timeout_data_end, "BDAT")
                if not reply.is_positive:
                    return reply
        await self._write(b"BDAT %d LAST\r\n" % len(pending) + pending, self.limits.timeout_data_block)
        return await self._reply(self.limits.timeout_data_end, "BDAT LAST")

    async def reset(self) -> None:
        reply = await self.command("RSET", self.limits.timeout_command)
        if not reply.is_positive:
            raise SMTPClientError(reply)

    async def quit(self) -> None:
        """QUIT politely; the connection is closed whatever the answer."""
        with contextlib.suppress(SMTPClientError):
            await self.command("QUIT", min(self.limits.timeout_command, 10.0))
        self.close()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class _TLSFailed(Exception):
    pass


async def _prefixed(prefix: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if prefix:
        yield prefix
    async for chunk in rest:
        yield chunk


async def _converted(
    source: AsyncIterable[bytes], convert_8bit: bool, convert_binary: bool, crlf: bool
) -> AsyncIterator[bytes]:
    """The body as sent: re-encoded for a peer without 8BITMIME/BINARYMIME, and with
    ``crlf`` every bare CR and bare LF made CRLF (RFC 5321 §2.3.8), in chunks."""
    downgrader = Downgrader(convert_8bit=convert_8bit, convert_binary=convert_binary) if convert_8bit or convert_binary else None
    normaliser = LineEndNormaliser() if crlf else None
    async for chunk in source:
        out = downgrader.feed(chunk) if downgrader is not None else chunk
        if normaliser is not None:
            out = normaliser.feed(out)
        if out:
            yield out
    tail = downgrader.finish() if downgrader is not None else b""
    if normaliser is not None:
        tail = normaliser.feed(tail) + normaliser.flush()
    if tail:
        yield tail
