"""The outbound queue role of the store (RFC 5321 §4.5.4): record types and protocol.

A queue entry references a stored content (``contents``: the same rows the mailboxes
use, so a queued message costs no second copy of its bytes) and carries one
:class:`QueueRecipient` per recipient, each with its own status, attempts, next attempt
time and last reply. Every method commits durably before it returns; :meth:`enqueue`
stores the content and the entry in ONE transaction, so an acknowledged submission is
never half queued. Implemented by ``store.sqlite.queue`` and ``store.memory_queue``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from postoffice.store.api import NewContent

__all__ = [
    "RecipientStatus",
    "NewQueueRecipient",
    "QueueRecipient",
    "QueueEntry",
    "RecipientUpdate",
    "QueueStore",
]

RecipientStatus = Literal["queued", "delivered", "failed"]


@dataclass(frozen=True, slots=True)
class NewQueueRecipient:
    address: str
    notify: str | None = None  # RFC 3461 §4.1: "NEVER" or e.g. "SUCCESS,FAILURE"
    orcpt: str | None = None  # RFC 3461 §4.2: "rfc822;someone@example.net"


@dataclass(frozen=True, slots=True)
class QueueRecipient:
    address: str
    domain: str
    status: RecipientStatus
    attempts: int
    next_attempt: float
    last_attempt: float | None
    last_reply: str  # "550 5.1.1 text" of the last attempt ("" before any)
    notify: str | None
    orcpt: str | None
    reported: bool  # a DSN (failure / success) was made for it


@dataclass(frozen=True, slots=True)
class QueueEntry:
    id: int
    content_id: int
    sender: str
    envelope: str  # JSON
    created: float
    delay_notified: bool
    recipients: tuple[QueueRecipient, ...]

    def pending(self) -> list[QueueRecipient]:
        return [r for r in self.recipients if r.status == "queued"]


@dataclass(frozen=True, slots=True)
class RecipientUpdate:
    """The outcome of one attempt for one recipient."""

    address: str
    status: RecipientStatus
    reply: str
    next_attempt: float  # meaningful when still queued
    attempted_at: float
    counts_attempt: bool = True


@runtime_checkable
class QueueStore(Protocol):
    async def enqueue(
        self, content: NewContent, sender: str, envelope: str, recipients: Sequence[NewQueueRecipient], now: float
    ) -> QueueEntry: ...
    async def get_entry(self, entry_id: int) -> QueueEntry | None: ...
    async def list_entries(self) -> list[QueueEntry]: ...  # by id
    async def due_entries(self, now: float, limit: int) -> list[QueueEntry]: ...
    # ^ entries with a queued recipient whose next_attempt <= now, oldest attempt first
    async def next_attempt(self) -> float | None: ...  # earliest next_attempt of a queued recipient
    async def update_recipients(
        self, entry_id: int, updates: Sequence[RecipientUpdate], *, remove_if_finished: bool = False
    ) -> bool: ...
    # ^ with remove_if_finished, the entry is deleted in the same transaction when the
    #   updates leave nothing queued and nothing failed-unreported; True if it was
    async def mark_reported(self, entry_id: int, addresses: Sequence[str]) -> None: ...
    async def set_delay_notified(self, entry_id: int) -> None: ...
    async def retry(self, entry_id: int | None, now: float) -> int: ...
    # ^ queued recipients of the entry (None: of every entry) become due now; how many
    async def delete_entry(self, entry_id: int) -> None: ...  # MailError(NOT_FOUND)
    async def remove_finished(self, entry_id: int | None = None) -> list[int]: ...
    # ^ delete entries (only that one, if given) with nothing queued and nothing failed-unreported; their ids
