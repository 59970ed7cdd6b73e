"""MailService: the facade over the store that every protocol and the web use.

Protocol servers hold one ``MailService`` (built by ``app.py``) and call only this.
Every method is async; blocking work (SQLite, fsync, blob reads, hashing) runs in
threads inside the store or here, never on the event loop.

Names used below:
- ``address``: "local@domain"; the domain is compared case-insensitively and the local
  part too (accounts are stored lower-cased).
- mailbox ``name``: full hierarchical name with "/" as separator, UTF-8, "INBOX" is
  case-insensitive and always returned as "INBOX".
- ``source`` for ingestion: ``bytes``, an ``AsyncIterable[bytes]`` (streamed to the
  spool in constant memory) or a ``pathlib.Path`` of a file holding the message.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from postoffice.clock import Clock, SystemClock
from postoffice.config import Config
from postoffice.store.api import (
    Account,
    Alias,
    BlobStore,
    Changes,
    ChangeBus,
    ChangeSubscription,
    Content,
    FlagUpdate,
    FlagUpdateResult,
    Mailbox,
    MessageRecord,
    Store,
)

__all__ = ["MailService", "DeliveryResult", "Source", "SPECIAL_USE_FOLDERS"]

Source = bytes | AsyncIterable[bytes] | Path

# Folders every new account gets besides INBOX (name, RFC 6154 attribute).
SPECIAL_USE_FOLDERS: tuple[tuple[str, str], ...] = (
    ("Sent", "\\Sent"),
    ("Drafts", "\\Drafts"),
    ("Trash", "\\Trash"),
    ("Junk", "\\Junk"),
    ("Archive", "\\Archive"),
)


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    content_id: int
    size: int
    records: tuple[MessageRecord, ...]  # one per target mailbox


class MailService:
    """Accounts, mailboxes and messages over one Store, BlobStore and ChangeBus."""

    def __init__(self, config: Config, store: Store, blobs: BlobStore, bus: ChangeBus, clock: Clock | None = None) -> None:
        self.config = config
        self.store = store
        self.blobs = blobs
        self.bus = bus
        self.clock: Clock = clock or SystemClock()

    # ---- domains, accounts, aliases -------------------------------------------------
    async def local_domains(self) -> set[str]:
        """Config domains plus domains added with ``domain add``."""
        raise NotImplementedError

    async def is_local_domain(self, domain: str) -> bool:
        raise NotImplementedError

    async def add_domain(self, domain: str) -> None:
        raise NotImplementedError

    async def add_user(self, address: str, password: str) -> Account:
        """Create the account with credentials, INBOX and the special-use folders.

        MailError(INVALID) for a malformed address, (NOT_FOUND) for a non-local domain,
        (EXISTS) for a duplicate."""
        raise NotImplementedError

    async def set_password(self, address: str, password: str) -> None:
        raise NotImplementedError

    async def delete_user(self, address: str) -> None:
        raise NotImplementedError

    async def list_users(self) -> list[Account]:
        raise NotImplementedError

    async def get_account(self, address: str) -> Account | None:
        raise NotImplementedError

    async def add_alias(self, address: str, target: str) -> None:
        raise NotImplementedError

    async def delete_alias(self, address: str) -> None:
        raise NotImplementedError

    async def list_aliases(self) -> list[Alias]:
        """Explicit aliases plus the implicit postmaster@/abuse@ of every domain."""
        raise NotImplementedError

    async def resolve_recipient(self, address: str) -> list[Account]:
        """Accounts a local address delivers to (account, alias, postmaster/abuse).

        [] when the domain is local but nobody has that address; MailError(NOT_FOUND)
        when the domain is not local."""
        raise NotImplementedError

    async def addresses_of(self, account: Account) -> set[str]:
        """Every address the account may send as: its own and aliases pointing at it."""
        raise NotImplementedError

    # ---- authentication (delegates to mail.auth.Authenticator) ----------------------
    # self.auth: Authenticator — check_password(username, password, client_ip) -> Account,
    # scram lookups, the failure delay and the trusted-networks rule.

    # ---- mailboxes ------------------------------------------------------------------
    async def list_mailboxes(self, account: Account) -> list[Mailbox]:
        raise NotImplementedError

    async def get_mailbox(self, account: Account, name: str) -> Mailbox:
        """MailError(NOT_FOUND) if absent."""
        raise NotImplementedError

    async def create_mailbox(self, account: Account, name: str, special_use: str | None = None) -> Mailbox:
        """Creates missing parents too. MailError(EXISTS), (INVALID) for a bad name."""
        raise NotImplementedError

    async def delete_mailbox(self, account: Account, name: str) -> None:
        """MailError(PERMISSION) for INBOX; children keep existing (RFC 9051 §6.3.5)."""
        raise NotImplementedError

    async def rename_mailbox(self, account: Account, old: str, new: str) -> None:
        """Renames children too. Renaming INBOX moves its messages to a new mailbox
        and leaves INBOX empty (RFC 9051 §6.3.6)."""
        raise NotImplementedError

    async def set_subscribed(self, account: Account, name: str, subscribed: bool) -> None:
        raise NotImplementedError

    async def list_subscriptions(self, account: Account) -> list[str]:
        raise NotImplementedError

    # ---- ingestion --------------------------------------------------------------------
    async def deliver(
        self,
        source: Source,
        recipients: Sequence[str],
        *,
        prepend: bytes = b"",
        mailbox: str = "INBOX",
        flags: frozenset[str] = frozenset(),
        internaldate: float | None = None,
    ) -> DeliveryResult:
        """Store one message for local recipient addresses (aliases resolved, each
        account once) in one transaction; returns only once it is durable. ``prepend``
        (Return-Path, Received) goes before the message bytes. MailError(NOT_FOUND) if no
        recipient is a local account; MailError(TOO_BIG) over the size limit."""
        raise NotImplementedError

    async def append(
        self,
        account: Account,
        mailbox: str,
        source: Source,
        *,
        flags: frozenset[str] = frozenset(),
        internaldate: float | None = None,
        internaldate_tz: int = 0,
    ) -> MessageRecord:
        """IMAP APPEND / webmail save: one message into one mailbox, durable on return."""
        raise NotImplementedError

    # ---- messages ------------------------------------------------------------------------
    async def list_messages(self, mailbox: Mailbox) -> list[MessageRecord]:
        raise NotImplementedError

    async def get_messages(self, mailbox: Mailbox, uids: Sequence[int]) -> list[MessageRecord]:
        raise NotImplementedError

    async def get_content(self, content_id: int) -> Content:
        raise NotImplementedError

    async def read(self, content: Content, offset: int = 0, length: int | None = None) -> bytes:
        """Bytes of the stored message (as received, CRLF), reading only that range."""
        raise NotImplementedError

    def stream(self, content: Content, offset: int = 0, length: int | None = None, chunk: int = 256 * 1024) -> AsyncIterable[bytes]:
        """The same range in chunks, constant memory."""
        raise NotImplementedError

    async def read_part(self, content: Content, part: Sequence[int], offset: int = 0, length: int | None = None) -> bytes:
        """Decoded bytes of one leaf part (IMAP BINARY, HTTP Range), reading only that range."""
        raise NotImplementedError

    async def part_size(self, content: Content, part: Sequence[int]) -> int:
        """Decoded size of one leaf part (IMAP BINARY.SIZE)."""
        raise NotImplementedError

    async def update_flags(self, mailbox: Mailbox, uids: Sequence[int], update: FlagUpdate) -> FlagUpdateResult:
        raise NotImplementedError

    async def expunge(self, mailbox: Mailbox, uids: Sequence[int]) -> None:
        raise NotImplementedError

    async def copy(self, mailbox: Mailbox, uids: Sequence[int], dest: Mailbox, *, move: bool = False) -> list[tuple[int, int]]:
        """(source UID, new UID) pairs; with move the sources are expunged atomically."""
        raise NotImplementedError

    async def changes_since(self, mailbox: Mailbox, modseq: int) -> Changes:
        raise NotImplementedError

    async def search_text(self, mailbox: Mailbox, query: str, field: str) -> set[int]:
        raise NotImplementedError

    def subscribe(self, account: Account) -> ChangeSubscription:
        """Changes to this account's mailboxes (IDLE, POP3, webmail live updates)."""
        raise NotImplementedError

    # ---- maildrop lock (POP3) -------------------------------------------------------------
    async def lock_maildrop(self, account: Account, holder: str) -> bool:
        raise NotImplementedError

    async def unlock_maildrop(self, account: Account, holder: str) -> None:
        raise NotImplementedError
