"""``/metrics`` and ``/healthz`` on the web listeners, and the log context of requests.

:func:`wrap` puts :class:`OpsEndpoints` in front of the webmail application:

- ``GET /metrics``: the Prometheus text of every process (``observe.metrics``), with
  the figures read from the store at scrape time (store size, what dedup saved, the
  outbound queue). Answered to loopback clients, and to others that send
  ``Authorization: Bearer <[metrics] bearer_token>`` when a token is set; 403 otherwise.
- ``GET /healthz``: 200 ``ok`` when the store accepts writes and every listener of
  this process accepts connections (``observe.health.HEALTH``); 503 and one reason per
  line otherwise. It carries no figures, so any client may ask (load balancers,
  monitors).
- Every other request runs with its own log context (``observe.logs``): a failed
  web sign-in is then logged with ``proto=http`` and the client's address. Its
  latency goes to the command histogram as protocol ``http``, command = the method.
"""

from __future__ import annotations

import hmac
import ipaddress
import time

from starlette.types import ASGIApp, Receive, Scope, Send

from postoffice.mail.service import MailService
from postoffice.observe import commands, health, logs, metrics

__all__ = ["OpsEndpoints", "wrap"]

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"})  # bounded labels


def _loopback(ip: str) -> bool:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.is_loopback


class OpsEndpoints:
    def __init__(self, app: ASGIApp, listener: str, mail: MailService) -> None:
        self.app = app
        self.listener = listener
        self.mail = mail

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client") or ("", 0)
        ip = str(client[0])
        logs.begin_session(self.listener, ip)
        path = scope.get("path", "")
        if path == "/metrics" and scope.get("method") == "GET":
            if not self._may_scrape(scope, ip):
                await _answer(send, 403, b"forbidden\n")
                return
            await _answer(send, 200, await self._metrics(), metrics.CONTENT_TYPE)
            return
        if path == "/healthz" and scope.get("method") in ("GET", "HEAD"):
            problems = await health.HEALTH.problems()
            if problems:
                await _answer(send, 503, ("\n".join(problems) + "\n").encode())
            else:
                await _answer(send, 200, b"ok\n")
            return
        method = str(scope.get("method", ""))
        started = commands.now()
        try:
            await self.app(scope, receive, send)
        finally:
            commands.done("http", method if method in _METHODS else "other", started)

    def _may_scrape(self, scope: Scope, ip: str) -> bool:
        if _loopback(ip):
            return True
        token = self.mail.config.metrics.bearer_token
        if not token:
            return False
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"authorization", b"")
        return hmac.compare_digest(given, b"Bearer " + token.encode())

    async def _metrics(self) -> bytes:
        mail = self.mail
        stats = await health.store_stats(mail.store, mail.blobs, mail.config.db_path)
        gauges: dict[str, tuple[str, float]] = {
            "postoffice_store_accounts": ("Accounts", stats.accounts),
            "postoffice_store_messages": ("Message records in every mailbox", stats.messages),
            "postoffice_store_raw_bytes": ("Octets of the messages, once per mailbox holding them", stats.raw_bytes),
            "postoffice_store_content_bytes": ("Octets of the distinct messages, each once", stats.content_bytes),
            "postoffice_store_blob_bytes": ("Octets of the part files on disk", stats.blob_bytes),
            "postoffice_store_database_bytes": ("Octets of the database and its log", stats.database_bytes),
            "postoffice_store_dedup_saved_bytes": (
                "Octets not stored again because one message is in several mailboxes", stats.dedup_saved
            ),
        }
        if mail.outbound is not None:
            queue = await health.queue_stats(mail.outbound.queue, time.time())
            gauges["postoffice_queue_entries"] = ("Outbound messages with a recipient still queued", queue.entries)
            gauges["postoffice_queue_recipients"] = ("Outbound recipients still queued", queue.recipients)
            gauges["postoffice_queue_oldest_age_seconds"] = ("Age of the oldest queued message", queue.oldest_age)
        return metrics.render(gauges)


async def _answer(send: Send, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8") -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode()),
               (b"cache-control", b"no-store")]  # fmt: skip
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def wrap(app: ASGIApp, listener: str, mail: MailService) -> ASGIApp:
    """The webmail ``app`` behind the operations endpoints (module docstring)."""
    return OpsEndpoints(app, listener, mail)
