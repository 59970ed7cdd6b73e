"""The webmail roles (``store.web``) on the SQLite database of a SQLiteStore.

Sessions live in ``web_sessions`` (its migration); message pages read ``messages``
through its primary key (mailbox_id, uid), so a page costs the same on a folder of
ten messages and of a million: no OFFSET, no count.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from postoffice.store.api import MessageRecord
from postoffice.store.sqlite.engine import Database
from postoffice.store.sqlite.store import _CHUNK, _MESSAGE_COLS, _get_mailbox, _message, _opaque
from postoffice.store.web import ThreadLinks, WebSession

__all__ = ["SQLiteWebStore"]

_SESSION_COLS = "token_hash, account_id, csrf, created, last_seen, expires, client_ip, user_agent"


def _session(row: Any) -> WebSession:
    return WebSession(*row)


class SQLiteWebStore:
    """WebSessionStore and MessagePages over one ``Database`` (shared with the SQLiteStore)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create_web_session(self, session: WebSession) -> None:
        def op(conn: sqlite3.Connection) -> None:
            conn.execute(
                f"INSERT INTO web_sessions ({_SESSION_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    session.token_hash,
                    session.account_id,
                    session.csrf,
                    session.created,
                    session.last_seen,
                    session.expires,
                    session.client_ip,
                    session.user_agent,
                ),
            )

        await self.db.write(op)

    async def get_web_session(self, token_hash: str) -> WebSession | None:
        def op(conn: sqlite3.Connection) -> WebSession | None:
            row = conn.execute(
                f"SELECT {_SESSION_COLS} FROM web_sessions WHERE token_hash = ?", (token_hash,)
            ).fetchone()
            return None if row is None else _session(row)

        return await self.db.read(op)

    async def touch_web_session(self, token_hash: str, last_seen: float, expires: float) -> None:
        def op(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE web_sessions SET last_seen = ?, expires = ? WHERE token_hash = ?",
                (last_seen, expires, token_hash),
            )

        await self.db.write(op)

    async def delete_web_session(self, token_hash: str) -> None:
        def op(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM web_sessions WHERE token_hash = ?", (token_hash,))

        await self.db.write(op)

    async def list_web_sessions(self, account_id: int) -> list[WebSession]:
        def op(conn: sqlite3.Connection) -> list[WebSession]:
            rows = conn.execute(
                f"SELECT {_SESSION_COLS} FROM web_sessions WHERE account_id = ? ORDER BY created DESC", (account_id,)
            )
            return [_session(r) for r in rows]

        return await self.db.read(op)

    async def delete_web_sessions(self, account_id: int) -> int:
        def op(conn: sqlite3.Connection) -> int:
            return conn.execute("DELETE FROM web_sessions WHERE account_id = ?", (account_id,)).rowcount

        return await self.db.write(op)

    async def delete_expired_web_sessions(self, now: float) -> int:
        def op(conn: sqlite3.Connection) -> int:
            return conn.execute("DELETE FROM web_sessions WHERE expires <= ?", (now,)).rowcount

        return await self.db.write(op)

    async def page_messages(self, mailbox_id: int, before_uid: int | None, limit: int) -> list[MessageRecord]:
        def op(conn: sqlite3.Connection) -> list[MessageRecord]:
            _get_mailbox(conn, mailbox_id)
            cache: dict[str, frozenset[str]] = {}
            rows = conn.execute(
                f"SELECT {_MESSAGE_COLS} FROM messages WHERE mailbox_id = ? AND uid < ? ORDER BY uid DESC LIMIT ?",
                (mailbox_id, before_uid if before_uid is not None else 2**63 - 1, max(0, limit)),
            )
            return [_message(r, cache) for r in rows]

        return await self.db.read(op)

    async def mailbox_contents(self, mailbox_id: int, after_uid: int = 0) -> list[tuple[int, int, str | None]]:
        def op(conn: sqlite3.Connection) -> list[tuple[int, int, str | None]]:
            _get_mailbox(conn, mailbox_id)
            rows = conn.execute(
                "SELECT m.uid, m.content_id, t.keys FROM messages m LEFT JOIN thread_keys t ON t.content_id = m.content_id"
                " WHERE m.mailbox_id = ? AND m.uid > ? ORDER BY m.uid",
                (mailbox_id, after_uid),
            )
            return rows.fetchall()

        return await self.db.read(op)

    async def save_thread_keys(self, keys: Sequence[tuple[int, str]]) -> None:
        def op(conn: sqlite3.Connection) -> None:
            # A content collected meanwhile is left out (its row would fail the foreign key).
            conn.executemany(
                "INSERT OR IGNORE INTO thread_keys (content_id, keys)"
                " SELECT ?1, ?2 WHERE EXISTS (SELECT 1 FROM contents WHERE id = ?1)",
                keys,
            )

        await self.db.write(op)

    async def thread_links(self, content_ids: Sequence[int]) -> list[ThreadLinks]:
        wanted = sorted(set(content_ids))

        def op(conn: sqlite3.Connection) -> list[ThreadLinks]:
            out: list[ThreadLinks] = []
            for i in range(0, len(wanted), _CHUNK):
                chunk = wanted[i : i + _CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT id, message_id, envelope, extra FROM contents WHERE id IN ({marks})", chunk
                )
                out.extend(ThreadLinks(int(cid), mid or "", _opaque(env), extra or "") for cid, mid, env, extra in rows)
            return out

        return await self.db.read(op)
