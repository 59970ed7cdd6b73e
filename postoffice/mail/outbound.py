"""Mail leaving this server: accepted into the outbound queue, and reports coming back.

Owns :class:`Outbound`, the one road from a protocol (submission) to the queue role of
the store (``store.queue.QueueStore``), beside ``MailService`` for mailboxes.

Invariants:
- :meth:`Outbound.submit` ingests the message ONCE (one content, the part store of docs/architecture.md §4)
  and returns only when the queue entry (content and recipients, one transaction) and
  the local deliveries are durable: the SMTP 250 comes after it.
- A report (DSN) is never sent to the null reverse-path (RFC 5321 §4.5.5); one whose
  local recipient is gone goes to the postmaster; one for a remote sender is queued
  with the null reverse-path.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence

from postoffice.errors import Kind, MailError
from postoffice.mail.service import MailService, Source
from postoffice.store.api import DeliveryRecipient, NewContent, NewDelivery, NewMessage
from postoffice.store.queue import NewQueueRecipient, QueueEntry, QueueStore

__all__ = ["Outbound"]


class Outbound:
    def __init__(self, mail: MailService, queue: QueueStore) -> None:
        self.mail = mail
        self.queue = queue
        self.listeners: list[Callable[[], None]] = []  # called after each enqueue (the runner's wake-up)

    def _queued(self) -> None:
        for listener in self.listeners:
            listener()

    async def _content(self, source: Source, *, prepend: bytes, max_size: int, normalise_line_ends: bool) -> NewContent:
        return await self.mail._ingest(source, prepend=prepend, max_size=max_size, normalise_line_ends=normalise_line_ends)

    async def submit(
        self,
        source: Source,
        *,
        sender: str,
        local: Sequence[str],
        remote: Sequence[NewQueueRecipient],
        prepend: bytes = b"",
        max_size: int,
        envelope: NewDelivery | None = None,
        normalise_line_ends: bool = True,
    ) -> QueueEntry | None:
        """Store one message for ``local`` recipients' INBOXes and queue it for ``remote``
        ones; durable on return. The queue entry (None without remote recipients).

        The local recipients are resolved first: one that does not resolve raises
        UnknownRecipients before anything is read or stored (as ``MailService.deliver``).
        ``envelope`` is kept as the local copies' delivery record; the queue keeps what
        the relay needs of it (BODY, SMTPUTF8, RET, ENVID, who submitted). Without
        ``envelope`` (not received by SMTP) one is made from the sender and recipients."""
        mail = self.mail
        if envelope is None:  # not received by SMTP: the envelope is the call's
            everyone = (*local, *(r.address for r in remote))
            envelope = NewDelivery(sender, tuple(DeliveryRecipient(a) for a in everyone), mail.clock.now())
        boxes = await mail._delivery_targets(local, "INBOX") if local else []
        content = await self._content(source, prepend=prepend, max_size=max_size, normalise_line_ends=normalise_line_ends)
        entry = None
        if remote:
            queued = {
                "body": envelope.body,
                "smtputf8": envelope.smtputf8,
                "ret": envelope.ret,
                "envid": envelope.envid,
                "auth": envelope.auth,
                "client_ip": envelope.client_ip,
            }
            entry = await self.queue.enqueue(content, sender, json.dumps(queued), remote, mail.clock.now())
        if boxes:
            when = mail.clock.now()
            await mail._insert(content, [NewMessage(m.id, frozenset(), when, 0) for m in boxes], boxes, envelope)
        if entry is not None:
            self._queued()
        return entry

    async def deliver_report(self, to: str, parts: AsyncIterable[bytes], *, size_hint: int = 0) -> None:
        """Deliver a DSN (its octets from ``parts``) to ``to``; never to the null sender."""
        if not to:
            return
        mail = self.mail
        limit = mail.config.limits.smtp.max_message_size + size_hint
        domain = to.rsplit("@", 1)[-1]
        if await mail.is_local_domain(domain):
            try:
                await mail.deliver(parts, [to], max_size=limit)
                return
            except MailError as exc:
                if exc.kind is not Kind.NOT_FOUND:
                    raise
            # RFC 5321 §4.5.1 / §6.1: a report nobody can take goes to the postmaster.
            raise MailError(Kind.NOT_FOUND, f"no mailbox for the report to {to}")
        content = await self._content(parts, prepend=b"", max_size=limit, normalise_line_ends=True)
        await self.queue.enqueue(content, "", json.dumps({"dsn": True}), [NewQueueRecipient(to, notify="NEVER")], mail.clock.now())
        self._queued()

    async def deliver_to_postmaster(self, parts: AsyncIterable[bytes]) -> None:
        postmaster = f"postmaster@{self.mail.config.domains[0]}"
        await self.mail.deliver(parts, [postmaster])


async def chain(*pieces: bytes | AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """Octets and streams one after another (a DSN around a streamed original)."""
    for piece in pieces:
        if isinstance(piece, bytes):
            if piece:
                yield piece
        else:
            async for chunk in piece:
                yield chunk
