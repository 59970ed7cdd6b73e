"""The storage contract: record types and the Store, BlobStore and ChangeBus protocols.

Every backend passes the same contract suite (``tests/store/test_contract.py``).
Times are seconds since the epoch (float) plus, where IMAP needs it, a UTC offset in
minutes. Flags are IMAP spellings: system flags with a backslash (``\\Seen``) and
keywords without (``$Forwarded``); ``\\Recent`` is never stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO, Literal, Protocol, runtime_checkable

__all__ = [
    "Account",
    "Credentials",
    "Alias",
    "Mailbox",
    "SearchText",
    "NewContent",
    "Content",
    "NewMessage",
    "MessageRecord",
    "FlagUpdate",
    "FlagUpdateResult",
    "Changes",
    "Change",
    "Store",
    "BlobStore",
    "BlobWriter",
    "ChangeBus",
    "ChangeSubscription",
]


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    address: str  # canonical "local@domain", domain lower-cased, local part lower-cased
    created: float


@dataclass(frozen=True, slots=True)
class Credentials:
    """Never a clear password: an argon2id hash and SCRAM-SHA-256 keys (RFC 5802/7677)."""

    argon2_hash: str
    scram_salt: bytes
    scram_iterations: int
    scram_stored_key: bytes
    scram_server_key: bytes


@dataclass(frozen=True, slots=True)
class Alias:
    address: str
    target: str


@dataclass(frozen=True, slots=True)
class Mailbox:
    id: int
    account_id: int
    name: str  # full hierarchical name, "/" separated, UTF-8; "INBOX" always spelled so
    uidvalidity: int
    uidnext: int
    highest_modseq: int
    special_use: str | None = None  # "\\Sent", "\\Drafts", "\\Trash", "\\Junk", "\\Archive"
    # Derived counters, maintained by the store.
    messages: int = 0
    unseen: int = 0
    deleted: int = 0
    size: int = 0  # sum of message sizes (STATUS SIZE)


@dataclass(frozen=True, slots=True)
class SearchText:
    """Decoded text fed to the full-text index at ingestion."""

    from_: str = ""
    to: str = ""
    cc: str = ""
    bcc: str = ""
    subject: str = ""
    headers: str = ""  # every header, decoded, "Name: value" lines
    body: str = ""  # decoded text of every text part


@dataclass(frozen=True, slots=True)
class NewContent:
    """One message's bytes as the part store keeps them, plus what readers need.

    ``layout`` is the part-store recipe (opaque to the store; built and read by
    ``mail``) that rebuilds the received bytes from ``blob_ids``.
    """

    sha256: str  # of the stored (CRLF-normalised) message bytes
    size: int  # octets of the stored message
    layout: bytes
    blob_ids: tuple[str, ...]  # every blob the layout references
    envelope: str  # JSON: IMAP ENVELOPE data
    bodystructure: str  # JSON: IMAP BODYSTRUCTURE data (with offsets for sections)
    preview: str = ""
    subject: str = ""  # decoded, for sorting and listing
    from_: str = ""  # decoded display of From
    to: str = ""
    date: float | None = None  # Date: header, epoch seconds
    message_id: str = ""
    search: SearchText = field(default_factory=SearchText)
    extra: str = "{}"  # JSON: anything else precomputed (media facts, DSN envelope, ...)


@dataclass(frozen=True, slots=True)
class Content:
    id: int
    sha256: str
    size: int
    layout: bytes
    blob_ids: tuple[str, ...]
    envelope: str
    bodystructure: str
    preview: str
    subject: str
    from_: str
    to: str
    date: float | None
    message_id: str
    extra: str


@dataclass(frozen=True, slots=True)
class NewMessage:
    """Where a new content goes: one mailbox, with its initial flags and date."""

    mailbox_id: int
    flags: frozenset[str] = frozenset()
    internaldate: float = 0.0
    internaldate_tz: int = 0  # minutes east of UTC
    # Import only (Maildir dovecot-uidlist): use this UID instead of the mailbox's
    # UIDNEXT. It must be unused in the mailbox (else MailError(EXISTS)); UIDNEXT
    # becomes max(UIDNEXT, uid + 1). None: the next UID, as for any delivery.
    uid: int | None = None


@dataclass(frozen=True, slots=True)
class MessageRecord:
    mailbox_id: int
    uid: int
    content_id: int
    flags: frozenset[str]
    modseq: int
    internaldate: float
    internaldate_tz: int
    size: int


@dataclass(frozen=True, slots=True)
class FlagUpdate:
    mode: Literal["set", "add", "remove"]
    flags: frozenset[str]
    unchangedsince: int | None = None  # RFC 7162 CONDSTORE


@dataclass(frozen=True, slots=True)
class FlagUpdateResult:
    updated: tuple[MessageRecord, ...]  # records whose flags changed (new modseq)
    failed: tuple[int, ...]  # UIDs refused by UNCHANGEDSINCE
    highest_modseq: int


@dataclass(frozen=True, slots=True)
class Changes:
    """What changed in a mailbox after a MODSEQ (CONDSTORE/QRESYNC, IMAP views)."""

    changed: tuple[MessageRecord, ...]  # added or flag-changed, modseq > since
    expunged: tuple[int, ...]  # UIDs expunged with modseq > since
    highest_modseq: int


@dataclass(frozen=True, slots=True)
class Change:
    """Published on the ChangeBus after a commit."""

    account_id: int
    mailbox_id: int | None  # None: the mailbox list itself changed
    kind: Literal["append", "flags", "expunge", "mailbox"]
    modseq: int = 0
    uids: tuple[int, ...] = ()


@runtime_checkable
class Store(Protocol):
    """Metadata storage. Every method commits durably before it returns."""

    async def close(self) -> None: ...

    # domains
    async def add_domain(self, name: str) -> None: ...  # MailError(EXISTS)
    async def list_domains(self) -> list[str]: ...

    # accounts
    async def add_account(self, address: str, credentials: Credentials) -> Account: ...  # EXISTS
    async def get_account(self, address: str) -> Account | None: ...
    async def get_account_by_id(self, account_id: int) -> Account | None: ...
    async def list_accounts(self) -> list[Account]: ...
    async def delete_account(self, account_id: int) -> None: ...
    async def get_credentials(self, account_id: int) -> Credentials | None: ...
    async def set_credentials(self, account_id: int, credentials: Credentials) -> None: ...

    # aliases (address -> target address; one address may have several targets)
    async def add_alias(self, address: str, target: str) -> None: ...  # EXISTS
    async def delete_alias(self, address: str, target: str | None = None) -> None: ...  # NOT_FOUND
    async def list_aliases(self) -> list[Alias]: ...
    async def get_alias_targets(self, address: str) -> list[str]: ...

    # mailboxes
    async def create_mailbox(self, account_id: int, name: str, special_use: str | None = None) -> Mailbox: ...
    async def get_mailbox(self, account_id: int, name: str) -> Mailbox | None: ...
    async def get_mailbox_by_id(self, mailbox_id: int) -> Mailbox | None: ...
    async def list_mailboxes(self, account_id: int) -> list[Mailbox]: ...
    async def rename_mailbox(self, mailbox_id: int, new_name: str) -> Mailbox: ...
    async def delete_mailbox(self, mailbox_id: int) -> None: ...
    async def set_uidvalidity(self, mailbox_id: int, uidvalidity: int, uidnext: int) -> Mailbox: ...
    # ^ import only: set UIDVALIDITY and raise UIDNEXT to at least ``uidnext`` (never
    #   lowered), so an imported Maildir keeps its UIDs (NewMessage.uid). NOT_FOUND.
    async def set_subscribed(self, account_id: int, name: str, subscribed: bool) -> None: ...
    async def list_subscriptions(self, account_id: int) -> list[str]: ...

    # messages
    async def insert_messages(self, content: NewContent, targets: Sequence[NewMessage]) -> list[MessageRecord]: ...
    async def list_messages(self, mailbox_id: int) -> list[MessageRecord]: ...  # by UID
    async def get_messages(self, mailbox_id: int, uids: Sequence[int]) -> list[MessageRecord]: ...
    async def get_content(self, content_id: int) -> Content: ...
    async def get_contents(self, content_ids: Sequence[int]) -> dict[int, Content]: ...
    # ^ batch read (IMAP SEARCH SENT*/HEADER over a whole mailbox); unknown ids are left out
    async def claim_recent(self, mailbox_id: int, *, claim: bool = True) -> int: ...
    # ^ RFC 3501 \Recent: the highest UID already announced as recent to some session
    #   (UIDs above it are recent for the caller); with ``claim`` the marker is raised to
    #   UIDNEXT-1 in the same transaction, so each message is recent in one session only.
    async def find_content(self, sha256: str) -> Content | None: ...
    async def update_flags(self, mailbox_id: int, uids: Sequence[int], update: FlagUpdate) -> FlagUpdateResult: ...
    async def expunge(self, mailbox_id: int, uids: Sequence[int]) -> int: ...  # new HIGHESTMODSEQ
    async def copy_messages(
        self, src_mailbox_id: int, uids: Sequence[int], dest_mailbox_id: int, *, move: bool = False
    ) -> list[tuple[int, int]]: ...  # (source UID, new UID) pairs
    async def changes_since(self, mailbox_id: int, modseq: int) -> Changes: ...
    async def search_text(
        self,
        mailbox_id: int,
        query: str,
        field: Literal["text", "body", "subject", "from", "to", "cc", "bcc", "headers"],
    ) -> set[int]: ...  # UIDs whose decoded field contains the query (case-insensitive)
    async def list_blob_ids(self) -> set[str]: ...  # every blob referenced by any content

    # maildrop locks (POP3), held in the store so every process sees them
    async def acquire_lock(self, name: str, holder: str, ttl: float) -> bool: ...
    async def release_lock(self, name: str, holder: str) -> None: ...

    # submission rate ([limits.smtp] max_messages_per_hour), counted for every process
    async def count_submissions(self, account_id: int, since: float) -> int: ...  # messages at or after ``since``
    async def record_submission(self, account_id: int, at: float, forget_before: float) -> None: ...
    # ^ one message accepted at ``at``; the account's records before ``forget_before`` are dropped


class BlobWriter(Protocol):
    """Streams one blob in; ``finish`` fsyncs, renames into place and returns its id."""

    def write(self, data: bytes) -> None: ...
    def finish(self) -> str: ...  # the blob id: SHA-256 hex of the bytes
    def abort(self) -> None: ...


@runtime_checkable
class BlobStore(Protocol):
    """Immutable content-addressed blobs. Blocking: call from threads.

    ``bytes_read`` counts every byte read from blobs, so tests can check that a ranged
    read reads only what it sends.
    """

    bytes_read: int

    def writer(self) -> BlobWriter: ...
    def put(self, data: bytes) -> str: ...
    def exists(self, blob_id: str) -> bool: ...
    def size(self, blob_id: str) -> int: ...
    def read(self, blob_id: str, offset: int = 0, length: int | None = None) -> bytes: ...
    def open(self, blob_id: str) -> BinaryIO: ...  # for sendfile/streaming; reads are not counted
    def delete(self, blob_id: str) -> None: ...
    def total_size(self) -> int: ...


class ChangeSubscription(Protocol):
    def __aiter__(self) -> AsyncIterator[Change]: ...
    async def get(self) -> Change: ...
    def pending(self) -> list[Change]: ...  # drain without waiting
    def close(self) -> None: ...


@runtime_checkable
class ChangeBus(Protocol):
    """Cross-session notifications; published only after commit."""

    def publish(self, change: Change) -> None: ...
    def subscribe(self, account_id: int) -> ChangeSubscription: ...
