"""Streaming a message from DATA or BDAT into ``MailService.deliver``, in constant memory.

Owns the delivery task of one transaction: ``deliver`` runs as its own task and pulls
the message bytes from a small bounded queue that the DATA or BDAT handlers fill as the
bytes arrive, so a message of any size — and a BDAT message spread over many commands
(RFC 3030) — is one streamed ingestion, never held in memory. A small DATA message
(at most ``CHUNK`` octets, the common case) skips the task and the queue:
:func:`deliver_now` hands it to ``deliver`` in one piece from the session's own task.

Invariants:
- The reply of the task is R250_QUEUED only once ``deliver`` has returned, that is once
  the message and its index rows are on disk (DESIGN.md §3); otherwise a 4xx/5xx.
- At most ``_QUEUE_CHUNKS`` chunks of at most ``CHUNK`` octets wait in the queue.
- A BODY=BINARYMIME message is delivered unchanged (RFC 3030 §3); any other is
  normalised to CRLF by the ingestion pipeline.
- Cancelling the task (RSET, QUIT, a lost connection, an over-size or refused message)
  leaves nothing behind: the ingestion pipeline removes its spool file.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from postoffice.errors import MailError
from postoffice.store.queue import NewQueueRecipient
from postoffice.wire.smtp import R250_QUEUED, R451_LOCAL_ERROR, Reply

from .errors import reply_for

if TYPE_CHECKING:
    from .server import SMTPServer
    from .session import Session, Transaction

__all__ = ["CHUNK", "start", "push", "finish", "deliver_now", "envelope_of"]

log = logging.getLogger("postoffice.smtp")

CHUNK = 256 * 1024  # octets read from the socket at a time
_QUEUE_CHUNKS = 8


async def _source(queue: asyncio.Queue[bytes | None]) -> AsyncIterator[bytes]:
    while True:
        item = await queue.get()
        if item is None:
            return
        yield item


async def _once(data: bytes) -> AsyncIterator[bytes]:
    if data:
        yield data


def envelope_of(session: Session, tx: Transaction) -> dict[str, Any]:
    """The SMTP envelope kept with the message (RFC 3461 DSN data for the outbound queue)."""
    return {
        "mail_from": tx.sender,
        "body": tx.body,
        "smtputf8": tx.smtputf8,
        "ret": tx.ret,  # RFC 3461 §4.3
        "envid": tx.envid,  # RFC 3461 §4.4
        "size": tx.declared_size,
        "recipients": [
            {
                "address": r.address,
                "notify": list(r.params.notify) if r.params.notify else None,  # RFC 3461 §4.1
                "orcpt": list(r.params.orcpt) if r.params.orcpt else None,  # RFC 3461 §4.2
            }
            for r in tx.recipients
        ],
        "listener": session.listener,
        "client_ip": session.peer_ip,
        "helo": session.helo,
        "tls": session.tls,
        "auth": session.account.address if session.account is not None else None,
    }


async def _split(server: SMTPServer, tx: Transaction) -> tuple[list[str], list[NewQueueRecipient]]:
    """(local addresses, remote recipients to queue with their RFC 3461 parameters)."""
    local: list[str] = []
    remote: list[NewQueueRecipient] = []
    for r in tx.recipients:
        if await server.mail.is_local_domain(r.address.rsplit("@", 1)[-1]):
            local.append(r.address)
        else:
            notify = ",".join(r.params.notify) if r.params.notify else None
            orcpt = f"{r.params.orcpt[0]};{r.params.orcpt[1]}" if r.params.orcpt else None
            remote.append(NewQueueRecipient(r.address, notify, orcpt))
    return local, remote


async def _deliver(server: SMTPServer, session: Session, tx: Transaction, source: AsyncIterator[bytes]) -> Reply:
    mail = server.mail
    prepend = server.policy.trace_headers(session, tx, server.config.hostname, mail.clock.now())
    limit = server.limits.max_message_size
    outbound = mail.outbound
    try:
        if outbound is not None and session.account is not None:
            local, remote = await _split(server, tx)
            if remote:
                # Relay (authenticated submission only): one ingestion, queued durably before the 250.
                await outbound.submit(
                    source,
                    sender=tx.sender,
                    local=local,
                    remote=remote,
                    prepend=prepend,
                    max_size=limit + len(prepend),
                    envelope=envelope_of(session, tx),
                    normalise_line_ends=tx.body != "BINARYMIME",
                )
                return R250_QUEUED
        await mail.deliver(
            source,
            [r.address for r in tx.recipients],
            prepend=prepend,
            max_size=limit + len(prepend),  # the SMTP handlers enforce the limit on the message itself
            envelope=envelope_of(session, tx),
            # RFC 3030 §3 (lead's decision): a BODY=BINARYMIME message is stored byte for
            # byte — its CR and LF octets are data, not line ends. Every other body type is
            # normalised to CRLF (DESIGN.md §5). BINARYMIME arrives only by BDAT (DATA is
            # refused), so no dot-stuffing or end-of-data question arises.
            normalise_line_ends=tx.body != "BINARYMIME",
        )
    except MailError as error:
        log.info("%s: delivery refused: %r", session.peer_ip, error)
        return reply_for(error)
    except Exception:
        log.exception("%s: delivery failed", session.peer_ip)
        return R451_LOCAL_ERROR
    return R250_QUEUED


def start(server: SMTPServer, session: Session, tx: Transaction) -> None:
    """Begin the delivery of ``tx``: later :func:`push` calls feed it."""
    queue: asyncio.Queue[bytes | None] = asyncio.Queue(_QUEUE_CHUNKS)
    tx.feed = queue
    tx.delivery = asyncio.create_task(_deliver(server, session, tx, _source(queue)))


async def deliver_now(server: SMTPServer, session: Session, tx: Transaction, data: bytes) -> Reply:
    """Deliver a whole (small) message at once, in the calling task: same reply as
    :func:`start` + :func:`finish`; cancelling the caller cancels the ingestion."""
    return await _deliver(server, session, tx, _once(data))


async def push(tx: Transaction, data: bytes | None) -> None:
    """Hand bytes (None: the end) to the delivery; dropped if the delivery already ended."""
    queue, task = tx.feed, tx.delivery
    assert queue is not None and task is not None
    if task.done():
        return
    try:
        queue.put_nowait(data)
        return
    except asyncio.QueueFull:
        pass
    put = asyncio.ensure_future(queue.put(data))
    await asyncio.wait({put, task}, return_when=asyncio.FIRST_COMPLETED)
    if not put.done():
        put.cancel()


async def finish(tx: Transaction) -> Reply:
    """Signal the end of the message and wait until it is durable (or refused)."""
    await push(tx, None)
    assert tx.delivery is not None
    return await tx.delivery
