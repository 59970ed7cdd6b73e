"""Listening sockets shared by every protocol: accept, limit per client address, hand over.

Owns: ``start_listener`` (plain or implicit TLS), the per-IP connection limit with its
refusal, connection counting, and logging of connects, refusals and handler crashes.

Invariants:
- A connection beyond ``max_connections_per_ip`` from one address is closed at once,
  after at most one line the protocol provides ("421 4.7.0 too many connections",
  "* BYE ...", "-ERR [IN-USE] ..."); its handler never runs.
- Every accepted connection is counted until its handler returns, whatever happens,
  and it is closed when the handler returns or raises.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Awaitable, Callable

from postoffice.net.connection import Connection

__all__ = ["start_listener", "ConnectionCounter", "Handler", "RefuseMessage"]

log = logging.getLogger("postoffice.net")

Handler = Callable[[Connection], Awaitable[None]]
RefuseMessage = Callable[[str], bytes]  # client ip -> one line (with CRLF) sent before closing


def _ip_key(ip: str) -> str:
    # "::ffff:192.0.2.1" and "192.0.2.1" are the same client.
    return ip[7:] if ip.startswith("::ffff:") and "." in ip else ip


class ConnectionCounter:
    """Open connections per client address for one listener (0 = no per-IP limit)."""

    def __init__(self, max_per_ip: int) -> None:
        self.max_per_ip = max_per_ip
        self.per_ip: dict[str, int] = {}
        self.accepted = 0  # connections handed to the handler, ever
        self.refused = 0  # connections refused by the per-IP limit, ever
        self.connections: set[Connection] = set()

    @property
    def active(self) -> int:
        return sum(self.per_ip.values())

    def try_acquire(self, ip: str) -> bool:
        key = _ip_key(ip)
        current = self.per_ip.get(key, 0)
        if self.max_per_ip and current >= self.max_per_ip:
            self.refused += 1
            return False
        self.per_ip[key] = current + 1
        self.accepted += 1
        return True

    def release(self, ip: str) -> None:
        key = _ip_key(ip)
        left = self.per_ip.get(key, 0) - 1
        if left > 0:
            self.per_ip[key] = left
        else:
            self.per_ip.pop(key, None)

    async def close_all(self) -> None:
        """Close every open connection (shutdown)."""
        await asyncio.gather(*(c.close(timeout=1.0) for c in list(self.connections)), return_exceptions=True)


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
    ``reuse_port`` (SO_REUSEPORT) lets the SMTP processes of ``serve`` share the port
    (``[server] smtp_processes``); every socket on the port must set it.
    """
    counts = counter if counter is not None else ConnectionCounter(max_connections_per_ip)

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Connection(reader, writer)
        ip = conn.peer_ip
        if not counts.try_acquire(ip):
            log.info("%s: refused %s: %d connections already open", name, ip, counts.max_per_ip)
            if refuse_message is not None:
                with contextlib.suppress(Exception):
                    conn.write(refuse_message(ip))
            await conn.close(timeout=2.0)
            return
        counts.connections.add(conn)
        log.debug("%s: connection from %s:%d", name, ip, conn.peer_port)
        try:
            await handler(conn)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s: session with %s failed", name, ip)
        finally:
            counts.connections.discard(conn)
            counts.release(ip)
            await conn.close()
            log.debug("%s: %s disconnected", name, ip)

    server = await asyncio.start_server(
        on_connect,
        host,
        port,
        ssl=tls_context,
        ssl_handshake_timeout=tls_handshake_timeout if tls_context is not None else None,
        reuse_address=True,
        reuse_port=reuse_port or None,
    )
    bound = ", ".join(str(s.getsockname()[:2]) for s in server.sockets)
    log.info("%s: listening on %s%s", name, bound, " (TLS)" if tls_context else "")
    return server
