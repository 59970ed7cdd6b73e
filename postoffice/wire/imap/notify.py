"""NOTIFY (RFC 5465): the command's syntax as a frozen dataclass, without I/O.

``NOTIFY NONE`` and ``NOTIFY SET [STATUS] event-group...`` (RFC 5465 §8). What is
syntax is checked here and refused with BAD (``ImapSyntaxError``): an unknown filter,
a malformed list, ``MessageNew`` without ``MessageExpunge`` or the reverse, FlagChange or
AnnotationChange without both (§5), two groups for the selected mailbox (§6.1), an
event other than a message event with SELECTED / SELECTED-DELAYED (§6.1). Whether the
server supports an event is the server's business (``NO [BADEVENT ...]``, §3.1): an
unknown event name is kept as it was written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Literal

from .commands import Command
from .fetch import FetchItem, parse_fetch_item
from .scanner import Scanner

__all__ = [
    "Notify",
    "EventGroup",
    "Filter",
    "MESSAGE_EVENTS",
    "MAILBOX_EVENTS",
    "EVENT_NAMES",
    "parse_notify",
]

Filter = Literal["SELECTED", "SELECTED-DELAYED", "INBOXES", "PERSONAL", "SUBSCRIBED", "SUBTREE", "MAILBOXES"]
_FILTERS: dict[str, Filter] = {
    "SELECTED": "SELECTED",
    "SELECTED-DELAYED": "SELECTED-DELAYED",
    "INBOXES": "INBOXES",
    "PERSONAL": "PERSONAL",
    "SUBSCRIBED": "SUBSCRIBED",
    "SUBTREE": "SUBTREE",
    "MAILBOXES": "MAILBOXES",
}

# RFC 5465 §5, spelled as the RFC spells them (events compare case-insensitively, §8).
MESSAGE_EVENTS = ("MessageNew", "MessageExpunge", "FlagChange", "AnnotationChange")
MAILBOX_EVENTS = ("MailboxName", "SubscriptionChange", "MailboxMetadataChange", "ServerMetadataChange")
EVENT_NAMES: dict[str, str] = {e.upper(): e for e in (*MESSAGE_EVENTS, *MAILBOX_EVENTS)}


@dataclass(frozen=True)
class EventGroup:
    """``(filter [mailboxes] events)``; ``events`` empty for ``NONE``. Event names are
    canonical for the known ones and as written (upper-cased) for the others."""

    filter: Filter
    mailboxes: tuple[str, ...] = ()  # SUBTREE / MAILBOXES only
    events: tuple[str, ...] = ()
    fetch_items: tuple[FetchItem, ...] = ()  # MessageNew's fetch-atts (RFC 5465 §5.2)

    @property
    def selected(self) -> bool:
        return self.filter in ("SELECTED", "SELECTED-DELAYED")


@dataclass(frozen=True)
class Notify(Command):
    """``NOTIFY NONE`` (``groups`` empty, ``none``) or ``NOTIFY SET [STATUS] groups``."""

    none: bool = False
    status: bool = False
    groups: tuple[EventGroup, ...] = ()

    name: ClassVar[str] = "NOTIFY"


def _mailboxes(sc: Scanner, mailbox: Callable[[], str]) -> tuple[str, ...]:
    # one-or-more-mailbox = mailbox / "(" mailbox *(SP mailbox) ")"
    if sc.try_open():
        names = [mailbox()]
        while sc.try_sp():
            names.append(mailbox())
        sc.close()
        return tuple(names)
    return (mailbox(),)


def _group(sc: Scanner, mailbox: Callable[[], str]) -> EventGroup:
    sc.open()
    word = sc.keyword()
    kind = _FILTERS.get(word)
    if kind is None:
        raise sc.error(f"unknown NOTIFY mailbox filter {word}")
    names: tuple[str, ...] = ()
    sc.sp()
    if kind in ("SUBTREE", "MAILBOXES"):
        names = _mailboxes(sc, mailbox)
        sc.sp()
    events: list[str] = []
    fetch_items: tuple[FetchItem, ...] = ()
    if sc.try_keyword("NONE"):
        pass
    else:
        sc.open()
        while True:
            raw = sc.keyword()
            event = EVENT_NAMES.get(raw, raw)
            if event in events:
                raise sc.error(f"event {event} named twice")
            events.append(event)
            if event == "MessageNew" and sc.peek() == 0x20 and sc.try_sp():
                if sc.try_open():
                    items = [parse_fetch_item(sc)]
                    while sc.try_sp():
                        items.append(parse_fetch_item(sc))
                    sc.close()
                    fetch_items = tuple(items)
                    if not sc.try_sp():
                        break
                continue
            if not sc.try_sp():
                break
        sc.close()
        if not events:
            raise sc.error("empty event list")
    sc.close()
    group = EventGroup(kind, names, tuple(events), fetch_items)
    _check(sc, group)
    return group


def _check(sc: Scanner, group: EventGroup) -> None:
    events = set(group.events)
    # RFC 5465 §5: MessageNew and MessageExpunge together; FlagChange and
    # AnnotationChange only with both of them.
    if ("MessageNew" in events) != ("MessageExpunge" in events):
        raise sc.error("MessageNew and MessageExpunge must be given together")
    if events & {"FlagChange", "AnnotationChange"} and "MessageNew" not in events:
        raise sc.error("FlagChange and AnnotationChange need MessageNew and MessageExpunge")
    # RFC 5465 §6.1: only message events for the selected mailbox.
    if group.selected and events & set(MAILBOX_EVENTS):
        raise sc.error("only message events may be given for SELECTED and SELECTED-DELAYED")


def parse_notify(sc: Scanner, tag: str, mailbox: Callable[[], str]) -> Notify:
    """The arguments after ``NOTIFY``; ``mailbox`` reads one mailbox name (decoded as
    the session's names are)."""
    sc.sp()
    if sc.try_keyword("NONE"):
        sc.end()
        return Notify(tag, none=True)
    sc.expect("SET")
    sc.sp()
    status = sc.try_keyword("STATUS")
    if status:
        sc.sp()
    groups = [_group(sc, mailbox)]
    while sc.try_sp():
        groups.append(_group(sc, mailbox))
    sc.end()
    if sum(1 for g in groups if g.selected) > 1:
        raise sc.error("only one of SELECTED and SELECTED-DELAYED may be given")  # RFC 5465 §6.1
    return Notify(tag, status=status, groups=tuple(groups))
