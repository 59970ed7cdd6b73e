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
from postoffice.store.api import BlobStore, ChangeBus, Store

__all__ = ["Services", "open_services", "services"]

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

    async def close(self) -> None:
        await self.store.close()


async def open_services(config: Config, *, clock: Clock | None = None) -> Services:
    """Open (creating if needed) the data dir of ``config`` on the embedded backends."""
    from postoffice.store.blobs import FileBlobStore
    from postoffice.store.bus import InProcessChangeBus
    from postoffice.store.sqlite import SQLiteStore

    config.data_dir.mkdir(parents=True, exist_ok=True)
    config.spool_dir.mkdir(parents=True, exist_ok=True)
    store = await SQLiteStore.open(config.db_path)
    blobs = FileBlobStore(config.blob_dir)
    bus = InProcessChangeBus()
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


def _limits_for(config: Config, protocol: str) -> int:
    return int(getattr(getattr(config.limits, protocol), "max_connections_per_ip", 100))


async def start_protocol_listener(
    s: Services, listener: str, host: str, port: int, tls: object | None = None, counter: object | None = None
) -> asyncio.Server:
    """Start one protocol listener on ``host:port`` (port 0: any free port)."""
    import importlib
    import ssl

    from postoffice.net.listener import ConnectionCounter, start_listener
    from postoffice.net.tls import server_context

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
    )


def available_protocols() -> set[str]:
    import importlib.util

    return {p for p in set(PROTOCOL_OF.values()) if importlib.util.find_spec(f"postoffice.protocols.{p}.server") is not None}


async def serve(config: Config) -> int:
    """Run every configured listener until interrupted."""
    import secrets
    import signal

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    s = await open_services(config)
    try:
        if not await s.store.list_accounts():
            domain = config.domains[0]
            password = secrets.token_urlsafe(12)
            account = await s.mail.add_user(f"postmaster@{domain}", password)
            print(f"First account created: {account.address}  password: {password}", flush=True)
            print("(shown once; change it with: postoffice user passwd " + account.address + ")", flush=True)
        from postoffice.net.listener import ConnectionCounter

        protocols = available_protocols()
        servers: list[asyncio.Server] = []
        counters: list[ConnectionCounter] = []
        for listener, address in config.listen.addresses.items():
            if listener in PROTOCOL_OF:
                if PROTOCOL_OF[listener] not in protocols:
                    log.warning("listener %s: the %s server is not built yet; not listening", listener, PROTOCOL_OF[listener])
                    continue
                counter = ConnectionCounter(_limits_for(config, PROTOCOL_OF[listener]))
                counters.append(counter)
                servers.append(await start_protocol_listener(s, listener, *address, counter=counter))
                print(f"{listener:<12} listening on {address[0]}:{address[1]}", flush=True)
            else:
                log.warning("listener %s: the web server is not built yet; not listening", listener)
        url = config.webmail_url()
        print(f"Webmail URL: {url} (the web interface is not built yet; use IMAP/POP3/SMTP)", flush=True)
        print(f"Data directory: {config.data_dir.resolve()}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        log.info("shutting down")
        for server in servers:
            server.close()
        await asyncio.gather(*(hook() for hook in s.shutdown_hooks), return_exceptions=True)
        # Close every session and let its cleanup (POP3 unlock, spool removal) run
        # before the store closes under it.
        await asyncio.gather(*(c.close_all() for c in counters), return_exceptions=True)
        deadline = loop.time() + 10
        while any(c.active for c in counters) and loop.time() < deadline:  # noqa: ASYNC110 (counters have no event to wait on)
            await asyncio.sleep(0.05)
        return 0
    finally:
        await s.close()
