"""The IMAP server: greeting, the command loop, state checks and dispatch.

Owns the per-connection loop: read one whole command (``wire.imap`` reader), check the
session state against the command table (``commands.py``), run the handler, let the
selected view add its untagged updates (at the points RFC 9051 §7.5.1 allows), write
the tagged answer. Failures are turned into responses by ``errors.failure_response``
only. Limits (``[limits.imap]``): commands before authentication, autologout timers,
connections per user (checked at login), line/literal/nesting limits (in the reader).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl

from postoffice.config import Config
from postoffice.errors import MailError
from postoffice.mail.service import MailService
from postoffice.net.connection import Connection, ConnectionClosed, Timeout
from postoffice.net.watchdog import note_command
from postoffice.observe import commands
from postoffice.store.api import CHANGE_ORIGIN
from postoffice.wire.imap import response as r
from postoffice.wire.imap.commands import Command
from postoffice.wire.imap.errors import ImapSyntaxError
from postoffice.wire.imap.reader import CommandReady, LineReceived, Rejected

from .commands import COMMANDS, CommandSpec
from .errors import Refusal, SessionEnd, failure_response, unexpected_response
from .session import NONAUTH, SELECTED, Session

__all__ = ["IMAPServer"]

log = logging.getLogger("postoffice.imap")


class IMAPServer:
    """Serves IMAP on one listener ("imap" or "imaps")."""

    def __init__(self, mail: MailService, config: Config, *, listener: str, tls: ssl.SSLContext | None) -> None:
        self.mail = mail
        self.config = config
        self.listener = listener
        self.tls = tls
        self.sessions: set[Session] = set()
        self.stopping = False

    @property
    def name(self) -> str:
        return self.listener

    def max_connections_per_ip(self) -> int:
        return self.config.limits.imap.max_connections_per_ip

    def reconfigure(self, config: Config) -> None:
        """SIGHUP: sessions that start from now on use ``config``'s ``[limits.imap]``."""
        self.config = config

    def refuse_message(self, ip: str) -> bytes:
        """The line sent to a connection over the per-address limit (net.listener)."""
        return r.bye("too many connections from your address", "LIMIT")  # RFC 5530 §3

    async def shutdown(self) -> None:
        """RFC 9051 §7.1.5: every session ends with ``* BYE``: at once when it waits for
        the client (between commands, in IDLE), after its command in flight (an APPEND
        literal, a long FETCH) otherwise, within ``[server] shutdown_grace``."""
        self.stopping = True
        for s in list(self.sessions):
            if s.interruptible and s.task is not None:
                s.task.cancel()
        pending = {s.task for s in self.sessions if s.task is not None}
        if pending:
            _, late = await asyncio.wait(pending, timeout=self.config.server.shutdown_grace)
            for task in late:
                task.cancel()  # past the grace: BYE, the command's work is dropped
            if late:
                await asyncio.wait(late, timeout=5.0)

    async def handle(self, conn: Connection) -> None:
        session = Session(self, conn)
        session.task = asyncio.current_task()
        CHANGE_ORIGIN.set(session.origin)  # this task's changes are this session's own
        self.sessions.add(session)
        try:
            await self._run(session)
        except asyncio.CancelledError:
            if not self.stopping:
                raise
            if session.task is not None:
                session.task.uncancel()
            with contextlib.suppress(ConnectionError, Timeout, OSError):
                session.discard_spools()
                session.write(r.bye("server shutting down"))
                await session.flush()
        except (ConnectionClosed, ConnectionError, Timeout):
            pass
        except Exception:
            # Outside any command (reading a command, spooling an APPEND literal): the
            # input framing is unknown, so the session ends with a reason.
            log.exception("imap: session with %s failed", conn.peer_ip)
            if not session.literal_open:
                with contextlib.suppress(ConnectionError, Timeout, OSError):
                    session.write(r.bye("internal server error"))
                    await session.flush()
        finally:
            self.sessions.discard(session)
            # shield: a cancelled session (shutdown) still gives its user slot back
            await asyncio.shield(session.close())

    async def _run(self, s: Session) -> None:
        s.write(r.untagged_status("OK", "postoffice IMAP ready", r.code_capability(s.capabilities())))
        await s.flush()
        while s.state != "logout":
            try:
                event = await s.next_event()
            except Timeout:
                # RFC 9051 §5.4: autologout after the inactivity timer.
                s.write(r.bye("autologout; idle for too long"))
                await s.flush()
                return
            if event is None:
                return
            if isinstance(event, Rejected):
                s.discard_spools()
                s.write(r.syntax_error_response(event.error))
                if event.error.fatal:
                    s.write(r.bye("cannot resynchronise"))
                    await s.flush()
                    return
                if not await self._count_before_auth(s):
                    return
                await s.flush()
                continue
            if isinstance(event, LineReceived):  # a stray line (e.g. DONE outside IDLE)
                s.write(r.untagged_status("BAD", "unexpected line"))
                await s.flush()
                continue
            if isinstance(event, CommandReady):
                try:
                    keep = await self.dispatch(s, event.command)
                finally:
                    s.discard_spools()
                await s.flush()
                if not keep:
                    return
                if self.stopping:  # the command in flight finished: now the goodbye
                    s.write(r.bye("server shutting down"))
                    await s.flush()
                    return

    async def _count_before_auth(self, s: Session) -> bool:
        if s.state != NONAUTH:
            return True
        s.commands_before_auth += 1
        if s.commands_before_auth > self.config.limits.imap.max_commands_before_auth:
            s.write(r.bye("too many commands without authentication"))
            await s.flush()
            return False
        return True

    async def dispatch(self, s: Session, command: Command) -> bool:
        """Run one parsed command; False when the connection must close."""
        tag, key = command.tag, command.key
        spec: CommandSpec | None = COMMANDS.get(key)
        note_command("imap", key)
        if not await self._count_before_auth(s):
            return False
        if spec is None:
            s.write(r.tagged(tag, "BAD", f"unknown command {key}"))
            return True
        if s.state not in spec.states:
            s.write(r.tagged(tag, "BAD", f"{key} is not allowed in the {s.state} state"))
            return True
        keep = True
        started, ok = commands.now(), True
        try:
            answer = await spec.handler(s, command)
        except SessionEnd as end:
            answer = end.args[0] if end.args else None
            keep = False
        except (MailError, Refusal, ImapSyntaxError) as exc:
            answer, ok = failure_response(tag, exc, trycreate=spec.trycreate), False
        except (ConnectionError, Timeout):
            raise  # the client is gone or silent: the session ends
        except Exception as exc:
            if s.literal_open:
                log.error("imap: %s failed while writing a literal; closing the connection", key, exc_info=exc)
                return False
            answer, ok = unexpected_response(tag, exc, command=key), False
        commands.done("imap", key, started, ok and (answer is None or f"{tag} OK".encode() in answer))
        if s.state == SELECTED and s.view is not None and spec.sync != "none":
            keep = await self._sync(s, spec) and keep
        if s.notifier is not None and spec.sync != "none" and keep:
            # RFC 5465: notifications due go out before the tagged answer too.
            s.note_bus()
            keep = await s.notifier.deliver("command")
        s.write(answer if answer is not None else r.tagged(tag, "OK", f"{key} completed"))
        return keep and s.state != "logout"

    async def _sync(self, s: Session, spec: CommandSpec) -> bool:
        """The selected view's untagged updates; False when the session must end."""
        return await s.sync_view(allow_expunge=spec.sync == "full", force=spec.sync == "full" and spec.force_sync)
