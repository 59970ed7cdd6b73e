"""One IMAP connection's state: the four states of RFC 9051 §3, I/O helpers, extensions.

Owns: the command reader of the connection (literal continuations, streamed APPEND
literals spooled to files), the session state (``nonauth`` / ``authenticated`` /
``selected`` / ``logout``), the logged-in account, the ChangeBus subscription, the
selected :class:`MailboxView` and the extensions the client ENABLEd.

Invariants: a streamed APPEND literal never sits in memory (it goes to a spool file
chunk by chunk); every spool file is removed once its command has run; the reader is
replaced after STARTTLS so no byte received before the handshake is read afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import ssl
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO, Literal, Protocol

from postoffice.config import Config
from postoffice.errors import Kind, MailError
from postoffice.mail.service import MailService
from postoffice.net.connection import Connection, Timeout
from postoffice.store.api import Account, Change, ChangeSubscription
from postoffice.store.shared import Lease
from postoffice.wire.imap import response as r
from postoffice.wire.imap.reader import (
    CommandReader,
    ContinuationNeeded,
    Event,
    LiteralChunk,
    LiteralEnd,
    LiteralStart,
    ReaderLimits,
)

from .view import MailboxView

__all__ = ["Session", "SessionHost", "Notifications", "NONAUTH", "AUTHENTICATED", "SELECTED", "LOGOUT", "STATES"]

NONAUTH = "nonauth"
AUTHENTICATED = "authenticated"
SELECTED = "selected"
LOGOUT = "logout"
STATES = (NONAUTH, AUTHENTICATED, SELECTED)

log = logging.getLogger("postoffice.imap")

STREAM_THRESHOLD = 64 * 1024  # APPEND literals at least this big go to a spool file

_ORIGINS = itertools.count(1)


class SessionHost(Protocol):
    """What a session needs of the server that runs it (``server.IMAPServer``); the
    server imports the session, never the other way round."""

    mail: MailService
    config: Config
    tls: ssl.SSLContext | None  # STARTTLS offered when set


class Notifications(Protocol):
    """The session's NOTIFY state (RFC 5465; ``notify.Notifier``): told of every change
    the ChangeBus brings, it writes the notifications the client asked for. The session
    holds it through this Protocol so that it never imports a handler module."""

    def note(self, changes: Sequence[Change]) -> None: ...

    async def deliver(self, when: Literal["waiting", "idle", "command"]) -> bool:
        """Write the notifications due; False when the session must end. ``waiting``:
        no command in progress; ``idle``: in IDLE; ``command``: before a tagged answer,
        after the selected view's own updates."""
        ...


class Session:
    """State and I/O of one connection (handlers receive it as ``s``)."""

    def __init__(self, server: SessionHost, conn: Connection) -> None:
        self.server = server
        self.origin = next(_ORIGINS)  # store.api.CHANGE_ORIGIN of the changes this session makes
        self.mail = server.mail
        self.config = server.config
        self.limits = server.config.limits.imap
        self.conn = conn
        self.reader = self._new_reader()
        # Shutdown (server.shutdown): the session's task, and whether it waits for the
        # client with no command begun (between commands, or in IDLE), so it may be
        # told BYE at once; a command in flight (an APPEND literal) finishes first.
        self.task: asyncio.Task[None] | None = None
        self.interruptible = False
        self.state = NONAUTH
        self.account: Account | None = None
        self.view: MailboxView | None = None
        self.subscription: ChangeSubscription | None = None
        # RFC 5465: set by NOTIFY SET, None before it and after NOTIFY NONE (IDLE and the
        # selected view then behave as without NOTIFY).
        self.notifier: Notifications | None = None
        self.enabled: set[str] = set()
        self.condstore = False  # RFC 7162 §3.1: CONDSTORE enabled by ENABLE or first use
        self.commands_before_auth = 0
        self.auth_failures = 0
        self.user_lease: Lease | None = None  # this session's slot of max_connections_per_user
        # An unexpected failure while a literal is being written leaves the client
        # counting octets that will never come: then the session cannot go on.
        self.literal_open = False
        self.spools: dict[int, Path] = {}
        self._spool_file: BinaryIO | None = None

    def _new_reader(self) -> CommandReader:
        return CommandReader(
            ReaderLimits.from_config(self.server.config.limits.imap), stream_threshold=STREAM_THRESHOLD
        )

    # ---- facts ---------------------------------------------------------------------------
    @property
    def utf8(self) -> bool:
        """Mailbox names and strings in UTF-8 (RFC 9051 §5.1, RFC 6855 §3)."""
        return "IMAP4REV2" in self.enabled or "UTF8=ACCEPT" in self.enabled

    @property
    def rev2(self) -> bool:
        return "IMAP4REV2" in self.enabled

    @property
    def qresync(self) -> bool:
        return "QRESYNC" in self.enabled

    @property
    def plaintext_allowed(self) -> bool:
        return self.mail.auth.plaintext_allowed(self.conn.peer_ip, self.conn.is_tls)

    def capabilities(self) -> list[str]:
        caps = ["IMAP4rev1", "IMAP4rev2", "LITERAL+", "SASL-IR", "ID", "ENABLE", "IDLE"]
        if self.state == NONAUTH:
            if not self.conn.is_tls and self.server.tls is not None:
                caps.append("STARTTLS")
            caps += [
                "AUTH=" + m for m in self.mail.auth.mechanisms(self.conn.peer_ip, self.conn.is_tls) if m != "LOGIN"
            ]
            if not self.plaintext_allowed:
                caps.append("LOGINDISABLED")  # RFC 9051 §6.2.3
            return caps
        return (
            caps
            + [
                "NAMESPACE",
                "UNSELECT",
                "UIDPLUS",
                "CHILDREN",
                "MOVE",
                "CONDSTORE",
                "QRESYNC",
                "ESEARCH",
                "SEARCHRES",
                "WITHIN",
                "BINARY",
                "MULTIAPPEND",
                f"APPENDLIMIT={self.limits.max_literal_size}",
                "LIST-EXTENDED",
                "LIST-STATUS",
                "SPECIAL-USE",
                "CREATE-SPECIAL-USE",
                "STATUS=SIZE",
                "UTF8=ACCEPT",
            ]
            + [
                # RFC 5256, RFC 5957, RFC 5267 §3
                "SORT",
                "SORT=DISPLAY",
                "THREAD=ORDEREDSUBJECT",
                "THREAD=REFERENCES",
                "ESORT",
                "CONTEXT=SEARCH",
                "CONTEXT=SORT",
                "PREVIEW",
                "OBJECTID",
                "SAVEDATE",  # RFC 8970, RFC 8474, RFC 8514
            ]
            + self._extension_capabilities()
        )

    def _extension_capabilities(self) -> list[str]:
        """RFC 4978 COMPRESS (until it is active), RFC 9208 QUOTA, RFC 5464 METADATA, RFC 4469 CATENATE."""
        caps = [] if self.conn.compressed else ["COMPRESS=DEFLATE"]
        return caps + ["QUOTA", "QUOTA=RES-STORAGE", "QUOTA=RES-MESSAGE", "METADATA", "CATENATE", "NOTIFY"]

    def enable_condstore(self) -> None:
        """RFC 7162 §3.1: CONDSTORE enabled (by ENABLE or by the first command that uses
        it); the first time, with a mailbox selected, the view announces its
        HIGHESTMODSEQ before the command's answer."""
        first = not self.condstore
        self.condstore = True
        if self.view is not None:
            self.view.condstore = True
            if first:
                self.write(self.view.highest_modseq_response())

    # ---- output --------------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        self.conn.write(data)

    async def flush(self) -> None:
        await self.conn.drain(timeout=self.limits.idle_timeout)

    # ---- input ---------------------------------------------------------------------------
    @property
    def read_timeout(self) -> float:
        return self.limits.idle_timeout if self.state != NONAUTH else self.limits.idle_timeout_before_auth

    async def fill(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109
        """Read more bytes into the reader; False at the end of the stream."""
        data = await self.conn.read(timeout=self.read_timeout if timeout is None else timeout)
        if not data:
            return False
        self.reader.feed(data)
        if self.reader.in_command:
            self.conn.acknowledge()  # a literal: its CRLF may wait on our ACK (net.connection)
        return True

    async def next_event(self) -> Event | None:
        """The next command-level event; continuations and APPEND spooling are handled here."""
        while True:
            event = self.reader.next_event()
            if event is None:
                self.interruptible = not self.reader.in_command
                try:
                    if self.notifier is not None and not self.reader.in_command:
                        if not await self._fill_notifying():
                            return None
                    elif not await self.fill():
                        return None
                finally:
                    self.interruptible = False
                continue
            if isinstance(event, ContinuationNeeded):
                if event.urls and await self._refuse_bad_url(event):
                    continue
                self.write(r.continuation("Ready"))
                await self.flush()
                continue
            if isinstance(event, LiteralStart):
                await self._spool_start(event.index)
                continue
            if isinstance(event, LiteralChunk):
                if self._spool_file is not None:
                    await asyncio.to_thread(self._spool_file.write, event.data)
                continue
            if isinstance(event, LiteralEnd):
                await self._spool_end()
                continue
            return event

    async def _refuse_bad_url(self, event: ContinuationNeeded) -> bool:
        """RFC 4469 §5: a CATENATE URL already known to be bad is refused before the
        client is asked for the literal that follows it. True when refused."""
        from .catenate import check_urls  # local import: catenate imports this module

        if self.account is None or event.tag is None:
            return False
        refusal = await check_urls(self, event.urls)
        if refusal is None:
            return False
        self.reader.abandon()
        self.write(refusal.reply.tagged(event.tag, refusal.text, args=refusal.args_text))
        await self.flush()
        return True

    async def _fill_notifying(self) -> bool:
        """Between commands with NOTIFY on (RFC 5465 §1: notifications come "even when no
        command is in progress"): read from the client, and write each notification as
        the ChangeBus brings its change. False at the end of the stream."""
        read_task = asyncio.ensure_future(self.conn.read(timeout=self.read_timeout))
        try:
            while self.notifier is not None and self.subscription is not None:
                bus_task = asyncio.ensure_future(self.subscription.get())
                try:
                    done, _ = await asyncio.wait({read_task, bus_task}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    if not bus_task.done():
                        bus_task.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await bus_task
                if bus_task.done() and not bus_task.cancelled():
                    self.take_changes([bus_task.result()])
                    if self.notifier is not None:
                        # Not interruptible while writing: a BYE must not cut a response
                        # (a FETCH literal) in two; a shutdown waits for it (its grace).
                        self.interruptible = False
                        try:
                            keep = await self.notifier.deliver("waiting")
                            await self.flush()
                        finally:
                            self.interruptible = True
                        if not keep:
                            return False  # the view wrote BYE (sync_view)
                if read_task in done:
                    break
            data = await read_task
        finally:
            if not read_task.done():
                read_task.cancel()
                with contextlib.suppress(BaseException):
                    await read_task
        if not data:
            return False
        self.reader.feed(data)
        return True

    async def _spool_start(self, index: int) -> None:
        spool_dir = self.config.spool_dir
        await asyncio.to_thread(spool_dir.mkdir, parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="imap-append-", dir=spool_dir)
        self._spool_file = os.fdopen(fd, "wb")
        self.spools[index] = Path(name)

    async def _spool_end(self) -> None:
        if self._spool_file is not None:
            await asyncio.to_thread(self._spool_file.close)
            self._spool_file = None

    def discard_spools(self) -> None:
        if self._spool_file is not None:
            with contextlib.suppress(OSError):
                self._spool_file.close()
            self._spool_file = None
        for path in self.spools.values():
            with contextlib.suppress(OSError):
                path.unlink()
        self.spools.clear()

    def restart_reader(self) -> None:
        """After STARTTLS: a fresh reader, nothing pipelined survives (RFC 9051 §6.2.1)."""
        authenticated = self.reader.authenticated
        self.reader = self._new_reader()
        self.reader.authenticated = authenticated

    # ---- state changes -------------------------------------------------------------------
    async def login(self, account: Account) -> bool:
        """Enter the authenticated state; False (nothing changed) when the account has
        ``max_connections_per_user`` sessions already, in any process."""
        lease = await self.mail.shared.acquire(f"imap-user:{account.id}", self.limits.max_connections_per_user)
        if lease is None:
            return False
        self.user_lease = lease
        self.account = account
        self.state = AUTHENTICATED
        self.reader.authenticated = True
        self.subscription = self.mail.subscribe(account)
        return True

    def select(self, view: MailboxView | None) -> None:
        self.view = view
        self.state = SELECTED if view is not None else AUTHENTICATED

    async def sync_view(self, *, allow_expunge: bool, force: bool = False) -> bool:
        """Write the selected view's untagged updates; False when the session must end.

        The selected mailbox deleted (here or in another session) is closed with
        ``* OK [CLOSED]`` (RFC 9051 §7.1) and the session goes on in the authenticated
        state; any other failure ends it with ``* BYE`` and a reason (RFC 9051 §7.1.5),
        never silently. Used between commands and during IDLE alike."""
        if self.view is None:
            return True
        self.note_bus()
        try:
            lines = await self.view.sync(allow_expunge=allow_expunge, force=force)
        except MailError as exc:
            if exc.kind is not Kind.NOT_FOUND:
                return self._sync_failed(exc)
            self.select(None)
            self.write(r.OK_CLOSED.untagged("the selected mailbox was deleted"))
            return True
        except (ConnectionError, Timeout):
            raise
        except Exception as exc:
            return self._sync_failed(exc)
        for line in lines:
            self.write(line)
        return True

    def _sync_failed(self, exc: Exception) -> bool:
        log.error("imap: the selected view could not be updated; ending the session", exc_info=exc)
        self.write(r.bye("internal server error; the selected mailbox cannot be updated"))
        return False

    def note_bus(self) -> None:
        """Mark the view dirty if the ChangeBus reported a change to its mailbox (and
        tell the NOTIFY state of every change)."""
        if self.subscription is None:
            return
        self.take_changes([])

    def take_changes(self, changes: list[Change]) -> None:
        """``changes`` (taken from the subscription already) and those still waiting."""
        if self.subscription is not None:
            changes = changes + self.subscription.pending()
        if self.view is not None:
            box = self.view.mailbox.id
            if any(c.mailbox_id == box for c in changes):
                self.view.dirty = True
        if self.notifier is not None and changes:
            self.notifier.note(changes)

    async def close(self) -> None:
        self.discard_spools()
        if self.subscription is not None:
            self.subscription.close()
            self.subscription = None
        self.state = LOGOUT
        lease, self.user_lease = self.user_lease, None
        if lease is not None:
            await self.mail.shared.release(lease)
