"""The outbound queue role (``store.queue.QueueStore``) in memory, over a MemoryStore."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence

from postoffice.errors import Kind, MailError
from postoffice.store.api import Content, NewContent
from postoffice.store.memory import MemoryStore
from postoffice.store.queue import NewQueueRecipient, QueueEntry, QueueRecipient, RecipientUpdate

__all__ = ["MemoryQueueStore"]


class MemoryQueueStore:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self._entries: dict[int, QueueEntry] = {}
        self._ids = itertools.count(1)

    def _put_content(self, content: NewContent) -> int:
        s = self.store
        content_id = s._by_sha.get(content.sha256)
        if content_id is None:
            content_id = next(s._ids)
            s._contents[content_id] = Content(
                content_id, content.sha256, content.size, content.layout, tuple(content.blob_ids),
                content.envelope, content.bodystructure, content.preview, content.subject, content.from_,
                content.to, content.date, content.message_id, content.extra,
            )  # fmt: skip
            s._search[content_id] = content.search
            s._by_sha[content.sha256] = content_id
        return content_id

    async def enqueue(
        self, content: NewContent, sender: str, envelope: str, recipients: Sequence[NewQueueRecipient], now: float
    ) -> QueueEntry:
        if not recipients:
            raise MailError(Kind.INVALID, "a queue entry needs a recipient")
        content_id = self._put_content(content)
        seen: dict[str, QueueRecipient] = {}
        for r in recipients:
            seen.setdefault(
                r.address,
                QueueRecipient(r.address, r.address.rsplit("@", 1)[-1].lower(), "queued", 0, now, None, "", r.notify, r.orcpt, False),
            )
        entry = QueueEntry(next(self._ids), content_id, sender, envelope, now, False, tuple(seen.values()))
        self._entries[entry.id] = entry
        return entry

    async def get_entry(self, entry_id: int) -> QueueEntry | None:
        return self._entries.get(entry_id)

    async def list_entries(self) -> list[QueueEntry]:
        return [self._entries[k] for k in sorted(self._entries)]

    async def due_entries(self, now: float, limit: int) -> list[QueueEntry]:
        due = []
        for entry in self._entries.values():
            times = [r.next_attempt for r in entry.recipients if r.status == "queued" and r.next_attempt <= now]
            if times:
                due.append((min(times), entry.id, entry))
        return [e for _, _, e in sorted(due)[:limit]]

    async def next_attempt(self) -> float | None:
        times = [r.next_attempt for e in self._entries.values() for r in e.recipients if r.status == "queued"]
        return min(times) if times else None

    def _replace_recipients(self, entry_id: int, change: dict[str, dict[str, object]]) -> None:
        entry = self._entries.get(entry_id)
        if entry is None:
            return
        recipients = tuple(
            dataclasses.replace(r, **change[r.address]) if r.address in change else r  # type: ignore[arg-type]
            for r in entry.recipients
        )
        self._entries[entry_id] = dataclasses.replace(entry, recipients=recipients)

    async def update_recipients(
        self, entry_id: int, updates: Sequence[RecipientUpdate], *, remove_if_finished: bool = False
    ) -> bool:
        entry = self._entries.get(entry_id)
        if entry is None:
            return False
        queued = {r.address: r for r in entry.recipients if r.status == "queued"}
        self._replace_recipients(
            entry_id,
            {
                u.address: {
                    "status": u.status,
                    "last_reply": u.reply,
                    "next_attempt": u.next_attempt,
                    "last_attempt": u.attempted_at,
                    "attempts": queued[u.address].attempts + int(u.counts_attempt),
                }
                for u in updates
                if u.address in queued
            },
        )
        if not remove_if_finished:
            return False
        entry = self._entries[entry_id]
        if any(r.status == "queued" or (r.status == "failed" and not r.reported) for r in entry.recipients):
            return False
        del self._entries[entry_id]
        return True

    async def mark_reported(self, entry_id: int, addresses: Sequence[str]) -> None:
        self._replace_recipients(entry_id, {a: {"reported": True} for a in addresses})

    async def set_delay_notified(self, entry_id: int) -> None:
        entry = self._entries.get(entry_id)
        if entry is not None:
            self._entries[entry_id] = dataclasses.replace(entry, delay_notified=True)

    async def retry(self, entry_id: int | None, now: float) -> int:
        if entry_id is not None and entry_id not in self._entries:
            raise MailError(Kind.NOT_FOUND, f"no queue entry {entry_id}")
        count = 0
        for eid in [entry_id] if entry_id is not None else list(self._entries):
            queued = [r.address for r in self._entries[eid].recipients if r.status == "queued"]
            self._replace_recipients(eid, {a: {"next_attempt": now} for a in queued})
            count += len(queued)
        return count

    async def delete_entry(self, entry_id: int) -> None:
        if self._entries.pop(entry_id, None) is None:
            raise MailError(Kind.NOT_FOUND, f"no queue entry {entry_id}")

    async def remove_finished(self, entry_id: int | None = None) -> list[int]:
        done = [
            e.id
            for e in self._entries.values()
            if entry_id in (None, e.id)
            and not any(r.status == "queued" or (r.status == "failed" and not r.reported) for r in e.recipients)
        ]
        for finished in done:
            del self._entries[finished]
        return done
