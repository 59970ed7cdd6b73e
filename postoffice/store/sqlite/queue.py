"""The outbound queue role (``store.queue.QueueStore``) on the SQLite database."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from postoffice.errors import Kind, MailError
from postoffice.store.api import NewContent
from postoffice.store.queue import NewQueueRecipient, QueueEntry, QueueRecipient, RecipientUpdate
from postoffice.store.sqlite.engine import Database
from postoffice.store.sqlite.store import SQLiteStore, _put_content

__all__ = ["SQLiteQueueStore"]

_RCPT_COLS = "address, domain, status, attempts, next_attempt, last_attempt, last_reply, notify, orcpt, reported"


def _entries(conn: sqlite3.Connection, where: str, args: Sequence[object]) -> list[QueueEntry]:
    rows = conn.execute(
        f"SELECT id, content_id, sender, envelope, created, delay_notified FROM queue WHERE {where} ORDER BY id", args
    ).fetchall()
    out = []
    for row in rows:
        recipients = tuple(
            QueueRecipient(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], bool(r[9]))
            for r in conn.execute(f"SELECT {_RCPT_COLS} FROM queue_recipients WHERE queue_id = ? ORDER BY rowid", (row[0],))
        )
        out.append(QueueEntry(row[0], row[1], row[2], row[3], row[4], bool(row[5]), recipients))
    return out


class SQLiteQueueStore:
    """The queue tables of the same database as ``SQLiteStore`` (one writer, one fsync)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @classmethod
    def of(cls, store: SQLiteStore) -> SQLiteQueueStore:
        return cls(store.db)

    async def enqueue(
        self, content: NewContent, sender: str, envelope: str, recipients: Sequence[NewQueueRecipient], now: float
    ) -> QueueEntry:
        if not recipients:
            raise MailError(Kind.INVALID, "a queue entry needs a recipient")

        def op(conn: sqlite3.Connection) -> QueueEntry:
            content_id, _ = _put_content(conn, content)
            cur = conn.execute(
                "INSERT INTO queue (content_id, sender, envelope, created) VALUES (?, ?, ?, ?)",
                (content_id, sender, envelope, now),
            )
            entry_id = int(cur.lastrowid or 0)
            conn.executemany(
                "INSERT OR IGNORE INTO queue_recipients (queue_id, address, domain, status, next_attempt, notify, orcpt)"
                " VALUES (?, ?, ?, 'queued', ?, ?, ?)",
                [(entry_id, r.address, r.address.rsplit("@", 1)[-1].lower(), now, r.notify, r.orcpt) for r in recipients],
            )
            return _entries(conn, "id = ?", (entry_id,))[0]

        return await self.db.write(op)

    async def get_entry(self, entry_id: int) -> QueueEntry | None:
        found = await self.db.read(lambda c: _entries(c, "id = ?", (entry_id,)))
        return found[0] if found else None

    async def list_entries(self) -> list[QueueEntry]:
        return await self.db.read(lambda c: _entries(c, "1", ()))

    async def due_entries(self, now: float, limit: int) -> list[QueueEntry]:
        def op(conn: sqlite3.Connection) -> list[QueueEntry]:
            ids = [
                r[0]
                for r in conn.execute(
                    "SELECT queue_id, min(next_attempt) AS t FROM queue_recipients"
                    " WHERE status = 'queued' AND next_attempt <= ? GROUP BY queue_id ORDER BY t LIMIT ?",
                    (now, limit),
                )
            ]
            out: list[QueueEntry] = []
            for entry_id in ids:
                out += _entries(conn, "id = ?", (entry_id,))
            return out

        return await self.db.read(op)

    async def next_attempt(self) -> float | None:
        def op(conn: sqlite3.Connection) -> float | None:
            row = conn.execute("SELECT min(next_attempt) FROM queue_recipients WHERE status = 'queued'").fetchone()
            return None if row[0] is None else float(row[0])

        return await self.db.read(op)

    async def update_recipients(
        self, entry_id: int, updates: Sequence[RecipientUpdate], *, remove_if_finished: bool = False
    ) -> bool:
        def op(conn: sqlite3.Connection) -> bool:
            conn.executemany(
                "UPDATE queue_recipients SET status = ?, last_reply = ?, next_attempt = ?, last_attempt = ?,"
                " attempts = attempts + ? WHERE queue_id = ? AND address = ? AND status = 'queued'",
                [
                    (u.status, u.reply, u.next_attempt, u.attempted_at, int(u.counts_attempt), entry_id, u.address)
                    for u in updates
                ],
            )
            if not remove_if_finished:
                return False
            # One transaction, one sync: the last recipient's outcome and the entry's end.
            left = conn.execute(
                "SELECT 1 FROM queue_recipients WHERE queue_id = ?"
                " AND (status = 'queued' OR (status = 'failed' AND reported = 0)) LIMIT 1",
                (entry_id,),
            ).fetchone()
            if left is not None:
                return False
            conn.execute("DELETE FROM queue_recipients WHERE queue_id = ?", (entry_id,))
            return conn.execute("DELETE FROM queue WHERE id = ?", (entry_id,)).rowcount > 0

        return await self.db.write(op)

    async def mark_reported(self, entry_id: int, addresses: Sequence[str]) -> None:
        await self.db.write(
            lambda c: c.executemany(
                "UPDATE queue_recipients SET reported = 1 WHERE queue_id = ? AND address = ?",
                [(entry_id, a) for a in addresses],
            )
        )

    async def set_delay_notified(self, entry_id: int) -> None:
        await self.db.write(lambda c: c.execute("UPDATE queue SET delay_notified = 1 WHERE id = ?", (entry_id,)))

    async def retry(self, entry_id: int | None, now: float) -> int:
        def op(conn: sqlite3.Connection) -> int:
            if entry_id is None:
                cur = conn.execute("UPDATE queue_recipients SET next_attempt = ? WHERE status = 'queued'", (now,))
            else:
                if conn.execute("SELECT 1 FROM queue WHERE id = ?", (entry_id,)).fetchone() is None:
                    raise MailError(Kind.NOT_FOUND, f"no queue entry {entry_id}")
                cur = conn.execute(
                    "UPDATE queue_recipients SET next_attempt = ? WHERE status = 'queued' AND queue_id = ?", (now, entry_id)
                )
            return cur.rowcount

        return await self.db.write(op)

    async def delete_entry(self, entry_id: int) -> None:
        def op(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM queue_recipients WHERE queue_id = ?", (entry_id,))
            if conn.execute("DELETE FROM queue WHERE id = ?", (entry_id,)).rowcount == 0:
                raise MailError(Kind.NOT_FOUND, f"no queue entry {entry_id}")

        await self.db.write(op)

    async def remove_finished(self, entry_id: int | None = None) -> list[int]:
        # One entry: a lookup by key, not a scan of the whole queue (the runner calls
        # this after every delivery, with the write lock held).
        only = "" if entry_id is None else " AND id = ?"

        def op(conn: sqlite3.Connection) -> list[int]:
            ids = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM queue WHERE NOT EXISTS (SELECT 1 FROM queue_recipients r WHERE r.queue_id = queue.id"
                    " AND (r.status = 'queued' OR (r.status = 'failed' AND r.reported = 0)))" + only,
                    () if entry_id is None else (entry_id,),
                )
            ]
            for finished in ids:
                conn.execute("DELETE FROM queue_recipients WHERE queue_id = ?", (finished,))
                conn.execute("DELETE FROM queue WHERE id = ?", (finished,))
            return ids

        return await self.db.write(op)
