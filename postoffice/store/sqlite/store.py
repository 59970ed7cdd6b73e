"""SQLiteStore: the Store contract on one SQLite file (schema in ``migrations/``).

Invariants (besides those of ``store/__init__``): every write is one callable run by
the writer thread inside a SAVEPOINT of a group-commit transaction (``engine.py``),
so it is atomic and durable when its await returns; UIDs come from
``mailboxes.uidnext`` and MODSEQs from ``mailboxes.highest_modseq``, both only ever
incremented, in the same transaction as the rows they stamp; the mailbox counters
(messages, unseen, deleted, size) change in that same transaction too.

Search text is stored with its content (``search_text``) but fed to the FTS index
later, in batches, by the writer when idle (``_index_pending``, migration 0004); a
search reads the index for indexed contents and scans the text of pending ones,
within one read transaction, so every content is seen exactly once either way.

Search text made by an older text extraction (migration 0014) is listed in
``search_stale`` when the code's extraction version rises; ``replace_search_text``
swaps a row's text (out of the FTS index with its old values unless pending, then
pending again) and takes it off the list.

Garbage collection (migration 0005): a trigger lists every content that lost a
message in ``gc_contents``; ``collect_contents`` removes those no message refers to
any more, re-checked in its own write transaction (the writer is the only one, so no
delivery can insert a message for that content between the check and the removal),
taking the content's text out of the FTS index first unless it is still pending.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from postoffice.clock import Clock, SystemClock
from postoffice.errors import Kind, MailError
from postoffice.store import _rules
from postoffice.store.api import (
    Account,
    Alias,
    Changes,
    Content,
    Credentials,
    Delivery,
    DeliveryRecipient,
    FlagSnapshot,
    FlagUpdate,
    FlagUpdateResult,
    Mailbox,
    MailboxSpec,
    MessageRecord,
    NewContent,
    NewDelivery,
    NewMessage,
    SearchText,
    StoreTotals,
)
from postoffice.store.sqlite.engine import Database

__all__ = ["SQLiteStore"]


class _TooMany(Exception):
    """set_metadata: the change would leave too many entries (rolled back)."""

_MAILBOX_COLS = "id, account_id, name, uidvalidity, uidnext, highest_modseq, special_use, messages, unseen, deleted, size"
_MESSAGE_COLS = "mailbox_id, uid, content_id, flags, modseq, internaldate, internaldate_tz, size, savedate"
_CONTENT_COLS = (
    "id, sha256, size, layout, envelope, bodystructure, preview, subject, from_addr, to_addr, date, message_id, extra"
)
_DELIVERY_COLS = (
    "id, content_id, received, sender, ret, envid, body, smtputf8, declared_size, listener, client_ip, helo, tls, auth"
)
_CHUNK = 500  # host parameters per IN (...) list
_DEFERRED_SEARCH_VERSION = 4  # migration 0004: search_text + search_pending
_INDEX_STEP = 32  # pending contents fed to the FTS index per statement
_SEARCH_COLS = "from_addr, to_addr, cc, bcc, subject, headers, body"
_FTS_COLUMNS: dict[str, tuple[str, ...]] = {
    "from": ("from_addr",),
    "to": ("to_addr",),
    "cc": ("cc",),
    "bcc": ("bcc",),
    "subject": ("subject",),
    "headers": ("headers",),
    "body": ("body",),
    "text": ("headers", "body"),  # RFC 9051 §6.4.4 TEXT: header or body
}


def _contains(haystack: str | None, needle: str | None) -> int:
    """SQL ``po_contains(text, query)``: case-insensitive substring test for short queries."""
    if haystack is None or needle is None:
        return 0
    return 1 if needle.lower() in haystack.lower() else 0


def _mailbox(row: Sequence[Any]) -> Mailbox:
    return Mailbox(*row)


def _message(row: Sequence[Any], cache: dict[str, frozenset[str]]) -> MessageRecord:
    return MessageRecord(
        row[0], row[1], row[2], _rules.decode_flags(row[3], cache), row[4], row[5], row[6], row[7], row[8]
    )


def _get_mailbox(conn: sqlite3.Connection, mailbox_id: int) -> Mailbox:
    row = conn.execute(f"SELECT {_MAILBOX_COLS} FROM mailboxes WHERE id = ?", (mailbox_id,)).fetchone()
    if row is None:
        raise MailError(Kind.NOT_FOUND, "no such mailbox")
    return _mailbox(row)


def _select_messages(conn: sqlite3.Connection, mailbox_id: int, uids: Iterable[int]) -> list[MessageRecord]:
    wanted = sorted(set(uids))
    cache: dict[str, frozenset[str]] = {}
    out: list[MessageRecord] = []
    for i in range(0, len(wanted), _CHUNK):
        chunk = wanted[i : i + _CHUNK]
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(
            f"SELECT {_MESSAGE_COLS} FROM messages WHERE mailbox_id = ? AND uid IN ({marks}) ORDER BY uid",
            (mailbox_id, *chunk),
        )
        out.extend(_message(r, cache) for r in rows)
    return out


def _bump(
    conn: sqlite3.Connection,
    mailbox_id: int,
    *,
    uids: int = 0,
    messages: int = 0,
    unseen: int = 0,
    deleted: int = 0,
    size: int = 0,
) -> tuple[int, int]:
    """Take the next MODSEQ (and ``uids`` new UIDs) of a mailbox, applying counter deltas.
    Returns (new HIGHESTMODSEQ, first new UID)."""
    row = conn.execute(
        "UPDATE mailboxes SET highest_modseq = highest_modseq + 1, uidnext = uidnext + ?,"
        " messages = messages + ?, unseen = unseen + ?, deleted = deleted + ?, size = size + ?"
        " WHERE id = ? RETURNING highest_modseq, uidnext",
        (uids, messages, unseen, deleted, size, mailbox_id),
    ).fetchone()
    if row is None:
        raise MailError(Kind.NOT_FOUND, "no such mailbox")
    return int(row[0]), int(row[1]) - uids


def _remove(conn: sqlite3.Connection, mailbox_id: int, uids: Iterable[int]) -> int:
    """Expunge ``uids`` (those present), logging them; returns the HIGHESTMODSEQ after."""
    gone = _select_messages(conn, mailbox_id, uids)
    if not gone:
        return _get_mailbox(conn, mailbox_id).highest_modseq
    unseen = sum(_rules.flag_counters(r.flags)[0] for r in gone)
    deleted = sum(_rules.flag_counters(r.flags)[1] for r in gone)
    modseq, _ = _bump(
        conn, mailbox_id, messages=-len(gone), unseen=-unseen, deleted=-deleted, size=-sum(r.size for r in gone)
    )
    conn.executemany("DELETE FROM messages WHERE mailbox_id = ? AND uid = ?", [(mailbox_id, r.uid) for r in gone])
    # RFC 7162 §3.2.5.1: remember expunged UIDs with their MODSEQ for VANISHED (EARLIER).
    conn.executemany(
        "INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq) VALUES (?, ?, ?)",
        [(mailbox_id, r.uid, modseq) for r in gone],
    )
    return modseq


class SQLiteStore:
    """Store over SQLite. Build with ``await SQLiteStore.open(path)``."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    @classmethod
    async def open(cls, path: Path, *, clock: Clock | None = None, target_version: int | None = None) -> SQLiteStore:
        """Open (creating or upgrading) the database. ``target_version`` stops the
        migrations early; only tests use it, to build an old database."""
        import asyncio

        deferred_search = target_version is None or target_version >= _DEFERRED_SEARCH_VERSION
        db = Database(
            Path(path), functions={"po_contains": _contains}, background=_index_pending if deferred_search else None
        )
        await asyncio.to_thread(db.start, target_version)
        return cls(db, clock or SystemClock())

    async def close(self) -> None:
        await self.db.close()

    @property
    def commit_count(self) -> int:
        return self.db.commit_count

    # ---- domains ----------------------------------------------------------------------------
    async def add_domain(self, name: str) -> None:
        def op(conn: sqlite3.Connection) -> None:
            try:
                conn.execute("INSERT INTO domains (name) VALUES (?)", (name.lower(),))
            except sqlite3.IntegrityError:
                raise MailError(Kind.EXISTS, "domain exists")

        await self.db.write(op)

    async def list_domains(self) -> list[str]:
        return await self.db.read(lambda c: [r[0] for r in c.execute("SELECT name FROM domains ORDER BY name")])

    # ---- accounts ---------------------------------------------------------------------------
    async def add_account(
        self, address: str, credentials: Credentials, mailboxes: Sequence[MailboxSpec] = ()
    ) -> Account:
        address = address.lower()
        created = self.clock.now()
        specs = [(_rules.mailbox_name(m.name), m) for m in mailboxes]

        def op(conn: sqlite3.Connection) -> Account:
            try:
                cur = conn.execute("INSERT INTO accounts (address, created) VALUES (?, ?)", (address, created))
            except sqlite3.IntegrityError:
                raise MailError(Kind.EXISTS, "account exists")
            account_id = int(cur.lastrowid or 0)
            _put_credentials(conn, account_id, credentials)
            # One transaction (the operation's savepoint): a failure here undoes the account.
            for name, spec in specs:
                _create_mailbox(conn, account_id, name, spec.special_use, created)
                if spec.subscribed:
                    conn.execute(
                        "INSERT OR IGNORE INTO subscriptions (account_id, name) VALUES (?, ?)", (account_id, name)
                    )
            return Account(account_id, address, created)

        return await self.db.write(op)

    async def get_account(self, address: str) -> Account | None:
        def op(conn: sqlite3.Connection) -> Account | None:
            row = conn.execute("SELECT id, address, created FROM accounts WHERE address = ?", (address.lower(),)).fetchone()
            return None if row is None else Account(*row)

        return await self.db.read(op)

    async def get_account_by_id(self, account_id: int) -> Account | None:
        def op(conn: sqlite3.Connection) -> Account | None:
            row = conn.execute("SELECT id, address, created FROM accounts WHERE id = ?", (account_id,)).fetchone()
            return None if row is None else Account(*row)

        return await self.db.read(op)

    async def list_accounts(self) -> list[Account]:
        return await self.db.read(
            lambda c: [Account(*r) for r in c.execute("SELECT id, address, created FROM accounts ORDER BY address")]
        )

    async def delete_account(self, account_id: int) -> None:
        def op(conn: sqlite3.Connection) -> None:
            # Foreign keys cascade to credentials, mailboxes (and their messages), subscriptions.
            if conn.execute("DELETE FROM accounts WHERE id = ?", (account_id,)).rowcount == 0:
                raise MailError(Kind.NOT_FOUND, "no such account")

        await self.db.write(op)

    async def get_credentials(self, account_id: int) -> Credentials | None:
        def op(conn: sqlite3.Connection) -> Credentials | None:
            row = conn.execute(
                "SELECT argon2_hash, scram_salt, scram_iterations, scram_stored_key, scram_server_key"
                " FROM credentials WHERE account_id = ?",
                (account_id,),
            ).fetchone()
            return None if row is None else Credentials(*row)

        return await self.db.read(op)

    async def set_credentials(self, account_id: int, credentials: Credentials) -> None:
        def op(conn: sqlite3.Connection) -> None:
            if conn.execute("SELECT 1 FROM accounts WHERE id = ?", (account_id,)).fetchone() is None:
                raise MailError(Kind.NOT_FOUND, "no such account")
            _put_credentials(conn, account_id, credentials)

        await self.db.write(op)

    # ---- quota (store/quota.py, RFC 9208) ---------------------------------------------------
    async def get_storage_quota(self, account_id: int) -> int | None:
        def op(conn: sqlite3.Connection) -> int | None:
            row = conn.execute("SELECT storage FROM account_quotas WHERE account_id = ?", (account_id,)).fetchone()
            return None if row is None else int(row[0])

        return await self.db.read(op)

    async def set_storage_quota(self, account_id: int, storage: int | None) -> None:
        def op(conn: sqlite3.Connection) -> None:
            if conn.execute("SELECT 1 FROM accounts WHERE id = ?", (account_id,)).fetchone() is None:
                raise MailError(Kind.NOT_FOUND, "no such account")
            if storage is None:
                conn.execute("DELETE FROM account_quotas WHERE account_id = ?", (account_id,))
            else:
                conn.execute(
                    "INSERT INTO account_quotas (account_id, storage) VALUES (?, ?)"
                    " ON CONFLICT (account_id) DO UPDATE SET storage = excluded.storage",
                    (account_id, storage),
                )

        await self.db.write(op)

    # ---- metadata (store/metadata.py, RFC 5464) ---------------------------------------------
    async def get_metadata(self, account_id: int, mailbox_id: int | None) -> dict[str, bytes]:
        def op(conn: sqlite3.Connection) -> dict[str, bytes]:
            rows = conn.execute(
                "SELECT entry, value FROM metadata WHERE account_id = ? AND ifnull(mailbox_id, 0) = ?",
                (account_id, mailbox_id or 0),
            )
            return {str(entry): bytes(value) for entry, value in rows}

        return await self.db.read(op)

    async def set_metadata(
        self, account_id: int, mailbox_id: int | None, changes: Mapping[str, bytes | None], max_entries: int
    ) -> bool:
        def op(conn: sqlite3.Connection) -> bool:
            if mailbox_id is not None:
                row = conn.execute("SELECT account_id FROM mailboxes WHERE id = ?", (mailbox_id,)).fetchone()
                if row is None or row[0] != account_id:
                    raise MailError(Kind.NOT_FOUND, "no such mailbox")
            elif conn.execute("SELECT 1 FROM accounts WHERE id = ?", (account_id,)).fetchone() is None:
                raise MailError(Kind.NOT_FOUND, "no such account")
            where = "account_id = ? AND ifnull(mailbox_id, 0) = ?"
            key = (account_id, mailbox_id or 0)
            for entry, value in changes.items():
                conn.execute(f"DELETE FROM metadata WHERE {where} AND entry = ?", (*key, entry))
                if value is not None:
                    conn.execute(
                        "INSERT INTO metadata (account_id, mailbox_id, entry, value) VALUES (?, ?, ?, ?)",
                        (account_id, mailbox_id, entry, value),
                    )
            (count,) = conn.execute(f"SELECT count(*) FROM metadata WHERE {where}", key).fetchone()
            if count > max_entries:
                raise _TooMany()  # undone by the operation's savepoint
            return True

        try:
            return await self.db.write(op)
        except _TooMany:
            return False

    # ---- aliases ----------------------------------------------------------------------------
    async def add_alias(self, address: str, target: str) -> None:
        def op(conn: sqlite3.Connection) -> None:
            try:
                conn.execute("INSERT INTO aliases (address, target) VALUES (?, ?)", (address.lower(), target.lower()))
            except sqlite3.IntegrityError:
                raise MailError(Kind.EXISTS, "alias exists")

        await self.db.write(op)

    async def delete_alias(self, address: str, target: str | None = None) -> None:
        def op(conn: sqlite3.Connection) -> None:
            if target is None:
                cur = conn.execute("DELETE FROM aliases WHERE address = ?", (address.lower(),))
            else:
                cur = conn.execute(
                    "DELETE FROM aliases WHERE address = ? AND target = ?", (address.lower(), target.lower())
                )
            if cur.rowcount == 0:
                raise MailError(Kind.NOT_FOUND, "no such alias")

        await self.db.write(op)

    async def list_aliases(self) -> list[Alias]:
        return await self.db.read(
            lambda c: [Alias(*r) for r in c.execute("SELECT address, target FROM aliases ORDER BY address, target")]
        )

    async def get_alias_targets(self, address: str) -> list[str]:
        return await self.db.read(
            lambda c: [
                r[0] for r in c.execute("SELECT target FROM aliases WHERE address = ? ORDER BY target", (address.lower(),))
            ]
        )

    # ---- mailboxes ----------------------------------------------------------------------------
    async def create_mailbox(self, account_id: int, name: str, special_use: str | None = None) -> Mailbox:
        name = _rules.mailbox_name(name)
        now = self.clock.now()

        def op(conn: sqlite3.Connection) -> Mailbox:
            if conn.execute("SELECT 1 FROM accounts WHERE id = ?", (account_id,)).fetchone() is None:
                raise MailError(Kind.NOT_FOUND, "no such account")
            return _create_mailbox(conn, account_id, name, special_use, now)

        return await self.db.write(op)

    async def get_mailbox(self, account_id: int, name: str) -> Mailbox | None:
        name = _rules.mailbox_name(name)

        def op(conn: sqlite3.Connection) -> Mailbox | None:
            row = conn.execute(
                f"SELECT {_MAILBOX_COLS} FROM mailboxes WHERE account_id = ? AND name = ?", (account_id, name)
            ).fetchone()
            return None if row is None else _mailbox(row)

        return await self.db.read(op)

    async def get_mailbox_by_id(self, mailbox_id: int) -> Mailbox | None:
        def op(conn: sqlite3.Connection) -> Mailbox | None:
            row = conn.execute(f"SELECT {_MAILBOX_COLS} FROM mailboxes WHERE id = ?", (mailbox_id,)).fetchone()
            return None if row is None else _mailbox(row)

        return await self.db.read(op)

    async def list_mailboxes(self, account_id: int) -> list[Mailbox]:
        return await self.db.read(
            lambda c: [
                _mailbox(r)
                for r in c.execute(
                    f"SELECT {_MAILBOX_COLS} FROM mailboxes WHERE account_id = ? ORDER BY name", (account_id,)
                )
            ]
        )

    async def rename_mailbox(self, mailbox_id: int, new_name: str) -> Mailbox:
        new_name = _rules.mailbox_name(new_name)
        now = self.clock.now()

        def op(conn: sqlite3.Connection) -> Mailbox:
            source = _get_mailbox(conn, mailbox_id)
            old = source.name
            existing = {r[0] for r in conn.execute("SELECT name FROM mailboxes WHERE account_id = ?", (source.account_id,))}
            # Every new name is checked before anything changes (EXISTS, INVALID).
            renames = _rules.renamed_names(old, new_name, existing)
            for parent in _rules.missing_parents(new_name, existing):
                _create_mailbox(conn, source.account_id, parent, None, now)
            if old == "INBOX":  # RFC 9051 §6.3.6: the messages move to a new mailbox
                moved_to = _create_mailbox(conn, source.account_id, new_name, None, now)
                cache: dict[str, frozenset[str]] = {}
                rows = conn.execute(f"SELECT {_MESSAGE_COLS} FROM messages WHERE mailbox_id = ? ORDER BY uid", (mailbox_id,))
                _copy(conn, mailbox_id, [_message(r, cache) for r in rows.fetchall()], moved_to.id, True, None)
                return _get_mailbox(conn, moved_to.id)
            # Two steps, so that a rename onto a name freed by the same rename cannot collide.
            for i, (name, _) in enumerate(renames):
                conn.execute(
                    "UPDATE mailboxes SET name = ? WHERE account_id = ? AND name = ?",
                    (f"\x00rename{i}", source.account_id, name),
                )
            for i, (name, target) in enumerate(renames):
                try:
                    conn.execute(
                        "UPDATE mailboxes SET name = ? WHERE account_id = ? AND name = ?",
                        (target, source.account_id, f"\x00rename{i}"),
                    )
                except sqlite3.IntegrityError:
                    raise MailError(Kind.EXISTS, f"mailbox {target} exists")
                # Subscriptions follow the renamed names (RFC 9051 §6.3.6 leaves it open).
                if conn.execute(
                    "DELETE FROM subscriptions WHERE account_id = ? AND name = ?", (source.account_id, name)
                ).rowcount:
                    conn.execute(
                        "INSERT OR IGNORE INTO subscriptions (account_id, name) VALUES (?, ?)",
                        (source.account_id, target),
                    )
            # UIDVALIDITY is kept: values are unique in the store, so the new name still
            # never sees a value twice (RFC 9051 §2.3.1.1).
            return _get_mailbox(conn, mailbox_id)

        return await self.db.write(op)

    async def delete_mailbox(self, mailbox_id: int) -> None:
        def op(conn: sqlite3.Connection) -> None:
            # Cascades to messages and the expunge log; contents stay for other mailboxes.
            if conn.execute("DELETE FROM mailboxes WHERE id = ?", (mailbox_id,)).rowcount == 0:
                raise MailError(Kind.NOT_FOUND, "no such mailbox")

        await self.db.write(op)

    async def set_uidvalidity(self, mailbox_id: int, uidvalidity: int, uidnext: int) -> Mailbox:
        def op(conn: sqlite3.Connection) -> Mailbox:
            _get_mailbox(conn, mailbox_id)
            conn.execute(
                "UPDATE mailboxes SET uidvalidity = ?, uidnext = max(uidnext, ?) WHERE id = ?",
                (uidvalidity, uidnext, mailbox_id),
            )
            # Mailboxes created later still get a value never seen before.
            conn.execute(
                "UPDATE meta SET value = max(value, ?) WHERE key = 'last_uidvalidity'", (uidvalidity,)
            )
            return _get_mailbox(conn, mailbox_id)

        return await self.db.write(op)

    async def set_subscribed(self, account_id: int, name: str, subscribed: bool) -> None:
        name = _rules.mailbox_name(name)

        def op(conn: sqlite3.Connection) -> None:
            if subscribed:
                conn.execute("INSERT OR IGNORE INTO subscriptions (account_id, name) VALUES (?, ?)", (account_id, name))
            else:
                conn.execute("DELETE FROM subscriptions WHERE account_id = ? AND name = ?", (account_id, name))

        await self.db.write(op)

    async def list_subscriptions(self, account_id: int) -> list[str]:
        return await self.db.read(
            lambda c: [
                r[0]
                for r in c.execute("SELECT name FROM subscriptions WHERE account_id = ? ORDER BY name", (account_id,))
            ]
        )

    # ---- messages -------------------------------------------------------------------------------
    async def insert_messages(
        self, content: NewContent, targets: Sequence[NewMessage], delivery: NewDelivery | None = None
    ) -> list[MessageRecord]:
        targets = list(targets)
        saved = self.clock.now()  # RFC 8514: the save date

        def op(conn: sqlite3.Connection) -> list[MessageRecord]:
            content_id, size = _put_content(conn, content)
            out: list[MessageRecord] = []
            for t in targets:
                flags = _rules.canonical_flags(t.flags)
                unseen, deleted = _rules.flag_counters(flags)
                if t.uid is None:
                    modseq, uid = _bump(conn, t.mailbox_id, uids=1, messages=1, unseen=unseen, deleted=deleted, size=size)
                else:  # import keeps its UIDs; never one used before in this mailbox
                    uid = t.uid
                    if uid < 1 or conn.execute(
                        "SELECT 1 FROM messages WHERE mailbox_id = ? AND uid = ?"
                        " UNION ALL SELECT 1 FROM expunged WHERE mailbox_id = ? AND uid = ?",
                        (t.mailbox_id, uid, t.mailbox_id, uid),
                    ).fetchone():
                        raise MailError(Kind.EXISTS, "UID already used")
                    modseq, _ = _bump(conn, t.mailbox_id, messages=1, unseen=unseen, deleted=deleted, size=size)
                    conn.execute("UPDATE mailboxes SET uidnext = max(uidnext, ?) WHERE id = ?", (uid + 1, t.mailbox_id))
                conn.execute(
                    f"INSERT INTO messages ({_MESSAGE_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (t.mailbox_id, uid, content_id, _rules.encode_flags(flags), modseq, t.internaldate,
                     t.internaldate_tz, size, saved),
                )  # fmt: skip
                out.append(
                    MessageRecord(
                        t.mailbox_id, uid, content_id, flags, modseq, t.internaldate, t.internaldate_tz, size, saved
                    )
                )
            if delivery is not None:
                _put_delivery(conn, content_id, delivery, out)
            return out

        return await self.db.write(op)

    async def list_messages(self, mailbox_id: int) -> list[MessageRecord]:
        def op(conn: sqlite3.Connection) -> list[MessageRecord]:
            _get_mailbox(conn, mailbox_id)
            cache: dict[str, frozenset[str]] = {}
            rows = conn.execute(f"SELECT {_MESSAGE_COLS} FROM messages WHERE mailbox_id = ? ORDER BY uid", (mailbox_id,))
            return [_message(r, cache) for r in rows]

        return await self.db.read(op)

    async def list_flags(self, mailbox_id: int) -> FlagSnapshot:
        # SELECT of a large mailbox: one row of three strings built by SQLite, not a
        # Python tuple and record per message (100,000 messages: several times faster).
        # The flags of a message never hold a newline (canonical atoms, _rules).
        def op(conn: sqlite3.Connection) -> FlagSnapshot:
            _get_mailbox(conn, mailbox_id)
            # The numbers as JSON arrays: json.loads parses them faster than split + int.
            uids, modseqs, flags = conn.execute(
                "SELECT '[' || group_concat(uid) || ']', '[' || group_concat(modseq) || ']',"
                " group_concat(flags, char(10))"
                " FROM (SELECT uid, modseq, flags FROM messages WHERE mailbox_id = ? ORDER BY uid)",
                (mailbox_id,),
            ).fetchone()
            if uids is None:
                return FlagSnapshot([], [], [])
            texts = flags.split("\n")
            decoded = {t: frozenset(t.split()) for t in set(texts)}
            return FlagSnapshot(json.loads(uids), list(map(decoded.__getitem__, texts)), json.loads(modseqs))

        return await self.db.read(op)

    async def get_messages(self, mailbox_id: int, uids: Sequence[int]) -> list[MessageRecord]:
        def op(conn: sqlite3.Connection) -> list[MessageRecord]:
            _get_mailbox(conn, mailbox_id)
            return _select_messages(conn, mailbox_id, uids)

        return await self.db.read(op)

    async def get_content(self, content_id: int) -> Content:
        def op(conn: sqlite3.Connection) -> Content:
            got = _read_content(conn, "id", content_id)
            if got is None:
                raise MailError(Kind.NOT_FOUND, "no such content")
            return got

        return await self.db.read(op)

    async def find_content(self, sha256: str) -> Content | None:
        return await self.db.read(lambda c: _read_content(c, "sha256", sha256))

    async def get_contents(self, content_ids: Sequence[int]) -> dict[int, Content]:
        wanted = sorted(set(content_ids))

        def op(conn: sqlite3.Connection) -> dict[int, Content]:
            out: dict[int, Content] = {}
            for i in range(0, len(wanted), _CHUNK):
                chunk = wanted[i : i + _CHUNK]
                marks = ",".join("?" * len(chunk))
                blobs: dict[int, list[str]] = {}
                for cid, blob in conn.execute(
                    f"SELECT content_id, blob_id FROM content_blobs WHERE content_id IN ({marks}) ORDER BY content_id, seq",
                    chunk,
                ):
                    blobs.setdefault(cid, []).append(blob)
                for row in conn.execute(f"SELECT {_CONTENT_COLS} FROM contents WHERE id IN ({marks})", chunk):
                    out[row[0]] = _content(row, tuple(blobs.get(row[0], ())))
            return out

        return await self.db.read(op)

    async def deliveries_of_content(self, content_id: int) -> list[Delivery]:
        return await self.db.read(
            lambda c: _read_deliveries(
                c, f"SELECT {_DELIVERY_COLS} FROM deliveries WHERE content_id = ? ORDER BY id", (content_id,)
            )
        )

    async def deliveries_of_account(self, account_id: int, *, since: float = 0.0) -> list[Delivery]:
        return await self.db.read(
            lambda c: _read_deliveries(
                c,
                f"SELECT {_DELIVERY_COLS} FROM deliveries WHERE id IN"
                " (SELECT delivery_id FROM delivery_targets WHERE account_id = ?) AND received >= ? ORDER BY id",
                (account_id, since),
            )
        )

    # ---- search text made again (migration 0014) -------------------------------------------
    async def mark_search_text_stale(self, version: int) -> int:
        return await self.db.write(lambda conn: _mark_stale(conn, version))

    async def stale_search_texts(self, limit: int) -> list[int]:
        def op(conn: sqlite3.Connection) -> list[int]:
            rows = conn.execute("SELECT content_id FROM search_stale ORDER BY content_id LIMIT ?", (limit,))
            return [int(r[0]) for r in rows]

        return await self.db.read(op)

    async def replace_search_text(self, content_id: int, text: SearchText | None) -> None:
        await self.db.write(lambda conn: _replace_search_text(conn, content_id, text))

    async def collect_contents(self, limit: int = 1000) -> tuple[int, bool]:
        def op(conn: sqlite3.Connection) -> tuple[int, bool]:
            candidates = [
                int(r[0]) for r in conn.execute("SELECT content_id FROM gc_contents ORDER BY content_id LIMIT ?", (limit,))
            ]
            if not candidates:
                return 0, False
            removed = 0
            for i in range(0, len(candidates), _CHUNK):
                chunk = candidates[i : i + _CHUNK]
                marks = ",".join("?" * len(chunk))
                conn.execute(f"DELETE FROM gc_contents WHERE content_id IN ({marks})", chunk)
                # Re-checked here, in the writer's transaction: a message inserted since
                # the trigger listed the content keeps it, and so does an outbound queue
                # entry (migration 0007) that still has to send it.
                gone = [
                    int(r[0])
                    for r in conn.execute(
                        f"SELECT id FROM contents WHERE id IN ({marks})"
                        " AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.content_id = contents.id)"
                        " AND NOT EXISTS (SELECT 1 FROM queue q WHERE q.content_id = contents.id)",
                        chunk,
                    )
                ]
                if gone:
                    _delete_contents(conn, gone)
                    removed += len(gone)
            return removed, len(candidates) == limit

        return await self.db.write(op)

    async def claim_recent(self, mailbox_id: int, *, claim: bool = True) -> int:
        def op(conn: sqlite3.Connection) -> int:
            row = conn.execute("SELECT recent_uid, uidnext FROM mailboxes WHERE id = ?", (mailbox_id,)).fetchone()
            if row is None:
                raise MailError(Kind.NOT_FOUND, "no such mailbox")
            if claim and row[1] - 1 > row[0]:
                conn.execute("UPDATE mailboxes SET recent_uid = ? WHERE id = ?", (row[1] - 1, mailbox_id))
            return int(row[0])

        if claim:
            # Only the first session to hear of new messages takes them; the others (every
            # IDLE session of the mailbox, woken by the same APPEND) find nothing to take.
            # So they read, in parallel, instead of queueing one write each behind the
            # writer, which held a 10,000-session wake-up (and the APPEND's own OK) for
            # tens of seconds (bench/idle_10k.py). The write checks again.
            def peek(conn: sqlite3.Connection) -> tuple[int, int] | None:
                row = conn.execute("SELECT recent_uid, uidnext FROM mailboxes WHERE id = ?", (mailbox_id,)).fetchone()
                return None if row is None else (int(row[0]), int(row[1]))

            seen = await self.db.read_shared(("recent", mailbox_id), peek)
            if seen is not None and seen[1] - 1 <= seen[0]:
                return seen[0]
        return await (self.db.write(op) if claim else self.db.read(op))

    async def update_flags(self, mailbox_id: int, uids: Sequence[int], update: FlagUpdate) -> FlagUpdateResult:
        uids = list(uids)

        def op(conn: sqlite3.Connection) -> FlagUpdateResult:
            mailbox = _get_mailbox(conn, mailbox_id)
            failed: list[int] = []
            changes: list[tuple[MessageRecord, frozenset[str]]] = []
            for rec in _select_messages(conn, mailbox_id, uids):
                # RFC 7162 §3.1.3: UNCHANGEDSINCE fails messages modified after it.
                if update.unchangedsince is not None and rec.modseq > update.unchangedsince:
                    failed.append(rec.uid)
                    continue
                new = _rules.apply_flag_update(rec.flags, update)
                if new != rec.flags:
                    changes.append((rec, new))
            if not changes:
                return FlagUpdateResult((), tuple(failed), mailbox.highest_modseq)
            unseen = deleted = 0
            for rec, new in changes:
                u0, d0 = _rules.flag_counters(rec.flags)
                u1, d1 = _rules.flag_counters(new)
                unseen += u1 - u0
                deleted += d1 - d0
            modseq, _ = _bump(conn, mailbox_id, unseen=unseen, deleted=deleted)
            conn.executemany(
                "UPDATE messages SET flags = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?",
                [(_rules.encode_flags(new), modseq, mailbox_id, rec.uid) for rec, new in changes],
            )
            updated = tuple(
                MessageRecord(
                    mailbox_id, r.uid, r.content_id, new, modseq, r.internaldate, r.internaldate_tz, r.size, r.savedate
                )
                for r, new in changes
            )
            return FlagUpdateResult(updated, tuple(failed), modseq)

        return await self.db.write(op)

    async def expunge(self, mailbox_id: int, uids: Sequence[int]) -> int:
        uids = list(uids)
        return await self.db.write(lambda conn: _remove(conn, mailbox_id, uids))

    async def copy_messages(
        self, src_mailbox_id: int, uids: Sequence[int], dest_mailbox_id: int, *, move: bool = False
    ) -> list[tuple[int, int]]:
        uids = list(uids)
        saved = self.clock.now()  # RFC 8514: a copy or a moved message is saved now

        def op(conn: sqlite3.Connection) -> list[tuple[int, int]]:
            _get_mailbox(conn, src_mailbox_id)
            _get_mailbox(conn, dest_mailbox_id)
            return _copy(conn, src_mailbox_id, _select_messages(conn, src_mailbox_id, uids), dest_mailbox_id, move, saved)

        return await self.db.write(op)

    async def changes_since(self, mailbox_id: int, modseq: int) -> Changes:
        def op(conn: sqlite3.Connection) -> Changes:
            mailbox = _get_mailbox(conn, mailbox_id)
            cache: dict[str, frozenset[str]] = {}
            changed = tuple(
                _message(r, cache)
                for r in conn.execute(
                    f"SELECT {_MESSAGE_COLS} FROM messages INDEXED BY messages_modseq"
                    " WHERE mailbox_id = ? AND modseq > ? ORDER BY uid",
                    (mailbox_id, modseq),
                )
            )
            expunged = tuple(
                r[0]
                for r in conn.execute(
                    "SELECT uid FROM expunged INDEXED BY expunged_modseq WHERE mailbox_id = ? AND modseq > ? ORDER BY uid",
                    (mailbox_id, modseq),
                )
            )
            return Changes(changed, expunged, mailbox.highest_modseq)

        return await self.db.read_shared(("changes", mailbox_id, modseq), op)

    async def search_text(
        self,
        mailbox_id: int,
        query: str,
        field: Literal["text", "body", "subject", "from", "to", "cc", "bcc", "headers"],
    ) -> set[int]:
        columns = _FTS_COLUMNS.get(field)
        if columns is None:
            raise MailError(Kind.INVALID, "unknown search field")

        def op(conn: sqlite3.Connection) -> set[int]:
            _get_mailbox(conn, mailbox_id)
            found: set[int] = set()
            if len(query) >= 3:
                # A quoted phrase of trigrams = substring match; {cols} limits the columns.
                phrase = '"' + query.replace('"', '""') + '"'
                match = "{" + " ".join(columns) + "} : " + phrase
                # IN (subquery): the FTS index runs once, then an index probe per hit;
                # a plain JOIN lets the planner run MATCH once per message (seconds at 100k).
                rows = conn.execute(
                    "SELECT uid FROM messages WHERE mailbox_id = ?"
                    " AND content_id IN (SELECT rowid FROM search WHERE search MATCH ?)",
                    (mailbox_id, match),
                )
                found.update(int(r[0]) for r in rows)
                pending = "search_pending p CROSS JOIN messages m INDEXED BY messages_content"
                scope = pending + " ON m.content_id = p.content_id"
            else:
                scope = "messages m"  # too short for trigrams: scan every message's text
            # Scan the stored text (of pending contents only, when the index answered
            # the rest). SQL lower() folds ASCII only, enough for an ASCII query; else
            # a Python fold, as the trigram tokenizer folds case.
            if query.isascii():
                test = " OR ".join(f"instr(lower(s.{c}), lower(?)) > 0" for c in columns)
            else:
                test = " OR ".join(f"po_contains(s.{c}, ?)" for c in columns)
            rows = conn.execute(
                f"SELECT m.uid FROM {scope} CROSS JOIN search_text s ON s.id = m.content_id"
                f" WHERE m.mailbox_id = ? AND ({test})",
                (mailbox_id, *([query] * len(columns))),
            )
            found.update(int(r[0]) for r in rows)
            return found

        return await self.db.read(op)

    async def store_totals(self) -> StoreTotals:
        # One row kept by triggers (migration 0013): no scan, whatever the store holds.
        def op(conn: sqlite3.Connection) -> StoreTotals:
            row = conn.execute("SELECT messages, raw_bytes, contents, content_bytes FROM store_totals").fetchone()
            return StoreTotals(*(int(v) for v in row)) if row else StoreTotals(0, 0, 0, 0)

        return await self.db.read(op)

    async def list_blob_ids(self) -> set[str]:
        return await self.db.read(lambda c: {r[0] for r in c.execute("SELECT DISTINCT blob_id FROM content_blobs")})

    # ---- locks -----------------------------------------------------------------------------------
    async def acquire_lock(self, name: str, holder: str, ttl: float) -> bool:
        now = self.clock.now()

        def op(conn: sqlite3.Connection) -> bool:
            row = conn.execute("SELECT holder, expires FROM locks WHERE name = ?", (name,)).fetchone()
            if row is not None and row[0] != holder and row[1] > now:
                return False
            conn.execute(
                "INSERT OR REPLACE INTO locks (name, holder, expires) VALUES (?, ?, ?)", (name, holder, now + ttl)
            )
            return True

        return await self.db.write(op)

    async def release_lock(self, name: str, holder: str) -> None:
        await self.db.write(
            lambda conn: conn.execute("DELETE FROM locks WHERE name = ? AND holder = ?", (name, holder)) and None
        )


    # ---- submission rate ---------------------------------------------------------------------
    async def count_submissions(self, account_id: int, since: float) -> int:
        return await self.db.read(
            lambda c: int(
                c.execute("SELECT COUNT(*) FROM submissions WHERE account_id = ? AND at >= ?", (account_id, since))
                .fetchone()[0]
            )
        )

    async def record_submission(self, account_id: int, at: float, forget_before: float) -> None:
        def op(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM submissions WHERE account_id = ? AND at < ?", (account_id, forget_before))
            conn.execute("INSERT INTO submissions (account_id, at) VALUES (?, ?)", (account_id, at))

        await self.db.write(op)


def _copy(
    conn: sqlite3.Connection, src_mailbox_id: int, records: Sequence[MessageRecord], dest_mailbox_id: int, move: bool,
    saved: float | None,
) -> list[tuple[int, int]]:
    """Copy (or move) ``records`` of one mailbox into another; (source UID, new UID) pairs.
    ``saved``: the copies' save date (RFC 8514), None to keep each record's own."""
    if not records:
        return []
    unseen = sum(_rules.flag_counters(r.flags)[0] for r in records)
    deleted = sum(_rules.flag_counters(r.flags)[1] for r in records)
    modseq, first = _bump(
        conn, dest_mailbox_id, uids=len(records), messages=len(records), unseen=unseen, deleted=deleted,
        size=sum(r.size for r in records),
    )  # fmt: skip
    pairs = [(r.uid, first + i) for i, r in enumerate(records)]
    conn.executemany(
        f"INSERT INTO messages ({_MESSAGE_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (dest_mailbox_id, new_uid, r.content_id, _rules.encode_flags(r.flags), modseq, r.internaldate,
             r.internaldate_tz, r.size, r.savedate if saved is None else saved)
            for r, (_, new_uid) in zip(records, pairs, strict=True)
        ],
    )  # fmt: skip
    if move:  # RFC 6851 §3.3: MOVE = copy + expunge, atomically
        _remove(conn, src_mailbox_id, [r.uid for r in records])
    return pairs


def _put_credentials(conn: sqlite3.Connection, account_id: int, c: Credentials) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO credentials"
        " (account_id, argon2_hash, scram_salt, scram_iterations, scram_stored_key, scram_server_key)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (account_id, c.argon2_hash, c.scram_salt, c.scram_iterations, c.scram_stored_key, c.scram_server_key),
    )


def _create_mailbox(
    conn: sqlite3.Connection, account_id: int, name: str, special_use: str | None, now: float
) -> Mailbox:
    last = conn.execute("SELECT value FROM meta WHERE key = 'last_uidvalidity'").fetchone()[0]
    uidvalidity = _rules.next_uidvalidity(now, int(last))
    conn.execute("UPDATE meta SET value = ? WHERE key = 'last_uidvalidity'", (uidvalidity,))
    try:
        row = conn.execute(
            "INSERT INTO mailboxes (account_id, name, uidvalidity, uidnext, highest_modseq, special_use)"
            f" VALUES (?, ?, ?, 1, 1, ?) RETURNING {_MAILBOX_COLS}",
            (account_id, name, uidvalidity, special_use),
        ).fetchone()
    except sqlite3.IntegrityError:
        raise MailError(Kind.EXISTS, "mailbox exists")
    return _mailbox(row)


def _put_delivery(conn: sqlite3.Connection, content_id: int, d: NewDelivery, records: Sequence[MessageRecord]) -> int:
    cur = conn.execute(
        "INSERT INTO deliveries (content_id, received, sender, ret, envid, body, smtputf8, declared_size, listener,"
        " client_ip, helo, tls, auth) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (content_id, d.received, d.sender, d.ret, d.envid, d.body, int(d.smtputf8), d.declared_size, d.listener,
         d.client_ip, d.helo, int(d.tls), d.auth),
    )  # fmt: skip
    delivery_id = int(cur.lastrowid or 0)
    conn.executemany(
        "INSERT INTO delivery_recipients (delivery_id, seq, address, notify, orcpt_type, orcpt) VALUES (?, ?, ?, ?, ?, ?)",
        [
            (delivery_id, i, r.address, None if r.notify is None else ",".join(r.notify),
             None if r.orcpt is None else r.orcpt[0], None if r.orcpt is None else r.orcpt[1])
            for i, r in enumerate(d.recipients)
        ],
    )  # fmt: skip
    conn.executemany(
        "INSERT INTO delivery_targets (delivery_id, account_id, mailbox_id, uid)"
        " SELECT ?, account_id, id, ? FROM mailboxes WHERE id = ?",
        [(delivery_id, r.uid, r.mailbox_id) for r in records],
    )
    return delivery_id


def _read_deliveries(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> list[Delivery]:
    rows = conn.execute(sql, params).fetchall()
    out: list[Delivery] = []
    for row in rows:
        (did, content_id, received, sender, ret, envid, body, smtputf8, declared_size, listener, client_ip, helo,
         tls, auth) = row  # fmt: skip
        recipients = tuple(
            DeliveryRecipient(
                address,
                None if notify is None else tuple(notify.split(",")),
                None if orcpt_type is None else (orcpt_type, orcpt),
            )
            for address, notify, orcpt_type, orcpt in conn.execute(
                "SELECT address, notify, orcpt_type, orcpt FROM delivery_recipients WHERE delivery_id = ? ORDER BY seq",
                (did,),
            )
        )
        targets = tuple(
            (int(a), int(m), int(u))
            for a, m, u in conn.execute(
                "SELECT account_id, mailbox_id, uid FROM delivery_targets WHERE delivery_id = ?"
                " ORDER BY account_id, mailbox_id, uid",
                (did,),
            )
        )
        envelope = NewDelivery(
            sender, recipients, received, ret, envid, body, bool(smtputf8), declared_size, listener, client_ip, helo,
            bool(tls), auth,
        )  # fmt: skip
        out.append(Delivery(int(did), int(content_id), envelope, targets))
    return out


def _delete_contents(conn: sqlite3.Connection, content_ids: Sequence[int]) -> None:
    """Remove contents no message refers to, with everything hanging off them."""
    marks = ",".join("?" * len(content_ids))
    # Migration 0004: a search_text row leaves the external-content FTS index first
    # (the 'delete' command with its old values), unless it was never indexed.
    conn.execute(
        f"INSERT INTO search (search, rowid, {_SEARCH_COLS}) SELECT 'delete', s.id, {_SEARCH_COLS}"
        f" FROM search_text s WHERE s.id IN ({marks}) AND s.id NOT IN (SELECT content_id FROM search_pending)",
        content_ids,
    )
    conn.execute(f"DELETE FROM search_pending WHERE content_id IN ({marks})", content_ids)
    conn.execute(f"DELETE FROM search_text WHERE id IN ({marks})", content_ids)
    # content_blobs, deliveries (and their recipients and targets) cascade.
    conn.execute(f"DELETE FROM contents WHERE id IN ({marks})", content_ids)


def _mark_stale(conn: sqlite3.Connection, version: int) -> int:
    row = conn.execute("SELECT version FROM search_meta").fetchone()
    if row is not None and int(row[0]) < version:
        conn.execute("INSERT OR IGNORE INTO search_stale (content_id) SELECT id FROM search_text")
        conn.execute("UPDATE search_meta SET version = ?", (version,))
    return int(conn.execute("SELECT count(*) FROM search_stale").fetchone()[0])


def _replace_search_text(conn: sqlite3.Connection, content_id: int, text: SearchText | None) -> None:
    conn.execute("DELETE FROM search_stale WHERE content_id = ?", (content_id,))
    if text is None or conn.execute("SELECT 1 FROM search_text WHERE id = ?", (content_id,)).fetchone() is None:
        return
    # Migration 0004: out of the external-content FTS index with its old values first,
    # unless it is still pending; then pending again, indexed by _index_pending.
    conn.execute(
        f"INSERT INTO search (search, rowid, {_SEARCH_COLS}) SELECT 'delete', s.id, {_SEARCH_COLS}"
        " FROM search_text s WHERE s.id = ? AND s.id NOT IN (SELECT content_id FROM search_pending)",
        (content_id,),
    )
    t = text
    conn.execute(
        "UPDATE search_text SET from_addr = ?, to_addr = ?, cc = ?, bcc = ?, subject = ?, headers = ?, body = ?"
        " WHERE id = ?",
        (t.from_, t.to, t.cc, t.bcc, t.subject, t.headers, t.body, content_id),
    )
    conn.execute("INSERT OR IGNORE INTO search_pending (content_id) VALUES (?)", (content_id,))


def _put_content(conn: sqlite3.Connection, content: NewContent) -> tuple[int, int]:
    """(id, size) of the content with this SHA-256, inserting it (and its search text) if new."""
    row = conn.execute("SELECT id, size FROM contents WHERE sha256 = ?", (content.sha256,)).fetchone()
    if row is not None:
        return int(row[0]), int(row[1])
    c = content
    cur = conn.execute(
        "INSERT INTO contents (sha256, size, layout, envelope, bodystructure, preview, subject, from_addr, to_addr,"
        " date, message_id, extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (c.sha256, c.size, c.layout, c.envelope, c.bodystructure, c.preview, c.subject, c.from_, c.to, c.date,
         c.message_id, c.extra),
    )  # fmt: skip
    content_id = int(cur.lastrowid or 0)
    if c.thread_keys is not None:
        conn.execute("INSERT INTO thread_keys (content_id, keys) VALUES (?, ?)", (content_id, c.thread_keys))
    conn.executemany(
        "INSERT INTO content_blobs (content_id, seq, blob_id) VALUES (?, ?, ?)",
        [(content_id, i, b) for i, b in enumerate(c.blob_ids)],
    )
    s = c.search
    conn.execute(
        f"INSERT INTO search_text (id, {_SEARCH_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (content_id, s.from_, s.to, s.cc, s.bcc, s.subject, s.headers, s.body),
    )
    # Indexed later by _index_pending; searches scan it until then.
    conn.execute("INSERT INTO search_pending (content_id) VALUES (?)", (content_id,))
    return content_id, c.size


def _index_pending(conn: sqlite3.Connection, stop: Callable[[], bool]) -> int:
    """Background work of the writer (engine.Background): feed pending search text
    to the FTS index, oldest first, a step at a time until ``stop()``; returns about
    how many contents are still pending."""
    while True:
        row = conn.execute(
            "SELECT max(content_id) FROM (SELECT content_id FROM search_pending ORDER BY content_id LIMIT ?)",
            (_INDEX_STEP,),
        ).fetchone()
        if row[0] is None:
            return 0
        last = int(row[0])
        conn.execute(
            f"INSERT INTO search (rowid, {_SEARCH_COLS}) SELECT s.id, {_SEARCH_COLS}"
            " FROM search_pending p JOIN search_text s ON s.id = p.content_id WHERE p.content_id <= ?",
            (last,),
        )
        conn.execute("DELETE FROM search_pending WHERE content_id <= ?", (last,))
        if stop():
            break
    row = conn.execute("SELECT max(content_id) - min(content_id) + 1 FROM search_pending").fetchone()
    return int(row[0] or 0)


def _read_content(conn: sqlite3.Connection, column: Literal["id", "sha256"], value: int | str) -> Content | None:
    row = conn.execute(f"SELECT {_CONTENT_COLS} FROM contents WHERE {column} = ?", (value,)).fetchone()
    if row is None:
        return None
    blobs = tuple(
        r[0] for r in conn.execute("SELECT blob_id FROM content_blobs WHERE content_id = ? ORDER BY seq", (row[0],))
    )
    return _content(row, blobs)


def _content(row: Sequence[Any], blobs: tuple[str, ...]) -> Content:
    (cid, sha, size, layout, envelope, bodystructure, preview, subject, from_, to, date, message_id, extra) = row
    return Content(
        cid, sha, size, bytes(layout), blobs, _opaque(envelope), _opaque(bodystructure), preview, subject, from_, to,
        date, message_id, extra,
    )  # fmt: skip


def _opaque(value: bytes | str) -> bytes:
    """An opaque content column: written as a BLOB; rows written before were TEXT."""
    return value.encode("utf-8", "surrogatepass") if isinstance(value, str) else bytes(value)


if TYPE_CHECKING:  # mypy proves that the backend plays every role (static conformance)
    from postoffice.store.api import ContentStore, DirectoryStore, LockStore, MailboxStore, MessageStore, Store

    def _roles(s: SQLiteStore) -> tuple[DirectoryStore, MailboxStore, MessageStore, ContentStore, LockStore, Store]:
        return (s, s, s, s, s, s)
