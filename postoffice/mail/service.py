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

Invariants: a delivery is all or nothing — every recipient resolves to a mailbox, or
``deliver`` raises ``UnknownRecipients`` before anything is stored; the messages of
all recipients and the delivery's envelope (``NewDelivery``) are one transaction.
Garbage collection (``collect_garbage``) follows the rules in ``store/api.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterable, AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from postoffice.clock import Clock, SystemClock
from postoffice.config import Config
from postoffice.errors import Kind, MailError
from postoffice.mail.auth import Authenticator, make_credentials
from postoffice.mail.codec import decode_bodystructure, decode_envelope, decode_layout
from postoffice.mail.ingest import SEARCH_TEXT_VERSION, ingest, search_text_again
from postoffice.mail.names import (
    SEPARATOR,
    canonical_address,
    canonical_domain,
    canonical_mailbox,
    parent_names,
    split_address,
    validate_mailbox_name,
)
from postoffice.mail.parts import Leaf, SkeletonSegment, StoredMessage, encode_b64_lines
from postoffice.mail.quota import QuotaUsage
from postoffice.mail.sections import SectionSpec, section_span, select_header_fields
from postoffice.message.structure import BodyStructure, Envelope
from postoffice.observe import metrics
from postoffice.store.api import (
    SEARCH_FIELDS,
    Account,
    Alias,
    BlobStore,
    Change,
    ChangeBus,
    Changes,
    ChangeSubscription,
    Content,
    Delivery,
    FlagSnapshot,
    FlagUpdate,
    FlagUpdateResult,
    Mailbox,
    MailboxSpec,
    MessageRecord,
    NewContent,
    NewDelivery,
    NewMessage,
    Store,
)
from postoffice.store.shared import LocalSharedState, SharedState

if TYPE_CHECKING:
    from postoffice.mail.media import MediaService
    from postoffice.mail.outbound import Outbound

__all__ = ["MailService", "DeliveryResult", "GarbageCollected", "Source", "SPECIAL_USE_FOLDERS", "UnknownRecipients"]

log = logging.getLogger(__name__)

Source = bytes | AsyncIterable[bytes] | Path

# Folders every new account gets besides INBOX (name, RFC 6154 attribute).
SPECIAL_USE_FOLDERS: tuple[tuple[str, str], ...] = (
    ("Sent", "\\Sent"),
    ("Drafts", "\\Drafts"),
    ("Trash", "\\Trash"),
    ("Junk", "\\Junk"),
    ("Archive", "\\Archive"),
)


# RFC 5321 §4.5.1 and RFC 2142: every domain has these, as aliases of its first user
# unless an account or an explicit alias of that name exists.
IMPLICIT_ROLES = ("postmaster", "abuse")
_DIRECTORY = "directory"  # the shared generation of users, aliases, domains, mailboxes
MAX_ALIAS_DEPTH = 8
_B64_LINE = 57  # decoded octets per 76-character base64 line (RFC 2045 §6.8)


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    content_id: int
    size: int
    records: tuple[MessageRecord, ...]  # one per target mailbox


@dataclass(frozen=True, slots=True)
class GarbageCollected:
    contents: int  # content rows removed (no message referred to them)
    blobs: int  # blob files removed (no content referred to them)


class UnknownRecipients(MailError):
    """Recipients of a delivery that do not resolve (any more) to a local mailbox:
    nothing of the delivery was stored. ``every``: no recipient resolved at all."""

    def __init__(self, addresses: Sequence[str], *, every: bool) -> None:
        super().__init__(Kind.NOT_FOUND, "no such recipient: " + ", ".join(addresses))
        self.addresses = tuple(addresses)
        self.every = every


def _section(part: Sequence[int] | str) -> str:
    """"1.2" for (1, 2): the part store names leaf parts by IMAP section number."""
    return part if isinstance(part, str) else ".".join(str(n) for n in part)


_SNAPSHOT_CACHE_UIDS = 300_000  # messages of the SELECT snapshots kept per process (about 30 MB)


class MailService:
    """Accounts, mailboxes and messages over one Store, BlobStore and ChangeBus."""

    def __init__(
        self,
        config: Config,
        store: Store,
        blobs: BlobStore,
        bus: ChangeBus,
        clock: Clock | None = None,
        *,
        shared: SharedState | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.blobs = blobs
        self.bus = bus
        self.clock: Clock = clock or SystemClock()
        # State every process on the data dir sees (store.shared): login failure records,
        # session leases, the directory generation.
        self.shared: SharedState = shared if shared is not None else LocalSharedState()
        self.auth = Authenticator(store, config.auth, self.clock, shared=self.shared)
        # Directory cache (``[auth] directory_cache``): found answers only, kept at most
        # the TTL, and dropped at once when any process on the data dir changes a user,
        # alias, domain or mailbox (it bumps the shared "directory" generation).
        self._cache_ttl = config.auth.directory_cache
        self._generation = self.shared.generation(_DIRECTORY)
        self._bumps: set[asyncio.Task[int]] = set()
        self._spool_dir = config.spool_dir  # a property that builds a Path: once, not per message
        self._domains: tuple[float, frozenset[str]] | None = None
        self._recipients: dict[str, tuple[float, list[Account]]] = {}
        self._inboxes: dict[tuple[int, str], tuple[float, Mailbox]] = {}
        # SELECT snapshots (list_flags) by mailbox id, with the mailbox state they were
        # read at; valid while that state is unchanged (see list_flags).
        self._snapshots: dict[int, tuple[tuple[int, int, int, int], FlagSnapshot]] = {}
        # Mail for other servers (the outbound queue), set by the composition root; None: no relay.
        self.outbound: Outbound | None = None
        # Media facts at ingestion (mail/media.py), set by the composition root; None: not probed.
        self.media: MediaService | None = None
        self._search_version_marked = 0  # the extraction version the store was told of (reindex_search_text)

    def reconfigure(self, config: Config) -> None:
        """SIGHUP: read limits, ``[auth]``, ``[quota]`` and the collector's timing from
        ``config`` from now on (the lifecycle says which keys may change live)."""
        self.config = config
        self.auth.config = config.auth
        self._cache_ttl = config.auth.directory_cache

    # ---- directory cache ------------------------------------------------------------
    def _fresh(self, stamp: float) -> bool:
        generation = self.shared.generation(_DIRECTORY)
        if generation != self._generation:  # another process changed the directory
            self._generation = generation
            self._drop_cache()
            return False
        return time.monotonic() - stamp < self._cache_ttl

    def _drop_cache(self) -> None:
        self._domains = None
        self._recipients.clear()
        self._inboxes.clear()

    def forget_directory(self) -> None:
        """Drop every cached domain, recipient and mailbox (after a change made here),
        and bump the shared directory generation so every other process drops its own
        (:meth:`settle` waits for the bump)."""
        self._drop_cache()
        task = asyncio.ensure_future(self._bump_directory())
        self._bumps.add(task)
        task.add_done_callback(self._bumps.discard)

    async def _bump_directory(self) -> int:
        value = await self.shared.bump(_DIRECTORY)
        if value == self._generation + 1:
            self._generation = value  # only our own bump: what we cached since stays good
        return value

    async def settle(self) -> None:
        """Wait until every directory change made here is visible to other processes."""
        if self._bumps:
            await asyncio.gather(*self._bumps)
        if self.media is not None:
            await self.media.settle()

    def _remember(self, cache: dict[Any, tuple[float, Any]], key: Any, value: Any) -> None:
        if self._cache_ttl > 0:
            if len(cache) >= 10_000:  # bounded: an attacker's RCPT list cannot grow it
                cache.clear()
            cache[key] = (time.monotonic(), value)

    async def _has_local_domain(self, domain: str) -> bool:
        """``domain`` (canonical) is local; a cached yes, else a fresh read."""
        if self._domains is not None and self._fresh(self._domains[0]) and domain in self._domains[1]:
            return True
        return domain in await self.local_domains()

    # ---- domains, accounts, aliases -------------------------------------------------
    async def local_domains(self) -> set[str]:
        """Config domains plus domains added with ``domain add``."""
        domains = set(self.config.domains) | set(await self.store.list_domains())
        if self._cache_ttl > 0:
            self._domains = (time.monotonic(), frozenset(domains))
        return domains

    async def is_local_domain(self, domain: str) -> bool:
        try:
            return await self._has_local_domain(canonical_domain(domain))
        except MailError:
            return False

    async def add_domain(self, domain: str) -> None:
        domain = canonical_domain(domain)
        if domain in self.config.domains:
            raise MailError(Kind.EXISTS, f"domain {domain} is already local (in the config file)")
        await self.store.add_domain(domain)
        self.forget_directory()

    async def add_user(self, address: str, password: str) -> Account:
        """Create the account with credentials, INBOX and the special-use folders.

        MailError(INVALID) for a malformed address, (NOT_FOUND) for a non-local domain,
        (EXISTS) for a duplicate."""
        address = canonical_address(address)
        domain = address.rsplit("@", 1)[1]
        if domain not in await self.local_domains():
            raise MailError(Kind.NOT_FOUND, f"{domain} is not a local domain (add it with 'domain add {domain}')")
        if not password:
            raise MailError(Kind.INVALID, "empty password")
        if await self.store.get_account(address) is not None:
            raise MailError(Kind.EXISTS, f"user {address} already exists")
        credentials = await asyncio.to_thread(
            make_credentials, password, iterations=self.config.auth.scram_iterations
        )
        # One transaction: the account never exists without its folders.
        folders = [MailboxSpec("INBOX")] + [MailboxSpec(name, use) for name, use in SPECIAL_USE_FOLDERS]
        account = await self.store.add_account(address, credentials, folders)
        self.forget_directory()  # postmaster@/abuse@ may point at the new first user
        return account

    async def set_password(self, address: str, password: str) -> None:
        account = await self._account(address)
        if not password:
            raise MailError(Kind.INVALID, "empty password")
        credentials = await asyncio.to_thread(
            make_credentials, password, iterations=self.config.auth.scram_iterations
        )
        await self.store.set_credentials(account.id, credentials)

    async def delete_user(self, address: str) -> None:
        account = await self._account(address)
        await self.store.delete_account(account.id)
        self.forget_directory()

    async def list_users(self) -> list[Account]:
        return await self.store.list_accounts()

    async def get_account(self, address: str) -> Account | None:
        try:
            return await self.store.get_account(canonical_address(address))
        except MailError:
            return None

    async def _account(self, address: str) -> Account:
        account = await self.get_account(address)
        if account is None:
            raise MailError(Kind.NOT_FOUND, f"no user {address}")
        return account

    async def add_alias(self, address: str, target: str) -> None:
        address = canonical_address(address)
        target = canonical_address(target)
        if address.rsplit("@", 1)[1] not in await self.local_domains():
            raise MailError(Kind.NOT_FOUND, f"{address.rsplit('@', 1)[1]} is not a local domain")
        if address == target:
            raise MailError(Kind.INVALID, "an alias cannot point at itself")
        if await self.store.get_account(address) is not None:
            raise MailError(Kind.EXISTS, f"{address} is a user")
        await self.store.add_alias(address, target)
        self.forget_directory()

    async def delete_alias(self, address: str) -> None:
        await self.store.delete_alias(canonical_address(address))
        self.forget_directory()

    async def list_aliases(self) -> list[Alias]:
        """Explicit aliases plus the implicit postmaster@/abuse@ of every domain."""
        aliases = list(await self.store.list_aliases())
        explicit = {a.address for a in aliases}
        accounts = await self.store.list_accounts()
        users = {a.address for a in accounts}
        for domain in sorted(await self.local_domains()):
            first = self._first_user(accounts, domain)
            if first is None:
                continue
            for role in IMPLICIT_ROLES:
                address = f"{role}@{domain}"
                if address not in users and address not in explicit:
                    aliases.append(Alias(address, first.address))
        return aliases

    @staticmethod
    def _first_user(accounts: Sequence[Account], domain: str) -> Account | None:
        in_domain = [a for a in accounts if a.address.rsplit("@", 1)[1] == domain]
        return min(in_domain, key=lambda a: a.id) if in_domain else None

    async def resolve_recipient(self, address: str, *, _depth: int = 0) -> list[Account]:
        """Accounts a local address delivers to (account, alias, postmaster/abuse).

        [] when the domain is local but nobody has that address; MailError(NOT_FOUND)
        when the domain is not local."""
        local, domain = split_address(address)
        if not await self._has_local_domain(domain):
            raise MailError(Kind.NOT_FOUND, f"{domain} is not a local domain")
        address = f"{local}@{domain}"
        cached = self._recipients.get(address)
        if cached is not None and self._fresh(cached[0]):
            return list(cached[1])
        found = await self._resolve(address, local, domain, _depth)
        if found:
            self._remember(self._recipients, address, found)
        return found

    async def _resolve(self, address: str, local: str, domain: str, _depth: int) -> list[Account]:
        account = await self.store.get_account(address)
        if account is not None:
            return [account]
        targets = await self.store.get_alias_targets(address)
        if targets:
            found: dict[int, Account] = {}
            if _depth >= MAX_ALIAS_DEPTH:
                return []
            for target in targets:
                try:
                    for a in await self.resolve_recipient(target, _depth=_depth + 1):
                        found[a.id] = a
                except MailError:
                    continue  # a target outside our domains needs the outbound queue
            return list(found.values())
        if local in IMPLICIT_ROLES:
            first = self._first_user(await self.store.list_accounts(), domain)
            return [first] if first else []
        return []

    async def addresses_of(self, account: Account) -> set[str]:
        """Every address the account may send as: its own and aliases pointing at it."""
        result = {account.address}
        for alias in await self.list_aliases():
            if alias.target == account.address:
                result.add(alias.address)
        return result

    # ---- mailboxes ------------------------------------------------------------------
    def _validate(self, name: str) -> str:
        limits = self.config.limits.imap
        return validate_mailbox_name(name, max_length=limits.max_mailbox_name_length, max_depth=limits.max_mailbox_depth)

    async def list_mailboxes(self, account: Account) -> list[Mailbox]:
        return await self.store.list_mailboxes(account.id)

    async def get_mailbox(self, account: Account, name: str) -> Mailbox:
        """MailError(NOT_FOUND) if absent."""
        mailbox = await self.store.get_mailbox(account.id, canonical_mailbox(name))
        if mailbox is None:
            raise MailError(Kind.NOT_FOUND, f"no mailbox {name}")
        return mailbox

    async def create_mailbox(self, account: Account, name: str, special_use: str | None = None) -> Mailbox:
        """Creates missing parents too. MailError(EXISTS), (INVALID) for a bad name."""
        name = self._validate(name)
        if await self.store.get_mailbox(account.id, name) is not None:
            raise MailError(Kind.EXISTS, f"mailbox {name} already exists")
        for parent in parent_names(name):
            if await self.store.get_mailbox(account.id, parent) is None:
                await self.store.create_mailbox(account.id, parent)
        mailbox = await self.store.create_mailbox(account.id, name, special_use)
        self.bus.publish(Change(account.id, None, "mailbox"))
        return mailbox

    async def delete_mailbox(self, account: Account, name: str) -> None:
        """MailError(PERMISSION) for INBOX; a mailbox with children is refused
        (MailError(HAS_CHILDREN), RFC 9051 §6.3.4 lets a server refuse)."""
        name = canonical_mailbox(name)
        if name == "INBOX":
            raise MailError(Kind.PERMISSION, "INBOX cannot be deleted")  # RFC 9051 §6.3.4
        mailbox = await self.get_mailbox(account, name)
        prefix = name + SEPARATOR
        if any(m.name.startswith(prefix) for m in await self.store.list_mailboxes(account.id)):
            raise MailError(Kind.HAS_CHILDREN, f"mailbox {name} has children; delete them first")
        await self.store.delete_mailbox(mailbox.id)
        self.forget_directory()
        self.bus.publish(Change(account.id, mailbox.id, "mailbox"))
        self.bus.publish(Change(account.id, None, "mailbox"))

    async def rename_mailbox(self, account: Account, old: str, new: str) -> None:
        """Renames children too. Renaming INBOX moves its messages to a new mailbox
        and leaves INBOX empty (RFC 9051 §6.3.6)."""
        old = canonical_mailbox(old)
        new = self._validate(new)
        source = await self.get_mailbox(account, old)
        if await self.store.get_mailbox(account.id, new) is not None:
            raise MailError(Kind.EXISTS, f"mailbox {new} already exists")
        if new == old or new.startswith(old + SEPARATOR):
            raise MailError(Kind.INVALID, "a mailbox cannot be renamed into itself")
        self.forget_directory()
        uids = [m.uid for m in await self.store.list_messages(source.id)] if old == "INBOX" else []
        # One transaction: the children, the missing parents of the new name and the
        # subscriptions move with the mailbox, or nothing moves (EXISTS). For INBOX,
        # its messages move to a new mailbox instead (RFC 9051 §6.3.6).
        await self.store.rename_mailbox(source.id, new)
        if uids:
            self.bus.publish(Change(account.id, source.id, "expunge", uids=tuple(uids)))
        self.bus.publish(Change(account.id, None, "mailbox"))

    async def set_subscribed(self, account: Account, name: str, subscribed: bool) -> None:
        name = canonical_mailbox(name)
        if subscribed:
            self._validate(name)
        await self.store.set_subscribed(account.id, name, subscribed)
        self.bus.publish(Change(account.id, None, "mailbox"))  # RFC 5465 §5.5 SubscriptionChange

    async def list_subscriptions(self, account: Account) -> list[str]:
        return await self.store.list_subscriptions(account.id)

    # ---- ingestion --------------------------------------------------------------------
    async def _ingest(
        self, source: Source, *, prepend: bytes, max_size: int, normalise_line_ends: bool = True
    ) -> NewContent:
        ingested = await ingest(
            source,
            self.blobs,
            self.config.limits.message,
            self._spool_dir,
            prepend=prepend,
            max_size=max_size,
            normalise_line_ends=normalise_line_ends,
        )
        return ingested.content

    async def import_message(
        self,
        content: NewContent,
        mailbox: Mailbox,
        *,
        flags: frozenset[str] = frozenset(),
        internaldate: float | None = None,
        uid: int | None = None,
    ) -> MessageRecord:
        """Insert content whose blobs are durable into one mailbox, keeping ``uid`` when
        given (import of a dovecot-uidlist); durable on return, change published.
        MailError(EXISTS) when that UID is or was used in the mailbox (RFC 9051
        §2.3.1.1 forbids reuse)."""
        when = self.clock.now() if internaldate is None else internaldate
        flags = frozenset(f for f in flags if f.lower() != "\\recent")
        records = await self._insert(content, [NewMessage(mailbox.id, flags, when, 0, uid=uid)], [mailbox])
        return records[0]

    @metrics.counts_messages
    async def deliver(
        self,
        source: Source,
        recipients: Sequence[str],
        *,
        prepend: bytes = b"",
        mailbox: str = "INBOX",
        flags: frozenset[str] = frozenset(),
        internaldate: float | None = None,
        max_size: int | None = None,
        envelope: NewDelivery | None = None,
        normalise_line_ends: bool = True,
    ) -> DeliveryResult:
        """Store one message for local recipient addresses (aliases resolved, each
        account once) in one transaction; returns only once it is durable. ``prepend``
        (Return-Path, Received) goes before the message bytes. ``envelope`` (the SMTP
        envelope with its RFC 3461 DSN parameters) is stored as the delivery's own
        record in the same transaction (``Store.deliveries_of_content``).
        ``normalise_line_ends=False`` keeps the octets as received: only for SMTP
        BODY=BINARYMIME (RFC 3030 §3; see ``ingest``).

        All or nothing: UnknownRecipients (a MailError NOT_FOUND) when any recipient
        does not resolve to a local mailbox — checked before the message is read and
        again if a mailbox vanished before the insert — and then nothing is stored;
        MailError(TOO_BIG) over the size limit."""
        if not recipients:
            raise MailError(Kind.NOT_FOUND, "no recipient")
        name = canonical_mailbox(mailbox)
        mailboxes = await self._delivery_targets(recipients, name)
        limit = self.config.limits.smtp.max_message_size if max_size is None else max_size
        content = await self._ingest(source, prepend=prepend, max_size=limit, normalise_line_ends=normalise_line_ends)
        await self._check_quota({m.account_id for m in mailboxes}, content.size)  # RFC 9208 §5.1: does it fit
        when = self.clock.now() if internaldate is None else internaldate
        try:
            records = await self._insert(
                content, [NewMessage(m.id, flags, when, 0) for m in mailboxes], mailboxes, envelope
            )
        except MailError as exc:
            if exc.kind is not Kind.NOT_FOUND:
                raise
            # A cached mailbox went away (deleted, maybe with its account, maybe in
            # another process): look again, once; a vanished recipient fails it all.
            self.forget_directory()
            mailboxes = await self._delivery_targets(recipients, name)
            records = await self._insert(
                content, [NewMessage(m.id, flags, when, 0) for m in mailboxes], mailboxes, envelope
            )
        return DeliveryResult(records[0].content_id, content.size, tuple(records))

    async def _delivery_targets(self, recipients: Sequence[str], name: str) -> list[Mailbox]:
        """One mailbox per account the recipients resolve to; UnknownRecipients if any
        recipient resolves to no mailbox."""
        unknown: list[str] = []
        boxes: dict[int, Mailbox] = {}
        for address in recipients:
            try:
                accounts = await self.resolve_recipient(address)
            except MailError:
                accounts = []
            found = [box for a in accounts if (box := await self._delivery_mailbox(a, name)) is not None]
            if not found:
                unknown.append(address)
            for box in found:
                boxes[box.account_id] = box
        if unknown:
            raise UnknownRecipients(unknown, every=not boxes)
        return list(boxes.values())

    # ---- submission rate ([limits.smtp] max_messages_per_hour) ---------------------------
    SUBMISSION_WINDOW = 3600.0  # seconds: "per hour" is the last 3600 s, a sliding window

    async def submissions_last_hour(self, account: Account) -> int:
        """Messages ``account`` submitted in the last hour (every process counted)."""
        return await self.store.count_submissions(account.id, self.clock.now() - self.SUBMISSION_WINDOW)

    async def record_submission(self, account: Account) -> None:
        """Count one message submitted by ``account`` now."""
        now = self.clock.now()
        await self.store.record_submission(account.id, now, now - self.SUBMISSION_WINDOW)

    async def _delivery_mailbox(self, account: Account, name: str) -> Mailbox | None:
        """The mailbox a delivery goes to (``name``, else INBOX); only its id and owner
        are used, so a cached record is fine (a deleted one fails the insert cleanly)."""
        key = (account.id, name)
        cached = self._inboxes.get(key)
        if cached is not None and self._fresh(cached[0]):
            return cached[1]
        box = await self.store.get_mailbox(account.id, name)
        if box is None:
            box = await self.store.get_mailbox(account.id, "INBOX")
        if box is not None:
            self._remember(self._inboxes, key, box)
        return box

    async def deliveries_of(self, content: Content) -> list[Delivery]:
        """Every delivery that carried this content, with its own envelope, oldest first."""
        return await self.store.deliveries_of_content(content.id)

    async def deliveries_to(self, account: Account, *, since: float = 0.0) -> list[Delivery]:
        """Deliveries that left a copy with ``account`` since ``since``, oldest first."""
        return await self.store.deliveries_of_account(account.id, since=since)

    async def _insert(
        self,
        content: NewContent,
        targets: Sequence[NewMessage],
        mailboxes: Sequence[Mailbox],
        delivery: NewDelivery | None = None,
    ) -> list[MessageRecord]:
        records = await self.store.insert_messages(content, targets, delivery)
        owners = {m.id: m.account_id for m in mailboxes}
        for record in records:
            self.bus.publish(Change(owners[record.mailbox_id], record.mailbox_id, "append", record.modseq, (record.uid,)))
        if self.media is not None and records:
            # Every road in (delivery, APPEND, the webmail's copies, the import): its
            # audio and video are probed in the background, now that it is durable.
            self.media.ingested(records[0].content_id, content)
        return records

    @metrics.counts_messages
    async def append(
        self,
        account: Account,
        mailbox: str | Mailbox,
        source: Source,
        *,
        flags: frozenset[str] = frozenset(),
        internaldate: float | None = None,
        internaldate_tz: int = 0,
        max_size: int | None = None,
        normalise_line_ends: bool = True,
    ) -> MessageRecord:
        """IMAP APPEND / webmail save: one message into one mailbox, durable on return.
        ``normalise_line_ends=False`` keeps the octets as sent: only for an IMAP APPEND
        literal8 (``~{n}``, RFC 3516 §4.4), whose CR and LF octets are data, like SMTP
        BODY=BINARYMIME (RFC 3030 §3)."""
        if isinstance(mailbox, Mailbox):  # already looked up by the caller (IMAP APPEND)
            if mailbox.account_id != account.id:
                raise MailError(Kind.NOT_FOUND, f"no mailbox {mailbox.name}")
            box = mailbox
        else:
            box = await self.get_mailbox(account, mailbox)
        limit = self.config.limits.imap.max_literal_size if max_size is None else max_size
        # The quota is read while the message is ingested: one DB round trip less on the
        # APPEND's path (issue 14). RFC 9208 §4: an APPEND over it gets NO [OVERQUOTA].
        usage = asyncio.ensure_future(self._quota(account.id))
        try:
            content = await self._ingest(source, prepend=b"", max_size=limit, normalise_line_ends=normalise_line_ends)
        except BaseException:
            usage.cancel()
            with contextlib.suppress(BaseException):
                await usage
            raise
        (await usage).check(content.size)
        when = self.clock.now() if internaldate is None else internaldate
        flags = frozenset(f for f in flags if f.lower() != "\\recent")
        records = await self._insert(content, [NewMessage(box.id, flags, when, internaldate_tz)], [box])
        return records[0]

    # ---- quota (RFC 9208; mail/quota.py) -------------------------------------------------
    async def quota(self, account: Account) -> QuotaUsage:
        """What ``account`` holds and may hold."""
        return await self._quota(account.id)

    async def _quota(self, account_id: int) -> QuotaUsage:
        override = await self.store.get_storage_quota(account_id)
        defaults = self.config.quota
        storage_limit = defaults.default_storage if override is None else override
        if not storage_limit and not defaults.default_messages:
            return QuotaUsage(0, 0, 0, 0)  # no limit: no need to add up the mailboxes
        boxes = await self.store.list_mailboxes(account_id)
        return QuotaUsage(
            sum(b.size for b in boxes), sum(b.messages for b in boxes), storage_limit, defaults.default_messages
        )

    async def set_quota(self, address: str, storage: int | None) -> None:
        """The account's own storage limit in octets (0: none); None: the configured default."""
        account = await self._account(address)
        await self.store.set_storage_quota(account.id, storage)

    async def quota_full(self, accounts: Sequence[Account]) -> bool:
        """True when some of ``accounts`` can take no further message (SMTP RCPT)."""
        for account in accounts:
            if (await self._quota(account.id)).full:
                return True
        return False

    async def _check_quota(self, account_ids: set[int], octets: int) -> None:
        """MailError(QUOTA) unless one more message of ``octets`` fits in every account."""
        for account_id in sorted(account_ids):
            (await self._quota(account_id)).check(octets)

    async def _check_copy_quota(self, mailbox: Mailbox, uids: Sequence[int], dest: Mailbox) -> None:
        usage = await self._quota(dest.account_id)
        if usage.limited:
            records = await self.store.get_messages(mailbox.id, uids)
            usage.check(sum(r.size for r in records), len(records))

    # ---- metadata (RFC 5464; store/metadata.py) -----------------------------------------
    async def _metadata_target(self, account: Account, mailbox: str | None) -> int | None:
        return None if mailbox is None else (await self.get_mailbox(account, mailbox)).id

    async def get_metadata(self, account: Account, mailbox: str | None) -> dict[str, bytes]:
        """Every annotation of the server (``mailbox`` None) or of a mailbox of ``account``."""
        return await self.store.get_metadata(account.id, await self._metadata_target(account, mailbox))

    async def set_metadata(
        self, account: Account, mailbox: str | None, changes: Mapping[str, bytes | None], *, max_entries: int
    ) -> bool:
        """Set (or, with None, remove) annotations in one transaction; False, nothing
        changed, when more than ``max_entries`` would remain."""
        target = await self._metadata_target(account, mailbox)
        done = await self.store.set_metadata(account.id, target, changes, max_entries)
        if done:
            self.bus.publish(Change(account.id, target, "metadata"))  # RFC 5465 §5.6, §5.7
        return done

    # ---- messages ------------------------------------------------------------------------
    async def list_messages(self, mailbox: Mailbox) -> list[MessageRecord]:
        return await self.store.list_messages(mailbox.id)

    async def highest_modseq(self, mailbox: Mailbox) -> int | None:
        """The mailbox's HIGHESTMODSEQ as stored now (None once it is deleted): one row."""
        current = await self.store.get_mailbox_by_id(mailbox.id)
        return None if current is None else current.highest_modseq

    async def list_flags(self, mailbox: Mailbox) -> FlagSnapshot:
        """UIDs, flags and MODSEQs of every message, by UID (an IMAP view's first load).

        The last snapshots read in this process are kept, each with the state of its
        mailbox read just before it (UIDVALIDITY, HIGHESTMODSEQ, UIDNEXT, messages):
        every append, flag change and expunge raises HIGHESTMODSEQ in its own
        transaction (store invariant), so while ``mailbox`` (read by the caller) is in
        that state the snapshot is current, and the next SELECT of a large unchanged
        mailbox reads nothing. A snapshot read after a change that raced the mailbox
        read is newer than its key, never older: the view's sync catches up from there
        as from any snapshot. The caller must not change the lists."""
        key = (mailbox.uidvalidity, mailbox.highest_modseq, mailbox.uidnext, mailbox.messages)
        kept = self._snapshots.get(mailbox.id)
        if kept is not None and kept[0] == key:
            return kept[1]
        snapshot = await self.store.list_flags(mailbox.id)
        self._snapshots.pop(mailbox.id, None)
        self._snapshots[mailbox.id] = (key, snapshot)
        while sum(len(kept[1].uids) for kept in self._snapshots.values()) > _SNAPSHOT_CACHE_UIDS:
            del self._snapshots[next(iter(self._snapshots))]  # the oldest first
        return snapshot

    async def get_messages(self, mailbox: Mailbox, uids: Sequence[int]) -> list[MessageRecord]:
        return await self.store.get_messages(mailbox.id, uids)

    async def get_content(self, content_id: int) -> Content:
        return await self.store.get_content(content_id)

    async def get_contents(self, content_ids: Sequence[int]) -> dict[int, Content]:
        """Many contents in one store read (IMAP SEARCH SENT*/HEADER over a mailbox)."""
        return await self.store.get_contents(content_ids)

    async def read_many(self, ranges: Sequence[tuple[Content, int, int]]) -> list[bytes]:
        """``read`` of many (content, offset, length) ranges in one worker thread."""
        return await asyncio.to_thread(lambda: [self._stored(c).read(o, n) for c, o, n in ranges])

    async def claim_recent(self, mailbox: Mailbox, *, claim: bool = True) -> int:
        """RFC 3501 \\Recent: UIDs above the returned one are recent for the caller;
        with ``claim`` no later caller sees them as recent (Store.claim_recent)."""
        return await self.store.claim_recent(mailbox.id, claim=claim)

    def _stored(self, content: Content) -> StoredMessage:
        return StoredMessage(decode_layout(content.layout), self.blobs)

    # ---- what a message is made of (typed; decoded once per content, mail.codec) -----------
    def envelope(self, content: Content) -> Envelope:
        """The message's ENVELOPE (RFC 9051 §7.5.2), precomputed at ingestion."""
        return decode_envelope(content.envelope)

    def bodystructure(self, content: Content) -> BodyStructure:
        """The message's part tree with the offsets of every section, precomputed at ingestion."""
        return decode_bodystructure(content.bodystructure, content.size)

    async def read(self, content: Content, offset: int = 0, length: int | None = None) -> bytes:
        """Bytes of the stored message (as received, CRLF), reading only that range."""
        if length is None:
            length = max(0, content.size - offset)
        return await asyncio.to_thread(self._stored(content).read, offset, length)

    async def stream(
        self, content: Content, offset: int = 0, length: int | None = None, chunk: int = 256 * 1024
    ) -> AsyncIterator[bytes]:
        """The same range in chunks, constant memory."""
        if length is None:
            length = max(0, content.size - offset)
        end = min(content.size, offset + length)
        stored = self._stored(content)
        position = offset
        while position < end:
            n = min(chunk, end - position)
            data = await asyncio.to_thread(stored.read, position, n)
            if not data:
                break
            position += len(data)
            yield data

    async def read_section(self, content: Content, spec: SectionSpec, structure: BodyStructure | None = None) -> bytes | None:
        """The octets of one section (RFC 9051 §6.4.5), None if the message has no such
        section; HEADER.FIELDS (.NOT) gives the fields selected, then the blank line.
        ``structure``: the view of the part tree the caller numbers parts by (an
        IMAP4rev1 session's, ``BodyStructure.with_global_leaves``); the stored one if None."""
        span = section_span(structure or self.bodystructure(content), spec)
        if span is None:
            return None
        data = await self.read(content, *span)
        if spec.text in ("HEADER.FIELDS", "HEADER.FIELDS.NOT"):
            return select_header_fields(data, spec.fields, spec.text == "HEADER.FIELDS.NOT")
        return data

    def _leaf(self, content: Content, stored: StoredMessage, part: Sequence[int] | str) -> str | Leaf:
        """The stored leaf of a part, or one decoded from its raw range when the layout
        does not list it. MailError(NOT_FOUND) when the message has no such part."""
        section = _section(part)
        if section in stored.leaves:
            return section
        node = self.bodystructure(content).sections.get(section)
        if node is None:
            raise MailError(Kind.NOT_FOUND, "no such part")
        return Leaf(node.body_offset, node.body_length, (node.encoding or "").lower())

    async def read_part(self, content: Content, part: Sequence[int] | str, offset: int = 0, length: int | None = None) -> bytes:
        """Decoded bytes of one leaf part (IMAP BINARY, HTTP Range), reading only that range."""
        stored = self._stored(content)
        return await asyncio.to_thread(stored.read_part, self._leaf(content, stored, part), offset, length)

    def part_tag(self, content: Content, part: Sequence[int] | str) -> str:
        """A strong validator of one part's decoded octets (RFC 9110 §8.8.3): the SHA-256
        of its blob when the part store keeps it as one, else the message's content hash
        and the section (the same message always decodes to the same octets)."""
        stored = self._stored(content)
        leaf = self._leaf(content, stored, part)
        if isinstance(leaf, str):
            found = stored.leaf(leaf)
            if found.segment >= 0 and found.decoded_size >= 0:
                seg = stored.segments[found.segment]
                if not isinstance(seg, SkeletonSegment):
                    return seg.blob_id
        return f"{content.sha256}.{_section(part)}"

    async def part_size(self, content: Content, part: Sequence[int] | str) -> int:
        """Decoded size of one leaf part (IMAP BINARY.SIZE)."""
        stored = self._stored(content)
        return await asyncio.to_thread(stored.part_size, self._leaf(content, stored, part))

    async def part_base64(self, content: Content, part: Sequence[int] | str) -> AsyncIterator[bytes]:
        """One leaf part's decoded octets as base64 lines of 76 characters, each ending in
        CRLF (RFC 2045 §6.8), read from the part store a range at a time: a stored part
        going along in a new message (the webmail's forward) is never held whole in
        memory, and ingestion finds its blob already stored (§4 dedup). KeyError: no such
        leaf (as ``part_size``)."""
        size = await self.part_size(content, part)
        step = _B64_LINE * 2048  # whole lines per read: about 110 KiB
        for offset in range(0, size, step):
            data = await self.read_part(content, part, offset, min(step, size - offset))
            yield encode_b64_lines(data, 76, b"\r\n", trailing_eol=True)

    async def update_flags(self, mailbox: Mailbox, uids: Sequence[int], update: FlagUpdate) -> FlagUpdateResult:
        update = FlagUpdate(update.mode, frozenset(f for f in update.flags if f.lower() != "\\recent"), update.unchangedsince)
        result = await self.store.update_flags(mailbox.id, uids, update)
        if result.updated:
            self.bus.publish(
                Change(mailbox.account_id, mailbox.id, "flags", result.highest_modseq, tuple(r.uid for r in result.updated))
            )
        return result

    async def expunge(self, mailbox: Mailbox, uids: Sequence[int]) -> None:
        if not uids:
            return
        modseq = await self.store.expunge(mailbox.id, uids)
        self.bus.publish(Change(mailbox.account_id, mailbox.id, "expunge", modseq, tuple(uids)))

    async def copy(self, mailbox: Mailbox, uids: Sequence[int], dest: Mailbox, *, move: bool = False) -> list[tuple[int, int]]:
        """(source UID, new UID) pairs; with move the sources are expunged atomically."""
        if not move or mailbox.account_id != dest.account_id:
            await self._check_copy_quota(mailbox, uids, dest)
        pairs = await self.store.copy_messages(mailbox.id, uids, dest.id, move=move)
        if pairs:
            self.bus.publish(Change(dest.account_id, dest.id, "append", 0, tuple(new for _, new in pairs)))
            if move:
                self.bus.publish(Change(mailbox.account_id, mailbox.id, "expunge", 0, tuple(old for old, _ in pairs)))
        return pairs

    async def changes_since(self, mailbox: Mailbox, modseq: int) -> Changes:
        return await self.store.changes_since(mailbox.id, modseq)

    async def search_text(self, mailbox: Mailbox, query: str, field: str) -> set[int]:
        if field not in SEARCH_FIELDS:
            raise MailError(Kind.INVALID, f"unknown search field {field}")
        return await self.store.search_text(mailbox.id, query, field)

    def subscribe(self, account: Account) -> ChangeSubscription:
        """Changes to this account's mailboxes (IDLE, POP3, webmail live updates)."""
        return self.bus.subscribe(account.id)

    # ---- maildrop lock (POP3) -------------------------------------------------------------
    async def lock_maildrop(self, account: Account, holder: str) -> bool:
        return await self.store.acquire_lock(f"maildrop:{account.id}", holder, self.config.limits.pop3.lock_ttl)

    async def unlock_maildrop(self, account: Account, holder: str) -> None:
        await self.store.release_lock(f"maildrop:{account.id}", holder)

    # ---- search text made again (mail/ingest.py SEARCH_TEXT_VERSION) ----------------------
    async def reindex_search_text(self, *, batch: int = 20, version: int = SEARCH_TEXT_VERSION) -> int:
        """Make the search text of up to ``batch`` messages stored under an older text
        extraction again, from their stored bytes; returns how many it made (0: none is
        left). Progress lives in the store (its stale list), so a restart carries on
        where this stopped. A message that cannot be read again keeps its old text and
        leaves the list."""
        if self._search_version_marked < version:  # once per process and version
            await self.store.mark_search_text_stale(version)
            self._search_version_marked = version
        ids = await self.store.stale_search_texts(batch)
        contents = await self.store.get_contents(ids) if ids else {}
        limits = self.config.limits.message
        for content_id in ids:
            content = contents.get(content_id)
            text = None
            if content is not None:
                try:
                    text = await search_text_again(self.stream(content), limits)
                except (OSError, MailError, ValueError) as exc:
                    log.warning("search text of content %d not made again (%s); the old text is kept", content_id, exc)
            await self.store.replace_search_text(content_id, text)
        return len(ids)

    async def run_search_reindexer(self, *, batch: int = 20, pause: float = 0.05) -> int:
        """Background worker (serve): make stale search text again, ``batch`` messages at
        a time with a ``pause`` between batches, until none is left; returns how many
        were made. Bounded: one message is parsed at a time, in a worker thread."""
        done = 0
        try:
            left = await self.store.mark_search_text_stale(SEARCH_TEXT_VERSION)
            self._search_version_marked = SEARCH_TEXT_VERSION
            if left:
                log.info("search text of %d messages is made again (extraction version %d)", left, SEARCH_TEXT_VERSION)
            while made := await self.reindex_search_text(batch=batch):
                done += made
                await asyncio.sleep(pause)
        except Exception:  # the server goes on; the next start carries on from the list
            log.exception("making search text again failed after %d messages", done)
            return done
        if done:
            log.info("search text made again for %d messages", done)
        return done

    # ---- garbage collection -------------------------------------------------------------
    async def collect_garbage(self, *, grace: float | None = None) -> GarbageCollected:
        """Remove contents no message refers to (expunged, mailbox or account deleted),
        then blobs no content refers to that were not written or found by a writer in
        the last ``grace`` seconds (default ``[server] gc_grace``). Safe while
        deliveries run: see the invariant in ``store/api.py``."""
        grace = self.config.server.gc_grace if grace is None else grace
        contents = 0
        more = True
        while more:
            removed, more = await self.store.collect_contents()
            contents += removed
        # Read only now, after the contents went: a blob of a content inserted since
        # is fresh (its delivery wrote or found it) and collect() keeps it.
        referenced = await self.store.list_blob_ids()
        if self.media is not None:  # a rendition lives as long as the part it was made of
            referenced |= await self.media.rendition_blob_ids(referenced)

        def sweep() -> int:
            return sum(
                1 for blob_id in self.blobs.list_ids() if blob_id not in referenced and self.blobs.collect(blob_id, grace)
            )

        blobs = await asyncio.to_thread(sweep)
        if contents or blobs:
            log.info("garbage collected: %d contents, %d blobs", contents, blobs)
        return GarbageCollected(contents, blobs)

    async def run_garbage_collector(self) -> None:
        """Collect garbage every ``[server] gc_interval`` seconds until cancelled (serve)."""
        while True:
            interval = self.config.server.gc_interval  # as in force: SIGHUP may change it
            await asyncio.sleep(interval)
            try:
                await self.collect_garbage()
            except Exception:
                log.exception("garbage collection failed; tried again in %s s", interval)
