"""Listening sockets shared by every protocol: accept, limit per client address, hand over.

Owns: the typed interfaces of what is served — :class:`ProtocolServer` (what a protocol
package's ``make_server`` returns: a connection handler, a refusal line, a shutdown) and
:class:`Listener` (what the lifecycle starts and stops: a protocol listener here, a web
listener or a worker's listener alike) — and their socket side: ``start_listener``
(plain or implicit TLS), :class:`ProtocolListener`, the per-IP connection limit with its
refusal, connection counting, and logging of connects, refusals and handler crashes.

Invariants:
- A connection beyond ``max_connections_per_ip`` from one address is closed at once,
  after at most one line the protocol provides ("421 4.7.0 too many connections",
  "* BYE ...", "-ERR [SYS/TEMP] ..."); its handler never runs. With a SharedState the
  count is of the connections of every process on the data directory (leases keyed by
  listener name and address), so processes on other ports count alike.
- Every accepted connection is counted until its handler returns, whatever happens,
  and it is closed when the handler returns or raises.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from postoffice.config import Config
from postoffice.net.connection import Connection
from postoffice.observe import logs, metrics
from postoffice.store.shared import Lease, SharedState

__all__ = [
    "start_listener",
    "start_protocol_listener",
    "ConnectionCounter",
    "Handler",
    "RefuseMessage",
    "ProtocolServer",
    "Listener",
    "ProtocolListener",
]

log = logging.getLogger("postoffice.net")

Handler = Callable[[Connection], Awaitable[None]]
RefuseMessage = Callable[[str], bytes]  # client ip -> one line (with CRLF) sent before closing


class ProtocolServer(Protocol):
    """A protocol's server for one listener, as ``make_server`` builds it."""

    @property
    def name(self) -> str:
        """The listener it serves ("smtp", "imaps", ...)."""

    async def handle(self, conn: Connection) -> None:
        """Serve one connection until it ends (the listener closes it afterwards)."""

    def refuse_message(self, ip: str) -> bytes:
        """The one line (with CRLF) sent to a connection over the per-address limit."""

    def max_connections_per_ip(self) -> int:
        """Its protocol's ``[limits.<protocol>] max_connections_per_ip`` in force."""

    def reconfigure(self, config: Config) -> None:
        """SIGHUP: use ``config`` from now on (limits, timeouts; new sessions and the next
        command of open ones). Open connections are not touched."""

    async def shutdown(self) -> None:
        """Announce the end to open sessions and let them finish their work in flight
        within ``[server] shutdown_grace`` (SMTP: 421 4.3.2, a message in DATA may
        finish); returns when they have ended or been told."""


class Listener(Protocol):
    """Something the lifecycle starts and stops: a protocol listener, later the web."""

    @property
    def name(self) -> str: ...

    def bound(self) -> tuple[str, int]:
        """(host, port) it accepts on (the port a configured port 0 became)."""

    def stop_accepting(self) -> None:
        """Close the listening socket; open sessions go on."""

    def reconfigure(self, config: Config) -> None:
        """SIGHUP: apply ``config``'s reloadable settings (lifecycle.RELOADABLE) to what
        it serves; open connections stay open."""

    async def shutdown(self) -> None:
        """Tell open sessions the server stops and let them finish what they may."""

    async def close_sessions(self, timeout: float) -> None:  # noqa: ASYNC109 - a deadline for the whole stop
        """Close what is still open and wait (at most ``timeout``) until every session
        has run its cleanup."""


def _ip_key(ip: str) -> str:
    # "::ffff:192.0.2.1" and "192.0.2.1" are the same client.
    return ip[7:] if ip.startswith("::ffff:") and "." in ip else ip


class ConnectionCounter:
    """Open connections per client address for one listener (0 = no per-IP limit).

    With ``shared``, each connection also holds a lease ``conn:<key>:<address>`` in it,
    and the limit applies to the leases of every process."""

    def __init__(self, max_per_ip: int, *, shared: SharedState | None = None, key: str = "") -> None:
        self.max_per_ip = max_per_ip
        self._shared = shared
        self.shared = shared if max_per_ip else None  # no limit: nothing to share
        self.key = key
        self.per_ip: dict[str, int] = {}
        self.accepted = 0  # connections handed to the handler, ever
        self.refused = 0  # connections refused by the per-IP limit, ever
        self.connections: set[Connection] = set()
        self._changed = asyncio.Event()

    def set_limit(self, max_per_ip: int) -> None:
        """A new limit (SIGHUP), for the connections that come next."""
        self.max_per_ip = max_per_ip
        self.shared = self._shared if max_per_ip else None

    @property
    def active(self) -> int:
        return sum(self.per_ip.values())

    async def try_acquire(self, ip: str) -> Lease | bool:
        """A slot for a connection from ``ip``: its shared lease, True when nothing is
        shared, False when ``ip`` has ``max_per_ip`` connections open already."""
        key = _ip_key(ip)
        current = self.per_ip.get(key, 0)
        if self.max_per_ip and current >= self.max_per_ip:
            self.refused += 1
            return False
        slot: Lease | bool = True
        if self.shared is not None:
            try:
                lease = await self.shared.acquire(f"conn:{self.key}:{key}", self.max_per_ip)
            except Exception:
                # The shared count is out of reach: this process's own count still holds.
                log.exception("%s: the shared connection count failed; counting this process only", self.key)
            else:
                if lease is None:
                    self.refused += 1
                    return False
                slot = lease
        self.per_ip[key] = self.per_ip.get(key, 0) + 1
        self.accepted += 1
        return slot

    async def release(self, ip: str, slot: Lease | bool = True) -> None:
        key = _ip_key(ip)
        left = self.per_ip.get(key, 0) - 1
        if left > 0:
            self.per_ip[key] = left
        else:
            self.per_ip.pop(key, None)
        self._changed.set()
        if isinstance(slot, Lease) and self.shared is not None:
            try:
                await self.shared.release(slot)
            except Exception:  # the lease expires on its own (store.shared)
                log.exception("%s: giving a shared connection slot back failed", self.key)

    async def close_all(self) -> None:
        """Close every open connection (shutdown)."""
        await asyncio.gather(*(c.close(timeout=1.0) for c in list(self.connections)), return_exceptions=True)

    async def wait_idle(self, timeout: float) -> bool:  # noqa: ASYNC109 - a deadline for the whole stop
        """Wait until no connection is open (at most ``timeout``); True if none is."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.active and loop.time() < deadline:
            self._changed.clear()
            try:
                async with asyncio.timeout(deadline - loop.time()):
                    await self._changed.wait()
            except TimeoutError:
                break
        return not self.active


async def start_listener(
    host: str,
    port: int,
    handler: Handler,
    *,
    name: str,
    max_connections_per_ip: int,
    tls_context: ssl.SSLContext | None = None,
    refuse_message: RefuseMessage | None = None,
    counter: ConnectionCounter | None = None,
    tls_handshake_timeout: float = 30.0,
    reuse_port: bool = False,
) -> asyncio.Server:
    """Listen on ``host:port``; ``tls_context`` makes it implicit TLS (RFC 8314).

    Pass a ``counter`` to read the listener's numbers (tests, metrics); otherwise one
    is made. ``port=0`` picks a free port: read it from ``server.sockets[0]``.
    ``reuse_port`` (SO_REUSEPORT) lets the processes of ``serve`` share the port
    (``[server] processes``); every socket on the port must set it.
    """
    counts = counter if counter is not None else ConnectionCounter(max_connections_per_ip)

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Connection(reader, writer)
        ip = conn.peer_ip
        # This connection's task has its own log context (session id, listener, client).
        session = logs.begin_session(name, ip)
        slot = await counts.try_acquire(ip)
        if not slot:
            metrics.M.connections_refused.labels(name).inc()
            logs.event(log, "refused", f"{counts.max_per_ip} connections already open from this address")
            if refuse_message is not None:
                with contextlib.suppress(Exception):
                    conn.write(refuse_message(ip))
            await conn.close(timeout=2.0)
            return
        counts.connections.add(conn)
        metrics.M.connections_total.labels(name).inc()
        open_gauge = metrics.M.connections_open.labels(name)
        open_gauge.inc()
        logs.event(log, "connect", port=conn.peer_port, tls=conn.is_tls)
        try:
            await handler(conn)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s: session with %s failed", name, ip, extra={"event": "session_failed"})
        finally:
            counts.connections.discard(conn)
            open_gauge.dec()
            try:
                await conn.close()
            finally:
                # shield: a cancelled session (shutdown) still gives its slot back
                await asyncio.shield(counts.release(ip, slot))
            metrics.M.bytes_sent.labels(session["proto"]).inc(conn.bytes_sent)
            logs.event(
                log, "disconnect", duration=round(time.monotonic() - session["_start"], 3), sent=conn.bytes_sent
            )

    server = await asyncio.start_server(
        on_connect,
        host,
        port,
        ssl=tls_context,
        ssl_handshake_timeout=tls_handshake_timeout if tls_context is not None else None,
        reuse_address=True,
        reuse_port=reuse_port or None,
    )
    # No log line here: ``serve`` prints each listening line itself, once (stdout).
    return server


class ProtocolListener:
    """A :class:`ProtocolServer` accepting on one socket: the :class:`Listener` of a protocol."""

    def __init__(self, server: ProtocolServer, socket_server: asyncio.Server, counter: ConnectionCounter) -> None:
        self.server = server
        self.socket_server = socket_server
        self.counter = counter

    @property
    def name(self) -> str:
        return self.server.name

    def bound(self) -> tuple[str, int]:
        host, port = self.socket_server.sockets[0].getsockname()[:2]
        return str(host), int(port)

    def stop_accepting(self) -> None:
        self.socket_server.close()

    def reconfigure(self, config: Config) -> None:
        self.server.reconfigure(config)
        self.counter.set_limit(self.server.max_connections_per_ip())

    async def shutdown(self) -> None:
        await self.server.shutdown()

    async def close_sessions(self, timeout: float) -> None:  # noqa: ASYNC109 - a deadline for the whole stop
        await self.counter.close_all()
        if not await self.counter.wait_idle(timeout):
            log.warning("%s: %d session(s) still open at shutdown", self.name, self.counter.active)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self.socket_server.wait_closed()


async def start_protocol_listener(
    server: ProtocolServer,
    host: str,
    port: int,
    *,
    max_connections_per_ip: int,
    tls_context: ssl.SSLContext | None = None,
    shared: SharedState | None = None,
    reuse_port: bool = False,
) -> ProtocolListener:
    """Serve ``server`` on ``host:port`` (see :func:`start_listener`); with ``shared``
    the per-address limit counts the connections of every process (module invariants)."""
    counter = ConnectionCounter(max_connections_per_ip, shared=shared, key=server.name)
    socket_server = await start_listener(
        host,
        port,
        server.handle,
        name=server.name,
        max_connections_per_ip=max_connections_per_ip,
        tls_context=tls_context,
        refuse_message=server.refuse_message,
        counter=counter,
        reuse_port=reuse_port,
    )
    return ProtocolListener(server, socket_server, counter)
