"""Table tests: every command, good and bad forms, fed whole and one byte at a time."""

from __future__ import annotations

import datetime as dt

import pytest
from imap_wire_helpers import feed_both

from postoffice.wire.imap import (
    Append,
    AppendMessage,
    Authenticate,
    Capability,
    Check,
    Close,
    CommandReady,
    Copy,
    Create,
    Delete,
    Enable,
    Examine,
    Expunge,
    Fetch,
    Id,
    Idle,
    List,
    Login,
    Logout,
    Lsub,
    Move,
    Namespace,
    Noop,
    QResyncParams,
    Rejected,
    Rename,
    Search,
    Select,
    SequenceSet,
    StartTLS,
    Status,
    Store,
    Subscribe,
    UidExpunge,
    Unselect,
    Unsubscribe,
    parse_line,
)
from postoffice.wire.imap.fetch import FetchAttr, FetchBinarySize, FetchBody, Section
from postoffice.wire.imap.notify import EventGroup, Notify
from postoffice.wire.imap.search import (
    AgeKey,
    All,
    And,
    DateKey,
    FlagKey,
    HeaderContains,
    Keyword,
    ModSeqKey,
    Not,
    Or,
    SeqSetKey,
    SizeKey,
    TextContains,
    UidKey,
)

S = SequenceSet.parse
UTC_MINUS_7 = dt.timezone(dt.timedelta(hours=-7))

GOOD: list[tuple[bytes, object]] = [
    (b"a CAPABILITY", Capability("a")),
    (b"a NOTIFY NONE", Notify("a", none=True)),  # RFC 5465
    (
        b'a NOTIFY SET STATUS (selected (MessageNew (UID) MessageExpunge)) (subtree "A B" (MailboxName))',
        Notify(
            "a",
            status=True,
            groups=(
                EventGroup("SELECTED", (), ("MessageNew", "MessageExpunge"), (FetchAttr("UID"),)),
                EventGroup("SUBTREE", ("A B",), ("MailboxName",)),
            ),
        ),
    ),
    (b"a noop", Noop("a")),
    (b"a LOGOUT", Logout("a")),
    (b"a STARTTLS", StartTLS("a")),
    (b"a AUTHENTICATE plain", Authenticate("a", "PLAIN", None)),
    (b"a AUTHENTICATE PLAIN AGJvYgBwdw==", Authenticate("a", "PLAIN", b"\x00bob\x00pw")),
    (b"a AUTHENTICATE EXTERNAL =", Authenticate("a", "EXTERNAL", b"")),
    (b"a LOGIN bob secret", Login("a", "bob", "secret")),
    (b'a LOGIN "b\\"ob" "p w"', Login("a", 'b"ob', "p w")),
    (b"a LOGIN {3+}\r\nbob {2+}\r\npw", Login("a", "bob", "pw")),
    (b"a ENABLE CONDSTORE utf8=accept", Enable("a", ("CONDSTORE", "UTF8=ACCEPT"))),
    (b"a SELECT inbox", Select("a", "INBOX")),
    (b"a SELECT INBOX (CONDSTORE)", Select("a", "INBOX", condstore=True)),
    (b"a EXAMINE Archive", Examine("a", "Archive")),
    (b"a SELECT INBOX (QRESYNC (1 2))", Select("a", "INBOX", qresync=QResyncParams(1, 2))),
    (
        b"a SELECT INBOX (QRESYNC (67890007 90060115194045000 41:211,214:541))",
        Select("a", "INBOX", qresync=QResyncParams(67890007, 90060115194045000, S("41:211,214:541"))),
    ),
    (
        b"a SELECT INBOX (QRESYNC (67890007 90060115194045000 (1:10 41:50)))",
        Select("a", "INBOX", qresync=QResyncParams(67890007, 90060115194045000, None, (S("1:10"), S("41:50")))),
    ),
    (b"a CREATE Work/Projects", Create("a", "Work/Projects")),
    (b"a CREATE Drafts (USE (\\Drafts))", Create("a", "Drafts", ("\\Drafts",))),
    (b"a CREATE Entw&APw-rfe", Create("a", "Entw\u00fcrfe")),
    (b"a DELETE foo", Delete("a", "foo")),
    (b"a RENAME foo bar", Rename("a", "foo", "bar")),
    (b'a SUBSCRIBE "a b"', Subscribe("a", "a b")),
    (b"a UNSUBSCRIBE x", Unsubscribe("a", "x")),
    (b'a LIST "" *', List("a", "", ("*",))),
    (b"a LIST ~/Mail/ %", List("a", "~/Mail/", ("%",))),
    (
        b'a LIST (SUBSCRIBED RECURSIVEMATCH) "" (% "Other/*") RETURN (CHILDREN SPECIAL-USE STATUS (MESSAGES UNSEEN))',
        List(
            "a",
            "",
            ("%", "Other/*"),
            frozenset({"SUBSCRIBED", "RECURSIVEMATCH"}),
            False,
            True,
            True,
            ("MESSAGES", "UNSEEN"),
            True,
        ),
    ),
    (
        b'a LIST (REMOTE SPECIAL-USE) "" * RETURN (SUBSCRIBED)',
        List("a", "", ("*",), frozenset({"REMOTE", "SPECIAL-USE"}), True, extended=True),
    ),
    (b'a LIST () "" % RETURN ()', List("a", "", ("%",), extended=True)),
    (b'a LSUB "#news." "comp.mail.*"', Lsub("a", "#news.", "comp.mail.*")),
    (b"a NAMESPACE", Namespace("a")),
    (
        b"a STATUS blurdybloop (UIDNEXT MESSAGES size highestmodseq APPENDLIMIT)",
        Status("a", "blurdybloop", ("UIDNEXT", "MESSAGES", "SIZE", "HIGHESTMODSEQ", "APPENDLIMIT")),
    ),
    (
        b"a STATUS x (RECENT UIDVALIDITY UNSEEN DELETED)",
        Status("a", "x", ("RECENT", "UIDVALIDITY", "UNSEEN", "DELETED")),
    ),
    (b"a APPEND INBOX {3+}\r\nabc", Append("a", "INBOX", (AppendMessage(b"abc"),))),
    (
        b'a APPEND INBOX (\\Seen $X) " 7-Jul-1996 02:44:25 -0700" {2+}\r\nhi',
        Append(
            "a",
            "INBOX",
            (AppendMessage(b"hi", ("\\Seen", "$X"), dt.datetime(1996, 7, 7, 2, 44, 25, tzinfo=UTC_MINUS_7)),),
        ),
    ),
    (
        b"a APPEND INBOX () {1+}\r\nx (\\Draft) ~{2+}\r\n\x00y UTF8 (~{1+}\r\nz)",
        Append(
            "a",
            "INBOX",
            (
                AppendMessage(b"x"),
                AppendMessage(b"\x00y", ("\\Draft",), binary=True),
                AppendMessage(b"z", binary=True, utf8=True),
            ),
        ),
    ),
    (b"a IDLE", Idle("a")),
    (b"a CHECK", Check("a")),
    (b"a CLOSE", Close("a")),
    (b"a UNSELECT", Unselect("a")),
    (b"a EXPUNGE", Expunge("a")),
    (b"a UID EXPUNGE 3000:3002", UidExpunge("a", S("3000:3002"))),
    (b"a COPY 2:4 MEETING", Copy("a", False, S("2:4"), "MEETING")),
    (b"a UID COPY $ Trash", Copy("a", True, S("$"), "Trash")),
    (b"a MOVE 1,3 Archive", Move("a", False, S("1,3"), "Archive")),
    (b"a UID MOVE 42:* Archive", Move("a", True, S("42:*"), "Archive")),
    (b"a STORE 2:4 +FLAGS (\\Deleted)", Store("a", False, S("2:4"), "add", False, ("\\Deleted",))),
    (b"a STORE 1 -FLAGS.SILENT \\Seen $Junk", Store("a", False, S("1"), "remove", True, ("\\Seen", "$Junk"))),
    (b"a UID STORE 1:* FLAGS ()", Store("a", True, S("1:*"), "replace", False, ())),
    (
        b"a STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)",
        Store("a", False, S("7,5,9"), "add", True, ("\\Deleted",), 320162338),
    ),
    (b'a ID ("name" "sodr" "version" NIL)', Id("a", (("name", "sodr"), ("version", None)))),
    (b"a ID NIL", Id("a", None)),
    (b"a ID ()", Id("a", ())),
    # FETCH
    (
        b"a FETCH 1 ALL",
        Fetch(
            "a", False, S("1"), tuple(FetchAttr(n) for n in ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE")), "ALL"
        ),
    ),
    (
        b"a FETCH 1 fast",
        Fetch("a", False, S("1"), tuple(FetchAttr(n) for n in ("FLAGS", "INTERNALDATE", "RFC822.SIZE")), "FAST"),
    ),
    (
        b"a FETCH 1 FULL",
        Fetch(
            "a",
            False,
            S("1"),
            tuple(FetchAttr(n) for n in ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY")),
            "FULL",
        ),
    ),
    (
        b"a FETCH 2:4 (FLAGS UID ENVELOPE BODY BODYSTRUCTURE INTERNALDATE RFC822.SIZE MODSEQ RFC822 RFC822.HEADER RFC822.TEXT)",
        Fetch(
            "a",
            False,
            S("2:4"),
            tuple(
                FetchAttr(n)
                for n in (
                    "FLAGS",
                    "UID",
                    "ENVELOPE",
                    "BODY",
                    "BODYSTRUCTURE",
                    "INTERNALDATE",
                    "RFC822.SIZE",
                    "MODSEQ",
                    "RFC822",
                    "RFC822.HEADER",
                    "RFC822.TEXT",
                )
            ),
        ),
    ),
    (b"a FETCH 1 BODY[]", Fetch("a", False, S("1"), (FetchBody(),))),
    (
        b"a FETCH 1 (BODY.PEEK[HEADER.FIELDS (DATE FROM)]<0.2048>)",
        Fetch("a", False, S("1"), (FetchBody(Section((), "HEADER.FIELDS", ("DATE", "FROM")), (0, 2048), peek=True),)),
    ),
    (
        b"a FETCH 1 (BODY[1.2.HEADER.FIELDS.NOT (x-Foo)] BODY[4.2.MIME] BODY[3.TEXT] BODY[2] BODY[TEXT] BODY[HEADER] BODY[1.HEADER])",
        Fetch(
            "a",
            False,
            S("1"),
            (
                FetchBody(Section((1, 2), "HEADER.FIELDS.NOT", ("X-FOO",))),
                FetchBody(Section((4, 2), "MIME")),
                FetchBody(Section((3,), "TEXT")),
                FetchBody(Section((2,))),
                FetchBody(Section((), "TEXT")),
                FetchBody(Section((), "HEADER")),
                FetchBody(Section((1,), "HEADER")),
            ),
        ),
    ),
    (
        b"a FETCH 1 (BINARY[1]<0.10> BINARY.PEEK[] BINARY.SIZE[1.2])",
        Fetch(
            "a",
            False,
            S("1"),
            (
                FetchBody(Section((1,)), (0, 10), binary=True),
                FetchBody(peek=True, binary=True),
                FetchBinarySize((1, 2)),
            ),
        ),
    ),
    (
        b"a UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)",
        Fetch("a", True, S("300:500"), (FetchAttr("FLAGS"),), None, 12345, True),
    ),
    # SEARCH
    (b"a SEARCH ALL", Search("a", False, None, All())),
    (
        b'a SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"',
        Search(
            "a",
            False,
            None,
            And((FlagKey("FLAGGED"), DateKey("SINCE", dt.date(1994, 2, 1)), Not(HeaderContains("FROM", "Smith")))),
        ),
    ),
    (
        b"a UID SEARCH RETURN (MIN MAX ALL COUNT SAVE) CHARSET UTF-8 TEXT {6+}\r\n\xe5\x8f\xb0\xe5\x8c\x97",
        Search("a", True, "UTF-8", TextContains("TEXT", "\u53f0\u5317"), ("MIN", "MAX", "ALL", "COUNT", "SAVE")),
    ),
    (b"a SEARCH RETURN () UNSEEN", Search("a", False, None, FlagKey("UNSEEN"), ())),
    (
        b"a SEARCH OR (NEW OLD) RECENT",
        Search("a", False, None, Or(And((FlagKey("NEW"), FlagKey("OLD"))), FlagKey("RECENT"))),
    ),
    (
        b"a SEARCH 1:3,7 UID 5:* $",
        Search("a", False, None, And((SeqSetKey(S("1:3,7")), UidKey(S("5:*")), SeqSetKey(S("$"))))),
    ),
    (
        b"a SEARCH KEYWORD $Junk UNKEYWORD $Old HEADER x-spam yes BODY b TEXT t",
        Search(
            "a",
            False,
            None,
            And(
                (
                    Keyword("$Junk"),
                    Keyword("$Old", True),
                    HeaderContains("X-SPAM", "yes"),
                    TextContains("BODY", "b"),
                    TextContains("TEXT", "t"),
                )
            ),
        ),
    ),
    (
        b"a SEARCH BCC a CC b TO c SUBJECT d LARGER 10 SMALLER 20",
        Search(
            "a",
            False,
            None,
            And(
                (
                    HeaderContains("BCC", "a"),
                    HeaderContains("CC", "b"),
                    HeaderContains("TO", "c"),
                    HeaderContains("SUBJECT", "d"),
                    SizeKey("LARGER", 10),
                    SizeKey("SMALLER", 20),
                )
            ),
        ),
    ),
    (
        b'a SEARCH BEFORE "1-Jan-2020" ON 02-jan-2020 SENTBEFORE 1-Feb-2020 SENTON 1-Mar-2020 SENTSINCE 1-Apr-2020',
        Search(
            "a",
            False,
            None,
            And(
                (
                    DateKey("BEFORE", dt.date(2020, 1, 1)),
                    DateKey("ON", dt.date(2020, 1, 2)),
                    DateKey("BEFORE", dt.date(2020, 2, 1), True),
                    DateKey("ON", dt.date(2020, 3, 1), True),
                    DateKey("SINCE", dt.date(2020, 4, 1), True),
                )
            ),
        ),
    ),
    (
        b"a SEARCH ANSWERED DELETED DRAFT SEEN UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN",
        Search(
            "a",
            False,
            None,
            And(
                tuple(
                    FlagKey(k)
                    for k in (
                        "ANSWERED",
                        "DELETED",
                        "DRAFT",
                        "SEEN",
                        "UNANSWERED",
                        "UNDELETED",
                        "UNDRAFT",
                        "UNFLAGGED",
                        "UNSEEN",
                    )
                )
            ),
        ),
    ),
    (
        b'a SEARCH MODSEQ "/flags/\\\\draft" all 620162338',
        Search("a", False, None, ModSeqKey(620162338, "/flags/\\draft", "all")),
    ),
    (
        b"a SEARCH MODSEQ 5 OLDER 3600 YOUNGER 60",
        Search("a", False, None, And((ModSeqKey(5), AgeKey("OLDER", 3600), AgeKey("YOUNGER", 60)))),
    ),
    (
        b"a SEARCH CHARSET ISO-8859-1 SUBJECT {1+}\r\n\xe9",
        Search("a", False, "ISO-8859-1", HeaderContains("SUBJECT", "\u00e9")),
    ),
]

BAD: list[bytes] = [
    b"a CAPABILITY now",
    b"a NOOP ",
    b"a LOGIN bob",
    b"a LOGIN bob pw extra",
    b"a AUTHENTICATE",
    b"a AUTHENTICATE PLAIN !!",
    b"a AUTHENTICATE PLAIN AGJvYgBwdw",
    b"a ENABLE",
    b"a SELECT",
    b"a SELECT INBOX (FOO)",
    b"a SELECT INBOX ()",
    b"a SELECT INBOX (QRESYNC (0 1))",
    b"a SELECT INBOX (QRESYNC (1 2 1:*))",
    b"a CREATE",
    b"a CREATE &AGE-",
    b"a CREATE &Jjo",
    b"a DELETE",
    b"a RENAME a",
    b"a LIST",
    b'a LIST ""',
    b'a LIST (FOO) "" *',
    b'a LIST (RECURSIVEMATCH) "" *',
    b'a LIST "" * RETURN (FOO)',
    b'a LIST "" * RETURN (STATUS (BOGUS))',
    b"a LSUB x",
    b"a STATUS x",
    b"a STATUS x ()",
    b"a STATUS x (BOGUS)",
    b"a APPEND INBOX",
    b"a APPEND INBOX (\\Seen)",
    b'a APPEND INBOX "bad date" {1+}\r\nx',
    b"a APPEND INBOX {2+}\r\n\x00x",
    b"a APPEND INBOX UTF8 ({1+}\r\nx)",
    b"a IDLE now",
    b"a UID EXPUNGE",
    b"a UID EXPUNGE 0",
    b"a UID FROB 1",
    b"a COPY 1",
    b"a MOVE x y",
    b"a STORE 1 FLAGS",
    b"a STORE 1 XFLAGS (\\Seen)",
    b"a STORE 1 (UNCHANGEDSINCE x) FLAGS ()",
    b"a FETCH 1",
    b"a FETCH 1 (FLAGS",
    b"a FETCH 1 BODY[FOO]",
    b"a FETCH 1 BODY[MIME]",
    b"a FETCH 1 BODY[1.]",
    b"a FETCH 1 BODY[]<0.0>",
    b"a FETCH 1 BOGUS",
    b"a FETCH 1 ()",
    b"a FETCH 1:2:3 FLAGS",
    b"a FETCH 0 FLAGS",
    b"a FETCH 1 FLAGS (VANISHED)",
    b"a UID FETCH 1 FLAGS (VANISHED)",
    b"a FETCH 1 FLAGS (FOO 1)",
    b"a FETCH 99999999999 FLAGS",
    b"a SEARCH",
    b"a SEARCH BOGUS",
    b"a SEARCH FROM",
    b"a SEARCH SINCE 31-Feb-2020",
    b"a SEARCH SINCE 1-Foo-2020",
    b"a SEARCH OR ALL",
    b"a SEARCH NOT",
    b"a SEARCH (ALL",
    b"a SEARCH RETURN (BOGUS) ALL",
    b"a SEARCH OLDER 0",
    b'a SEARCH MODSEQ "/flags/x" bogus 5',
    b"a SEARCH CHARSET UTF-8 TEXT {1+}\r\n\xff",
    b"a ID",
    b'a ID ("a")',
    b'a ID ("a" "b"',
    b"a FROBNICATE",
    b'a LOGIN "unterminated',
    b'a LOGIN "bad\\escape" x',
    b"a LOGIN {1}x y",
]


@pytest.mark.parametrize(("line", "expected"), GOOD, ids=[g[0].decode("latin-1")[:50] for g in GOOD])
def test_good_command(line: bytes, expected: object) -> None:
    assert parse_line(line) == expected
    events = feed_both(line + b"\r\n")
    assert events == [CommandReady(expected)]  # type: ignore[arg-type]


@pytest.mark.parametrize("line", BAD, ids=[b.decode("latin-1")[:50] for b in BAD])
def test_bad_command_is_rejected_with_its_tag(line: bytes) -> None:
    events = feed_both(line + b"\r\nz NOOP\r\n")
    assert len(events) == 2, events
    assert isinstance(events[0], Rejected)
    assert events[0].error.tag == "a"
    assert events[1] == CommandReady(Noop("z"))


def test_unknown_charset_is_no_badcharset() -> None:
    events = feed_both(b"a SEARCH CHARSET X-BOGUS TEXT x\r\n")
    assert isinstance(events[0], Rejected)
    err = events[0].error
    assert (err.tag, err.status, err.code) == ("a", "NO", "BADCHARSET (US-ASCII UTF-8)")


def test_command_keys_for_the_command_table() -> None:
    assert parse_line(b"a UID FETCH 1 FLAGS").key == "UID FETCH"
    assert parse_line(b"a FETCH 1 FLAGS").key == "FETCH"
    assert parse_line(b"a UID EXPUNGE 1").key == "UID EXPUNGE"
    assert parse_line(b"a EXAMINE x").key == "EXAMINE"
    examine = parse_line(b"a EXAMINE x")
    assert isinstance(examine, Select) and examine.readonly


def test_utf8_mailbox_names_after_enable() -> None:
    # RFC 9051 §5.1: with IMAP4rev2/UTF8=ACCEPT the name is UTF-8 and '&' is literal.
    assert parse_line('a CREATE "Entwürfe&"', utf8_names=True) == Create("a", "Entwürfe&")
    assert parse_line(b"a CREATE Entw&APw-rfe", utf8_names=True) == Create("a", "Entw&APw-rfe")


def test_fetch_labels_for_responses() -> None:
    cmd = parse_line(b"a FETCH 1 (BODY.PEEK[1.HEADER.FIELDS (From to)]<10.20> BINARY.PEEK[2]<0.5> BINARY.SIZE[3] UID)")
    assert isinstance(cmd, Fetch)
    assert [i.label() for i in cmd.items] == [
        "BODY[1.HEADER.FIELDS (FROM TO)]<10>",
        "BINARY[2]<0>",
        "BINARY.SIZE[3]",
        "UID",
    ]


def test_login_repr_hides_password() -> None:
    assert "secret" not in repr(parse_line(b"a LOGIN bob secret"))
