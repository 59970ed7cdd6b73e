"""SEARCH and UID SEARCH (RFC 9051 §6.4.4, RFC 3501 §6.4.4; ESEARCH RFC 4731; SEARCHRES
RFC 5182; WITHIN RFC 5032; MODSEQ RFC 7162 §3.1.5; CONTEXT=SEARCH RFC 5267 §4: UPDATE,
PARTIAL, CANCELUPDATE).

The search program parsed from the wire becomes ``mail.search`` criteria (sequence
numbers, ``$`` and ``\\Recent`` resolved to UID sets by the selected view, which alone
knows them); ``mail.search.MailboxSearch`` evaluates them, and this module renders the
answer (SEARCH or ESEARCH, SAVE). ``RETURN (UPDATE)`` leaves a :class:`.context.SearchContext`
with the selected view, which keeps it up to date (SORT contexts are opened here too).

Invariant: SEARCH never causes EXPUNGE responses (RFC 9051 §7.5.1; the command table
marks it).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from postoffice.mail import search as m
from postoffice.mail import sort as ms
from postoffice.wire.imap import commands as c
from postoffice.wire.imap import response as r
from postoffice.wire.imap import search as k
from postoffice.wire.imap import sort as w
from postoffice.wire.imap.errors import ImapSyntaxError
from postoffice.wire.imap.seqset import SequenceSet

from .context import SearchContext
from .session import Session
from .view import MailboxView

__all__ = ["search", "criterion", "check_update", "open_context", "cancelupdate"]

_FLAG_OF = {
    "ANSWERED": ("\\Answered", True), "UNANSWERED": ("\\Answered", False),
    "DELETED": ("\\Deleted", True), "UNDELETED": ("\\Deleted", False),
    "DRAFT": ("\\Draft", True), "UNDRAFT": ("\\Draft", False),
    "FLAGGED": ("\\Flagged", True), "UNFLAGGED": ("\\Flagged", False),
    "SEEN": ("\\Seen", True), "UNSEEN": ("\\Seen", False),
}  # fmt: skip
_DATE_OP: dict[str, Literal["before", "on", "since"]] = {"BEFORE": "before", "ON": "on", "SINCE": "since"}


def criterion(key: k.SearchKey, view: MailboxView) -> m.Criterion:  # noqa: C901 - one branch per key type
    """The mail criterion of one IMAP search key, in the frame of the selected view."""
    if isinstance(key, k.All):
        return m.Everything()
    if isinstance(key, k.And):
        return m.AllOf(tuple(criterion(sub, view) for sub in key.keys))
    if isinstance(key, k.Or):
        return m.AnyOf((criterion(key.left, view), criterion(key.right, view)))
    if isinstance(key, k.Not):
        return m.Not(criterion(key.key, view))
    if isinstance(key, k.FlagKey):
        if key.key in _FLAG_OF:
            flag, present = _FLAG_OF[key.key]
            return m.HasFlag(flag, present)
        # RFC 3501 §6.4.4: RECENT, NEW (recent and unseen), OLD (not recent).
        recent = m.InUids(frozenset(view.recent))
        if key.key == "RECENT":
            return recent
        if key.key == "OLD":
            return m.Not(recent)
        return m.AllOf((recent, m.HasFlag("\\Seen", False)))  # NEW
    if isinstance(key, k.Keyword):
        return m.HasFlag(key.keyword, not key.negated)
    if isinstance(key, k.SizeKey):
        return m.Size("larger" if key.op == "LARGER" else "smaller", key.size)
    if isinstance(key, k.SeqSetKey):
        if key.sequence_set.saved:
            return m.InUids(frozenset(view.saved_search))
        return m.InUids(frozenset(view.resolve_uids(key.sequence_set, uid=False)))
    if isinstance(key, k.UidKey):
        return m.InUids(frozenset(view.resolve_uids(key.sequence_set, uid=True)))
    if isinstance(key, k.ModSeqKey):
        return m.ModSeqAtLeast(key.modseq)
    if isinstance(key, k.AgeKey):
        return m.Age("older" if key.op == "OLDER" else "younger", key.seconds)
    if isinstance(key, k.DateKey):
        return m.OnDate(_DATE_OP[key.op], key.date, key.sent)
    if isinstance(key, k.TextContains):
        return m.TextContains("body" if key.where == "BODY" else "text", key.value)
    if isinstance(key, k.HeaderContains):
        return m.HeaderContains(key.field, key.value)
    if isinstance(key, k.SaveDateKey):  # RFC 8514 §4.2: every mailbox keeps save dates
        return m.Everything() if key.op is None or key.date is None else m.SavedOn(_DATE_OP[key.op], key.date)
    if isinstance(key, k.ObjectIdKey):  # RFC 8474 §6; no message has a THREADID (FETCH says NIL)
        return m.EmailIdIs(key.value) if key.kind == "EMAILID" else m.InUids(frozenset())
    raise AssertionError(f"unhandled search key {key!r}")


def _numbers(view: MailboxView, uids: Iterable[int], uid: bool) -> list[int]:
    if uid:
        return sorted(uids)
    matched = uids if isinstance(uids, (set, frozenset)) else set(uids)
    if len(matched) * 8 >= view.exists:  # many matches: one pass over the view, no lookups
        return [n for n, u in enumerate(view.uids, 1) if u in matched]
    return sorted(n for n in (view.seq_of(u) for u in matched) if n is not None)


def _returned(matched: set[int], options: tuple[str, ...] | None) -> set[int]:
    """The messages whose MODSEQ the answer reports (RFC 4731 §3.2, RFC 7162 §3.1.5):
    those it returns: with only MIN and/or MAX, those one or two; else every match."""
    opts = set(options or ())
    if not opts & {"MIN", "MAX"} or opts & {"ALL", "COUNT"} or not matched:
        return matched
    out = set()
    if "MIN" in opts:
        out.add(min(matched))
    if "MAX" in opts:
        out.add(max(matched))
    return out


# ---- updating contexts (RFC 5267 §4.3) ----------------------------------------------------------
def check_update(view: MailboxView, tag: str, options: tuple[str, ...] | None) -> None:
    """Before a searching command with UPDATE runs: RFC 5267 §4.3, "An attempt to use
    UPDATE where a tag is already in use with a previous searching command that itself
    used UPDATE SHALL result in the server rejecting the searching command with a BAD"."""
    if options and "UPDATE" in options and tag in view.contexts:
        raise ImapSyntaxError(f"tag {tag} already names an updating context")


def _changes_by_itself(key: k.SearchKey) -> bool:
    """Whether the matches of ``key`` change without any change to the mailbox: YOUNGER /
    OLDER (RFC 5032) with the clock, RECENT / NEW / OLD with other sessions' selects."""
    if isinstance(key, k.AgeKey):
        return True
    if isinstance(key, k.FlagKey):
        return key.key in ("RECENT", "NEW", "OLD")
    if isinstance(key, k.And):
        return any(_changes_by_itself(sub) for sub in key.keys)
    if isinstance(key, k.Or):
        return _changes_by_itself(key.left) or _changes_by_itself(key.right)
    if isinstance(key, k.Not):
        return _changes_by_itself(key.key)
    return False


def open_context(
    s: Session, view: MailboxView, tag: str, *, uid: bool, key: k.SearchKey, results: list[int],
    sort_keys: tuple[ms.SortKey, ...] | None = None, facts: list[ms.MessageFacts] | None = None,
) -> bytes:
    """Keep ``results`` (UIDs, in the requested order) up to date for the client; or the
    ``* NO [NOUPDATE "tag"]`` that says why not, to write after the results (RFC 5267
    §4.3.1: "Other return options specified SHALL still be honoured": the command
    still succeeds)."""
    limit = max(1, s.limits.max_search_contexts)  # §4.3.1: "at least one updating context"
    if _changes_by_itself(key):
        return r.NO_NOUPDATE.untagged("results would change with time alone; not kept up to date", args=f'"{tag}"')
    if len(view.contexts) >= limit:
        return r.NO_NOUPDATE.untagged(f"too many contexts (at most {limit})", args=f'"{tag}"')
    view.contexts[tag] = SearchContext(
        tag, uid, criterion(key, view), sort_keys, list(results), {f.uid: f for f in facts or ()}
    )
    return b""


async def cancelupdate(s: Session, cmd: w.CancelUpdate) -> bytes | None:
    """RFC 5267 §4.3.5: no more updates for the named contexts. A tag naming no context
    of the selected mailbox is BAD, and then nothing is cancelled."""
    view = s.view
    assert view is not None
    unknown = [t for t in cmd.tags if t not in view.contexts]
    if unknown:
        raise ImapSyntaxError(f"no updating context has the tag {unknown[0]}")
    for tag in cmd.tags:
        view.contexts.pop(tag, None)
    return None


# ---- SEARCH -------------------------------------------------------------------------------------
async def search(s: Session, cmd: c.Search) -> bytes | None:
    view = s.view
    assert view is not None and cmd.criteria is not None
    check_update(view, cmd.tag, cmd.return_options)
    evaluator = m.MailboxSearch(s.mail, view.mailbox, view.flags)
    matched = await evaluator.matches(criterion(cmd.criteria, view))
    modseq = None
    options = cmd.return_options
    if evaluator.used_modseq:
        s.enable_condstore()
        modseq = await evaluator.highest_modseq(_returned(matched, options))
    numbers = _numbers(view, matched, cmd.uid)
    if options is None and not s.rev2:
        s.write(r.search_response(numbers, modseq))
        return None
    opts = set(options or ())
    refusal = b""
    if "UPDATE" in opts:
        refusal = open_context(s, view, cmd.tag, uid=cmd.uid, key=cmd.criteria, results=sorted(matched))
    # RFC 5267 §4.2, §4.3: CONTEXT is a hint and UPDATE asks for later updates; with
    # neither a result option nor SAVE, the answer is ALL as for an empty RETURN list.
    opts -= {"CONTEXT", "UPDATE"}
    if not opts:
        opts = {"ALL"}
    if "SAVE" in opts:
        # RFC 5182 §2.4: with MIN and/or MAX only those are saved.
        ordered = sorted(matched)
        if opts & {"MIN", "MAX"}:
            saved = ([ordered[0]] if "MIN" in opts and ordered else []) + ([ordered[-1]] if "MAX" in opts and ordered else [])
        else:
            saved = ordered
        view.saved_search = saved
        opts.discard("SAVE")
        if not opts:
            s.write(refusal)
            return None
    partial = None
    if cmd.partial is not None:  # RFC 5267 §4.4: in mailbox order, the range as asked
        first, last = cmd.partial
        partial = (first, last, SequenceSet.of(numbers[first - 1 : last]))
    s.write(
        r.esearch_response(
            cmd.tag,
            uid=cmd.uid,
            min=numbers[0] if "MIN" in opts and numbers else None,
            max=numbers[-1] if "MAX" in opts and numbers else None,
            all=SequenceSet.of(numbers) if "ALL" in opts and numbers else None,
            count=len(numbers) if "COUNT" in opts else None,
            modseq=modseq,
            partial=partial,
        )
    )
    s.write(refusal)
    return None
