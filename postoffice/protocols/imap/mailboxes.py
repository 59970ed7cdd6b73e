"""Mailbox handlers: SELECT, EXAMINE, CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE,
LIST (LIST-EXTENDED, LIST-STATUS, SPECIAL-USE, CHILDREN), LSUB, NAMESPACE, STATUS,
CLOSE, UNSELECT (RFC 9051 §6.3, §6.4.1, §6.4.2; RFC 5258; RFC 5819; RFC 6154; RFC 7162).

Mailbox names arrive decoded (``wire.imap``); ``mail/`` validates them. The hierarchy
separator is "/"; INBOX is case-insensitive.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from postoffice.errors import Kind, MailError
from postoffice.mail.names import SEPARATOR, canonical_mailbox
from postoffice.mail.objectid import mailbox_id
from postoffice.store.api import Mailbox
from postoffice.wire.imap import commands as c
from postoffice.wire.imap import response as r
from postoffice.wire.imap.seqset import SequenceSet

from . import quota  # RFC 9208 STATUS DELETED-STORAGE
from .errors import Refusal
from .session import Session
from .view import MailboxView

__all__ = [
    "select", "create", "delete", "rename", "subscribe", "unsubscribe", "list_", "lsub", "namespace", "status",
    "close", "unselect", "status_items",
]



# ---- SELECT / EXAMINE ----------------------------------------------------------------------
async def select(s: Session, cmd: c.Select) -> bytes | None:
    assert s.account is not None
    if s.view is not None:
        s.select(None)
        s.write(r.OK_CLOSED.untagged("previous mailbox closed"))  # RFC 9051 §7.1 CLOSED
    if cmd.qresync is not None and not s.qresync:
        raise Refusal(r.BAD, "QRESYNC is not enabled")  # RFC 7162 §3.2.5
    if cmd.condstore or cmd.qresync is not None:
        s.condstore = True
    mailbox = await s.mail.get_mailbox(s.account, cmd.mailbox)
    snapshot = await s.mail.list_flags(mailbox)
    view = MailboxView(
        s.mail, mailbox, snapshot, readonly=cmd.readonly, max_keywords=s.limits.max_keywords_per_mailbox
    )
    view.condstore = s.condstore
    view.qresync = s.qresync
    # RFC 3501 §2.3.2: \\Recent in FETCH FLAGS and * n RECENT for IMAP4rev1 sessions only
    # (RFC 9051 removed it).
    view.show_recent = not s.rev2
    await view.claim_recent(view.uids)  # after listing: a later arrival is announced by sync
    flags, permanentflags = view.flags_responses()
    s.write(flags)
    s.write(r.exists_response(view.exists))
    if not s.rev2:
        s.write(b"* %d RECENT\r\n" % len(view.recent))  # RFC 3501 §7.3.2
        first_unseen = next((i for i, f in enumerate(snapshot.flags, 1) if "\\Seen" not in f), None)
        if first_unseen is not None:
            s.write(r.untagged_status("OK", "first unseen", f"UNSEEN {first_unseen}"))
    s.write(r.OK_UIDVALIDITY.untagged("UIDs valid", args=str(mailbox.uidvalidity)))
    s.write(r.OK_UIDNEXT.untagged("predicted next UID", args=str(mailbox.uidnext)))
    s.write(permanentflags)
    s.write(r.OK_HIGHESTMODSEQ.untagged("highest", args=str(view.highest_modseq)))
    s.write(r.OK_MAILBOXID.untagged("mailbox id", args=f"({mailbox_id(mailbox)})"))  # RFC 8474 §4.1
    if s.rev2:
        s.write(r.list_response(await _attributes_of(s, mailbox), SEPARATOR, mailbox.name, utf8=s.utf8))
    if cmd.qresync is not None and cmd.qresync.uidvalidity == mailbox.uidvalidity:
        await _qresync(s, view, cmd.qresync)
    s.select(view)
    reply = r.OK_READ_ONLY if cmd.readonly else r.OK_READ_WRITE
    return reply.tagged(cmd.tag, f"{cmd.name} completed")


async def _qresync(s: Session, view: MailboxView, params: c.QResyncParams) -> None:
    """RFC 7162 §3.2.5.1: VANISHED (EARLIER) then FETCH for what changed since ``modseq``."""
    changes = await s.mail.changes_since(view.mailbox, params.modseq)
    known: set[int] | None = None
    if params.known_uids is not None:
        known = set()
        for lo, hi in params.known_uids.resolve(max(view.largest_uid, view.mailbox.uidnext)):
            known.update(u for u in changes.expunged if lo <= u <= hi)
    vanished = [u for u in changes.expunged if known is None or u in known]
    if vanished:
        s.write(r.vanished_response(SequenceSet.of(vanished), earlier=True))
    for rec in changes.changed:
        if view.seq_of(rec.uid) is not None:
            s.write(view.fetch_flags(rec.uid))


# ---- CLOSE / UNSELECT ------------------------------------------------------------------------
async def close(s: Session, cmd: c.Close) -> bytes | None:
    view = s.view
    assert view is not None
    s.select(None)
    if not view.readonly:
        # RFC 9051 §6.4.1: expunge \Deleted messages, silently (no EXPUNGE responses).
        records = await s.mail.list_messages(view.mailbox)
        deleted = [m.uid for m in records if "\\deleted" in {f.lower() for f in m.flags}]
        await s.mail.expunge(view.mailbox, deleted)
    return None


async def unselect(s: Session, cmd: c.Unselect) -> bytes | None:
    s.select(None)  # RFC 3691: like CLOSE without the expunge
    return None


# ---- CREATE / DELETE / RENAME / SUBSCRIBE ----------------------------------------------------------
async def create(s: Session, cmd: c.Create) -> bytes | None:
    assert s.account is not None
    name = cmd.mailbox.rstrip(SEPARATOR) if cmd.mailbox != SEPARATOR else cmd.mailbox  # RFC 9051 §6.3.4
    if canonical_mailbox(name) == "INBOX":
        raise MailError(Kind.EXISTS, "INBOX always exists")
    special = None
    if cmd.special_use:
        if len(cmd.special_use) > 1 or cmd.special_use[0].lower() not in {
            "\\sent", "\\drafts", "\\trash", "\\junk", "\\archive", "\\all", "\\flagged"
        }:
            raise Refusal(r.Reply("NO", "USEATTR"), "unsupported special-use attribute")  # RFC 6154 §3
        special = "\\" + cmd.special_use[0][1:].capitalize()
    created = await s.mail.create_mailbox(s.account, name, special)
    return r.OK_MAILBOXID.tagged(cmd.tag, "CREATE completed", args=f"({mailbox_id(created)})")  # RFC 8474 §4.1


async def delete(s: Session, cmd: c.Delete) -> bytes | None:
    assert s.account is not None
    await s.mail.delete_mailbox(s.account, cmd.mailbox)
    return None


async def rename(s: Session, cmd: c.Rename) -> bytes | None:
    assert s.account is not None
    await s.mail.rename_mailbox(s.account, cmd.mailbox, cmd.new_name)
    return None


async def subscribe(s: Session, cmd: c.Subscribe) -> bytes | None:
    assert s.account is not None
    await s.mail.get_mailbox(s.account, cmd.mailbox)  # RFC 9051 §6.3.7: may refuse a missing name
    await s.mail.set_subscribed(s.account, cmd.mailbox, True)
    return None


async def unsubscribe(s: Session, cmd: c.Unsubscribe) -> bytes | None:
    assert s.account is not None
    await s.mail.set_subscribed(s.account, cmd.mailbox, False)
    return None


# ---- LIST / LSUB --------------------------------------------------------------------------------
class _Pattern:
    """A LIST/LSUB pattern (RFC 9051 §6.3.9: ``*`` matches anything, ``%`` anything but
    the separator), matched in time linear in the name: every position of the pattern
    is followed at once, as bits of one integer (no backtracking).
    """

    def __init__(self, reference: str, pattern: str) -> None:
        full = reference + pattern
        if full[:5].upper() == "INBOX":
            full = canonical_mailbox(full)
        # Runs of wildcards are one wildcard: "*" if the run holds a "*", else "%".
        tokens: list[str] = []
        for ch in full:
            if ch in "*%" and tokens and tokens[-1] in ("*", "%"):
                if ch == "*":
                    tokens[-1] = "*"
                continue
            tokens.append(ch)
        self.accept = 1 << len(tokens)
        self.star = 0  # bit i: token i is "*"
        self.percent = 0  # bit i: token i is "%"
        self.literal: dict[str, int] = {}  # character -> bits of the tokens that are it
        for i, token in enumerate(tokens):
            if token == "*":
                self.star |= 1 << i
            elif token == "%":
                self.percent |= 1 << i
            else:
                self.literal[token] = self.literal.get(token, 0) | 1 << i
        self.wild = self.star | self.percent

    def _closure(self, states: int) -> int:
        # A wildcard matches the empty string too (wildcards never follow each other).
        return states | (states & self.wild) << 1

    def match(self, name: str) -> bool:
        states = self._closure(1)
        for ch in name:
            stay = self.star | self.percent if ch != SEPARATOR else self.star
            states = self._closure(((states & self.literal.get(ch, 0)) << 1) | (states & stay))
            if not states:
                return False
        return bool(states & self.accept)


def _children_of(name: str, names: Iterable[str]) -> bool:
    prefix = name + SEPARATOR
    return any(n.startswith(prefix) for n in names)


async def _attributes_of(s: Session, mailbox: Mailbox, names: Sequence[str] | None = None) -> list[str]:
    assert s.account is not None
    if names is None:
        names = [m.name for m in await s.mail.list_mailboxes(s.account)]
    attrs = ["\\HasChildren" if _children_of(mailbox.name, names) else "\\HasNoChildren"]
    if mailbox.special_use:
        attrs.append(mailbox.special_use)
    return attrs


async def list_(s: Session, cmd: c.List) -> bytes | None:
    assert s.account is not None
    if len(cmd.patterns) == 1 and cmd.patterns[0] == "" and not cmd.extended:
        # RFC 9051 §6.3.9: the hierarchy delimiter and root
        s.write(r.list_response(["\\Noselect"], SEPARATOR, "", utf8=s.utf8))
        return None
    mailboxes = await s.mail.list_mailboxes(s.account)
    by_name = {m.name: m for m in mailboxes}
    names = sorted(by_name, key=lambda n: (n != "INBOX", n))
    subscribed = set(await s.mail.list_subscriptions(s.account))
    patterns = [_Pattern(cmd.reference, p) for p in cmd.patterns if p != ""]
    selection = cmd.selection
    want_subscribed = "SUBSCRIBED" in selection or cmd.return_subscribed
    candidates: list[str] = names
    if "SUBSCRIBED" in selection:
        candidates = sorted(set(names) | subscribed, key=lambda n: (n != "INBOX", n))
    status_items = cmd.return_status
    if status_items and any(i == "HIGHESTMODSEQ" for i in status_items):
        s.enable_condstore()
    recursive = "RECURSIVEMATCH" in selection and "SUBSCRIBED" in selection
    for name in candidates:
        if not any(p.match(name) for p in patterns):
            continue
        # RFC 5258 §3.5 (and §5, example 9): with RECURSIVEMATCH, CHILDINFO marks a
        # mailbox the pattern matches that has a subscribed descendant the pattern does
        # not match; such a mailbox is listed even when it is not subscribed itself.
        childinfo = recursive and any(
            sub.startswith(name + SEPARATOR) and not any(p.match(sub) for p in patterns) for sub in subscribed
        )
        if "SUBSCRIBED" in selection and name not in subscribed and not childinfo:
            continue
        box = by_name.get(name)
        if "SPECIAL-USE" in selection and (box is None or not box.special_use):
            continue
        if box is None:
            attrs = ["\\NonExistent"]
        else:
            attrs = ["\\HasChildren" if _children_of(name, names) else "\\HasNoChildren"]
            if box.special_use:
                attrs.append(box.special_use)
        if want_subscribed and name in subscribed:
            attrs.append("\\Subscribed")
        extended: list[tuple[str, object]] = [("CHILDINFO", ("SUBSCRIBED",))] if childinfo else []
        s.write(r.list_response(attrs, SEPARATOR, name, utf8=s.utf8, extended=extended))
        if status_items and box is not None:
            s.write(r.status_response(name, await status_items_of(s, box, status_items), utf8=s.utf8))
    return None


async def lsub(s: Session, cmd: c.Lsub) -> bytes | None:
    assert s.account is not None
    subscribed = await s.mail.list_subscriptions(s.account)
    existing = {m.name for m in await s.mail.list_mailboxes(s.account)}
    rx = _Pattern(cmd.reference, cmd.pattern)
    answer: dict[str, list[str]] = {}
    for name in subscribed:
        if rx.match(name):
            answer[name] = [] if name in existing else ["\\Noselect"]
            continue
        # RFC 3501 §6.3.9: with "%", a parent that is not itself subscribed but has a
        # subscribed child the pattern reaches through it is listed with \Noselect.
        parts = name.split(SEPARATOR)
        for depth in range(len(parts) - 1, 0, -1):
            parent = SEPARATOR.join(parts[:depth])
            if rx.match(parent):
                if parent not in subscribed:
                    answer.setdefault(parent, ["\\Noselect"])
                break
    for name in sorted(answer, key=lambda n: (n != "INBOX", n)):
        s.write(r.list_response(answer[name], SEPARATOR, name, utf8=s.utf8, command="LSUB"))
    return None


async def namespace(s: Session, cmd: c.Namespace) -> bytes | None:
    # RFC 2342 / RFC 9051 §6.3.10: one personal namespace, no others.
    s.write(b'* NAMESPACE (("" "/")) NIL NIL\r\n')
    return None


# ---- STATUS --------------------------------------------------------------------------------------
async def status_items_of(s: Session, box: Mailbox, items: Sequence[str]) -> dict[str, int | str]:
    values: dict[str, int | str] = {
        "MESSAGES": box.messages,
        "UIDNEXT": box.uidnext,
        "UIDVALIDITY": box.uidvalidity,
        "UNSEEN": box.unseen,
        "DELETED": box.deleted,
        "SIZE": box.size,
        "RECENT": await _recent_count(s, box) if "RECENT" in items else 0,
        "HIGHESTMODSEQ": box.highest_modseq,
        "APPENDLIMIT": s.limits.max_literal_size,
        "MAILBOXID": f"({mailbox_id(box)})",  # RFC 8474 §4.2
        "DELETED-STORAGE": await quota.deleted_storage(s, box) if "DELETED-STORAGE" in items else 0,  # RFC 9208
    }
    return {item: values[item] for item in items if item in values}


status_items = status_items_of


async def _recent_count(s: Session, box: Mailbox) -> int:
    """RFC 3501 STATUS RECENT: messages no session has been told are recent (not claimed)."""
    marker = await s.mail.claim_recent(box, claim=False)
    if marker >= box.uidnext - 1:
        return 0
    return sum(1 for m in await s.mail.list_messages(box) if m.uid > marker)


async def status(s: Session, cmd: c.Status) -> bytes | None:
    assert s.account is not None
    box = await s.mail.get_mailbox(s.account, cmd.mailbox)
    if "HIGHESTMODSEQ" in cmd.items:
        s.enable_condstore()  # RFC 7162 §3.1: a CONDSTORE-enabling command
    s.write(r.status_response(box.name, await status_items_of(s, box, cmd.items), utf8=s.utf8))
    return None

