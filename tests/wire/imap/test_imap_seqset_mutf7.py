"""Sequence sets and modified UTF-7 mailbox names."""

from __future__ import annotations

import pytest

from postoffice.wire.imap import ImapSyntaxError, SequenceSet, mutf7


@pytest.mark.parametrize(
    ("text", "largest", "numbers"),
    [
        ("1:3,5", 10, [1, 2, 3, 5]),
        ("4:2", 10, [2, 3, 4]),  # RFC 9051 §9: reversed range
        ("*", 7, [7]),
        ("5:*", 7, [5, 6, 7]),
        ("*:5", 7, [5, 6, 7]),
        ("1:*", 0, []),  # empty mailbox: "*" names nothing
        ("3,1,2,2", 5, [1, 2, 3]),
        ("8:10", 9, [8, 9]),  # clamped to existing
    ],
)
def test_sequence_set_resolves(text: str, largest: int, numbers: list[int]) -> None:
    assert list(SequenceSet.parse(text).iter(largest)) == numbers


def test_sequence_set_ranges_and_bounds() -> None:
    s = SequenceSet.parse("10:12,1,2,3,*")
    assert s.resolve(20) == [(1, 3), (10, 12), (20, 20)]
    assert s.contains(11, 20) and not s.contains(5, 20)
    assert SequenceSet.parse("1:5").out_of_range(4)
    assert not SequenceSet.parse("1:*").out_of_range(4)
    assert str(s) == "10:12,1,2,3,*"
    with pytest.raises(ValueError):
        SequenceSet.parse("$").resolve(3)


@pytest.mark.parametrize("bad", ["", "0", "1:", ":1", "1,,2", "a", "1:2:3", "01", "4294967296", "$,1", "-1"])
def test_bad_sequence_sets(bad: str) -> None:
    with pytest.raises(ImapSyntaxError):
        SequenceSet.parse(bad)


def test_compact_set_of_numbers() -> None:
    assert str(SequenceSet.of([7, 1, 2, 3, 9, 10])) == "1:3,7,9:10"
    assert str(SequenceSet.of([3955])) == "3955"


@pytest.mark.parametrize(
    ("decoded", "encoded"),
    [
        ("INBOX", "INBOX"),
        ("Entwürfe", "Entw&APw-rfe"),
        ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),  # RFC 3501 §5.1.3 example
        ("A&B", "A&-B"),
        ("&", "&-"),
        ("😀", "&2D3eAA-"),
        ("", ""),
    ],
)
def test_mutf7_round_trip(decoded: str, encoded: str) -> None:
    assert mutf7.encode(decoded) == encoded
    assert mutf7.decode(encoded) == decoded


@pytest.mark.parametrize(
    "bad",
    [
        "&Jjo!",  # RFC 3501 §5.1.3: "&Jjo!" is not valid
        "&U,BTFw-&ZeVnLIqe-",  # adjacent runs: RFC 3501 says they must be one
        "&AGE-",  # printable ASCII encoded
        "&U,BTF",  # unterminated
        "&U,BTFx-",  # non-zero padding bits
        "&2D0-",  # lone high surrogate
        "&A-",  # truncated base64
        "ü",  # raw 8-bit
        "a\tb",  # raw control
        "&U/BTFw-",  # '/' instead of ','
    ],
)
def test_mutf7_decode_is_strict(bad: str) -> None:
    with pytest.raises(mutf7.MUTF7Error):
        mutf7.decode(bad)


def test_mailbox_name_checks() -> None:
    assert mutf7.check_mailbox_name("inbox/Sub") == "INBOX/Sub"
    assert mutf7.check_mailbox_name("Work/2024") == "Work/2024"
    for bad in ["", "a//b", "/a", "a/", "a\x00b", "a*", "a%b", "x" * 300, "/".join("a" * 20), "a\u2028b"]:
        with pytest.raises(mutf7.MailboxNameError):
            mutf7.check_mailbox_name(bad)
    assert mutf7.normalize_inbox("InBoX") == "INBOX"
    assert mutf7.normalize_inbox("INBOXES") == "INBOXES"
