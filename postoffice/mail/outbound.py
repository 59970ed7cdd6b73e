"""Mail leaving this server: accepted into the outbound queue, and reports coming back.

Owns :class:`Outbound`, the one road from a protocol (submission) to the queue role of
the store (``store.queue.QueueStore``), beside ``MailService`` for mailboxes.

Invariants:
- :meth:`Outbound.submit` ingests the message ONCE (one content, DESIGN's part store)
  and returns only when the queue entry (content and recipients, one transaction) and
  the local deliveries are durable: the SMTP 250 comes after it.
- A report (DSN) is never sent to the null reverse-path (RFC 5321 §4.5.5); one whose
  local recipient is gone goes to the postmaster; one for a remote sender is queued
  with the null reverse-path.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from typing import Any

from postoffice.errors import Kind, MailError
from postoffice.mail.service import MailService, Source
from postoffice.store.api import NewContent, NewMessage
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

    async def _content(
        self, source: Source, *, prepend: bytes, max_size: int, envelope: dict[str, Any] | None, normalise_line_ends: bool
    ) -> NewContent:
        content = await self.mail._ingest(source, prepend=prepend, max_size=max_size, normalise_line_ends=normalise_line_ends)
        if envelope is not None:
            extra = json.loads(content.extra or "{}")
            extra["envelope"] = envelope
            content = dataclasses.replace(content, extra=json.dumps(extra, ensure_ascii=False))
        return content

    async def submit(
        self,
        source: Source,
        *,
        sender: str,
        local: Sequence[str],
        remote: Sequence[NewQueueRecipient],
        prepend: bytes = b"",
        max_size: int,
        envelope: dict[str, Any],
        normalise_line_ends: bool = True,
    ) -> QueueEntry | None:
        """Store one message for ``local`` recipients' INBOXes and queue it for ``remote``
        ones; durable on return. The queue entry (None without remote recipients)."""
        content = await self._content(
            source, prepend=prepend, max_size=max_size, envelope=envelope, normalise_line_ends=normalise_line_ends
        )
        entry = None
        if remote:
            queued = {k: envelope.get(k) for k in ("body", "smtputf8", "ret", "envid", "auth", "client_ip")}
            entry = await self.queue.enqueue(content, sender, json.dumps(queued), remote, self.mail.clock.now())
        if local:
            await self._insert_local(content, local)
        if entry is not None:
            self._queued()
        return entry

    async def _insert_local(self, content: NewContent, recipients: Sequence[str]) -> None:
        mail = self.mail
        accounts = {}
        for address in recipients:
            try:
                for account in await mail.resolve_recipient(address):
                    accounts[account.id] = account
            except MailError:
                continue
        if not accounts:
            return
        boxes = await mail._delivery_mailboxes(accounts.values(), "INBOX")
        when = mail.clock.now()
        await mail._insert(content, [NewMessage(m.id, frozenset(), when, 0) for m in boxes], boxes)

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
        content = await self._content(parts, prepend=b"", max_size=limit, envelope=None, normalise_line_ends=True)
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
