"""The selected-mailbox view: the only producer of untagged mailbox updates.

A :class:`MailboxView` is the session's snapshot of the selected mailbox: the UIDs
in sequence-number order, their flags and MODSEQs, and the HIGHESTMODSEQ it has seen.
:meth:`MailboxView.sync` diffs the snapshot against the store
(``MailService.changes_since``) and returns the untagged EXISTS / EXPUNGE / VANISHED /
FETCH responses that bring the client up to date.

Invariants:
- Sequence numbers change only inside :meth:`sync`; handlers never write EXPUNGE,
  EXISTS or flag FETCHes for other sessions' changes themselves.
- With ``allow_expunge=False`` (during FETCH, STORE, SEARCH: RFC 9051 §7.5.1) expunged
  messages keep their sequence numbers; they are announced at the next sync that
  allows it.
- EXISTS is announced before any new message can be referenced by number.
- With QRESYNC enabled, expunges are announced as ``VANISHED`` (RFC 7162 §3.2.10).
- A keyword is announced (``* FLAGS`` and ``* OK [PERMANENTFLAGS]``) before the first
  response that shows it (RFC 3501 §7.2.6, RFC 9051 §7.3.5): every FETCH of flags goes
  through :meth:`MailboxView.fetch_flags` or :meth:`MailboxView.announce_keywords`.
- The session's updating contexts (RFC 5267 §4.3, :mod:`.context`) are brought up to
  date by the same sync: REMOVEFROM before EXPUNGE, ADDTO after EXISTS. They end with the
  view (a mailbox no longer selected has no contexts).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable

from postoffice.mail.service import MailService
from postoffice.store.api import SYSTEM_FLAGS, FlagSnapshot, Mailbox, MessageRecord
from postoffice.wire.imap import response as r
from postoffice.wire.imap.seqset import SequenceSet

from .context import SearchContext

__all__ = ["MailboxView", "flag_atoms"]


def flag_atoms(flags: Iterable[str]) -> tuple[r.Atom, ...]:
    """FLAGS values for a FETCH response, system flags first, in a stable order."""
    return tuple(r.Atom(f) for f in sorted(flags, key=lambda f: (not f.startswith("\\"), f.lower())))


class MailboxView:
    """Snapshot of one selected mailbox for one session."""

    def __init__(
        self,
        mail: MailService,
        mailbox: Mailbox,
        snapshot: FlagSnapshot,
        *,
        readonly: bool,
        max_keywords: int,
    ) -> None:
        self.mail = mail
        self.mailbox = mailbox
        self.readonly = readonly
        self.max_keywords = max_keywords  # [limits.imap] max_keywords_per_mailbox
        self.uids: list[int] = list(snapshot.uids)  # the snapshot may be shared (MailService.list_flags)
        self.flags: dict[int, frozenset[str]] = dict(zip(snapshot.uids, snapshot.flags, strict=True))
        self.modseqs: dict[int, int] = dict(zip(snapshot.uids, snapshot.modseqs, strict=True))
        self.highest_modseq = max(mailbox.highest_modseq, max(snapshot.modseqs, default=0))
        self.pending_expunge: set[int] = set()
        self.dirty = False  # set when the ChangeBus reports a change to this mailbox
        self.condstore = False
        self.qresync = False
        self.saved_search: list[int] = []  # RFC 5182 SEARCHRES "$" (UIDs)
        # RFC 3501 \Recent: the UIDs this session is the first to be told about
        # (Store.claim_recent); shown in FLAGS only to IMAP4rev1 clients (RFC 9051 drops it).
        self.recent: set[int] = set()
        self.show_recent = False
        # Keywords the client has been told of, by lower-case name (RFC 9051 §2.3.2:
        # flags compare case-insensitively).
        self.keywords: dict[str, str] = {}
        # RFC 5267 §4.3 updating contexts by tag, and the messages to evaluate for them again
        # (changed by another session or by this one) at the next sync.
        self.contexts: dict[str, SearchContext] = {}
        self.context_candidates: set[int] = set()
        for flags in set(snapshot.flags):  # equal sets are shared: few distinct ones
            self._add_keywords(flags)

    # ---- keywords ----------------------------------------------------------------------
    def _add_keywords(self, flags: Iterable[str]) -> bool:
        added = False
        for flag in flags:
            if not flag.startswith("\\") and flag.lower() not in self.keywords:
                self.keywords[flag.lower()] = flag
                added = True
        return added

    def flags_responses(self) -> list[bytes]:
        """``* FLAGS`` and ``* OK [PERMANENTFLAGS]``: the flags of the mailbox, with every
        keyword in use, and those a client may store (none when read-only; ``\\*``: new
        keywords may be created)."""
        distinct = set(self.flags.values())  # few distinct sets, however many messages
        for flags in distinct:  # also those this session stored silently
            self._add_keywords(flags)
        keywords = sorted(self.keywords.values(), key=str.lower)
        # RFC 3501 §7.1 / RFC 9051 §7.1: "\\*" says a new keyword may be created by
        # storing it; not so once the keywords in use reach max_keywords_per_mailbox
        # (STORE would get NO [LIMIT]).
        in_use = {f.lower() for flags in distinct for f in flags if not f.startswith("\\")}
        create = ("\\*",) if len(in_use) < self.max_keywords else ()
        permanent = () if self.readonly else (*SYSTEM_FLAGS, *keywords, *create)
        return [
            r.untagged(r.Atom("FLAGS"), flag_atoms([*SYSTEM_FLAGS, *keywords])),
            r.untagged_status("OK", "flags that stick", r.code_permanentflags(permanent)),
        ]

    def announce_keywords(self, flag_sets: Iterable[Iterable[str]]) -> list[bytes]:
        """The FLAGS and PERMANENTFLAGS responses to send before responses that show
        these flags, if they hold a keyword the client has not been told of; else none."""
        added = False
        for flags in flag_sets:
            added = self._add_keywords(flags) or added
        return self.flags_responses() if added else []

    # ---- lookups -----------------------------------------------------------------------
    @property
    def exists(self) -> int:
        return len(self.uids)

    def seq_of(self, uid: int) -> int | None:
        i = bisect.bisect_left(self.uids, uid)
        return i + 1 if i < len(self.uids) and self.uids[i] == uid else None

    @property
    def largest_uid(self) -> int:
        return self.uids[-1] if self.uids else 0

    def resolve_uids(self, seqset: SequenceSet, *, uid: bool) -> list[int]:
        """UIDs named by a sequence set (message numbers or UIDs), ascending.

        A UID set names only UIDs present; ``*`` in a UID set is the largest UID
        (RFC 9051 §6.4.8: "*" then names the last message even if the range is
        beyond it). ``$`` is the saved search result (RFC 5182)."""
        if seqset.saved:
            present = set(self.uids)
            return [u for u in self.saved_search if u in present]
        if uid:
            out: list[int] = []
            for lo, hi in seqset.resolve(self.largest_uid):
                a = bisect.bisect_left(self.uids, lo)
                b = bisect.bisect_right(self.uids, hi)
                out.extend(self.uids[a:b])
            return out
        return [self.uids[n - 1] for n in seqset.iter(self.exists)]

    # ---- changes -----------------------------------------------------------------------
    def note_flags(self, records: Iterable[MessageRecord]) -> None:
        """Record flags this session has already reported (its own STORE)."""
        for rec in records:
            if rec.uid in self.flags:
                self.flags[rec.uid] = rec.flags
                self.modseqs[rec.uid] = rec.modseq
                if self.contexts:
                    self.context_candidates.add(rec.uid)

    def flags_of(self, uid: int, flags: frozenset[str]) -> frozenset[str]:
        """The flags as a FETCH reports them: with \\Recent for an IMAP4rev1 client."""
        return flags | {"\\Recent"} if self.show_recent and uid in self.recent else flags

    async def claim_recent(self, uids: Iterable[int]) -> None:
        """Mark as recent those of ``uids`` no session was told about (RFC 3501 §2.3.2);
        a read-only (EXAMINE) session looks without taking them (RFC 3501 §6.3.2)."""
        previous = await self.mail.claim_recent(self.mailbox, claim=not self.readonly)
        if uids is self.uids:  # SELECT: ascending, so the recent ones are a tail
            self.recent.update(self.uids[bisect.bisect_right(self.uids, previous) :])
        else:
            self.recent.update(u for u in uids if u > previous)

    def fetch_flags(self, uid: int, *, with_uid: bool = True) -> bytes:
        """``* n FETCH (FLAGS ...)``, preceded by the announcement of a new keyword."""
        seq = self.seq_of(uid)
        assert seq is not None
        items: list[tuple[str, object]] = []
        if with_uid or self.qresync:
            items.append(("UID", uid))
        items.append(("FLAGS", flag_atoms(self.flags_of(uid, self.flags[uid]))))
        if self.condstore:
            items.append(("MODSEQ", (self.modseqs.get(uid, 0),)))
        return b"".join(self.announce_keywords([self.flags[uid]])) + r.fetch_response(seq, items)

    def flag_fetches(self, uids: Iterable[int], *, uid_item: bool, flags_item: bool, flags_first: bool) -> list[bytes]:
        """``* n FETCH (UID u FLAGS (...))`` for ``uids`` from this snapshot, by UID, in
        bulk (``FETCH 1:* (FLAGS)`` over 100,000 messages); messages expunged but not yet
        announced are left out, as the store no longer has them. New keywords are
        announced first. The caller makes sure the snapshot is current (not dirty)."""
        wanted = sorted(u for u in uids if u not in self.pending_expunge) if self.pending_expunge else sorted(uids)
        out: list[bytes] = []
        if flags_item:
            out.extend(self.announce_keywords({self.flags[u] for u in wanted}))
        if len(wanted) * 2 >= len(self.uids):
            position = dict(zip(self.uids, range(1, len(self.uids) + 1), strict=True))
            seqs = [position[u] for u in wanted]
        else:
            seqs = [self.seq_of(u) or 0 for u in wanted]
        if not flags_item:
            out.extend([b"* %d FETCH (UID %d)\r\n" % pair for pair in zip(seqs, wanted, strict=True)])
            return out
        encoded: dict[frozenset[str], bytes] = {}
        lists: list[bytes] = []
        recent = self.recent if self.show_recent else set()
        for u in wanted:
            flags = self.flags[u] | {"\\Recent"} if u in recent else self.flags[u]
            value = encoded.get(flags)
            if value is None:
                value = encoded[flags] = r.encode(flag_atoms(flags))
            lists.append(value)
        if not uid_item:
            out.extend([b"* %d FETCH (FLAGS %s)\r\n" % pair for pair in zip(seqs, lists, strict=True)])
        elif flags_first:
            out.extend([b"* %d FETCH (FLAGS %s UID %d)\r\n" % t for t in zip(seqs, lists, wanted, strict=True)])
        else:
            out.extend([b"* %d FETCH (UID %d FLAGS %s)\r\n" % t for t in zip(seqs, wanted, lists, strict=True)])
        return out

    def highest_modseq_response(self) -> bytes:
        """``* OK [HIGHESTMODSEQ n]`` (RFC 7162 §3.1.2.1): what this view has reported."""
        return r.OK_HIGHESTMODSEQ.untagged("highest", args=str(self.highest_modseq))

    def fetch_modseq(self, uid: int, *, with_uid: bool = True) -> bytes:
        """RFC 7162 §3.1.3: after STORE .SILENT, only the new MODSEQ (and the UID)."""
        seq = self.seq_of(uid)
        assert seq is not None
        items: list[tuple[str, object]] = [("UID", uid)] if with_uid or self.qresync else []
        items.append(("MODSEQ", (self.modseqs.get(uid, 0),)))
        return r.fetch_response(seq, items)

    async def sync(self, *, allow_expunge: bool, force: bool = False) -> list[bytes]:
        """Responses that bring the client up to date; see the module invariants."""
        out: list[bytes] = []
        flag_changed: list[int] = []
        new: list[MessageRecord] = []
        if self.dirty or force:
            self.dirty = False
            changes = await self.mail.changes_since(self.mailbox, self.highest_modseq)
            gone = set(changes.expunged)
            self.pending_expunge |= {u for u in gone if u in self.flags}
            last = self.largest_uid
            for rec in changes.changed:
                if rec.uid in gone:
                    continue
                if self.contexts:
                    self.context_candidates.add(rec.uid)
                old = self.flags.get(rec.uid)
                if old is not None:
                    if rec.flags != old or (self.condstore and rec.modseq != self.modseqs[rec.uid]):
                        self.flags[rec.uid] = rec.flags
                        self.modseqs[rec.uid] = rec.modseq
                        flag_changed.append(rec.uid)
                elif rec.uid > last:
                    new.append(rec)
            self.highest_modseq = max(self.highest_modseq, changes.highest_modseq)
        if allow_expunge:
            # RFC 5267 §4.3.4: REMOVEFROM "MUST be sent prior to the expunge notification"
            out.extend(self._context_removals(self.pending_expunge))
            out.extend(self._expunge_responses())
        out.extend(self.announce_keywords(rec.flags for rec in new))
        for uid in flag_changed:
            if uid in self.flags and uid not in self.pending_expunge:
                out.append(self.fetch_flags(uid))
        if new:
            new.sort(key=lambda m: m.uid)
            for rec in new:
                self.uids.append(rec.uid)
                self.flags[rec.uid] = rec.flags
                self.modseqs[rec.uid] = rec.modseq
            out.append(r.exists_response(self.exists))
            await self.claim_recent(rec.uid for rec in new)
            if self.show_recent:
                out.append(b"* %d RECENT\r\n" % len(self.recent))  # RFC 3501 §7.3.2
        # RFC 5267 §4.3.3: an ADDTO of new messages "MUST be sent after the EXISTS"
        out.extend(await self._context_updates())
        return out

    # ---- updating contexts (RFC 5267 §4.3) -----------------------------------------------
    def _context_removals(self, gone: set[int]) -> list[bytes]:
        if not gone or not self.contexts:
            return []
        lines = [ctx.response(ctx.remove(gone), self.seq_of) for ctx in self.contexts.values()]
        return [line for line in lines if line]

    async def _context_updates(self) -> list[bytes]:
        candidates = {u for u in self.context_candidates if u in self.flags and u not in self.pending_expunge}
        self.context_candidates.clear()
        if not candidates or not self.contexts:
            return []
        out: list[bytes] = []
        for ctx in self.contexts.values():
            line = ctx.response(await ctx.reevaluate(self.mail, self.mailbox, candidates), self.seq_of)
            if line:
                out.append(line)
        return out

    def _expunge_responses(self) -> list[bytes]:
        if not self.pending_expunge:
            return []
        gone = sorted(self.pending_expunge)
        self.pending_expunge.clear()
        if self.qresync:
            # RFC 7162 §3.2.10: VANISHED replaces EXPUNGE once QRESYNC is enabled.
            for uid in gone:
                self._remove(uid)
            return [r.vanished_response(SequenceSet.of(gone))]
        out: list[bytes] = []
        for uid in reversed(gone):  # highest first, so earlier numbers stay valid
            seq = self.seq_of(uid)
            if seq is None:
                continue
            self._remove(uid)
            out.append(r.expunge_response(seq))
        return out

    def _remove(self, uid: int) -> None:
        i = bisect.bisect_left(self.uids, uid)
        if i < len(self.uids) and self.uids[i] == uid:
            del self.uids[i]
        self.flags.pop(uid, None)
        self.modseqs.pop(uid, None)
        self.recent.discard(uid)
