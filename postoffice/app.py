"""Composition root: reads config, builds the store, blob store, bus and listeners.

The ONLY module that names concrete backends (DESIGN.md §2, rule 4).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from postoffice.clock import Clock, SystemClock
from postoffice.config import Config
from postoffice.mail.service import MailService
from postoffice.net.watchdog import LoopWatchdog
from postoffice.store.api import BlobStore, ChangeBus, Store

__all__ = [
    "SMTP_LISTENERS",
    "Listening",
    "Services",
    "open_services",
    "serve",
    "services",
    "start_listeners",
    "start_protocol_listener",
    "stop_event",
    "stop_listeners",
]

log = logging.getLogger("postoffice")


@dataclass
class Services:
    config: Config
    store: Store
    blobs: BlobStore
    bus: ChangeBus
    mail: MailService
    # Protocol servers' ``shutdown()`` (e.g. SMTP's 421 4.3.2), run by ``serve`` before closing sessions.
    shutdown_hooks: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # The event-loop stall monitor, started with the first listener ([server] stall_threshold).
    watchdog: LoopWatchdog | None = None

    def start_watchdog(self) -> LoopWatchdog:
        if self.watchdog is None:
            self.watchdog = LoopWatchdog(asyncio.get_running_loop(), self.config.server.stall_threshold)
            self.watchdog.start()
        return self.watchdog

    async def close(self) -> None:
        if self.watchdog is not None:
            self.watchdog.stop()
        await self.store.close()


async def open_services(
    config: Config, *, clock: Clock | None = None, bus: ChangeBus | None = None, background: bool = True
) -> Services:
    """Open (creating if needed) the data dir of ``config`` on the embedded backends.

    ``bus``: the ChangeBus to publish on (a worker's forwarding bus); default in-process.
    ``background=False``: this process leaves the store's background work (deferred
    search indexing) to another one (an SMTP worker leaves it to the main process)."""
    from postoffice.store.blobs import FileBlobStore
    from postoffice.store.bus import InProcessChangeBus
    from postoffice.store.sqlite import SQLiteStore

    config.data_dir.mkdir(parents=True, exist_ok=True)
    config.spool_dir.mkdir(parents=True, exist_ok=True)
    store = await SQLiteStore.open(config.db_path)
    store.db.background_paused = not background
    blobs = FileBlobStore(config.blob_dir)
    bus = bus if bus is not None else InProcessChangeBus()
    mail = MailService(config, store, blobs, bus, clock or SystemClock())
    return Services(config, store, blobs, bus, mail)


@contextlib.asynccontextmanager
async def services(config: Config, *, clock: Clock | None = None) -> AsyncIterator[Services]:
    s = await open_services(config, clock=clock)
    try:
        yield s
    finally:
        await s.close()


def run(coro: object) -> object:
    """Run a coroutine on uvloop when installed."""
    try:
        import uvloop

        return uvloop.run(coro)  # type: ignore[arg-type]
    except ImportError:  # pragma: no cover
        return asyncio.run(coro)  # type: ignore[arg-type]


# ---- listeners ---------------------------------------------------------------------
#
# Each protocol package exports ``make_server(mail, config, *, listener, tls)``
# returning an object with ``async handle(conn: net.connection.Connection)``.
# ``listener`` is the listener name ("smtp", "submission", "submissions", "imap",
# "imaps", "pop3", "pop3s"); implicit-TLS listeners get ``tls_context`` at accept.

PROTOCOL_OF = {
    "smtp": "smtp",
    "submission": "smtp",
    "submissions": "smtp",
    "imap": "imap",
    "imaps": "imap",
    "pop3": "pop3",
    "pop3s": "pop3",
}
IMPLICIT_TLS = frozenset({"submissions", "imaps", "pop3s", "https"})
SMTP_LISTENERS = ("smtp", "submission", "submissions")  # served by every SMTP process


def _limits_for(config: Config, protocol: str) -> int:
    return int(getattr(getattr(config.limits, protocol), "max_connections_per_ip", 100))


async def start_protocol_listener(
    s: Services,
    listener: str,
    host: str,
    port: int,
    tls: object | None = None,
    counter: object | None = None,
    *,
    reuse_port: bool = False,
) -> asyncio.Server:
    """Start one protocol listener on ``host:port`` (port 0: any free port).

    ``reuse_port``: SO_REUSEPORT, so several SMTP processes accept on one port."""
    import importlib
    import ssl

    from postoffice.net.listener import ConnectionCounter, start_listener
    from postoffice.net.tls import server_context

    s.start_watchdog()
    protocol = PROTOCOL_OF[listener]
    context = tls if isinstance(tls, ssl.SSLContext) else server_context(s.config)
    module = importlib.import_module(f"postoffice.protocols.{protocol}")
    server = module.make_server(s.mail, s.config, listener=listener, tls=context)
    if callable(getattr(server, "shutdown", None)):
        s.shutdown_hooks.append(server.shutdown)
    return await start_listener(
        host,
        port,
        server.handle,
        tls_context=context if listener in IMPLICIT_TLS else None,
        max_connections_per_ip=_limits_for(s.config, protocol),
        name=listener,
        counter=counter if isinstance(counter, ConnectionCounter) else None,
        refuse_message=getattr(server, "refuse_message", None),  # e.g. SMTP 421 4.7.0
        reuse_port=reuse_port,
    )


def available_protocols() -> set[str]:
    import importlib.util

    return {
        p for p in set(PROTOCOL_OF.values()) if importlib.util.find_spec(f"postoffice.protocols.{p}.server") is not None
    }


@dataclass
class Listening:
    """The listeners one process serves: name -> server, and their connection counters."""

    servers: dict[str, asyncio.Server] = field(default_factory=dict)
    counters: list[object] = field(default_factory=list)  # net.listener.ConnectionCounter

    def bound(self, name: str) -> tuple[str, int]:
        """(host, port) a listener is bound to (the port a config's port 0 became)."""
        host, port = self.servers[name].sockets[0].getsockname()[:2]
        return str(host), int(port)


async def start_listeners(
    s: Services, names: list[str], *, reuse_port: frozenset[str] = frozenset(), announce: bool = True
) -> Listening:
    """Start the listeners ``names`` (those of ``s.config.listen``) whose server is built."""
    from postoffice.net.listener import ConnectionCounter

    config = s.config
    protocols = available_protocols()
    listening = Listening()
    for listener in names:
        address = config.listen.addresses[listener]
        if listener in PROTOCOL_OF:
            if PROTOCOL_OF[listener] not in protocols:
                log.warning(
                    "listener %s: the %s server is not built yet; not listening", listener, PROTOCOL_OF[listener]
                )
                continue
            counter = ConnectionCounter(_limits_for(config, PROTOCOL_OF[listener]))
            listening.counters.append(counter)
            listening.servers[listener] = await start_protocol_listener(
                s, listener, *address, counter=counter, reuse_port=listener in reuse_port
            )
            if announce:
                print(f"{listener:<12} listening on {address[0]}:{address[1]}", flush=True)
        else:
            log.warning("listener %s: the web server is not built yet; not listening", listener)
    return listening


async def stop_listeners(s: Services, listening: Listening) -> None:
    """Stop accepting, run the servers' shutdown (SMTP: 421 4.3.2, grace for DATA), close sessions."""
    from postoffice.net.listener import ConnectionCounter

    for server in listening.servers.values():
        server.close()
    await asyncio.gather(*(hook() for hook in s.shutdown_hooks), return_exceptions=True)
    # Close every session and let its cleanup (POP3 unlock, spool removal) run
    # before the store closes under it.
    counters = [c for c in listening.counters if isinstance(c, ConnectionCounter)]
    await asyncio.gather(*(c.close_all() for c in counters), return_exceptions=True)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while any(c.active for c in counters) and loop.time() < deadline:  # noqa: ASYNC110 (counters have no event to wait on)
        await asyncio.sleep(0.05)


def stop_event() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM."""
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop


async def serve(config: Config) -> int:
    """Run every configured listener until interrupted.

    With ``[server] smtp_processes`` above 1, worker processes (postoffice.workers)
    also accept on the SMTP listeners' ports; this process supervises them, publishes
    their changes on its bus, and stops them before it exits."""
    import secrets

    from postoffice.workers import WorkerPool

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    s = await open_services(config)
    pool: WorkerPool | None = None
    try:
        if not await s.store.list_accounts():
            domain = config.domains[0]
            password = secrets.token_urlsafe(12)
            account = await s.mail.add_user(f"postmaster@{domain}", password)
            print(f"First account created: {account.address}  password: {password}", flush=True)
            print("(shown once; change it with: postoffice user passwd " + account.address + ")", flush=True)
        processes = config.server.smtp_process_count()
        shared = frozenset(SMTP_LISTENERS) if processes > 1 else frozenset()
        stop = stop_event()
        listening = await start_listeners(s, list(config.listen.addresses), reuse_port=shared)
        smtp = {name: listening.bound(name) for name in SMTP_LISTENERS if name in listening.servers}
        if processes > 1 and smtp:
            pool = WorkerPool(config, smtp, processes - 1, s.bus)
            pool.start()
        url = config.webmail_url()
        print(f"Webmail URL: {url} (the web interface is not built yet; use IMAP/POP3/SMTP)", flush=True)
        print(f"Data directory: {config.data_dir.resolve()}", flush=True)
        await stop.wait()
        log.info("shutting down")
        # The workers run their own SMTP shutdown at the same time as this process.
        workers_stopped = asyncio.ensure_future(pool.stop()) if pool is not None else None
        await stop_listeners(s, listening)
        if workers_stopped is not None:
            await workers_stopped
        return 0
    finally:
        if pool is not None:
            await pool.kill()
        await s.close()
