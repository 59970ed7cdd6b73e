"""Threading messages into conversations, for every protocol (IMAP THREAD, the web's
conversation view).

Two algorithms of RFC 5256 over :class:`~postoffice.mail.sort.MessageFacts`, both pure:

- :func:`ordered_subject` (THREAD=ORDEREDSUBJECT, "poor man's threading", RFC 5256 §3):
  messages grouped by base subject; the first of each group by sent date is the parent
  of all the others.
- :func:`references` (THREAD=REFERENCES, RFC 5256 §3): the parent/child links of
  Message-ID, References and In-Reply-To, with the dummy pruning and the grouping of
  root threads by base subject that RFC 5256 specifies.

A thread is a :class:`ThreadNode` tree; a node without a ``uid`` is a dummy, a message
that is referenced but not among those threaded (it only occurs among the roots after
pruning). Siblings are in sent-date order, ties in mailbox (UID) order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from postoffice.mail.sort import MessageFacts, base_subject, is_reply_or_forward

__all__ = ["ThreadNode", "ordered_subject", "references", "thread_members"]


@dataclass(frozen=True, slots=True)
class ThreadNode:
    uid: int | None  # None: a dummy
    children: tuple[ThreadNode, ...] = ()


def thread_members(node: ThreadNode) -> list[int]:
    """Every UID of a thread, depth first."""
    out: list[int] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if current.uid is not None:
            out.append(current.uid)
        stack.extend(reversed(current.children))
    return out


def _date_key(facts: MessageFacts) -> tuple[float, int]:
    return facts.date, facts.uid


def ordered_subject(messages: Iterable[MessageFacts]) -> list[ThreadNode]:
    """RFC 5256 §3 ORDEREDSUBJECT: sort by (base subject, sent date), one thread per base
    subject whose first message is the parent of the rest; threads by their first's date."""
    keyed = sorted(((base_subject(m.subject).upper(), m) for m in messages), key=lambda p: (p[0], *_date_key(p[1])))
    threads: list[tuple[MessageFacts, list[MessageFacts]]] = []
    last: str | None = None
    for subject, facts in keyed:
        if threads and subject == last:
            threads[-1][1].append(facts)
        else:
            threads.append((facts, []))
            last = subject
    threads.sort(key=lambda t: _date_key(t[0]))
    return [ThreadNode(first.uid, tuple(ThreadNode(m.uid) for m in rest)) for first, rest in threads]


# ---- REFERENCES ---------------------------------------------------------------------------------
@dataclass(eq=False)
class _Container:
    facts: MessageFacts | None = None
    parent: _Container | None = None
    children: list[_Container] = field(default_factory=list)

    def is_ancestor_of(self, other: _Container) -> bool:
        node: _Container | None = other
        while node is not None:
            if node is self:
                return True
            node = node.parent
        return False

    def unlink(self) -> None:
        if self.parent is not None:
            self.parent.children.remove(self)
            self.parent = None

    def adopt(self, child: _Container) -> None:
        child.unlink()
        child.parent = self
        self.children.append(child)

    def first(self) -> MessageFacts | None:
        """The message that stands for this container: its own, else its first child's."""
        if self.facts is not None:
            return self.facts
        return self.children[0].first() if self.children else None


def _link(messages: list[MessageFacts]) -> list[_Container]:
    """RFC 5256 §3 REFERENCES step (1): containers linked by References / In-Reply-To."""
    table: dict[str, _Container] = {}
    every: list[_Container] = []

    def container(msg_id: str) -> _Container:
        found = table.get(msg_id)
        if found is None:
            found = table[msg_id] = _Container()
            every.append(found)
        return found

    for facts in messages:
        # (1A) a missing or duplicate Message-ID makes a container of its own.
        own = table.get(facts.message_id) if facts.message_id else None
        if own is not None and own.facts is None:
            own.facts = facts
        else:
            own = _Container(facts)
            every.append(own)
            if facts.message_id and facts.message_id not in table:
                table[facts.message_id] = own
        # (1B) link the references in order, never changing an existing link or making a loop.
        refs = facts.references or facts.in_reply_to[:1]
        previous: _Container | None = None
        for msg_id in refs:
            current = container(msg_id)
            if previous is not None and current.parent is None and not current.is_ancestor_of(previous):
                previous.adopt(current)
            previous = current
        # (1C) the last reference is this message's parent (unless that would make a loop).
        own.unlink()
        if previous is not None and not own.is_ancestor_of(previous):
            previous.adopt(own)
    return [c for c in every if c.parent is None]


def _pruned(containers: list[_Container], at_root: bool) -> list[_Container]:
    out: list[_Container] = []
    for c in containers:
        if c.facts is None and (not at_root or len(c.children) <= 1):
            out.extend(c.children)  # an empty dummy goes; a dummy's children are promoted
        else:
            out.append(c)
    return out


def _prune(roots: list[_Container]) -> list[_Container]:
    """RFC 5256 §3 REFERENCES step (4): remove empty dummies, promote a dummy's children
    (to the root only when it has one child). Deepest first, without recursion."""
    order: list[_Container] = []
    stack = list(roots)
    while stack:
        c = stack.pop()
        order.append(c)
        stack.extend(c.children)
    for c in reversed(order):  # a container's children are pruned before it
        c.children = _pruned(c.children, at_root=False)
        for child in c.children:
            child.parent = c
    out = _pruned(roots, at_root=True)
    for c in out:
        c.parent = None
    return out


def _sort_key(c: _Container) -> tuple[float, int]:
    facts = c.first()
    assert facts is not None  # every container left after pruning holds a message or has children
    return _date_key(facts)


def _sort_bottom_up(containers: list[_Container]) -> None:
    """Each set of siblings by sent date (a dummy by its first child), deepest first."""
    order: list[list[_Container]] = []
    stack = [containers]
    while stack:
        siblings = stack.pop()
        order.append(siblings)
        stack.extend(c.children for c in siblings)
    for siblings in reversed(order):  # deepest first, so a dummy's first child is known
        siblings.sort(key=_sort_key)


def _subject_of(c: _Container) -> tuple[str, bool]:
    facts = c.first()
    if facts is None:
        return "", False
    return base_subject(facts.subject).upper(), is_reply_or_forward(facts.subject)


def _gather_subjects(roots: list[_Container]) -> list[_Container]:
    """RFC 5256 §3 REFERENCES step (6): root threads of one base subject become one."""
    table: dict[str, _Container] = {}
    for c in roots:
        subject, reply = _subject_of(c)
        if not subject:
            continue
        old = table.get(subject)
        if (
            old is None
            or (old.facts is not None and c.facts is None)
            or (_subject_of(old)[1] and not reply)
        ):
            table[subject] = c
    out = list(roots)
    for c in roots:
        subject, reply = _subject_of(c)
        old = table.get(subject) if subject else None
        if old is None or old is c:
            continue
        out.remove(c)
        if old.facts is None and c.facts is None:
            for child in list(c.children):
                old.adopt(child)
        elif old.facts is None:
            old.adopt(c)
        elif reply and not _subject_of(old)[1]:
            old.adopt(c)
        else:
            dummy = _Container()
            out[out.index(old)] = dummy
            dummy.adopt(old)
            dummy.adopt(c)
            table[subject] = dummy
    return out


def _freeze(c: _Container) -> ThreadNode:
    # Iterative: a long reply chain must not hit the interpreter's recursion limit.
    done: dict[int, ThreadNode] = {}
    stack: list[tuple[_Container, bool]] = [(c, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            children = tuple(done.pop(id(child)) for child in node.children)
            done[id(node)] = ThreadNode(node.facts.uid if node.facts is not None else None, children)
        else:
            stack.append((node, True))
            stack.extend((child, False) for child in node.children)
    return done[id(c)]


def references(messages: Iterable[MessageFacts]) -> list[ThreadNode]:
    """RFC 5256 §3 THREAD=REFERENCES over the given messages."""
    ordered = sorted(messages, key=lambda m: m.uid)
    roots = _link(ordered)  # (2) the root set; (3) the id table is dropped with _link
    roots = _prune(roots)  # (4)
    _sort_bottom_up(roots)  # (5) the root set by sent date, a dummy by its first child
    roots = _gather_subjects(roots)  # (6)
    _sort_bottom_up(roots)  # (7)
    return [_freeze(c) for c in roots]
