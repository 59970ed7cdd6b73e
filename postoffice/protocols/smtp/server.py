"""The SMTP server engine: one connection loop for every listener, policies as hooks.

Owns :class:`SMTPServer` (``make_server`` builds it): the greeting, reading command lines
with the line-length limit, parsing them whole, the state check against the command
table, running handlers, the per-session limits, and the timeouts.

Invariants:
- A command runs only in a state its table entry lists; otherwise the entry's refusal is
  answered (and a refused BDAT's octets are still read, RFC 3030 §2).
- Limits under ``[limits.smtp]``: a line over ``max_line_length`` octets (CRLF included,
  RFC 5321 §4.5.3.1.4) is answered 500 5.5.2; the ``max_errors``-th failed command (5xx)
  and the ``max_junk_commands``-th unknown command end the session with 421 4.7.0, and so
  does a command beyond ``max_commands_before_mail`` outside a transaction; waiting longer
  than ``timeout_server`` for a command (RFC 5321 §4.5.3.2.7) or ``timeout_data_block`` for
  message data (§4.5.3.2.5) ends it with 421 4.4.2. Connections per address are limited by
  the listener, which sends :meth:`SMTPServer.refuse_message`.
- Whatever ends the session, a transaction in progress leaves nothing stored.
"""

from __future__ import annotations

import contextlib
import logging
import ssl

from postoffice.config import Config
from postoffice.errors import MailError
from postoffice.mail.service import MailService
from postoffice.net.connection import Connection, ConnectionClosed, LineTooLong, Timeout
from postoffice.wire.smtp import (
    R220_READY,
    R421_TIMEOUT,
    R421_TOO_MANY_COMMANDS,
    R421_TOO_MANY_CONNECTIONS,
    R421_TOO_MANY_ERRORS,
    R500_LINE_TOO_LONG,
    Bdat,
    Reply,
    SMTPSyntaxError,
    UnknownCommand,
    parse_command,
)

from . import delivery
from .commands import COMMANDS
from .errors import SessionEnd, reply_for
from .policy import Policy, policy_for
from .session import Session, State

__all__ = ["SMTPServer"]

log = logging.getLogger("postoffice.smtp")


class SMTPServer:
    """Serves SMTP on one listener: ``smtp`` (MX policy), ``submission`` or ``submissions``."""

    def __init__(
        self,
        mail: MailService,
        config: Config,
        *,
        listener: str,
        tls: ssl.SSLContext | None,
        policy: Policy | None = None,
    ) -> None:
        self.mail = mail
        self.config = config
        self.listener = listener
        self.limits = config.limits.smtp
        # Implicit TLS (submissions) is done by the listener: STARTTLS is then "already active".
        self.tls = tls
        self.policy = policy if policy is not None else policy_for(listener, mail)
        self.sessions: set[Session] = set()

    def refuse_message(self, ip: str) -> bytes:
        """The line sent to a connection over the per-address limit (net.listener)."""
        return R421_TOO_MANY_CONNECTIONS.to_bytes()

    async def handle(self, conn: Connection) -> None:
        s = Session(conn, listener=self.listener)
        self.sessions.add(s)
        try:
            s.reply(R220_READY.with_text(f"{self.config.hostname} ESMTP postoffice"))
            await self._loop(s)
        except SessionEnd as end:
            s.reply(end.reply)
        except Timeout:
            s.reply(R421_TIMEOUT)
        except (ConnectionClosed, ConnectionError):
            pass
        finally:
            s.reset_transaction()
            self.sessions.discard(s)
            with contextlib.suppress(Exception):
                await s.flush(timeout=10.0)

    async def _loop(self, s: Session) -> None:
        limits = self.limits
        while True:
            try:
                line = await s.readline(limits.max_line_length, timeout=limits.timeout_server)
            except LineTooLong:
                self._answer(s, R500_LINE_TOO_LONG)
                continue
            if not line.endswith(b"\n"):
                return  # the client went away (mid-line or not)
            reply = await self._command(s, line.rstrip(b"\r\n") if line.endswith(b"\r\n") else line[:-1])
            if reply is not None:
                self._answer(s, reply)
            if not s.input_pending():
                await s.flush(timeout=limits.timeout_server)

    def _answer(self, s: Session, reply: Reply) -> None:
        s.reply(reply)
        if reply.code >= 500:
            s.errors += 1
            if s.errors >= self.limits.max_errors:
                raise SessionEnd(R421_TOO_MANY_ERRORS)

    async def _command(self, s: Session, line: bytes) -> Reply | None:
        tx = s.transaction
        try:
            command = parse_command(line, smtputf8=tx.smtputf8 if tx is not None else False)
        except UnknownCommand as error:
            s.junk += 1
            if s.junk >= self.limits.max_junk_commands:
                s.reply(error.reply)
                raise SessionEnd(R421_TOO_MANY_ERRORS) from None
            return error.reply
        except SMTPSyntaxError as error:
            return error.reply
        spec = COMMANDS[command.verb]
        if s.state in (State.CONNECTED, State.GREETED) and command.verb != "MAIL":
            s.commands_since_mail += 1
            if s.commands_since_mail > self.limits.max_commands_before_mail:
                raise SessionEnd(R421_TOO_MANY_COMMANDS)
        try:
            if s.state not in spec.states:
                if spec.carries_data and isinstance(command, Bdat):
                    await self._discard(s, command.size)
                return spec.refuse(s)
            return await spec.handler(self, s, command)
        except MailError as error:
            log.info("%s: %s refused: %r", s.peer_ip, command.verb, error)
            return reply_for(error)

    async def _discard(self, s: Session, size: int) -> None:
        """Read and throw away the octets of a refused BDAT chunk."""
        while size:
            chunk = await s.read_some(min(size, delivery.CHUNK), timeout=self.limits.timeout_data_block)
            if not chunk:
                raise ConnectionClosed("connection closed during BDAT")
            size -= len(chunk)
