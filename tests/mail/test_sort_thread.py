"""The pure algorithms of mail/sort.py and mail/thread.py (RFC 5256, RFC 5957)."""

from __future__ import annotations

import pytest

from postoffice.mail.sort import MessageFacts, SortKey, base_subject, is_reply_or_forward, message_ids, sort_messages
from postoffice.mail.thread import ThreadNode, ordered_subject, references, thread_members


def facts(uid: int, subject: str = "", date: float = 0.0, message_id: str = "", refs: tuple[str, ...] = (),
          in_reply_to: tuple[str, ...] = (), **kw: object) -> MessageFacts:  # fmt: skip
    values: dict[str, object] = dict(
        uid=uid, arrival=float(uid), date=date, size=0, subject=subject, from_="", to="", cc="",
        display_from="", display_to="", message_id=message_id, in_reply_to=in_reply_to, references=refs,
    )  # fmt: skip
    values.update(kw)
    return MessageFacts(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("subject", "base", "reply"),
    [
        ("Lunch", "Lunch", False),
        ("Re: Lunch", "Lunch", True),
        ("RE: re: Fwd: Lunch", "Lunch", True),
        ("Fw: Lunch (fwd)", "Lunch", True),
        ("Lunch (fwd) (fwd)", "Lunch", True),
        ("[list] Re: Lunch", "Lunch", True),
        ("[list] Lunch", "Lunch", False),  # step (4): a blob is not a reply marker
        ("[list]", "[list]", False),  # step (4): never removes the whole subject
        ("Re[2]: Lunch", "Lunch", True),  # subj-refwd may carry a blob before ":"
        ("[Fwd: Re: Lunch]", "Lunch", True),  # step (6)
        ("  Lunch \t  for   two  ", "Lunch for two", False),
        ("Re:", "", True),
        ("", "", False),
        ("Report: figures", "Report: figures", False),
    ],
)
def test_base_subject(subject: str, base: str, reply: bool) -> None:
    assert base_subject(subject) == base
    assert is_reply_or_forward(subject) is reply


def test_message_ids_ignore_comments_and_whitespace() -> None:
    assert message_ids("<a@x> (comment) <b\r\n @y>  junk <>") == ("<a@x>", "<b@y>")


def test_sort_ties_keep_mailbox_order_even_reversed() -> None:
    msgs = [facts(3, "b"), facts(1, "a"), facts(2, "b"), facts(4, "a")]
    assert [f.uid for f in sort_messages(msgs, [SortKey("subject")])] == [1, 4, 2, 3]
    assert [f.uid for f in sort_messages(msgs, [SortKey("subject", reverse=True)])] == [2, 3, 1, 4]


def test_display_sort_uses_unicode_casemap() -> None:
    # RFC 5051: titlecased and decomposed, "Érin" is "E" + U+0301 + "RIN": after "EVE", before "ZED"
    msgs = [facts(1, display_from="zed"), facts(2, display_from="érin"), facts(3, display_from="Eve")]
    assert [f.uid for f in sort_messages(msgs, [SortKey("displayfrom")])] == [3, 2, 1]


def test_ordered_subject_groups_by_base_subject() -> None:
    msgs = [facts(1, "Re: a", 5), facts(2, "a", 1), facts(3, "b", 3), facts(4, "A", 2)]
    assert ordered_subject(msgs) == [ThreadNode(2, (ThreadNode(4), ThreadNode(1))), ThreadNode(3)]


def test_references_survive_loops_and_duplicate_ids() -> None:
    msgs = [
        facts(1, "x", 1, "<a>", refs=("<b>",)),
        facts(2, "y", 2, "<b>", refs=("<a>",)),  # a loop: <b> already is <a>'s parent
        facts(3, "z", 3, "<a>"),  # a duplicate Message-ID: a container of its own
        facts(4, "w", 4, "<d>", refs=("<d>",)),  # references itself
    ]
    threads = references(msgs)
    assert sorted(u for t in threads for u in thread_members(t)) == [1, 2, 3, 4]
    assert ThreadNode(2, (ThreadNode(1),)) in threads


def test_references_dummy_with_one_child_is_promoted_at_root() -> None:
    msgs = [facts(1, "x", 1, "<a>", refs=("<gone>",)), facts(2, "y", 2, "<b>", refs=("<gone>", "<a>"))]
    assert references(msgs) == [ThreadNode(1, (ThreadNode(2),))]


def test_references_a_long_chain_needs_no_recursion() -> None:
    n = 5000
    msgs = [facts(i, "chain", float(i), f"<{i}>", refs=tuple(f"<{j}>" for j in range(max(1, i - 3), i))) for i in range(1, n + 1)]
    [thread] = references(msgs)
    assert thread_members(thread) == list(range(1, n + 1))
