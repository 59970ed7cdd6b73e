"""NOTIFY (RFC 5465): which changes a session is told of, and when, fed by the ChangeBus.

``NOTIFY SET`` installs a :class:`Notifier` on the session; ``NOTIFY NONE`` removes it,
and the session is then as it was before any NOTIFY (IDLE and the selected view report
the selected mailbox as RFC 9051 says). While a notifier is installed:

- Between commands (``Session._fill_notifying``), in IDLE and before each tagged answer,
  every change the ChangeBus brings is taken as a hint (docs/architecture.md §7): the
  notifier reads the store and writes what the client asked for. A lost hint delays a
  notification until the next one, never corrupts one.
- The selected mailbox follows the SELECTED / SELECTED-DELAYED group only (§6.1): its
  updates come from the selected view (``MailboxView.sync``), at once with SELECTED,
  with expunges held until a command that may report them with SELECTED-DELAYED; with
  neither, nothing is sent for it between commands. MessageNew's fetch attributes are
  answered by a FETCH after the EXISTS (§5.2), except for messages this session put
  there itself (APPEND, COPY, MOVE).
- Other mailboxes get ``* STATUS`` (MessageNew / MessageExpunge: MESSAGES UIDNEXT;
  FlagChange: UIDVALIDITY HIGHESTMODSEQ; HIGHESTMODSEQ too once CONDSTORE is on,
  §5.1-§5.3), ``* LIST`` for MailboxName (created, ``\\NonExistent`` when deleted, the
  OLDNAME extended item when renamed, §5.4) and SubscriptionChange (``\\Subscribed``,
  §5.5), and ``* METADATA mailbox entry...`` for MailboxMetadataChange /
  ServerMetadataChange (§5.6, §5.7, RFC 5464 §4.4.2). They are found by diffing a
  snapshot (the mailbox list, the subscriptions, the watched annotations) against the
  store, so a change made by another process or missed while the client was busy is
  still reported once.
- For a mailbox matched by several groups the most specific wins: MAILBOXES, then
  SUBTREE (the longest root), then SUBSCRIBED and INBOXES, then PERSONAL; among equals
  the later group. So ``(personal (...)) (mailboxes Junk NONE)`` silences Junk.
- INBOXES are the mailboxes mail is delivered to: INBOX and the ``\\Junk`` mailbox.
- Limits (``[limits.imap]``): a NOTIFY SET whose message events cover more than
  ``max_notify_mailboxes`` mailboxes is refused ``NO [NOTIFICATIONOVERFLOW]`` (§3.1);
  more than ``max_notify_backlog`` changes waiting for the session (a client that does
  not read) end its notifications with ``* OK [NOTIFICATIONOVERFLOW]`` (§5.8).
- AnnotationChange (per-message annotations, RFC 5257) is not supported: NOTIFY SET
  naming it, or any unknown event, is refused ``NO [BADEVENT (...)]`` listing the events
  that are (§3.1).
- §5: the session is not told of its own message changes (a Change carries the
  session that made it, ``store.api.CHANGE_ORIGIN``). Its own CREATE, DELETE, RENAME,
  SUBSCRIBE and SETMETADATA are told to it like anyone's: those are found by diffing
  snapshots, and taking its own change into a snapshot silently could also swallow
  another process's change committed meanwhile, which would then never be told.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Literal

from postoffice.errors import MailError
from postoffice.net.connection import Timeout
from postoffice.store.api import Change, Mailbox
from postoffice.wire.imap import commands as c
from postoffice.wire.imap import response as r
from postoffice.wire.imap.notify import EventGroup, Notify
from postoffice.wire.imap.seqset import SequenceSet

from . import fetch
from .errors import Refusal
from .mailboxes import status_items_of
from .session import Session
from .view import MailboxView

__all__ = ["notify", "Notifier", "SUPPORTED_EVENTS"]

log = logging.getLogger("postoffice.imap")

SEPARATOR = "/"

# RFC 5465 §5: what this server can report; AnnotationChange needs RFC 5257 ANNOTATE.
SUPPORTED_EVENTS = (
    "MessageNew",
    "MessageExpunge",
    "FlagChange",
    "MailboxName",
    "SubscriptionChange",
    "MailboxMetadataChange",
    "ServerMetadataChange",
)
_MESSAGE_KINDS = frozenset({"append", "expunge"})


def _rank(group: EventGroup, name: str, special_use: str | None, subscribed: set[str]) -> tuple[int, int] | None:
    """How specifically ``group`` names the mailbox ``name``; None when it does not."""
    if group.filter == "MAILBOXES":
        return (3, 0) if name in group.mailboxes else None
    if group.filter == "SUBTREE":
        roots = [len(root) for root in group.mailboxes if name == root or name.startswith(root + SEPARATOR)]
        return (2, max(roots)) if roots else None
    if group.filter == "SUBSCRIBED":
        return (1, 0) if name in subscribed else None
    if group.filter == "INBOXES":
        return (1, 0) if name == "INBOX" or special_use == "\\Junk" else None
    if group.filter == "PERSONAL":
        return (0, 0)  # one personal namespace, and nothing else (RFC 2342)
    return None


class Notifier:
    """One session's NOTIFY SET: its groups and the snapshots notifications are diffed from."""

    def __init__(self, s: Session, groups: Sequence[EventGroup]) -> None:
        self.s = s
        self.selected: EventGroup | None = next((g for g in groups if g.selected), None)
        self.others = [g for g in groups if not g.selected]
        self.server_metadata = any("ServerMetadataChange" in g.events for g in self.others)
        self.names: dict[int, str] = {}
        self.special: dict[int, str | None] = {}
        self.subscribed: set[str] = set()
        self.metadata: dict[int | None, dict[str, bytes]] = {}
        # Hints since the last delivery.
        self.list_dirty = False
        self.boxes: dict[int, set[str]] = {}
        self.metadata_dirty: set[int | None] = set()
        self.selected_dirty = False
        self.backlog = 0
        self.overflowed = False
        # MessageNew fetch attributes: the view they were last sent for, and its last UID then.
        self._view: MailboxView | None = None
        self._reported_uid = 0
        self._own_uids: set[int] = set()  # put in the selected mailbox by this session

    # ---- which events ------------------------------------------------------------------------
    def events_of(self, name: str, special_use: str | None = None, subscribed: set[str] | None = None) -> set[str]:
        """The events the client wants for the mailbox ``name`` (not the selected one)."""
        subs = self.subscribed if subscribed is None else subscribed
        best: EventGroup | None = None
        best_rank: tuple[int, int] = (-1, -1)
        for group in self.others:
            rank = _rank(group, name, special_use, subs)
            if rank is not None and rank >= best_rank:
                best, best_rank = group, rank
        return set(best.events) if best is not None else set()

    def _box_events(self, box_id: int) -> set[str]:
        name = self.names.get(box_id)
        return set() if name is None else self.events_of(name, self.special.get(box_id))

    def _selected_id(self) -> int | None:
        view = self.s.view
        return view.mailbox.id if view is not None else None

    async def load(self) -> list[Mailbox]:
        """Take the snapshots NOTIFY SET starts from; the mailboxes, for the STATUS indicator."""
        s = self.s
        assert s.account is not None
        boxes = await s.mail.list_mailboxes(s.account)
        self.names = {m.id: m.name for m in boxes}
        self.special = {m.id: m.special_use for m in boxes}
        self.subscribed = set(await s.mail.list_subscriptions(s.account))
        if self.server_metadata:
            self.metadata[None] = await s.mail.get_metadata(s.account, None)
        for box in boxes:
            if "MailboxMetadataChange" in self.events_of(box.name, box.special_use):
                self.metadata[box.id] = await s.mail.get_metadata(s.account, box.name)
        self._view = s.view
        self._reported_uid = s.view.largest_uid if s.view is not None else 0
        return boxes

    def watched(self, boxes: Iterable[Mailbox]) -> list[Mailbox]:
        """The mailboxes (not the selected one) whose message events the client wants."""
        selected = self._selected_id()
        return [m for m in boxes if m.id != selected and "MessageNew" in self.events_of(m.name, m.special_use)]

    # ---- hints -------------------------------------------------------------------------------
    def note(self, changes: Sequence[Change]) -> None:
        selected = self._selected_id()
        for change in changes:
            self.backlog += 1
            own = change.origin is not None and change.origin == self.s.origin
            if own and change.kind in _MESSAGE_KINDS | {"flags"}:
                # RFC 5465 §5: not told of its own message changes (its commands'
                # answers say them); §5.2: no FETCH for the messages it put there.
                if change.mailbox_id == selected and change.kind == "append":
                    self._own_uids.update(change.uids)
                continue
            if change.kind == "metadata":
                self.metadata_dirty.add(change.mailbox_id)
            elif change.mailbox_id is None:
                self.list_dirty = True  # the mailbox list or the subscriptions
            elif change.mailbox_id == selected:
                events = set(self.selected.events) if self.selected is not None else set()
                if change.kind == "mailbox" or (change.kind in _MESSAGE_KINDS and "MessageNew" in events):
                    self.selected_dirty = True
                elif change.kind == "flags" and "FlagChange" in events:
                    self.selected_dirty = True
            elif change.kind == "mailbox":
                self.list_dirty = True
            else:
                self.boxes.setdefault(change.mailbox_id, set()).add(change.kind)
        if self.backlog > self.s.limits.max_notify_backlog:
            self.overflowed = True

    # ---- delivery ----------------------------------------------------------------------------
    async def deliver(self, when: Literal["waiting", "idle", "command"]) -> bool:
        s = self.s
        if self.overflowed:
            # RFC 5465 §5.8: tell the client, then behave as after NOTIFY NONE.
            s.notifier = None
            s.write(r.OK_NOTIFICATIONOVERFLOW.untagged("too many changes; notifications are off"))
            return True
        self.backlog = 0
        view = s.view
        if when != "command" and self.selected is not None and view is not None:
            allow_expunge = when == "idle" or self.selected.filter == "SELECTED"
            # SELECTED-DELAYED: expunges held between commands go out in IDLE (§6.1.2)
            if (self.selected_dirty or (allow_expunge and view.pending_expunge)) and not await s.sync_view(
                allow_expunge=allow_expunge
            ):
                return False
        self.selected_dirty = False
        try:
            await self._fetch_new()
            lines = await self._collect()
        except (ConnectionError, Timeout):
            raise
        except Exception:
            # The failure policy (docs/architecture.md §8.1): logged, and the session goes
            # on; this round's notifications may be lost, later changes are told again.
            log.exception("imap: NOTIFY notifications could not be made")
            return True
        for line in lines:
            s.write(line)
        return True

    async def _fetch_new(self) -> None:
        """RFC 5465 §5.2: the FETCH of MessageNew's attributes, after the EXISTS."""
        s, view = self.s, self.s.view
        if view is not self._view:  # another mailbox selected: its messages are not new
            self._view = view
            self._reported_uid = view.largest_uid if view is not None else 0
            return
        if view is None or self.selected is None or not self.selected.fetch_items:
            return
        new = [u for u in view.uids if u > self._reported_uid and u not in self._own_uids]
        self._reported_uid = view.largest_uid
        self._own_uids = {u for u in self._own_uids if u > self._reported_uid}
        if not new:
            return
        try:
            await fetch.fetch(s, c.Fetch("*", True, SequenceSet.of(new), self.selected.fetch_items))
        except (MailError, Refusal) as exc:  # a part the message does not have, say
            log.info("imap: NOTIFY fetch attributes not sent: %s", exc)

    async def _collect(self) -> list[bytes]:
        out: list[bytes] = []
        if self.list_dirty:
            self.list_dirty = False
            out += await self._list_changes()
        boxes, self.boxes = self.boxes, {}
        for box_id, kinds in boxes.items():
            line = await self._status(box_id, kinds)
            if line is not None:
                out.append(line)
        targets, self.metadata_dirty = self.metadata_dirty, set()
        for target in sorted(targets, key=lambda t: -1 if t is None else t):
            line = await self._metadata(target)
            if line is not None:
                out.append(line)
        return out

    async def _status(self, box_id: int, kinds: set[str]) -> bytes | None:
        """RFC 5465 §5.1-§5.3: ``* STATUS`` of a mailbox that is not selected."""
        s = self.s
        assert s.account is not None
        events = self._box_events(box_id)
        items: list[str] = []
        if kinds & _MESSAGE_KINDS and "MessageNew" in events:
            items += ["MESSAGES", "UIDNEXT"]
        if "flags" in kinds and "FlagChange" in events:
            items += ["UIDVALIDITY", "HIGHESTMODSEQ"]
        if not items:
            return None
        if s.condstore and "HIGHESTMODSEQ" not in items:
            items.append("HIGHESTMODSEQ")
        try:
            box = await s.mail.get_mailbox(s.account, self.names[box_id])
        except MailError:
            return None  # gone meanwhile: its MailboxName event says so
        if box.id != box_id:
            return None
        return r.status_response(box.name, await status_items_of(s, box, items), utf8=s.utf8)

    def _attributes(self, name: str, names: Sequence[str], special_use: str | None, subscribed: set[str]) -> list[str]:
        prefix = name + SEPARATOR
        attrs = ["\\HasChildren" if any(n.startswith(prefix) for n in names) else "\\HasNoChildren"]
        if special_use:
            attrs.append(special_use)
        if name in subscribed:
            attrs.append("\\Subscribed")
        return attrs

    async def _list_changes(self) -> list[bytes]:
        """RFC 5465 §5.4 MailboxName and §5.5 SubscriptionChange, from the snapshot's diff."""
        s = self.s
        assert s.account is not None
        boxes = await s.mail.list_mailboxes(s.account)
        subscribed = set(await s.mail.list_subscriptions(s.account))
        names = {m.id: m.name for m in boxes}
        special = {m.id: m.special_use for m in boxes}
        all_names = list(names.values())
        either = self.subscribed | subscribed  # SUBSCRIBED matches before or after the change
        out: list[bytes] = []
        told: set[str] = set()

        def listed(name: str, attrs: list[str], oldname: str | None = None) -> None:
            extended: list[tuple[str, object]] = [("OLDNAME", (oldname,))] if oldname is not None else []
            out.append(r.list_response(attrs, SEPARATOR, name, utf8=s.utf8, extended=extended))
            told.add(name)

        for box_id, name in names.items():
            old = self.names.get(box_id)
            if old == name:
                continue
            events = self.events_of(name, special[box_id], either)
            if old is not None:
                events |= self.events_of(old, self.special.get(box_id), either)
                told.add(old)
            if "MailboxName" in events:
                listed(name, self._attributes(name, all_names, special[box_id], subscribed), old)
        for box_id, old in self.names.items():
            if box_id not in names and "MailboxName" in self.events_of(old, self.special.get(box_id), either):
                listed(old, ["\\NonExistent"] + (["\\Subscribed"] if old in subscribed else []))
        for name in sorted(self.subscribed ^ subscribed):
            if name in told or "SubscriptionChange" not in self.events_of(name, None, either):
                continue
            found = next((i for i, n in names.items() if n == name), None)
            if found is None:
                listed(name, ["\\NonExistent"] + (["\\Subscribed"] if name in subscribed else []))
            else:
                listed(name, self._attributes(name, all_names, special[found], subscribed))
        self.names, self.special, self.subscribed = names, special, subscribed
        for target in list(self.metadata):
            if target is not None and target not in names:
                del self.metadata[target]
        return out

    async def _metadata(self, target: int | None) -> bytes | None:
        """RFC 5465 §5.6 / §5.7: ``* METADATA mailbox entry...`` (RFC 5464 §4.4.2), the
        entries set, changed or removed since the snapshot."""
        s = self.s
        assert s.account is not None
        if target is None:
            if not self.server_metadata:
                return None
            name = ""
        else:
            found = self.names.get(target)
            # RFC 5465 §6.1: SELECTED is about message events only; mailbox events of
            # the selected mailbox follow the other groups.
            if found is None or "MailboxMetadataChange" not in self._box_events(target):
                return None
            name = found
        try:
            entries = await s.mail.get_metadata(s.account, name or None)
        except MailError:
            return None
        old = self.metadata.get(target, {})
        self.metadata[target] = entries
        changed = sorted(e for e in set(old) | set(entries) if old.get(e) != entries.get(e))
        if not changed:
            return None
        body = b" ".join(r.astring(e, utf8=s.utf8) for e in changed)
        return b"* METADATA " + r.mailbox(name, utf8=s.utf8) + b" " + body + b"\r\n"


async def notify(s: Session, cmd: Notify) -> bytes | None:
    """RFC 5465 §3.1 NOTIFY NONE / NOTIFY SET [STATUS]."""
    if cmd.none:
        s.notifier = None
        return None
    unsupported = sorted({e for g in cmd.groups for e in g.events if e not in SUPPORTED_EVENTS})
    if unsupported:
        # RFC 5465 §3.1: NO, not BAD, naming every event the server supports.
        raise Refusal(r.NO_BADEVENT, f"not supported: {' '.join(unsupported)}", args=f"({' '.join(SUPPORTED_EVENTS)})")
    s.note_bus()  # what happened before this command is the snapshot's, not a notification
    notifier = Notifier(s, cmd.groups)
    boxes = await notifier.load()
    watched = notifier.watched(boxes)
    if len(watched) > s.limits.max_notify_mailboxes:
        raise Refusal(r.NO_NOTIFICATIONOVERFLOW, f"at most {s.limits.max_notify_mailboxes} mailboxes can be watched")
    s.notifier = notifier
    if cmd.status:
        # RFC 5465 §3.1: a STATUS for each mailbox (not the selected one) whose message
        # events are now on, before the tagged OK.
        items = ["MESSAGES", "UIDNEXT", "UIDVALIDITY"] + (["HIGHESTMODSEQ"] if s.condstore else [])
        for box in watched:
            s.write(r.status_response(box.name, await status_items_of(s, box, items), utf8=s.utf8))
    return None
