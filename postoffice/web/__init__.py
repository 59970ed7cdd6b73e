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
from dataclasses import dataclass
from typing import TYPE_CHECKING

from postoffice.config import Config
from postoffice.mail.service import MailService
from postoffice.mail.web import WebMail
from postoffice.observe import metrics
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


def _per_client_limit(base: type[asyncio.Protocol], mail: MailService, name: str) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol with ``[limits.http] max_connections_per_ip`` (as in force:
    SIGHUP may change it): a connection beyond the limit from one address is closed at
    once, as on the mail listeners. Accepted connections are counted in the listener's
    connection metrics."""
    open_per_ip: dict[str, int] = {}

    class Limited(base):  # type: ignore[valid-type,misc]
        _po_ip: str | None = None

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            peer = transport.get_extra_info("peername")
            ip = str(peer[0]) if isinstance(peer, tuple) and peer else ""
            if open_per_ip.get(ip, 0) >= mail.config.limits.http.max_connections_per_ip:
                transport.close()
                return
            open_per_ip[ip] = open_per_ip.get(ip, 0) + 1
            self._po_ip = ip
            metrics.M.connections_total.labels(name).inc()
            metrics.M.connections_open.labels(name).inc()
            super().connection_made(transport)

        def connection_lost(self, exc: Exception | None) -> None:
            ip = self._po_ip
            if ip is None:
                return  # refused above: uvicorn never saw it
            self._po_ip = None
            metrics.M.connections_open.labels(name).dec()
            left = open_per_ip.get(ip, 1) - 1
            if left > 0:
                open_per_ip[ip] = left
            else:
                open_per_ip.pop(ip, None)
            super().connection_lost(exc)

    return Limited


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
    config.http_protocol_class = _per_client_limit(config.http_protocol_class, mail, name)
    server = uvicorn.Server(config)
    server.lifespan = config.lifespan_class(config)
    if tls_context is not None:
        # uvicorn's own TLS wants certificate files; the process already has a context.
        config.ssl = tls_context
    await server.startup(sockets=[sock])
    if not server.servers:
        raise OSError(f"listener {name}: the web server did not start")
    return WebListener(name, server.servers[0], server, stopping, mail)
