"""The webmail roles (``store.web``) beside a MemoryStore, for fast unit tests only."""

from __future__ import annotations

from collections.abc import Sequence

from postoffice.store.api import MessageRecord
from postoffice.store.memory import MemoryStore
from postoffice.store.web import ThreadLinks, WebSession

__all__ = ["MemoryWebStore"]


class MemoryWebStore:
    """WebSessionStore and MessagePages in a dict, reading messages from ``store``."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self._sessions: dict[str, WebSession] = {}

    async def _alive(self, session: WebSession) -> bool:
        # Sessions go with their account, as the SQL foreign key makes them.
        return await self.store.get_account_by_id(session.account_id) is not None

    async def create_web_session(self, session: WebSession) -> None:
        self._sessions[session.token_hash] = session

    async def get_web_session(self, token_hash: str) -> WebSession | None:
        session = self._sessions.get(token_hash)
        if session is None or not await self._alive(session):
            return None
        return session

    async def touch_web_session(self, token_hash: str, last_seen: float, expires: float) -> None:
        session = self._sessions.get(token_hash)
        if session is not None:
            self._sessions[token_hash] = WebSession(
                session.token_hash,
                session.account_id,
                session.csrf,
                session.created,
                last_seen,
                expires,
                session.client_ip,
                session.user_agent,
            )

    async def delete_web_session(self, token_hash: str) -> None:
        self._sessions.pop(token_hash, None)

    async def list_web_sessions(self, account_id: int) -> list[WebSession]:
        found = [s for s in self._sessions.values() if s.account_id == account_id]
        return sorted(found, key=lambda s: s.created, reverse=True)

    async def delete_web_sessions(self, account_id: int) -> int:
        gone = [h for h, s in self._sessions.items() if s.account_id == account_id]
        for h in gone:
            del self._sessions[h]
        return len(gone)

    async def delete_expired_web_sessions(self, now: float) -> int:
        gone = [h for h, s in self._sessions.items() if s.expires <= now]
        for h in gone:
            del self._sessions[h]
        return len(gone)

    async def page_messages(self, mailbox_id: int, before_uid: int | None, limit: int) -> list[MessageRecord]:
        records = await self.store.list_messages(mailbox_id)
        below = [r for r in records if before_uid is None or r.uid < before_uid]
        return below[::-1][: max(0, limit)]

    async def mailbox_contents(self, mailbox_id: int, after_uid: int = 0) -> list[tuple[int, int, str | None]]:
        keys = self.store.thread_keys
        return [
            (r.uid, r.content_id, keys.get(r.content_id))
            for r in await self.store.list_messages(mailbox_id)
            if r.uid > after_uid
        ]

    async def save_thread_keys(self, keys: Sequence[tuple[int, str]]) -> None:
        known = await self.store.get_contents([cid for cid, _ in keys])
        for cid, value in keys:
            if cid in known:
                self.store.thread_keys.setdefault(cid, value)

    async def thread_links(self, content_ids: Sequence[int]) -> list[ThreadLinks]:
        found = await self.store.get_contents(content_ids)
        return [ThreadLinks(c.id, c.message_id, c.envelope, c.extra) for c in found.values()]
