"""NOTIFY (RFC 5465 §8) parsed into its dataclass: the forms the RFC writes, what §5 and
§6.1 forbid (BAD), and unknown events kept for the server's NO [BADEVENT]."""

from __future__ import annotations

import pytest

from postoffice.wire.imap.errors import ImapSyntaxError
from postoffice.wire.imap.fetch import FetchAttr
from postoffice.wire.imap.notify import EventGroup, Notify
from postoffice.wire.imap.parser import parse_line


def test_notify_none() -> None:
    assert parse_line("a NOTIFY NONE") == Notify("a", none=True)


def test_the_rfc_example_with_its_erratum() -> None:
    # RFC 5465 §3.1 (erratum 1804), MessageExpunge added for Lists as §5 requires
    cmd = parse_line(
        "b notify set status (selected (MessageNew (uid body.peek[header.fields (from to subject)]) MessageExpunge))"
        " (subtree Lists (MessageNew MessageExpunge)) (mailboxes misc (MessageNew MessageExpunge))"
    )
    assert isinstance(cmd, Notify) and cmd.status and not cmd.none
    selected, lists, misc = cmd.groups
    assert selected.filter == "SELECTED" and selected.events == ("MessageNew", "MessageExpunge")
    assert selected.fetch_items[0] == FetchAttr("UID") and selected.fetch_items[1].label() == (
        "BODY[HEADER.FIELDS (FROM TO SUBJECT)]"
    )
    assert lists == EventGroup("SUBTREE", ("Lists",), ("MessageNew", "MessageExpunge"))
    assert misc == EventGroup("MAILBOXES", ("misc",), ("MessageNew", "MessageExpunge"))


def test_mailbox_lists_none_and_inbox_names() -> None:
    cmd = parse_line(
        'c NOTIFY SET (mailboxes (inbox "Foo Bar") (MailboxName)) (personal NONE) (subscribed (SubscriptionChange))'
    )
    assert isinstance(cmd, Notify)
    assert cmd.groups == (
        EventGroup("MAILBOXES", ("INBOX", "Foo Bar"), ("MailboxName",)),
        EventGroup("PERSONAL", (), ()),
        EventGroup("SUBSCRIBED", (), ("SubscriptionChange",)),
    )


def test_unknown_events_are_kept_for_badevent() -> None:
    cmd = parse_line("d NOTIFY SET (inboxes (MessageNew MessageExpunge AnnotationChange acl-change))")
    assert isinstance(cmd, Notify)
    assert cmd.groups[0].events == ("MessageNew", "MessageExpunge", "AnnotationChange", "ACL-CHANGE")


@pytest.mark.parametrize(
    "line",
    [
        "e NOTIFY",
        "e NOTIFY SET",
        "e NOTIFY SET STATUS",
        "e NOTIFY NONE (personal NONE)",
        "e NOTIFY SET (personal)",
        "e NOTIFY SET (personal ())",
        "e NOTIFY SET (somewhere (MailboxName))",
        "e NOTIFY SET (subtree (MailboxName))",
        "e NOTIFY SET (selected (MessageNew))",  # §5
        "e NOTIFY SET (personal (MessageExpunge))",  # §5
        "e NOTIFY SET (personal (FlagChange))",  # §5
        "e NOTIFY SET (selected (MailboxName))",  # §6.1
        "e NOTIFY SET (selected NONE) (selected-delayed NONE)",  # §6.1
        "e NOTIFY SET (personal (MailboxName mailboxname))",
    ],
)
def test_refused_with_bad(line: str) -> None:
    with pytest.raises(ImapSyntaxError) as info:
        parse_line(line)
    assert info.value.tag == "e" and info.value.status == "BAD"
