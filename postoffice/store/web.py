"""Storage roles the webmail needs besides the Store: web sessions and message pages.

Narrow ``typing.Protocol`` roles (split from ``store.api``'s Store by role): a backend
implements them next to its Store (``store.sqlite.web``, ``store.memory_web``) and
``app.py`` hands them to ``mail.web`` only. Invariants: a session is found by the
SHA-256 of its cookie token, never by the token itself; every write is durable when
its await returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from postoffice.store.api import MessageRecord

__all__ = ["WebSession", "WebSessionStore", "MessagePages", "ThreadLinks"]


@dataclass(frozen=True, slots=True)
class WebSession:
    token_hash: str  # SHA-256 hex of the cookie's token
    account_id: int
    csrf: str  # the token every form of this session carries back
    created: float  # epoch seconds
    last_seen: float
    expires: float
    client_ip: str = ""
    user_agent: str = ""


@dataclass(frozen=True, slots=True)
class ThreadLinks:
    """What conversation grouping reads of one content, as stored (``mail/`` decodes it)."""

    content_id: int
    message_id: str  # as the content row keeps it
    envelope: bytes  # opaque, as Content.envelope (In-Reply-To is in it)
    extra: str  # opaque, as Content.extra (the References list)


@runtime_checkable
class WebSessionStore(Protocol):
    """Server-side webmail sessions, revocable one by one or all at once."""

    async def create_web_session(self, session: WebSession) -> None: ...
    async def get_web_session(self, token_hash: str) -> WebSession | None: ...
    async def touch_web_session(self, token_hash: str, last_seen: float, expires: float) -> None: ...
    async def delete_web_session(self, token_hash: str) -> None: ...  # absent: no error
    async def list_web_sessions(self, account_id: int) -> list[WebSession]: ...  # newest first
    async def delete_web_sessions(self, account_id: int) -> int: ...  # how many went
    async def delete_expired_web_sessions(self, now: float) -> int: ...


@runtime_checkable
class MessagePages(Protocol):
    """Keyset paging over one mailbox, newest (highest UID) first."""

    async def page_messages(self, mailbox_id: int, before_uid: int | None, limit: int) -> list[MessageRecord]: ...
    # ^ at most ``limit`` records with uid < before_uid (None: from the newest), by UID
    #   descending; MailError(NOT_FOUND) for an unknown mailbox

    async def mailbox_contents(self, mailbox_id: int, after_uid: int = 0) -> list[tuple[int, int, str | None]]: ...
    # ^ (uid, content_id, thread keys) of the mailbox's messages with uid > after_uid, by UID
    #   ascending; the keys are NewContent.thread_keys as stored (None: none stored); one
    #   indexed read; MailError(NOT_FOUND) for an unknown mailbox
    async def thread_links(self, content_ids: Sequence[int]) -> list[ThreadLinks]: ...
    # ^ the links of those contents that exist, in any order
    async def save_thread_keys(self, keys: Sequence[tuple[int, str]]) -> None: ...
    # ^ (content_id, thread keys) for contents stored without them; a content that has
    #   keys already, or no longer exists, is left as it is
