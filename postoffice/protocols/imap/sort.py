"""SORT, THREAD and their UID forms (RFC 5256), ESORT (RFC 5267 §3, with PARTIAL §4.4) and
CONTEXT=SORT (RFC 5267 §4.3: RETURN (UPDATE) leaves an updating context with the view).

The search program is evaluated as SEARCH evaluates it (``search.criterion`` and
``mail.search.MailboxSearch``); the order and the threads come from ``mail.sort`` and
``mail.thread``, over facts read from stored data. This module only translates the
wire command to those calls and renders the answer in sequence numbers or UIDs.

Invariant: like SEARCH, SORT and THREAD never cause EXPUNGE responses (RFC 9051
§7.5.1; the command table marks them).
"""

from __future__ import annotations

from postoffice.mail import search as m
from postoffice.mail import sort as ms
from postoffice.mail import thread as mt
from postoffice.wire.imap import sort as w
from postoffice.wire.imap.search import SearchKey

from .search import check_update, criterion, open_context
from .session import Session
from .view import MailboxView

__all__ = ["sort", "thread"]

_KEY_NAMES: dict[str, ms.SortKeyName] = {name.upper(): name for name in ms.SORT_KEYS}


async def _matches(s: Session, view: MailboxView, key: SearchKey | None) -> tuple[set[int], int | None]:
    evaluator = m.MailboxSearch(s.mail, view.mailbox, view.flags)
    assert key is not None
    matched = await evaluator.matches(criterion(key, view))
    modseq = None
    if evaluator.used_modseq:  # RFC 7162 §3.1.5 applies to SORT and THREAD too
        s.enable_condstore()
        modseq = await evaluator.highest_modseq(matched)
    return matched, modseq


def _number(view: MailboxView, uid: int, by_uid: bool) -> int | None:
    return uid if by_uid else view.seq_of(uid)


async def sort(s: Session, cmd: w.Sort) -> bytes | None:
    view = s.view
    assert view is not None and cmd.search is not None
    check_update(view, cmd.tag, cmd.return_options)
    matched, modseq = await _matches(s, view, cmd.search)
    facts = await ms.load_facts(s.mail, view.mailbox, matched)
    keys = tuple(ms.SortKey(_KEY_NAMES[c.key], c.reverse) for c in cmd.criteria)
    ordered = ms.sort_messages(facts, keys)
    numbers = [n for f in ordered if (n := _number(view, f.uid, cmd.uid)) is not None]
    if cmd.return_options is None:
        s.write(w.sort_response(numbers, modseq))
        return None
    options = set(cmd.return_options)
    refusal = b""
    if "UPDATE" in options:
        results = [f.uid for f in ordered]
        refusal = open_context(s, view, cmd.tag, uid=cmd.uid, key=cmd.search, results=results, sort_keys=keys, facts=ordered)
    # RFC 5267 §4.2, §4.3: CONTEXT is a hint, UPDATE asks for later updates; neither is a
    # result option, so with no other the answer is ALL, as for RETURN ().
    options -= {"CONTEXT", "UPDATE"}
    s.write(w.esort_response(cmd.tag, numbers, options, uid=cmd.uid, partial=cmd.partial, modseq=modseq))
    s.write(refusal)
    return None


def _nested(root: mt.ThreadNode, view: MailboxView, by_uid: bool) -> w.Nested:
    # Iterative: a long reply chain must not hit the interpreter's recursion limit.
    done: dict[int, w.Nested] = {}
    stack: list[tuple[mt.ThreadNode, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            number = _number(view, node.uid, by_uid) if node.uid is not None else None
            done[id(node)] = w.Nested(number, tuple(done.pop(id(child)) for child in node.children))
        else:
            stack.append((node, True))
            stack.extend((child, False) for child in node.children)
    return done[id(root)]


async def thread(s: Session, cmd: w.Thread) -> bytes | None:
    view = s.view
    assert view is not None
    matched, _ = await _matches(s, view, cmd.search)
    facts = await ms.load_facts(s.mail, view.mailbox, matched)
    threads = mt.ordered_subject(facts) if cmd.algorithm == "ORDEREDSUBJECT" else mt.references(facts)
    s.write(w.thread_response([_nested(t, view, cmd.uid) for t in threads]))
    return None
