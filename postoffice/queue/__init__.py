"""The outbound queue: scheduling, routing and delivery of mail to other servers.

Owns :class:`~.runner.QueueRunner` (backoff, per-destination concurrency, several
messages per connection, DSNs), :class:`~.routing.Router` (static routes, smarthost,
MX per RFC 5321 §5.1) and :func:`start_runner` / ``QueueRunner.stop`` for ``serve``.
Messages enter through ``mail.outbound.Outbound.submit``; their bytes are read back
through ``mail`` only; the queue rows live in the store's queue role
(``store.queue.QueueStore``). Invariant: at least once, never lost (see ``runner``).
"""

from __future__ import annotations

from postoffice.clock import Clock
from postoffice.config import Config
from postoffice.mail.service import MailService

from .routing import Hop, Route, RouteError, Router
from .runner import Job, QueueRunner

__all__ = ["Hop", "Job", "QueueRunner", "Route", "RouteError", "Router", "start_runner"]


def start_runner(mail: MailService, config: Config, *, clock: Clock | None = None) -> QueueRunner:
    """Start delivering what the queue holds (``mail.outbound`` must be set); stop with ``await runner.stop()``."""
    if mail.outbound is None:
        raise RuntimeError("no outbound queue configured on this MailService")
    runner = QueueRunner(mail, mail.outbound.queue, mail.outbound, config, clock=clock)
    runner.start()
    return runner
