"""Streaming a message from DATA or BDAT into ``MailService.deliver``, in constant memory.

Owns the delivery task of one transaction: ``deliver`` runs as its own task and pulls
the message bytes from a small bounded queue that the DATA or BDAT handlers fill as the
bytes arrive, so a message of any size — and a BDAT message spread over many commands
(RFC 3030) — is one streamed ingestion, never held in memory. A small DATA message
(at most ``CHUNK`` octets, the common case) skips the task and the queue:
:func:`deliver_now` hands it to ``deliver`` in one piece from the session's own task.

Invariants:
- The reply of the task is R250_QUEUED only once ``deliver`` has returned, that is once
  the message and its index rows are on disk (docs/architecture.md §6); otherwise a 4xx/5xx.
- At most ``_QUEUE_CHUNKS`` chunks of at most ``CHUNK`` octets wait in the queue.
- A BODY=BINARYMIME message is delivered unchanged (RFC 3030 §3); any other is
  normalised to CRLF by the ingestion pipeline.
- A recipient accepted at RCPT that no longer exists at the end of data (deleted in
  between) fails the whole message, since nothing is stored for anyone: 550 when no
  recipient is left (a permanent failure for all), else 450, so the client retries
  later, its RCPT for the vanished one is then refused alone (RFC 5321 §3.3) and no
  recipient gets the message twice.
- Cancelling the task (RSET, QUIT, a lost connection, an over-size or refused message)
  leaves nothing behind: the ingestion pipeline removes its spool file.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from postoffice.errors import MailError
from postoffice.mail import submission
from postoffice.mail.service import UnknownRecipients
from postoffice.store.api import DeliveryRecipient, NewDelivery
from postoffice.store.queue import NewQueueRecipient
from postoffice.wire.smtp import R250_QUEUED, R450_MAILBOX_UNAVAILABLE, R451_LOCAL_ERROR, R550_NO_SUCH_USER, Reply

from .errors import reply_for

if TYPE_CHECKING:
    from .engine import Engine
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


def envelope_of(session: Session, tx: Transaction, received: float) -> NewDelivery:
    """The SMTP envelope kept with the delivery (RFC 3461 DSN data for the outbound queue)."""
    return NewDelivery(
        sender=tx.sender,
        recipients=tuple(
            DeliveryRecipient(r.address, r.params.notify, r.params.orcpt)  # RFC 3461 §4.1, §4.2
            for r in tx.recipients
        ),
        received=received,
        ret=tx.ret,  # RFC 3461 §4.3
        envid=tx.envid,  # RFC 3461 §4.4
        body=tx.body,
        smtputf8=tx.smtputf8,
        declared_size=tx.declared_size,
        listener=session.listener,
        client_ip=session.peer_ip or "",
        helo=session.helo or "",
        tls=session.tls,
        auth=session.account.address if session.account is not None else "",
    )


async def _split(server: Engine, tx: Transaction) -> tuple[list[str], list[NewQueueRecipient]]:
    """(local addresses, remote recipients to queue with their RFC 3461 parameters)."""
    local: list[str] = []
    remote: list[NewQueueRecipient] = []
    for r in tx.recipients:
        if await submission.is_local_address(server.mail, r.address):
            local.append(r.address)
        else:
            notify = ",".join(r.params.notify) if r.params.notify else None
            orcpt = f"{r.params.orcpt[0]};{r.params.orcpt[1]}" if r.params.orcpt else None
            remote.append(NewQueueRecipient(r.address, notify, orcpt))
    return local, remote


async def _deliver(server: Engine, session: Session, tx: Transaction, source: AsyncIterator[bytes]) -> Reply:
    mail = server.mail
    now = mail.clock.now()
    prepend = server.policy.trace_headers(session, tx, server.config.hostname, now)
    limit = server.limits.max_message_size
    screened = None
    try:
        # The policy sees the whole message first (MX: SPF, DKIM, DMARC; policy.py).
        screened = await server.policy.screen(session, tx, source)
        if screened.refusal is not None:
            return screened.refusal
        prepend = screened.header + prepend
        outbound = mail.outbound
        remote: list[NewQueueRecipient] = []
        if outbound is not None and session.account is not None:
            local, remote = await _split(server, tx)
        if outbound is not None and remote:
            # Relay (authenticated submission only): one ingestion, queued durably before the 250.
            await outbound.submit(
                screened.source,
                sender=tx.sender,
                local=local,
                remote=remote,
                prepend=prepend,
                max_size=limit + len(prepend),
                envelope=envelope_of(session, tx, now),
                normalise_line_ends=tx.body != "BINARYMIME",
            )
        else:
            await mail.deliver(
                screened.source,
                [r.address for r in tx.recipients],
                prepend=prepend,
                mailbox=screened.mailbox,
                max_size=limit + len(prepend),  # the SMTP handlers enforce the limit on the message itself
                envelope=envelope_of(session, tx, now),
                # RFC 3030 §3 (lead's decision): a BODY=BINARYMIME message is stored byte for
                # byte — its CR and LF octets are data, not line ends. Every other body type is
                # normalised to CRLF (docs/architecture.md §5). BINARYMIME arrives only by BDAT (DATA is
                # refused), so no dot-stuffing or end-of-data question arises.
                normalise_line_ends=tx.body != "BINARYMIME",
            )
    except UnknownRecipients as error:
        # Accepted at RCPT, gone now: nothing was stored for anyone (see the invariants).
        log.info("%s: delivery refused: %r", session.peer_ip, error)
        return R550_NO_SUCH_USER if error.every else R450_MAILBOX_UNAVAILABLE
    except MailError as error:
        log.info("%s: delivery refused: %r", session.peer_ip, error)
        return reply_for(error)
    except Exception:
        log.exception("%s: delivery failed", session.peer_ip)
        return R451_LOCAL_ERROR
    finally:
        if screened is not None and screened.cleanup is not None:
            await screened.cleanup()
    try:
        await server.policy.delivered(session, tx)  # the message is durable: 250 whatever happens here
    except Exception:
        log.exception("%s: after-delivery hook failed", session.peer_ip)
    return R250_QUEUED


def start(server: Engine, session: Session, tx: Transaction) -> None:
    """Begin the delivery of ``tx``: later :func:`push` calls feed it."""
    queue: asyncio.Queue[bytes | None] = asyncio.Queue(_QUEUE_CHUNKS)
    tx.feed = queue
    tx.delivery = asyncio.create_task(_deliver(server, session, tx, _source(queue)))


async def deliver_now(server: Engine, session: Session, tx: Transaction, data: bytes) -> Reply:
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
