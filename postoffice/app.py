"""Composition root: builds what a process serves from a Config, and nothing else.

Owns: :class:`Services` (store, blob store, change bus, shared state, mail service) and
``open_services``; the listener table :data:`LISTENERS` (listener name -> protocol,
server factory, implicit TLS); ``make_protocol_server`` and ``start_protocol_listener``,
which build a protocol's server and put it on a socket. Running a process — signals,
the first account, worker processes, the order of a stop — is ``postoffice.lifecycle``.

The ONLY module that names concrete backends (``store.sqlite``, ``store.blobs``;
docs/architecture.md §2, rule 4).
It imports neither ``lifecycle`` nor ``workers`` (an import-linter contract keeps it so).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from postoffice.clock import Clock, SystemClock
from postoffice.config import Config
from postoffice.mail.service import MailService
from postoffice.net.listener import ProtocolListener, ProtocolServer
from postoffice.net.listener import start_protocol_listener as serve_protocol
from postoffice.net.tls import server_context
from postoffice.net.watchdog import LoopWatchdog
from postoffice.protocols import imap, pop3, smtp
from postoffice.store.api import BlobStore, ChangeBus, Store
from postoffice.store.shared import SharedState
from postoffice.web import WebListener
from postoffice.web import start_web_listener as start_web

__all__ = [
    "LISTENERS",
    "ListenerKind",
    "ServerFactory",
    "Services",
    "make_protocol_server",
    "open_services",
    "services",
    "start_protocol_listener",
    "start_web_listener",
]

SHARED_DB = "shared.db"  # in data_dir: the SharedState of every process (store.sqlite.shared)


@dataclass
class Services:
    config: Config
    store: Store
    blobs: BlobStore
    bus: ChangeBus
    mail: MailService
    shared: SharedState
    # The event-loop stall monitor, started with the first listener ([server] stall_threshold).
    watchdog: LoopWatchdog | None = None

    def start_watchdog(self) -> LoopWatchdog:
        if self.watchdog is None:
            self.watchdog = LoopWatchdog(asyncio.get_running_loop(), self.config.server.stall_threshold)
            self.watchdog.start()
        return self.watchdog

    def reconfigure(self, config: Config) -> None:
        """SIGHUP: ``config`` is in force from now on for the mail service (the listeners
        are told by the lifecycle)."""
        self.config = config
        self.mail.reconfigure(config)

    async def close(self) -> None:
        if self.watchdog is not None:
            self.watchdog.stop()
        await self.mail.settle()  # directory changes made here reach the other processes
        await self.shared.close()
        await self.store.close()


async def open_services(
    config: Config, *, clock: Clock | None = None, bus: ChangeBus | None = None, background: bool = True
) -> Services:
    """Open (creating if needed) the data dir of ``config`` on the embedded backends.

    ``bus``: the ChangeBus to publish on (a worker's forwarding bus); default in-process.
    ``background=False``: this process leaves the store's background work (deferred
    search indexing) to another one (a worker process leaves it to the main process)."""
    from postoffice.store.blobs import FileBlobStore
    from postoffice.store.bus import HubChangeBus
    from postoffice.store.sqlite import SQLiteStore
    from postoffice.store.sqlite.shared import SQLiteSharedState

    config.data_dir.mkdir(parents=True, exist_ok=True)
    config.spool_dir.mkdir(parents=True, exist_ok=True)
    shared = await SQLiteSharedState.open(config.data_dir / SHARED_DB)
    clock = clock or SystemClock()
    try:
        # the store stamps times too (save dates, RFC 8514): it reads the services' clock
        store = await SQLiteStore.open(config.db_path, clock=clock)
    except BaseException:
        await shared.close()
        raise
    store.db.background_paused = not background
    blobs = FileBlobStore(config.blob_dir)
    bus = bus if bus is not None else HubChangeBus()  # with no worker attached: in-process
    mail = MailService(config, store, blobs, bus, clock, shared=shared)
    # The outbound queue lives in the same database (its queue role).
    from postoffice.mail.outbound import Outbound
    from postoffice.store.sqlite.queue import SQLiteQueueStore

    if config.relay.enabled:
        mail.outbound = Outbound(mail, SQLiteQueueStore.of(store))
    # Media facts of audio and video parts, probed after delivery (docs/architecture.md).
    from postoffice.mail.media import MediaService
    from postoffice.store.sqlite.media import SQLiteMediaStore

    mail.media = MediaService(mail, SQLiteMediaStore(store.db))
    return Services(config, store, blobs, bus, mail, shared)


@contextlib.asynccontextmanager
async def services(config: Config, *, clock: Clock | None = None) -> AsyncIterator[Services]:
    s = await open_services(config, clock=clock)
    try:
        yield s
    finally:
        await s.close()


# ---- listeners ---------------------------------------------------------------------------

class ServerFactory(Protocol):
    """A protocol package's ``make_server``; ``tls`` serves STARTTLS/STLS (an implicit-TLS
    listener also does the handshake with it at accept)."""

    def __call__(
        self, mail: MailService, config: Config, *, listener: str, tls: ssl.SSLContext | None
    ) -> ProtocolServer: ...


@dataclass(frozen=True)
class ListenerKind:
    protocol: str  # "smtp", "imap", "pop3": its [limits.<protocol>] table
    make_server: ServerFactory
    implicit_tls: bool = False  # RFC 8314: TLS from the first byte


LISTENERS: dict[str, ListenerKind] = {
    "smtp": ListenerKind("smtp", smtp.make_server),
    "submission": ListenerKind("smtp", smtp.make_server),
    "submissions": ListenerKind("smtp", smtp.make_server, implicit_tls=True),
    "imap": ListenerKind("imap", imap.make_server),
    "imaps": ListenerKind("imap", imap.make_server, implicit_tls=True),
    "pop3": ListenerKind("pop3", pop3.make_server),
    "pop3s": ListenerKind("pop3", pop3.make_server, implicit_tls=True),
}


def max_connections_per_ip(config: Config, protocol: str) -> int:
    limits = config.limits
    per_protocol = {
        "smtp": limits.smtp.max_connections_per_ip,
        "imap": limits.imap.max_connections_per_ip,
        "pop3": limits.pop3.max_connections_per_ip,
    }
    return per_protocol[protocol]


def make_protocol_server(s: Services, listener: str, tls: ssl.SSLContext) -> ProtocolServer:
    """The protocol server of ``listener`` (a key of :data:`LISTENERS`)."""
    return LISTENERS[listener].make_server(s.mail, s.config, listener=listener, tls=tls)


async def start_protocol_listener(
    s: Services, listener: str, host: str, port: int, *, reuse_port: bool = False
) -> ProtocolListener:
    """Build ``listener``'s server and accept on ``host:port`` (port 0: any free port).

    ``reuse_port``: SO_REUSEPORT, so several processes accept on one port. The per-address
    connection limit counts the connections of every process on the data dir."""
    s.start_watchdog()
    kind = LISTENERS[listener]
    context = server_context(s.config)
    return await serve_protocol(
        make_protocol_server(s, listener, context),
        host,
        port,
        max_connections_per_ip=max_connections_per_ip(s.config, kind.protocol),
        tls_context=context if kind.implicit_tls else None,
        shared=s.shared,
        reuse_port=reuse_port,
    )


async def start_web_listener(
    s: Services, listener: str, host: str, port: int, *, reuse_port: bool = False
) -> WebListener:
    """The webmail on ``host:port`` ("https": implicit TLS with the mail listeners'
    certificate), its session and paging roles on the same database as ``s.store``."""
    from postoffice.store.sqlite import SQLiteStore
    from postoffice.store.sqlite.web import SQLiteWebStore

    if not isinstance(s.store, SQLiteStore):
        raise TypeError("the webmail is served on the embedded SQLite store")
    roles = SQLiteWebStore(s.store.db)
    tls = server_context(s.config) if listener == "https" else None
    return await start_web(s.mail, roles, roles, listener, host, port, tls, reuse_port=reuse_port)
