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
  does a command beyond ``max_commands_before_mail`` outside a transaction. Connections per
  address are limited by the listener, which sends :meth:`SMTPServer.refuse_message`.
- Timeouts (server side of RFC 5321 §4.5.3.2), each ending the session with 421 4.4.2:
  ``timeout_initial`` for the first command after the greeting, ``timeout_server``
  (§4.5.3.2.7) for every later command and AUTH line, ``timeout_data_init`` for the first
  message octets after 354, ``timeout_data_block`` for every further read of DATA / BDAT
  octets.
- Whatever ends the session, a transaction in progress leaves nothing stored.
- Shutdown (:meth:`SMTPServer.shutdown`, RFC 5321 §3.8): a session waiting for a command
  gets 421 4.3.2 and is closed at once; a session in the middle of DATA or of a BDAT
  transaction may finish it within ``[server] shutdown_grace`` (its 250 is sent only once the message is
  durable, as always) and then gets 421 4.3.2; past the grace it gets 421 4.3.2 and
  nothing of its unfinished message is kept. So nothing acknowledged is ever lost, and
  the client of an unfinished message retries it (a 4xx reply).
- Failure policy (the same in every protocol): an exception no handler expected is logged
  once with its traceback and answered 451 4.3.0 (RFC 3463 §3.4: a local temporary
  error); the session goes on. A DATA or BDAT handler that fails reads the rest of the
  message first (keeping nothing), so its octets are never read as commands; if even the
  end of the message cannot be found, the session ends after the 451. Cancellation is
  never caught here (shutdown handles it in :meth:`SMTPServer.handle`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl

from postoffice.config import Config
from postoffice.errors import MailError
from postoffice.mail.service import MailService
from postoffice.net.connection import Connection, ConnectionClosed, LineTooLong, Timeout
from postoffice.net.watchdog import note_command
from postoffice.observe import commands
from postoffice.wire.smtp import (
    R220_READY,
    R421_SHUTTING_DOWN,
    R421_TIMEOUT,
    R421_TOO_MANY_COMMANDS,
    R421_TOO_MANY_CONNECTIONS,
    R421_TOO_MANY_ERRORS,
    R451_LOCAL_ERROR,
    R500_LINE_TOO_LONG,
    Bdat,
    Data,
    Reply,
    SMTPSyntaxError,
    UnknownCommand,
    parse_command,
)
from postoffice.wire.smtp.commands import Command

from . import delivery
from .commands import COMMANDS, CommandSpec
from .errors import SessionEnd, reply_for
from .policy import Policy, policy_for
from .session import Session, State

__all__ = ["SMTPServer"]

log = logging.getLogger("postoffice.smtp")

_GOODBYE_TIMEOUT = 5.0  # seconds past the deadline for a cancelled session's 421 and cleanup


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
        self.stopping = False
        self._greeting = R220_READY.with_text(f"{config.hostname} ESMTP postoffice")

    @property
    def name(self) -> str:
        return self.listener

    def max_connections_per_ip(self) -> int:
        return self.limits.max_connections_per_ip

    def reconfigure(self, config: Config) -> None:
        """SIGHUP: ``[limits.smtp]`` and the deadline of a stop from ``config`` (the next
        command of every session; the greeting's hostname needs a restart)."""
        self.config = config
        self.limits = config.limits.smtp

    def refuse_message(self, ip: str) -> bytes:
        """The line sent to a connection over the per-address limit (net.listener)."""
        return R421_TOO_MANY_CONNECTIONS.to_bytes()

    async def shutdown(self, grace: float | None = None) -> None:
        """Announce 421 4.3.2 to every session and end it (RFC 5321 §3.8); see the module
        docstring for a session in the middle of a message. Returns once every session
        has ended (at most ``grace`` seconds, default ``[server] shutdown_grace``, the
        one deadline of a stop for every protocol, plus the last replies' flush)."""
        if grace is None:
            grace = self.config.server.shutdown_grace
        self.stopping = True
        for s in list(self.sessions):
            s.shutdown_requested = True
            if s.awaiting_command and not self._in_bdat(s) and s.task is not None:
                s.task.cancel()
        pending = {s.task for s in self.sessions if s.task is not None}
        if pending:
            _, late = await asyncio.wait(pending, timeout=grace)
            for task in late:
                task.cancel()  # past the grace: 421, nothing of the unfinished message kept
            if late:
                await asyncio.wait(late, timeout=_GOODBYE_TIMEOUT)

    @staticmethod
    def _in_bdat(s: Session) -> bool:
        return s.transaction is not None and s.transaction.bdat_started

    def _shutdown_reply(self) -> Reply:
        return R421_SHUTTING_DOWN.with_text(f"{self.config.hostname} Service shutting down, closing connection")

    async def handle(self, conn: Connection) -> None:
        s = Session(conn, listener=self.listener)
        s.task = asyncio.current_task()
        self.sessions.add(s)
        try:
            if self.stopping:
                raise SessionEnd(self._shutdown_reply())
            s.reply(self._greeting)
            await self._loop(s)
        except SessionEnd as end:
            s.reply(end.reply)
        except Timeout:
            s.reply(R421_TIMEOUT)
        except (ConnectionClosed, ConnectionError):
            pass
        except asyncio.CancelledError:
            if not s.shutdown_requested:
                raise
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            s.reply(self._shutdown_reply())
        finally:
            s.reset_transaction()
            self.sessions.discard(s)
            with contextlib.suppress(Exception):
                await s.flush(timeout=10.0)

    async def _loop(self, s: Session) -> None:
        limits = self.limits
        wait = limits.timeout_initial  # the first command after the greeting
        while True:
            if s.shutdown_requested and not self._in_bdat(s):
                raise SessionEnd(self._shutdown_reply())  # RFC 5321 §3.8
            s.awaiting_command = True
            try:
                line = await s.readline(limits.max_line_length, timeout=wait)
            except LineTooLong:
                wait = limits.timeout_server
                self._answer(s, R500_LINE_TOO_LONG)
                continue
            finally:
                s.awaiting_command = False
            if not line.endswith(b"\n"):
                return  # the client went away (mid-line or not)
            wait = limits.timeout_server  # RFC 5321 §4.5.3.2.7
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
        note_command("smtp", command.verb)
        started = commands.now()
        try:
            return await self._run(s, spec, command)
        finally:
            commands.done("smtp", command.verb, started)

    async def _run(self, s: Session, spec: CommandSpec, command: Command) -> Reply | None:
        if s.state in (State.CONNECTED, State.GREETED) and command.verb != "MAIL":
            s.commands_since_mail += 1
            if s.commands_since_mail > self.limits.max_commands_before_mail:
                raise SessionEnd(R421_TOO_MANY_COMMANDS)
        try:
            if s.state not in spec.states:
                if spec.carries_data and isinstance(command, Bdat):
                    if command.size > self.limits.max_message_size:
                        raise SessionEnd(spec.refuse(s))  # too many octets to read and drop
                    await self._discard(s, command.size)
                return spec.refuse(s)
            return await spec.handler(self, s, command)
        except MailError as error:
            log.info("%s: %s refused: %r", s.peer_ip, command.verb, error)
            return reply_for(error)
        except (SessionEnd, ConnectionError, Timeout):
            raise  # the session ends: a limit, the client gone or silent
        except Exception:
            log.exception("%s: %s failed unexpectedly", s.peer_ip, command.verb)
            if isinstance(command, Data | Bdat):
                s.reset_transaction()  # the message is lost: nothing of it is kept
            return R451_LOCAL_ERROR

    async def _discard(self, s: Session, size: int) -> None:
        """Read and throw away the octets of a refused BDAT chunk."""
        while size:
            chunk = await s.read_some(min(size, delivery.CHUNK), timeout=self.limits.timeout_data_block)
            if not chunk:
                raise ConnectionClosed("connection closed during BDAT")
            size -= len(chunk)
