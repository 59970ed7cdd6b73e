"""Client commands from the examples of RFC 9051 (and the RFCs of the extensions),
fed through the reader as a client would send them."""

from __future__ import annotations

import datetime as dt

import pytest
from imap_wire_helpers import feed_both

from postoffice.wire.imap import (
    Append,
    CommandReader,
    CommandReady,
    ContinuationNeeded,
    Fetch,
    List,
    Search,
    SequenceSet,
    Status,
    Store,
    parse_line,
)
from postoffice.wire.imap import response as r

RFC9051_COMMANDS = [
    b"abcd CAPABILITY",
    b"a002 NOOP",
    b"A023 LOGOUT",
    b"a001 STARTTLS",
    b"A001 AUTHENTICATE GSSAPI",
    b"a001 LOGIN SMITH SESAME",
    b"t2 ENABLE IMAP4rev2",
    b"A142 SELECT INBOX",
    b"A932 EXAMINE blurdybloop",
    b"A003 CREATE owatagusiam/",
    b"A004 CREATE owatagusiam/blurdybloop",
    b"A683 DELETE blurdybloop",
    b"A683 RENAME blurdybloop sarasoop",
    b"A002 SUBSCRIBE #news.comp.mail.mime",
    b"A002 UNSUBSCRIBE #news.comp.mail.mime",
    b'A101 LIST "" ""',
    b'A102 LIST #news.comp.mail.misc ""',
    b'A103 LIST /usr/staff/jones ""',
    b"A202 LIST ~/Mail/ %",
    b'A01 LIST "" % RETURN (STATUS (MESSAGES UNSEEN))',
    b'A02 LIST (SUBSCRIBED) "" "*"',
    b'A03 LIST () "" "%" RETURN (CHILDREN)',
    b'A04 LIST (SPECIAL-USE) "" "*"',
    b'A05 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"',
    b'A06 LIST "" ("INBOX" "Drafts" "Sent/%")',
    b"A001 NAMESPACE",
    b"A042 STATUS blurdybloop (UIDNEXT MESSAGES)",
    b"A002 IDLE",
    b"FXXZ CHECK",
    b"A341 CLOSE",
    b"A342 UNSELECT",
    b"A202 EXPUNGE",
    b"A003 UID EXPUNGE 3000:3002",
    b'A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"',
    b'A283 SEARCH RETURN () FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"',
    b'A284 SEARCH TEXT "string not in mailbox"',
    b'A285 SEARCH OR (FROM "Smith" SINCE 1-Feb-1994) SUBJECT "x"',
    b"A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])",
    b"A003 STORE 2:4 +FLAGS (\\Deleted)",
    b"A003 COPY 2:4 MEETING",
    b"a UID MOVE 42:69 foo",
    b"A999 UID FETCH 4827313:4828442 FLAGS",
    b'A301 UID SEARCH RETURN (SAVE) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"',
    b"A302 UID FETCH $ (UID INTERNALDATE FLAGS RFC822.SIZE)",
    # RFC 7162
    b"A160 SELECT INBOX (CONDSTORE)",
    b"s100 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)",
    b'a SEARCH MODSEQ "/flags/\\\\draft" all 620162338',
    b"d105 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)",
    b"A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))",
    b"B02 SELECT INBOX (QRESYNC (67890007 90060115194045000 41:211,214:541 (1:10 41:50)))",
    b"A03 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)",
    # RFC 2971, 3516, 5032, 6154, 4959
    b'a023 ID ("name" "sodr" "version" "19.34" "vendor" "Pink Floyd Music Limited")',
    b"A5 FETCH 3 BINARY[1.2]<0.100>",
    b"A6 FETCH 3 BINARY.SIZE[1.2]",
    b"A7 SEARCH UNSEEN YOUNGER 259200",
    b't1 CREATE "Important Messages" (USE (\\Important))',
    b"a AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=",
]


@pytest.mark.parametrize("line", RFC9051_COMMANDS, ids=[c.decode()[:40] for c in RFC9051_COMMANDS])
def test_rfc_example_parses(line: bytes) -> None:
    events = feed_both(line + b"\r\n")
    assert len(events) == 1 and isinstance(events[0], CommandReady), events
    assert events[0].command.tag == line.split()[0].decode()


def test_rfc9051_append_example_with_continuation() -> None:
    # RFC 9051 §6.3.12: the client waits for "+" before sending the 310-octet message.
    message = (
        b"Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n"
        b"From: Fred Foobar <foobar@Blurdybloop.example>\r\n"
        b"Subject: afternoon meeting\r\n"
        b"To: mooch@owatagu.siam.edu.example\r\n"
        b"Message-Id: <B27397-0100000@Blurdybloop.example>\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
        b"\r\n"
        b"Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n"
    )
    reader = CommandReader()
    reader.feed(b"A003 APPEND saved-messages (\\Seen) {%d}\r\n" % len(message))
    assert reader.next_event() == ContinuationNeeded("A003")
    assert r.continuation() == b"+ Ready\r\n"
    reader.feed(message + b"\r\n")
    ev = reader.next_event()
    assert isinstance(ev, CommandReady) and isinstance(ev.command, Append)
    assert ev.command.mailbox == "saved-messages"
    assert ev.command.messages[0].data == message and ev.command.messages[0].flags == ("\\Seen",)
    assert (
        r.OK_APPENDUID.tagged("A003", "APPEND completed", args="38505 3955")
        == b"A003 OK [APPENDUID 38505 3955] APPEND completed\r\n"
    )


def test_rfc3502_multiappend_example() -> None:
    cmd = parse_line(b'A003 APPEND saved-messages (\\Seen) {3}\r\nabc (\\Seen) " 7-Feb-1994 22:43:04 -0800" {2}\r\nde')
    assert isinstance(cmd, Append) and len(cmd.messages) == 2
    assert cmd.messages[1].date_time == dt.datetime(1994, 2, 7, 22, 43, 4, tzinfo=dt.timezone(dt.timedelta(hours=-8)))


def test_example_details() -> None:
    listing = parse_line(b'A01 LIST "" % RETURN (STATUS (MESSAGES UNSEEN))')
    assert isinstance(listing, List) and listing.return_status == ("MESSAGES", "UNSEEN")
    status = parse_line(b"A042 STATUS blurdybloop (UIDNEXT MESSAGES)")
    assert isinstance(status, Status) and status.items == ("UIDNEXT", "MESSAGES")
    search = parse_line(b"A301 UID SEARCH RETURN (SAVE) FLAGGED")
    assert isinstance(search, Search) and search.uid and search.return_options == ("SAVE",)
    fetch = parse_line(b"A302 UID FETCH $ (UID)")
    assert isinstance(fetch, Fetch) and fetch.sequence_set == SequenceSet((), saved=True)
    store = parse_line(b"d105 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)")
    assert isinstance(store, Store) and store.unchangedsince == 320162338 and store.silent and store.mode == "add"
