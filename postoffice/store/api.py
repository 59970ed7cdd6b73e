"""The storage contract: record types, the store's role protocols, BlobStore and ChangeBus.

The metadata store is split by role into narrow protocols, and a backend implements
them all as ``Store``:

- ``DirectoryStore``: domains, accounts with their credentials, aliases;
- ``MailboxStore``: mailboxes and subscriptions;
- ``MessageStore``: messages in mailboxes (insert, flags, expunge, copy, changes,
  search) and the deliveries that brought them (``Delivery``);
- ``ContentStore``: message contents and their parts, and their garbage collection;
- ``LockStore``: named locks with a lifetime, seen by every process.

Every backend passes the same contract suite, one file per role (``tests/store/``).
Operations that must be atomic as a whole run as ONE store call (one transaction):
an account with its first mailboxes (``add_account(mailboxes=...)``), a mailbox
renamed with its children (``rename_mailbox``), a message inserted into every target
mailbox together with its delivery record (``insert_messages(delivery=...)``).

Garbage collection (invariant): a content is removed only when no message refers to
it, inside one transaction that re-checks that (``collect_contents``); a delivery
in flight never needs a content row, since ``insert_messages`` finds an existing
content by SHA-256 inside its own transaction or inserts it anew. Blob files: every
blob a delivery uses is either written by it or found already stored by its writer
(dedup); both make the blob *fresh* (its time is now), under a lock that
``BlobStore.collect`` also takes. The collector lists the blobs contents refer to
only AFTER it removed contents, and removes a blob only when no content refers to
it and it is not fresh within the grace period. So a delivery in flight that has
its blobs but has not inserted its content yet loses nothing, provided it inserts
within the grace period of writing them (``[server] gc_grace``, hours by default;
ingestion takes seconds).

Times are seconds since the epoch (float) plus, where IMAP needs it, a UTC offset in
minutes. Flags are IMAP spellings: system flags with a backslash (``\\Seen``) and
keywords without (``$Forwarded``); ``\\Recent`` is never stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import BinaryIO, Literal, Protocol, get_args, runtime_checkable

from postoffice.store.metadata import MetadataStore  # RFC 5464: the metadata role
from postoffice.store.quota import QuotaStore  # RFC 9208: the quota role

__all__ = [
    "SYSTEM_FLAGS",
    "SearchField",
    "SEARCH_FIELDS",
    "Account",
    "Credentials",
    "Alias",
    "Mailbox",
    "SearchText",
    "NewContent",
    "Content",
    "NewMessage",
    "MessageRecord",
    "FlagSnapshot",
    "StoreTotals",
    "FlagUpdate",
    "FlagUpdateResult",
    "Changes",
    "Change",
    "DeliveryRecipient",
    "NewDelivery",
    "Delivery",
    "MailboxSpec",
    "DirectoryStore",
    "MailboxStore",
    "MessageStore",
    "ContentStore",
    "LockStore",
    "Store",
    "BlobStore",
    "BlobWriter",
    "ChangeBus",
    "ChangeSubscription",
    "CHANGE_ORIGIN",
]


# RFC 9051 §2.3.2: the system flags a message can carry, spelled so in the store; \Recent
# is not stored (RFC 9051 dropped it). In this order IMAP lists them (FLAGS, PERMANENTFLAGS).
SYSTEM_FLAGS: tuple[str, ...] = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")

# The fields of the full-text index (SearchText); "text" is headers and body together.
SearchField = Literal["text", "body", "subject", "from", "to", "cc", "bcc", "headers"]
SEARCH_FIELDS: tuple[SearchField, ...] = get_args(SearchField)


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

    ``layout`` (the part-store recipe that rebuilds the received bytes from
    ``blob_ids``), ``envelope`` and ``bodystructure`` are opaque to the store: only
    ``postoffice.mail.codec`` writes and reads them (as typed values).
    """

    sha256: str  # of the stored (CRLF-normalised) message bytes
    size: int  # octets of the stored message
    layout: bytes
    blob_ids: tuple[str, ...]  # every blob the layout references
    envelope: bytes  # opaque: the ENVELOPE (mail.codec)
    bodystructure: bytes  # opaque: the part tree with offsets for sections (mail.codec)
    preview: str = ""
    subject: str = ""  # decoded, for sorting and listing
    from_: str = ""  # decoded display of From
    to: str = ""
    date: float | None = None  # Date: header, epoch seconds
    message_id: str = ""
    search: SearchText = field(default_factory=SearchText)
    extra: str = "{}"  # JSON: anything else precomputed (media facts, ...); never the SMTP envelope
    thread_keys: str | None = None  # opaque: conversation keys (mail.conversations); None: not worked out


@dataclass(frozen=True, slots=True)
class Content:
    id: int
    sha256: str
    size: int
    layout: bytes
    blob_ids: tuple[str, ...]
    envelope: bytes  # opaque, as NewContent
    bodystructure: bytes  # opaque, as NewContent
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
class DeliveryRecipient:
    """One RCPT TO of a delivery with its RFC 3461 DSN parameters."""

    address: str  # the local address delivered to, canonical "local@domain"
    notify: tuple[str, ...] | None = None  # RFC 3461 §4.1: ("NEVER",) or SUCCESS/FAILURE/DELAY
    orcpt: tuple[str, str] | None = None  # RFC 3461 §4.2: (addr-type, decoded address)


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """The envelope of one delivery (RFC 5321 §2.3.1): it belongs to the delivery,
    not to the content, so two deliveries of the same bytes keep their own."""

    sender: str  # reverse-path, "" for the null reverse-path (RFC 5321 §4.5.5)
    recipients: tuple[DeliveryRecipient, ...]
    received: float  # epoch seconds
    ret: str | None = None  # RFC 3461 §4.3: "FULL" or "HDRS"
    envid: str | None = None  # RFC 3461 §4.4, decoded
    body: str | None = None  # RFC 6152 / RFC 3030: 7BIT, 8BITMIME, BINARYMIME
    smtputf8: bool = False  # RFC 6531
    declared_size: int | None = None  # RFC 1870 SIZE= of MAIL FROM
    listener: str = ""  # "smtp", "submission", ...; "" when not received by SMTP
    client_ip: str = ""
    helo: str = ""
    tls: bool = False
    auth: str = ""  # the authenticated account's address (submission), else ""


@dataclass(frozen=True, slots=True)
class Delivery:
    """A stored delivery: its envelope, the content it carried, where it landed."""

    id: int
    content_id: int
    envelope: NewDelivery
    mailboxes: tuple[tuple[int, int, int], ...]  # (account id, mailbox id, UID) per copy


@dataclass(frozen=True, slots=True)
class MailboxSpec:
    """A mailbox to create with a new account (``add_account(mailboxes=...)``)."""

    name: str
    special_use: str | None = None
    subscribed: bool = True


@dataclass(frozen=True, slots=True)
class StoreTotals:
    """The figures of the whole store, kept as messages come and go (read in O(1))."""

    messages: int  # message records in every mailbox
    raw_bytes: int  # their octets, once per mailbox holding a message
    contents: int  # distinct contents some message refers to
    content_bytes: int  # their octets, each once: what dedup keeps


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
    # RFC 8514: when the message was saved in this mailbox (delivery, APPEND, COPY,
    # MOVE); None for a message stored before save dates were kept.
    savedate: float | None = None


@dataclass(frozen=True, slots=True)
class FlagSnapshot:
    """Every message of a mailbox as an IMAP view first needs it: three parallel lists
    in UID order (``Store.list_flags``), no record per message. Equal flag sets are
    one shared frozenset."""

    uids: list[int]
    flags: list[frozenset[str]]
    modseqs: list[int]


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


# Who makes the changes of the running task: a protocol session sets it for its task
# (IMAP NOTIFY, RFC 5465 §5: a client need not be told of its own changes), and every
# Change made in that task carries it. It never crosses processes: a change another
# process made is nobody's own here.
CHANGE_ORIGIN: ContextVar[int | None] = ContextVar("change_origin", default=None)


@dataclass(frozen=True, slots=True)
class Change:
    """Published on the ChangeBus after a commit."""

    account_id: int
    mailbox_id: int | None  # None: the mailbox list (or the subscriptions) changed; for
    # "metadata", None names the account's server annotations (RFC 5464)
    kind: Literal["append", "flags", "expunge", "mailbox", "metadata"]
    modseq: int = 0
    uids: tuple[int, ...] = ()
    origin: int | None = field(default_factory=CHANGE_ORIGIN.get, compare=False)  # see CHANGE_ORIGIN


@runtime_checkable
class DirectoryStore(Protocol):
    """Domains, accounts and their credentials, aliases."""

    # domains
    async def add_domain(self, name: str) -> None: ...  # MailError(EXISTS)
    async def list_domains(self) -> list[str]: ...

    # accounts
    async def add_account(
        self, address: str, credentials: Credentials, mailboxes: Sequence[MailboxSpec] = ()
    ) -> Account: ...
    # ^ EXISTS for a duplicate address or mailbox name: then nothing is created. The
    #   account, its credentials and ``mailboxes`` (with their subscriptions) are one
    #   transaction.
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


@runtime_checkable
class MailboxStore(Protocol):
    """Mailboxes ("/"-separated hierarchical names) and subscriptions."""

    async def create_mailbox(self, account_id: int, name: str, special_use: str | None = None) -> Mailbox: ...
    async def get_mailbox(self, account_id: int, name: str) -> Mailbox | None: ...
    async def get_mailbox_by_id(self, mailbox_id: int) -> Mailbox | None: ...
    async def list_mailboxes(self, account_id: int) -> list[Mailbox]: ...
    async def rename_mailbox(self, mailbox_id: int, new_name: str) -> Mailbox: ...
    # ^ renames the mailbox AND its children ("old/..." -> "new/..."), creates the
    #   missing parents of ``new_name`` and moves the subscriptions of the renamed
    #   names, in one transaction: MailError(EXISTS) if any new name is taken, and
    #   then nothing changed. UIDVALIDITY is kept (values are unique in the store).
    #   RFC 9051 §6.3.6: renaming INBOX creates ``new_name`` (and its missing parents)
    #   and moves every message of INBOX there, atomically; INBOX stays, empty, with
    #   its children; the new mailbox is returned.
    async def delete_mailbox(self, mailbox_id: int) -> None: ...
    async def set_uidvalidity(self, mailbox_id: int, uidvalidity: int, uidnext: int) -> Mailbox: ...
    # ^ import only: set UIDVALIDITY and raise UIDNEXT to at least ``uidnext`` (never
    #   lowered), so an imported Maildir keeps its UIDs (NewMessage.uid). NOT_FOUND.
    async def set_subscribed(self, account_id: int, name: str, subscribed: bool) -> None: ...
    async def list_subscriptions(self, account_id: int) -> list[str]: ...


@runtime_checkable
class MessageStore(Protocol):
    """Messages in mailboxes, and the deliveries that brought them."""

    async def insert_messages(
        self, content: NewContent, targets: Sequence[NewMessage], delivery: NewDelivery | None = None
    ) -> list[MessageRecord]: ...
    # ^ one transaction: the content (found by SHA-256, else inserted), a message per
    #   target and, with ``delivery``, its Delivery record naming every copy.
    async def list_messages(self, mailbox_id: int) -> list[MessageRecord]: ...  # by UID
    async def list_flags(self, mailbox_id: int) -> FlagSnapshot: ...  # UIDs, flags, MODSEQs, by UID
    async def get_messages(self, mailbox_id: int, uids: Sequence[int]) -> list[MessageRecord]: ...
    async def claim_recent(self, mailbox_id: int, *, claim: bool = True) -> int: ...
    # ^ RFC 3501 \Recent: the highest UID already announced as recent to some session
    #   (UIDs above it are recent for the caller); with ``claim`` the marker is raised to
    #   UIDNEXT-1 in the same transaction, so each message is recent in one session only.
    async def update_flags(self, mailbox_id: int, uids: Sequence[int], update: FlagUpdate) -> FlagUpdateResult: ...
    async def expunge(self, mailbox_id: int, uids: Sequence[int]) -> int: ...  # new HIGHESTMODSEQ
    async def copy_messages(
        self, src_mailbox_id: int, uids: Sequence[int], dest_mailbox_id: int, *, move: bool = False
    ) -> list[tuple[int, int]]: ...  # (source UID, new UID) pairs
    async def changes_since(self, mailbox_id: int, modseq: int) -> Changes: ...
    async def search_text(self, mailbox_id: int, query: str, field: SearchField) -> set[int]: ...
    # ^ UIDs whose decoded field contains the query (case-insensitive)
    async def deliveries_of_content(self, content_id: int) -> list[Delivery]: ...  # oldest first
    async def deliveries_of_account(self, account_id: int, *, since: float = 0.0) -> list[Delivery]: ...
    # ^ deliveries that left a copy with the account, received at or after ``since``,
    #   oldest first. A delivery record lives as long as its content.


@runtime_checkable
class ContentStore(Protocol):
    """Message contents (the part-store layout and what readers need), their blobs'
    references, and garbage collection of contents nothing refers to."""

    async def get_content(self, content_id: int) -> Content: ...
    async def get_contents(self, content_ids: Sequence[int]) -> dict[int, Content]: ...
    # ^ batch read (IMAP SEARCH SENT*/HEADER over a whole mailbox); unknown ids are left out
    async def find_content(self, sha256: str) -> Content | None: ...
    async def list_blob_ids(self) -> set[str]: ...  # every blob referenced by any content
    async def store_totals(self) -> StoreTotals: ...
    # ^ the whole store's figures without a scan (kept as messages are inserted and removed)
    async def collect_contents(self, limit: int = 1000) -> tuple[int, bool]: ...
    # ^ look at up to ``limit`` contents that may have lost their last message and
    #   remove those no message refers to (re-checked inside the removing transaction),
    #   with their search text and index rows, their blob references and their delivery
    #   records. Returns (how many were removed, whether more are left to look at).
    async def mark_search_text_stale(self, version: int) -> int: ...
    # ^ the stored search text was made by text extraction ``version`` or older: if the
    #   store's version is lower, list every content's text as stale and record
    #   ``version`` (one transaction); returns how many texts are stale now
    async def stale_search_texts(self, limit: int) -> list[int]: ...  # content ids, oldest first
    async def replace_search_text(self, content_id: int, text: SearchText | None) -> None: ...
    # ^ the text made again (indexed like new mail: a search sees it at once); None keeps
    #   the old text. Either way the content leaves the stale list; a content gone is ignored


@runtime_checkable
class LockStore(Protocol):
    """Named locks with a lifetime, held in the store so every process sees them
    (POP3 maildrop locks, RFC 1939 §8)."""

    async def acquire_lock(self, name: str, holder: str, ttl: float) -> bool: ...
    async def release_lock(self, name: str, holder: str) -> None: ...

    # submission rate ([limits.smtp] max_messages_per_hour), counted for every process
    async def count_submissions(self, account_id: int, since: float) -> int: ...  # messages at or after ``since``
    async def record_submission(self, account_id: int, at: float, forget_before: float) -> None: ...
    # ^ one message accepted at ``at``; the account's records before ``forget_before`` are dropped


@runtime_checkable
class Store(DirectoryStore, MailboxStore, MessageStore, ContentStore, LockStore, QuotaStore, MetadataStore, Protocol):
    """Every role of the metadata store; what a backend implements. Every method
    commits durably before it returns."""

    async def close(self) -> None: ...


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
    def list_ids(self) -> list[str]: ...  # every stored blob
    def collect(self, blob_id: str, grace: float) -> bool: ...
    # ^ garbage collection of one blob no content refers to: remove it unless it was
    #   written, or found again by a writer (dedup), within the last ``grace`` seconds.
    #   Exclusive with a writer's finish on the same store (across processes for files),
    #   so a blob a delivery in flight relies on is never removed under it.


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
