"""One SMTP session: its state, its transaction, and its buffered input and output.

Owns :class:`Session` (per connection), :class:`Transaction` (MAIL .. end of data) and
:class:`State`, the four states the command table speaks of.

Invariants:
- ``state`` follows RFC 5321 §4.1.4: CONNECTED until HELO/EHLO; GREETED between
  transactions; MAIL after an accepted MAIL; RCPT after at least one accepted RCPT.
  Ending or resetting a transaction always goes through :meth:`Session.reset_transaction`,
  which also cancels a message half-received by BDAT (nothing of it is kept).
- Input is read only through :meth:`Session.readline` / :meth:`Session.read_some`, whose
  buffer :meth:`Session.discard_input` empties at STARTTLS (CVE-2011-0411), and to which
  the bytes after the end of DATA or a BDAT chunk (pipelined commands, RFC 2920) return.
- Replies are queued and written when the client has nothing more pipelined, or before
  the server waits on anything (RFC 2920 §3.2: replies may be batched, never held back
  while the server waits for the client).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from postoffice.net.connection import LineTooLong
from postoffice.wire.smtp import RcptParams, Reply

if TYPE_CHECKING:
    import asyncio

    from postoffice.net.connection import Connection
    from postoffice.store.api import Account

__all__ = ["State", "Transaction", "Session", "Recipient"]

_READ = 256 * 1024

# The wire form of replies seen before: most replies are the same constants in every
# session. Bounded, as a reply's text may name what a client sent.
_WIRE: dict[Reply, bytes] = {}
_WIRE_MAX = 512


class State(enum.Enum):
    CONNECTED = "connected"
    GREETED = "greeted"
    MAIL = "mail"
    RCPT = "rcpt"


@dataclass(frozen=True, slots=True)
class Recipient:
    address: str  # canonical "local@domain" delivered to
    written: str  # as the client wrote it (for ORCPT-less DSNs and Received "for")
    params: RcptParams


@dataclass
class Transaction:
    """MAIL FROM .. end of data (RFC 5321 §3.3)."""

    sender: str  # "" for the null reverse-path
    body: str | None = None  # 7BIT, 8BITMIME, BINARYMIME
    smtputf8: bool = False
    ret: str | None = None
    envid: str | None = None
    declared_size: int | None = None
    recipients: list[Recipient] = field(default_factory=list)
    rcpt_attempts: int = 0
    # BDAT (RFC 3030): the delivery task fed chunk by chunk, and octets received so far.
    bdat_started: bool = False
    bdat_octets: int = 0
    delivery: asyncio.Task[Reply] | None = None
    feed: asyncio.Queue[bytes | None] | None = None


class Session:
    """Per-connection state; handlers read and change it."""

    def __init__(self, conn: Connection, *, listener: str) -> None:
        self.conn = conn
        self.listener = listener
        self.state = State.CONNECTED
        self.helo: str | None = None
        self.esmtp = False
        self.account: Account | None = None
        self.transaction: Transaction | None = None
        self.errors = 0
        self.junk = 0
        self.commands_since_mail = 0
        # Shutdown (RFC 5321 §3.8): the task serving this session, whether it is waiting
        # for a command line (then it may be interrupted at once), and whether the server
        # asked it to end.
        self.task: asyncio.Task[None] | None = None
        self.awaiting_command = False
        self.shutdown_requested = False
        self._input = bytearray()
        self._output: list[bytes] = []

    # ---- facts -----------------------------------------------------------------------
    @property
    def tls(self) -> bool:
        return self.conn.is_tls

    @property
    def peer_ip(self) -> str:
        return self.conn.peer_ip

    # ---- transaction -------------------------------------------------------------------
    def reset_transaction(self) -> None:
        """Forget the transaction (RSET, HELO/EHLO, STARTTLS, a failed or finished one)."""
        tx = self.transaction
        if tx is not None and tx.delivery is not None and not tx.delivery.done():
            tx.delivery.cancel()  # the ingestion pipeline removes its spool file
        self.transaction = None
        if self.state in (State.MAIL, State.RCPT):
            self.state = State.GREETED

    # ---- output ------------------------------------------------------------------------
    def reply(self, reply: Reply) -> None:
        wire = _WIRE.get(reply)
        if wire is None:
            wire = reply.to_bytes()
            if len(_WIRE) >= _WIRE_MAX:
                _WIRE.clear()  # client-specific texts filled it: start again
            _WIRE[reply] = wire
        self._output.append(wire)

    async def flush(self, timeout: float | None = None) -> None:  # noqa: ASYNC109 - protocol timeout
        output = self._output
        if output:
            self.conn.write(output[0] if len(output) == 1 else b"".join(output))
            output.clear()
        await self.conn.drain(timeout=timeout)

    def input_pending(self) -> bool:
        return bool(self._input) or self.conn.buffered() > 0

    # ---- input -------------------------------------------------------------------------
    async def _fill(self, timeout: float | None) -> bool:  # noqa: ASYNC109 - protocol timeout
        if self._output:
            await self.flush(timeout)
        data = await self.conn.read(_READ, timeout=timeout)
        if not data:
            return False
        self._input += data
        return True

    async def readline(self, limit: int, timeout: float | None) -> bytes:  # noqa: ASYNC109 - protocol timeout
        """One line with its LF, at most ``limit`` octets; b"" at the end of the stream.

        An overlong line is read to its end and thrown away, then LineTooLong is raised
        (RFC 5321 §4.5.3.1.4)."""
        scanned = 0
        while True:
            idx = self._input.find(b"\n", scanned)
            if idx >= 0:
                line = bytes(self._input[: idx + 1])
                del self._input[: idx + 1]
                if len(line) > limit:
                    raise LineTooLong(limit)
                return line
            if len(self._input) > limit:
                self._input.clear()
                await self._skip_line(timeout)
                raise LineTooLong(limit)
            scanned = len(self._input)
            if not await self._fill(timeout):
                rest = bytes(self._input)
                self._input.clear()
                return rest

    async def _skip_line(self, timeout: float | None) -> None:  # noqa: ASYNC109 - protocol timeout
        while True:
            if not await self._fill(timeout):
                return
            idx = self._input.find(b"\n")
            if idx >= 0:
                del self._input[: idx + 1]
                return
            self._input.clear()

    async def read_some(self, limit: int, timeout: float | None) -> bytes:  # noqa: ASYNC109 - protocol timeout
        """Up to ``limit`` octets (at least one); b"" at the end of the stream."""
        if not self._input and not await self._fill(timeout):
            return b""
        data = bytes(self._input[:limit])
        del self._input[:limit]
        return data

    def unread(self, data: bytes) -> None:
        """Give back bytes read past the end of a message (pipelined commands)."""
        if data:
            self._input[:0] = data

    def discard_input(self) -> int:
        """STARTTLS: drop everything pipelined after it (CVE-2011-0411)."""
        dropped = len(self._input)
        self._input.clear()
        return dropped
