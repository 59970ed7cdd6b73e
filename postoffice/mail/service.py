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

import asyncio
import dataclasses
import json
import time
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from postoffice.clock import Clock, SystemClock
from postoffice.config import Config
from postoffice.errors import Kind, MailError
from postoffice.mail.auth import Authenticator, make_credentials
from postoffice.mail.ingest import ingest
from postoffice.mail.names import (
    SEPARATOR,
    canonical_address,
    canonical_domain,
    canonical_mailbox,
    parent_names,
    split_address,
    validate_mailbox_name,
)
from postoffice.mail.parts import StoredMessage
from postoffice.store.api import (
    Account,
    Alias,
    BlobStore,
    Change,
    ChangeBus,
    Changes,
    ChangeSubscription,
    Content,
    FlagUpdate,
    FlagUpdateResult,
    Mailbox,
    MessageRecord,
    NewContent,
    NewMessage,
    Store,
)

if TYPE_CHECKING:
    from postoffice.mail.outbound import Outbound

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


# RFC 5321 §4.5.1 and RFC 2142: every domain has these, as aliases of its first user
# unless an account or an explicit alias of that name exists.
IMPLICIT_ROLES = ("postmaster", "abuse")
MAX_ALIAS_DEPTH = 8
SEARCH_FIELDS = frozenset({"text", "body", "subject", "from", "to", "cc", "bcc", "headers"})


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    content_id: int
    size: int
    records: tuple[MessageRecord, ...]  # one per target mailbox


def _section(part: Sequence[int] | str) -> str:
    """"1.2" for (1, 2): the part store names leaf parts by IMAP section number."""
    return part if isinstance(part, str) else ".".join(str(n) for n in part)


class MailService:
    """Accounts, mailboxes and messages over one Store, BlobStore and ChangeBus."""

    def __init__(self, config: Config, store: Store, blobs: BlobStore, bus: ChangeBus, clock: Clock | None = None) -> None:
        self.config = config
        self.store = store
        self.blobs = blobs
        self.bus = bus
        self.clock: Clock = clock or SystemClock()
        self.auth = Authenticator(store, config.auth, self.clock)
        # Directory cache (``[auth] directory_cache``): found answers only, so a user or
        # domain added by another process is never refused for long, and one removed
        # there is still accepted for at most the TTL (its delivery then fails cleanly).
        self._cache_ttl = config.auth.directory_cache
        self._spool_dir = config.spool_dir  # a property that builds a Path: once, not per message
        self._domains: tuple[float, frozenset[str]] | None = None
        self._recipients: dict[str, tuple[float, list[Account]]] = {}
        self._inboxes: dict[tuple[int, str], tuple[float, Mailbox]] = {}
        # Mail for other servers (the outbound queue), set by the composition root; None: no relay.
        self.outbound: Outbound | None = None

    # ---- directory cache ------------------------------------------------------------
    def _fresh(self, stamp: float) -> bool:
        return time.monotonic() - stamp < self._cache_ttl

    def forget_directory(self) -> None:
        """Drop every cached domain, recipient and mailbox (after a change made here)."""
        self._domains = None
        self._recipients.clear()
        self._inboxes.clear()

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
        account = await self.store.add_account(address, credentials)
        await self.store.create_mailbox(account.id, "INBOX")
        await self.store.set_subscribed(account.id, "INBOX", True)
        for name, special_use in SPECIAL_USE_FOLDERS:
            await self.store.create_mailbox(account.id, name, special_use)
            await self.store.set_subscribed(account.id, name, True)
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
        for parent in parent_names(new):
            if await self.store.get_mailbox(account.id, parent) is None:
                await self.store.create_mailbox(account.id, parent)
        if old == "INBOX":
            target = await self.store.create_mailbox(account.id, new)
            uids = [m.uid for m in await self.store.list_messages(source.id)]
            if uids:
                await self.store.copy_messages(source.id, uids, target.id, move=True)
                self.bus.publish(Change(account.id, source.id, "expunge", uids=tuple(uids)))
        else:
            children = [m for m in await self.store.list_mailboxes(account.id) if m.name.startswith(old + SEPARATOR)]
            self.forget_directory()
            await self.store.rename_mailbox(source.id, new)
            for child in children:
                await self.store.rename_mailbox(child.id, new + child.name[len(old):])
            if await self.store.get_mailbox(account.id, old) is None:
                subscriptions = await self.store.list_subscriptions(account.id)
                if old in subscriptions:
                    await self.store.set_subscribed(account.id, old, False)
                    await self.store.set_subscribed(account.id, new, True)
        self.bus.publish(Change(account.id, None, "mailbox"))

    async def set_subscribed(self, account: Account, name: str, subscribed: bool) -> None:
        name = canonical_mailbox(name)
        if subscribed:
            self._validate(name)
        await self.store.set_subscribed(account.id, name, subscribed)

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

    async def store_content(
        self, source: Source, *, max_size: int | None = None, blobs: BlobStore | None = None
    ) -> NewContent:
        """Ingest one message (DESIGN.md §4) without inserting it anywhere (import).

        ``blobs`` may be a batch view of the blob store (``FileBlobStore.batch()``):
        then the content's blobs are durable only after that batch's ``sync()``, and
        the caller must not pass the content to ``import_message`` before. Default
        ``max_size``: the IMAP literal limit. MailError(TOO_BIG) over it."""
        limit = self.config.limits.imap.max_literal_size if max_size is None else max_size
        ingested = await ingest(
            source, blobs if blobs is not None else self.blobs, self.config.limits.message, self.config.spool_dir,
            max_size=limit,
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
        envelope: dict[str, Any] | None = None,
        normalise_line_ends: bool = True,
    ) -> DeliveryResult:
        """Store one message for local recipient addresses (aliases resolved, each
        account once) in one transaction; returns only once it is durable. ``prepend``
        (Return-Path, Received) goes before the message bytes. ``envelope`` (the SMTP
        envelope with its RFC 3461 DSN parameters) is kept in ``NewContent.extra`` under
        ``"envelope"``. ``normalise_line_ends=False`` keeps the octets as received: only
        for SMTP BODY=BINARYMIME (RFC 3030 §3; see ``ingest``). MailError(NOT_FOUND) if
        no recipient is a local account; MailError(TOO_BIG) over the size limit."""
        accounts: dict[int, Account] = {}
        for address in recipients:
            try:
                for account in await self.resolve_recipient(address):
                    accounts[account.id] = account
            except MailError:
                continue
        if not accounts:
            raise MailError(Kind.NOT_FOUND, "no local recipient")
        name = canonical_mailbox(mailbox)
        mailboxes = await self._delivery_mailboxes(accounts.values(), name)
        limit = self.config.limits.smtp.max_message_size if max_size is None else max_size
        content = await self._ingest(source, prepend=prepend, max_size=limit, normalise_line_ends=normalise_line_ends)
        if envelope is not None:
            extra = json.loads(content.extra or "{}")
            extra["envelope"] = envelope
            content = dataclasses.replace(content, extra=json.dumps(extra, ensure_ascii=False))
        when = self.clock.now() if internaldate is None else internaldate
        try:
            records = await self._insert(content, [NewMessage(m.id, flags, when, 0) for m in mailboxes], mailboxes)
        except MailError as exc:
            if exc.kind is not Kind.NOT_FOUND:
                raise
            # A cached mailbox went away (deleted in another process): look again, once.
            self.forget_directory()
            mailboxes = await self._delivery_mailboxes(accounts.values(), name)
            if not mailboxes:
                raise
            records = await self._insert(content, [NewMessage(m.id, flags, when, 0) for m in mailboxes], mailboxes)
        return DeliveryResult(records[0].content_id, content.size, tuple(records))

    async def _delivery_mailboxes(self, accounts: Iterable[Account], name: str) -> list[Mailbox]:
        return [box for account in accounts if (box := await self._delivery_mailbox(account, name)) is not None]

    async def _delivery_mailbox(self, account: Account, name: str) -> Mailbox | None:
        """The mailbox a delivery goes to (``name``, else INBOX); only its id and owner
        are used, so a cached record is fine (a deleted one fails the insert cleanly)."""
        key = (account.id, name)
        cached = self._inboxes.get(key)
        if cached is not None and self._fresh(cached[0]):
            return cached[1]  # type: ignore[no-any-return]
        box = await self.store.get_mailbox(account.id, name)
        if box is None:
            box = await self.store.get_mailbox(account.id, "INBOX")
        if box is not None:
            self._remember(self._inboxes, key, box)
        return box

    async def _insert(self, content: NewContent, targets: Sequence[NewMessage], mailboxes: Sequence[Mailbox]) -> list[MessageRecord]:
        records = await self.store.insert_messages(content, targets)
        owners = {m.id: m.account_id for m in mailboxes}
        for record in records:
            self.bus.publish(Change(owners[record.mailbox_id], record.mailbox_id, "append", record.modseq, (record.uid,)))
        return records

    async def append(
        self,
        account: Account,
        mailbox: str,
        source: Source,
        *,
        flags: frozenset[str] = frozenset(),
        internaldate: float | None = None,
        internaldate_tz: int = 0,
        max_size: int | None = None,
    ) -> MessageRecord:
        """IMAP APPEND / webmail save: one message into one mailbox, durable on return."""
        box = await self.get_mailbox(account, mailbox)
        limit = self.config.limits.imap.max_literal_size if max_size is None else max_size
        content = await self._ingest(source, prepend=b"", max_size=limit)
        when = self.clock.now() if internaldate is None else internaldate
        flags = frozenset(f for f in flags if f.lower() != "\\recent")
        records = await self._insert(content, [NewMessage(box.id, flags, when, internaldate_tz)], [box])
        return records[0]

    # ---- messages ------------------------------------------------------------------------
    async def list_messages(self, mailbox: Mailbox) -> list[MessageRecord]:
        return await self.store.list_messages(mailbox.id)

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
        return StoredMessage(content.layout, self.blobs)

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

    async def read_part(self, content: Content, part: Sequence[int] | str, offset: int = 0, length: int | None = None) -> bytes:
        """Decoded bytes of one leaf part (IMAP BINARY, HTTP Range), reading only that range."""
        stored = self._stored(content)
        return await asyncio.to_thread(stored.read_part, _section(part), offset, length)

    async def part_size(self, content: Content, part: Sequence[int] | str) -> int:
        """Decoded size of one leaf part (IMAP BINARY.SIZE)."""
        return await asyncio.to_thread(self._stored(content).part_size, _section(part))

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
        return await self.store.search_text(mailbox.id, query, field)  # type: ignore[arg-type]

    def subscribe(self, account: Account) -> ChangeSubscription:
        """Changes to this account's mailboxes (IDLE, POP3, webmail live updates)."""
        return self.bus.subscribe(account.id)

    # ---- maildrop lock (POP3) -------------------------------------------------------------
    async def lock_maildrop(self, account: Account, holder: str) -> bool:
        return await self.store.acquire_lock(f"maildrop:{account.id}", holder, self.config.limits.pop3.lock_ttl)

    async def unlock_maildrop(self, account: Account, holder: str) -> None:
        await self.store.release_lock(f"maildrop:{account.id}", holder)
