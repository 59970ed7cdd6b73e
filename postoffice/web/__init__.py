"""Webmail: an ASGI application (Starlette) served by uvicorn inside the server process.

Owns the pages (server-rendered, usable without JavaScript), the small plain JS
modules in ``static/`` (served by postoffice itself: no CDN, no build step), and the
HTTP side of security (CSP, CSRF, cookie flags, sanitised HTML in a sandboxed frame).
Reaches the mail only through ``mail/`` (``MailService`` and ``mail.web.WebMail``),
never the store, and never imports another protocol server.

``start_web_listener`` is the one entry point for ``app.py``.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from postoffice.config import Config
from postoffice.mail.service import MailService
from postoffice.mail.web import WebMail
from postoffice.net.listener import ConnectionCounter
from postoffice.observe import metrics
from postoffice.store.shared import Lease
from postoffice.store.web import MessagePages, WebSessionStore

if TYPE_CHECKING:
    import uvicorn

__all__ = ["WebListener", "start_web_listener"]

log = logging.getLogger("postoffice.web")


@dataclass
class WebListener:
    """One running http/https listener (a ``net.listener.Listener``): its asyncio server,
    uvicorn, and the event that ends live event streams."""

    name: str
    server: asyncio.Server
    uvicorn: uvicorn.Server
    stopping: asyncio.Event
    mail: MailService

    def bound(self) -> tuple[str, int]:
        host, port = self.server.sockets[0].getsockname()[:2]
        return str(host), int(port)

    def stop_accepting(self) -> None:
        self.server.close()

    def reconfigure(self, config: Config) -> None:
        """SIGHUP: nothing to do here: the pages and the per-address limit read
        ``mail.config`` (which the lifecycle replaced) at each use."""

    async def shutdown(self) -> None:
        """End live event streams, then let uvicorn finish open requests within the one
        deadline of a stop, ``[server] shutdown_grace``."""
        self.stopping.set()
        self.uvicorn.config.timeout_graceful_shutdown = max(1, round(self.mail.config.server.shutdown_grace))
        await self.uvicorn.shutdown()

    async def close_sessions(self, timeout: float) -> None:  # noqa: ASYNC109 - a deadline for the whole stop
        """uvicorn's shutdown already closed idle connections and waited for requests
        in flight (``timeout_graceful_shutdown``); nothing is left to close."""


def _per_client_limit(
    base: type[asyncio.Protocol], counter: ConnectionCounter, name: str, limit: Callable[[], int]
) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol with ``[limits.http] max_connections_per_ip``, counted as
    on the mail listeners (``net.listener.ConnectionCounter``): each connection holds a
    lease in the shared state, so the limit holds over every process on the data
    directory (``[server] processes``), not per process; ``limit`` gives the limit
    in force (SIGHUP may change it). A connection beyond the limit
    is closed without an answer. The transport does not read until the slot is taken,
    so uvicorn sees no byte of a refused connection. Accepted connections are counted
    in the listener's connection metrics."""

    class Limited(base):  # type: ignore[valid-type,misc]
        _po_ip: str | None = None  # set while this connection holds a slot
        _po_slot: Lease | bool = False
        _po_transport: asyncio.BaseTransport | None = None
        _po_refused = False
        _po_lost = False
        _po_early: list[bytes] | None = None  # bytes that came before the slot (None: admitted)

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            peer = transport.get_extra_info("peername")
            ip = str(peer[0]) if isinstance(peer, tuple) and peer else ""
            self._po_early = []
            self._po_transport = transport
            if isinstance(transport, asyncio.ReadTransport):
                transport.pause_reading()
            task = asyncio.get_running_loop().create_task(self._po_admit(transport, ip))
            _admitting.add(task)
            task.add_done_callback(_admitting.discard)

        async def _po_admit(self, transport: asyncio.BaseTransport, ip: str) -> None:
            if counter.max_per_ip != limit():
                counter.set_limit(limit())
            slot = await counter.try_acquire(ip)
            if not slot:
                metrics.M.connections_refused.labels(name).inc()
                self._po_refuse(transport)
                return
            if self._po_lost:  # the client went away while waiting for its slot
                await counter.release(ip, slot)
                return
            self._po_ip, self._po_slot = ip, slot
            metrics.M.connections_total.labels(name).inc()
            metrics.M.connections_open.labels(name).inc()
            early, self._po_early = self._po_early or [], None
            super().connection_made(transport)
            for data in early:
                super().data_received(data)
            if isinstance(transport, asyncio.ReadTransport) and not transport.is_closing():
                transport.resume_reading()

        def _po_refuse(self, transport: asyncio.BaseTransport) -> None:
            """End a refused connection cleanly: our FIN first, then what the client sent
            is read and dropped until it closes too (closing a socket with unread bytes
            would reset it), for at most a few seconds."""
            self._po_refused = True
            if isinstance(transport, asyncio.WriteTransport) and transport.can_write_eof():
                transport.write_eof()
            if isinstance(transport, asyncio.ReadTransport) and not transport.is_closing():
                transport.resume_reading()
            asyncio.get_running_loop().call_later(_REFUSED_LINGER, transport.close)

        def eof_received(self) -> bool | None:
            if self._po_early is not None:
                return None  # not admitted: close
            return super().eof_received()  # type: ignore[no-any-return]

        def data_received(self, data: bytes) -> None:
            if self._po_early is None:
                super().data_received(data)
                return
            if self._po_refused:
                return
            # uvloop may read before the pause took: keep it for uvicorn, read no more.
            self._po_early.append(data)
            transport = self._po_transport
            if isinstance(transport, asyncio.ReadTransport) and transport.is_reading():
                transport.pause_reading()

        def connection_lost(self, exc: Exception | None) -> None:
            self._po_lost = True
            ip, slot = self._po_ip, self._po_slot
            if ip is None:
                return  # refused, or still waiting for a slot: uvicorn never saw it
            self._po_ip, self._po_slot = None, False
            metrics.M.connections_open.labels(name).dec()
            task = asyncio.get_running_loop().create_task(counter.release(ip, slot))
            _admitting.add(task)
            task.add_done_callback(_admitting.discard)
            super().connection_lost(exc)

    return Limited


_REFUSED_LINGER = 2.0  # seconds a refused connection is read and dropped before it is closed
_admitting: set[asyncio.Task[None]] = set()  # slot tasks in flight (a task needs a reference)


async def start_web_listener(
    mail: MailService,
    sessions: WebSessionStore,
    pages: MessagePages,
    name: str,
    host: str,
    port: int,
    tls_context: ssl.SSLContext | None = None,
    *,
    reuse_port: bool = False,
) -> WebListener:
    """Serve the webmail on ``host:port`` (port 0: any free port); ``tls_context`` for https.

    ``reuse_port``: SO_REUSEPORT, so the processes of ``serve`` share the port."""
    import uvicorn

    from postoffice.web import ops
    from postoffice.web.app import make_app

    stopping = asyncio.Event()
    app = ops.wrap(make_app(WebMail(mail, sessions, pages), stopping=stopping), name, mail)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    config = uvicorn.Config(
        app,
        lifespan="off",
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=False,
        timeout_graceful_shutdown=5,  # WebListener.shutdown sets [server] shutdown_grace
        limit_concurrency=None,
        h11_max_incomplete_event_size=64 * 1024,
    )
    config.load()
    counter = ConnectionCounter(mail.config.limits.http.max_connections_per_ip, shared=mail.shared, key=name)
    config.http_protocol_class = _per_client_limit(
        config.http_protocol_class, counter, name, lambda: mail.config.limits.http.max_connections_per_ip
    )
    server = uvicorn.Server(config)
    server.lifespan = config.lifespan_class(config)
    if tls_context is not None:
        # uvicorn's own TLS wants certificate files; the process already has a context.
        config.ssl = tls_context
    await server.startup(sockets=[sock])
    if not server.servers:
        raise OSError(f"listener {name}: the web server did not start")
    return WebListener(name, server.servers[0], server, stopping, mail)
