"""The POP3 server: greeting, the command loop, limits, state checks and dispatch.

Owns the per-connection loop: read one line (``limits.pop3.max_line_length``), parse it
(``wire.pop3``), check the state against the command table (``commands.py``), run the
handler, and turn failures into ``-ERR`` through ``errors.failure_response`` only.

Invariants:
- Every session ends by releasing its maildrop lock (``finally``), however it ends:
  QUIT, disconnect, timeout, error limit, cancellation, crash.
- Only QUIT in TRANSACTION deletes anything (UPDATE, RFC 1939 §6). A line cut off by
  the end of the stream is not executed.
- The ``max_errors``-th failed command is answered ``ERR_TOO_MANY_ERRORS`` and the
  connection closed; the ``max_auth_failures``-th failed login likewise (after the
  shared failure delay). An overlong line counts as a failed command.
- Pipelined commands (RFC 2449 §6.6) are answered in order; the write buffer is
  drained whenever no further command is already buffered.
- Failure policy (the same in every protocol): an exception no handler expected is
  logged once with its traceback and answered ``-ERR [SYS/TEMP]`` (RFC 3206 §4); the
  session goes on. Once a multi-line answer has begun, a failure ends the session
  instead (``transaction._send_stream``): no "-ERR" can be told from message lines.
  Cancellation is never caught.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl

from postoffice.config import Config
from postoffice.mail.service import MailService
from postoffice.net.connection import Connection, ConnectionClosed, LineTooLong, Timeout
from postoffice.net.watchdog import note_command
from postoffice.observe import commands
from postoffice.wire.pop3 import (
    ERR_BAD_STATE,
    ERR_LINE_TOO_LONG,
    ERR_SYS_TEMP,
    ERR_TOO_MANY_ERRORS,
    OK_GREETING,
    POP3SyntaxError,
    Response,
    parse_command,
)

from .commands import COMMANDS
from .errors import Refusal, SessionEnd, failure_response
from .session import Session

__all__ = ["POP3Server"]

log = logging.getLogger("postoffice.pop3")


class POP3Server:
    """Serves POP3 on one listener ("pop3", or "pop3s" whose TLS the listener did)."""

    clock_poll: float = 1.0  # seconds between idle-time checks on mail.clock

    def __init__(self, mail: MailService, config: Config, *, listener: str, tls: ssl.SSLContext | None) -> None:
        self.mail = mail
        self.config = config
        self.listener = listener
        self.tls = tls
        self.limits = config.limits.pop3
        # Shutdown: each session's task, and whether it waits for a command line.
        self.sessions: dict[asyncio.Task[None], Session] = {}
        self.stopping = False

    @property
    def name(self) -> str:
        return self.listener

    def max_connections_per_ip(self) -> int:
        return self.limits.max_connections_per_ip

    def reconfigure(self, config: Config) -> None:
        """SIGHUP: ``[limits.pop3]`` from ``config`` (new sessions, the next command)."""
        self.config = config
        self.limits = config.limits.pop3

    def refuse_message(self, ip: str) -> bytes:
        """The line sent to a connection over the per-address limit (net.listener)."""
        return ERR_SYS_TEMP.with_text("Too many connections from your address").to_bytes()  # RFC 3206 §4

    async def shutdown(self) -> None:
        """Every session ends with ``-ERR [SYS/TEMP]`` (RFC 3206 §3) without entering the
        UPDATE state (RFC 1939 §6: nothing is deleted), at once when it waits for a
        command, after its command in flight (a RETR) otherwise, within ``[server]
        shutdown_grace``; its maildrop lock is released."""
        self.stopping = True
        for task, session in list(self.sessions.items()):
            if session.interruptible:
                task.cancel()
        if self.sessions:
            _, late = await asyncio.wait(set(self.sessions), timeout=self.config.server.shutdown_grace)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=5.0)

    async def handle(self, conn: Connection) -> None:
        session = Session(self, conn)
        task = asyncio.current_task()
        assert task is not None
        self.sessions[task] = session
        try:
            session.send(OK_GREETING)  # RFC 1939 §4; no APOP timestamp: APOP is not offered
            await session.flush()
            await self._loop(session)
        except SessionEnd as end:
            if end.response is not None:
                session.send(end.response)
            with contextlib.suppress(ConnectionError, Timeout, OSError):
                await session.flush()
        except (ConnectionClosed, ConnectionError, Timeout, ssl.SSLError):
            pass  # the client went away or stalled: no UPDATE
        except asyncio.CancelledError:
            if not self.stopping:
                raise
            task.uncancel()
            with contextlib.suppress(ConnectionError, Timeout, OSError):
                session.send(ERR_SYS_TEMP.with_text("Server shutting down"))
                await session.flush()
        finally:
            self.sessions.pop(task, None)
            # shield: a cancelled session (shutdown) still gives its lock back
            with contextlib.suppress(Exception):
                await asyncio.shield(session.release())
            await conn.close()

    async def _loop(self, session: Session) -> None:
        while True:
            try:
                line = await session.readline(self.limits.max_line_length)
            except LineTooLong:
                self._failed(session, ERR_LINE_TOO_LONG)  # RFC 2449 §4
                await session.flush()
                continue
            if not line.endswith(b"\n"):
                return  # the end of the stream (or a line it cut off): no UPDATE
            await self._dispatch(session, line)
            if self.stopping:  # the command in flight finished: now the goodbye
                raise SessionEnd(ERR_SYS_TEMP.with_text("Server shutting down"))
            if session.conn.buffered() == 0:
                await session.flush()

    async def _dispatch(self, session: Session, line: bytes) -> None:
        started, name, ok = commands.now(), "unknown", False
        try:
            command = parse_command(line)
            spec = COMMANDS[command.keyword]
            name = command.keyword
            note_command("pop3", name)
            if session.state not in spec.states:
                raise Refusal(ERR_BAD_STATE)
            await session.keep_lock()
            await spec.handler(session, command)
            ok = True
        except SessionEnd:
            raise
        except (Refusal, POP3SyntaxError) as exc:
            self._failed(session, failure_response(exc))
        except (ConnectionClosed, ConnectionError, Timeout):
            raise
        except Exception as exc:  # MailError from the store and anything unexpected
            self._failed(session, failure_response(exc))
        finally:
            commands.done("pop3", name, started, ok)

    def _failed(self, session: Session, response: Response) -> None:
        session.errors += 1
        if session.errors >= self.limits.max_errors:
            raise SessionEnd(ERR_TOO_MANY_ERRORS)
        session.send(response)
