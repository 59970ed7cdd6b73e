"""One POP3 session: its state (RFC 1939 §3), its maildrop lock, reading and writing.

Owns the per-connection facts handlers read and change: the state, the USER name given,
UTF8 mode, the counters the limits apply to, the account and its :class:`Maildrop`,
and the exclusive maildrop lock held in the store.

Invariants:
- The lock is taken before the message list is read (so the list is the maildrop as
  locked) and is held exactly while the state is TRANSACTION or UPDATE; ``release``
  drops it and is called by the server on every end of the session.
- The lock is refreshed (its ttl renewed in the store) on activity once a quarter of
  ``lock_ttl`` has passed, also while a long RETR streams and while the client is idle;
  a lock found taken by another session ends this one with ``-ERR [IN-USE]``.
- Idle time is measured on ``mail.clock`` (injectable): a client silent for
  ``limits.pop3.idle_timeout`` is logged out (RFC 1939 §3) without UPDATE.
"""

from __future__ import annotations

import enum
import os
import secrets
import ssl
from typing import Protocol

from postoffice.config import Config
from postoffice.mail.service import MailService
from postoffice.net.connection import Connection, LineTooLong, Timeout
from postoffice.store.api import Account
from postoffice.wire.pop3 import ERR_IN_USE, ERR_TIMEOUT, Response

from .errors import Refusal, SessionEnd
from .maildrop import Maildrop

__all__ = ["State", "Session", "SessionHost", "LineTooLong"]


class SessionHost(Protocol):
    """What a session needs of the server that runs it (``server.POP3Server``); the
    server imports the session, never the other way round."""

    mail: MailService
    config: Config
    tls: ssl.SSLContext | None  # STLS offered when set
    clock_poll: float  # seconds between idle-time checks on mail.clock


class State(enum.Enum):
    AUTHORIZATION = "authorization"
    TRANSACTION = "transaction"
    UPDATE = "update"


class Session:
    def __init__(self, server: SessionHost, conn: Connection) -> None:
        self.server = server
        self.conn = conn
        self.mail = server.mail
        self.limits = server.config.limits.pop3
        self.clock = server.mail.clock
        self.state = State.AUTHORIZATION
        self.user: str | None = None  # USER name awaiting PASS
        self.utf8 = False  # RFC 6856 §2
        self.auth_failures = 0
        self.errors = 0
        self.account: Account | None = None
        self.maildrop: Maildrop | None = None
        self.holder = f"pop3:{os.getpid()}:{secrets.token_hex(8)}"
        self.locked = False
        self.interruptible = False  # waiting for a command line (server.shutdown)
        now = self.clock.monotonic()
        self.last_activity = now
        self._lock_refreshed = now

    # ---- facts ------------------------------------------------------------------------
    def plaintext_allowed(self) -> bool:
        """USER/PASS, PLAIN and LOGIN need TLS or a trusted network (docs/architecture.md §9)."""
        return self.mail.auth.plaintext_allowed(self.conn.peer_ip, self.conn.is_tls)

    def require_maildrop(self) -> Maildrop:
        assert self.maildrop is not None, "TRANSACTION without a maildrop"
        return self.maildrop

    # ---- writing and reading ----------------------------------------------------------
    def send(self, data: Response | bytes) -> None:
        self.conn.write(data.to_bytes() if isinstance(data, Response) else data)

    async def flush(self) -> None:
        """Drain the write buffer; a client that stops reading gets the idle timeout."""
        await self.conn.drain(timeout=self.limits.idle_timeout)

    async def readline(self, limit: int) -> bytes:
        """The next line, or b"" at the end of the stream.

        Waits in slices of ``server.clock_poll`` seconds so that idle time counts on
        ``mail.clock`` and the lock is kept fresh while the client thinks. Raises
        LineTooLong (the line was discarded) or SessionEnd(ERR_TIMEOUT).
        """
        while True:
            idle = self.clock.monotonic() - self.last_activity
            remaining = self.limits.idle_timeout - idle
            if remaining <= 0:
                raise SessionEnd(ERR_TIMEOUT)  # RFC 1939 §3: autologout timer
            self.interruptible = self.conn.buffered() == 0  # no command begun: shutdown may end it
            try:
                line = await self.conn.readline(limit, timeout=min(remaining, self.server.clock_poll))
            except Timeout:
                await self.keep_lock()
                continue
            except LineTooLong:
                self.last_activity = self.clock.monotonic()
                raise
            finally:
                self.interruptible = False
            self.last_activity = self.clock.monotonic()
            return line

    # ---- the maildrop lock ------------------------------------------------------------
    async def enter_transaction(self, account: Account) -> Maildrop:
        """Lock the maildrop, then fix its message list (RFC 1939 §4); Refusal([IN-USE])."""
        if not await self.mail.lock_maildrop(account, self.holder):
            raise Refusal(ERR_IN_USE)  # RFC 2449 §8.1.1
        self.locked = True
        self.account = account
        self._lock_refreshed = self.clock.monotonic()
        try:
            mailbox = await self.mail.get_mailbox(account, "INBOX")
            messages = await self.mail.list_messages(mailbox)
        except BaseException:
            await self.release()
            raise
        self.maildrop = Maildrop(mailbox, tuple(messages))
        self.state = State.TRANSACTION
        return self.maildrop

    async def keep_lock(self) -> None:
        """Renew the lock's ttl if a quarter of it has passed; SessionEnd if it was lost."""
        if not self.locked or self.account is None:
            return
        now = self.clock.monotonic()
        if now - self._lock_refreshed < self.limits.lock_ttl / 4:
            return
        if not await self.mail.lock_maildrop(self.account, self.holder):
            self.locked = False
            raise SessionEnd(ERR_IN_USE)
        self._lock_refreshed = now

    async def release(self) -> None:
        if self.locked and self.account is not None:
            self.locked = False
            await self.mail.unlock_maildrop(self.account, self.holder)
