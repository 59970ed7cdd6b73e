"""Search and sort results kept up to date (RFC 5267 §4.3: CONTEXT=SEARCH, CONTEXT=SORT).

A :class:`SearchContext` is the result of a SEARCH or SORT given ``RETURN (UPDATE)``: the
matching UIDs in the requested order (mailbox order for SEARCH, RFC 5267 §4.4). The
selected :class:`~.view.MailboxView` owns the session's contexts and, at each sync, brings
them up to date from the same changes it announces to the session (new messages, flag
changes, expunges), writing ``* ESEARCH (TAG ..) ADDTO / REMOVEFROM`` lines.

Invariants:
- A REMOVEFROM of expunged messages is written before their EXPUNGE / VANISHED (RFC 5267
  §4.3.4) and an ADDTO of new messages after their EXISTS (§4.3.3), so that message
  numbers in them are valid when the client reads them.
- Sort keys are immutable facts of a message (dates, addresses, subject, size), so the
  members of a SORT context never move relative to one another: only membership changes,
  and ADDTO / REMOVEFROM positions keep the list in the requested order (§4.3.2).
- Only the messages that changed are evaluated again, never the whole mailbox.
- A criterion was resolved to UIDs when the command ran (sequence sets, ``$``): a context
  keeps answering for those messages, as an unmodified command given then would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from postoffice.mail import search as m
from postoffice.mail import sort as ms
from postoffice.mail.service import MailService
from postoffice.store.api import Mailbox
from postoffice.wire.imap import sort as w

__all__ = ["SearchContext", "Update"]

Update = tuple[str, int, list[int]]  # ("ADDTO" / "REMOVEFROM", context position, UIDs in order)


@dataclass
class SearchContext:
    """One updating context. ``sort_keys`` None: a SEARCH context, whose positions are
    0 (RFC 5267 §4.3.3: "the context position MAY be zero" for SEARCH)."""

    tag: str
    uid: bool
    criterion: m.Criterion
    sort_keys: tuple[ms.SortKey, ...] | None
    results: list[int]
    facts: dict[int, ms.MessageFacts] = field(default_factory=dict)  # SORT contexts: of each member

    # ---- changes -----------------------------------------------------------------------
    def remove(self, gone: set[int]) -> list[Update]:
        """Take ``gone`` out of the results; the REMOVEFROM items that say so."""
        if not gone.intersection(self.results):
            return []
        if self.sort_keys is None:
            removed = [u for u in self.results if u in gone]
            self.results = [u for u in self.results if u not in gone]
            return [("REMOVEFROM", 0, removed)]
        # RFC 5267 §4.3.4: "the first result in the set will occupy the given context
        # position before removal"; runs are applied in order, so a later run's position
        # counts the earlier runs as already removed.
        items: list[Update] = []
        kept: list[int] = []
        run: list[int] = []
        run_position = 0
        removed_before = 0
        for i, u in enumerate(self.results):
            if u in gone:
                if not run:
                    run_position = i + 1 - removed_before
                run.append(u)
                continue
            if run:
                items.append(("REMOVEFROM", run_position, run))
                removed_before += len(run)
                run = []
            kept.append(u)
        if run:
            items.append(("REMOVEFROM", run_position, run))
        for u in gone:
            self.facts.pop(u, None)
        self.results = kept
        return items

    async def add(self, mail: MailService, mailbox: Mailbox, added: set[int]) -> list[Update]:
        """Put ``added`` into the results in the requested order; the ADDTO items."""
        if not added:
            return []
        if self.sort_keys is None:
            self.results = sorted({*self.results, *added})
            return [("ADDTO", 0, sorted(added))]
        for facts in await ms.load_facts(mail, mailbox, added):
            self.facts[facts.uid] = facts
        merged = [f.uid for f in ms.sort_messages((self.facts[u] for u in {*self.results, *added} if u in self.facts), self.sort_keys)]
        # RFC 5267 §4.3.3: "the first result in the set will occupy the new context position
        # after insertion"; runs in ascending position, so earlier insertions stay true.
        items: list[Update] = []
        run: list[int] = []
        for i, u in enumerate(merged):
            if u in added:
                run.append(u)
                continue
            if run:
                items.append(("ADDTO", i - len(run) + 1, run))
                run = []
        if run:
            items.append(("ADDTO", len(merged) - len(run) + 1, run))
        self.results = merged
        return items

    async def reevaluate(self, mail: MailService, mailbox: Mailbox, candidates: set[int]) -> list[Update]:
        """Evaluate the criterion again for ``candidates`` (new or changed messages) only."""
        if not candidates:
            return []
        matched = await m.MailboxSearch(mail, mailbox, candidates).matches(self.criterion)
        current = set(self.results)
        return self.remove((candidates - matched) & current) + await self.add(mail, mailbox, matched - current)

    def response(self, items: Iterable[Update], seq_of: Callable[[int], int | None]) -> bytes:
        """The ESEARCH line of ``items``, in UIDs or message numbers as the command was."""
        rendered: list[tuple[str, int, list[int]]] = []
        for kind, position, uids in items:
            numbers = uids if self.uid else [n for n in map(seq_of, uids) if n is not None]
            if numbers:
                rendered.append((kind, position, numbers))
        return w.context_update_response(self.tag, rendered, uid=self.uid) if rendered else b""
