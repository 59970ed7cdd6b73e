"""The command reader: framing, literals, streaming, limits, raw-line mode."""

from __future__ import annotations

from imap_wire_helpers import feed_both, feed_bytewise, small_limits

from postoffice.wire.imap import (
    Append,
    CommandReader,
    CommandReady,
    ContinuationNeeded,
    LineReceived,
    LiteralChunk,
    LiteralEnd,
    LiteralStart,
    Login,
    Noop,
    ReaderLimits,
    Rejected,
    is_done,
)
from postoffice.wire.imap.commands import StreamedLiteral


def test_sync_literal_asks_for_continuation_before_the_bytes() -> None:
    reader = CommandReader()
    reader.feed(b"a1 LOGIN {3}\r\n")
    assert reader.next_event() == ContinuationNeeded("a1")
    assert reader.next_event() is None  # nothing more until the literal arrives
    reader.feed(b"bob {6}\r\n")
    assert reader.next_event() == ContinuationNeeded("a1")
    reader.feed(b"secret\r\n")
    ev = reader.next_event()
    assert isinstance(ev, CommandReady)
    assert ev.command == Login("a1", "bob", "secret")


def test_non_sync_literals_need_no_continuation() -> None:
    events = feed_both(b"a1 LOGIN {3+}\r\nbob {6+}\r\nsecret\r\n")
    assert events == [CommandReady(Login("a1", "bob", "secret"))]


def test_literal_may_hold_crlf_and_braces() -> None:
    events = feed_both(b"a1 LOGIN {5}\r\n{1}\r\n pw\r\n")
    assert events[-1] == CommandReady(Login("a1", "{1}\r\n", "pw"))


def test_pipelined_commands_and_bare_lf() -> None:
    events = feed_both(b"a1 NOOP\r\na2 NOOP\na3 NOOP\r\n")
    assert events == [CommandReady(Noop("a1")), CommandReady(Noop("a2")), CommandReady(Noop("a3"))]


def test_incomplete_command_waits() -> None:
    reader = CommandReader()
    reader.feed(b"a1 NO")
    assert reader.next_event() is None and reader.in_command
    reader.feed(b"OP\r\n")
    assert reader.next_event() == CommandReady(Noop("a1"))
    assert not reader.in_command


def test_append_literal_streams_without_buffering() -> None:
    body = b"x" * 5000
    data = b"a1 APPEND INBOX (\\Seen) {5000}\r\n" + body + b"\r\na2 NOOP\r\n"
    reader = CommandReader(stream_threshold=0)
    events = []
    for i in range(0, len(data), 700):  # arbitrary socket reads
        reader.feed(data[i : i + 700])
        events.extend(reader.events())
        assert len(reader._buf) <= 700  # never holds more than one read
    chunks = [e for e in events if isinstance(e, LiteralChunk)]
    assert max(len(c.data) for c in chunks) <= 700
    assert b"".join(c.data for c in chunks) == body
    assert events[0] == ContinuationNeeded("a1")
    assert events[1] == LiteralStart("a1", "APPEND", 5000, False, 0)
    end = next(i for i, e in enumerate(events) if isinstance(e, LiteralEnd))
    ready = events[end + 1]
    assert isinstance(ready, CommandReady) and isinstance(ready.command, Append)
    msg = ready.command.messages[0]
    assert msg.data == StreamedLiteral(0, 5000, False) and msg.flags == ("\\Seen",) and msg.size == 5000
    assert events[end + 2] == CommandReady(Noop("a2"))


def test_huge_append_is_announced_not_buffered() -> None:
    # 1 GiB announced: the reader accepts it (limit 2 GiB) and holds none of it.
    reader = CommandReader(stream_threshold=0)
    reader.feed(b"a1 APPEND INBOX {1073741824}\r\n")
    assert reader.events() == [ContinuationNeeded("a1"), LiteralStart("a1", "APPEND", 1 << 30, False, 0)]
    reader.feed(b"y" * 65536)
    assert reader.events() == [LiteralChunk(b"y" * 65536)]
    assert reader._size < 1000


def test_multiappend_streams_each_message_and_buffers_the_mailbox_literal() -> None:
    data = b"a1 APPEND {5}\r\nDraft {3}\r\nabc (\\Seen) ~{2}\r\nhi\r\n"
    events = feed_both(data, stream_threshold=0)
    starts = [e for e in events if isinstance(e, LiteralStart)]
    assert [(s.size, s.binary, s.index) for s in starts] == [(3, False, 1), (2, True, 2)]
    cmd = events[-1]
    assert isinstance(cmd, CommandReady) and isinstance(cmd.command, Append)
    assert cmd.command.mailbox == "Draft"
    assert [m.data for m in cmd.command.messages] == [StreamedLiteral(1, 3, False), StreamedLiteral(2, 2, True)]


def test_stream_threshold_keeps_small_messages_buffered() -> None:
    events = feed_both(b"a1 APPEND INBOX {3}\r\nabc\r\n", stream_threshold=10)
    cmd = events[-1]
    assert isinstance(cmd, CommandReady) and isinstance(cmd.command, Append)
    assert cmd.command.messages[0].data == b"abc"


def test_line_too_long_is_rejected_with_tag_and_reader_recovers() -> None:
    limits = small_limits()
    events = feed_both(b"a1 LOGIN " + b"x" * 300 + b" pw\r\na2 NOOP\r\n", limits=limits)
    assert isinstance(events[0], Rejected) and events[0].error.tag == "a1"
    assert events[1:] == [CommandReady(Noop("a2"))]


def test_line_limit_changes_after_authentication() -> None:
    line = b"a1 LOGIN " + b"x" * 150 + b" pw\r\n"
    reader = CommandReader(small_limits())
    reader.feed(line)
    assert isinstance(reader.next_event(), Rejected)
    reader.authenticated = True
    reader.feed(line)
    assert isinstance(reader.next_event(), CommandReady)


def test_sync_literal_over_limit_is_refused_before_continuation() -> None:
    events = feed_both(b"a1 APPEND INBOX {1001}\r\na2 NOOP\r\n", limits=small_limits(), stream_threshold=0)
    assert len(events) == 2 and isinstance(events[0], Rejected)
    err = events[0].error
    assert (err.tag, err.status, err.code) == ("a1", "NO", "TOOBIG")
    assert events[1] == CommandReady(Noop("a2"))
    events = feed_both(b"a1 LOGIN {600}\r\na2 NOOP\r\n", limits=small_limits())
    assert isinstance(events[0], Rejected) and events[0].error.status == "BAD"
    assert events[1] == CommandReady(Noop("a2"))


def test_non_sync_literal_over_limit_is_skipped() -> None:
    data = b"a1 LOGIN {600+}\r\n" + b"z" * 600 + b" {3+}\r\npw!\r\na2 NOOP\r\n"
    events = feed_both(data, limits=small_limits())
    assert isinstance(events[0], Rejected) and events[0].error.tag == "a1"
    assert events[1:] == [CommandReady(Noop("a2"))]


def test_literal_minus_limits_non_sync_literals_to_4096() -> None:
    ok = b"a1 APPEND INBOX {4096+}\r\n" + b"m" * 4096 + b"\r\n"
    assert isinstance(feed_both(ok, literal_plus=False)[-1], CommandReady)
    bad = b"a1 APPEND INBOX {4097+}\r\n" + b"m" * 4097 + b"\r\na2 NOOP\r\n"
    events = feed_both(bad, literal_plus=False)
    assert isinstance(events[0], Rejected) and events[0].error.code == "TOOBIG"
    assert events[-1] == CommandReady(Noop("a2"))


def test_command_size_limit_counts_all_buffered_literals() -> None:
    lits = b"".join(b" {150+}\r\n" + b"s" * 150 for _ in range(4))
    events = feed_both(b"a1 SEARCH TEXT" + lits + b"\r\na2 NOOP\r\n", limits=small_limits())
    assert isinstance(events[0], Rejected)
    assert events[-1] == CommandReady(Noop("a2"))


def test_nesting_limit() -> None:
    deep = b"a1 SEARCH " + b"(" * 40 + b"ALL" + b")" * 40 + b"\r\n"
    events = feed_both(deep, limits=ReaderLimits(max_nesting=32))
    assert isinstance(events[0], Rejected) and events[0].error.tag == "a1"
    ok = b"a1 SEARCH " + b"(" * 10 + b"ALL" + b")" * 10 + b"\r\n"
    assert isinstance(feed_both(ok)[0], CommandReady)


def test_idle_done_is_read_in_line_mode_even_when_pipelined() -> None:
    reader = CommandReader()
    reader.feed(b"a1 IDLE\r\nDONE\r\na2 NOOP\r\n")
    ev = reader.next_event()
    assert isinstance(ev, CommandReady) and ev.command.name == "IDLE"
    reader.expect_line()
    line = reader.next_event()
    assert isinstance(line, LineReceived) and is_done(line.line)
    assert reader.next_event() == CommandReady(Noop("a2"))


def test_authenticate_exchange_lines() -> None:
    reader = CommandReader()
    reader.feed(b"a1 AUTHENTICATE PLAIN\r\n")
    ev = reader.next_event()
    assert isinstance(ev, CommandReady)
    reader.expect_line()
    reader.feed(b"AGJvYgBwdw==\r\n")
    assert reader.next_event() == LineReceived(b"AGJvYgBwdw==")


def test_errors_carry_the_tag_or_none() -> None:
    events = feed_both(b"a1 FROB\r\n* NOOP\r\n\r\na2 LOGIN\r\n")
    tags = [e.error.tag for e in events if isinstance(e, Rejected)]
    assert tags == ["a1", None, None, "a2"]


def test_bytewise_feeding_of_a_long_session_matches_whole() -> None:
    session = (
        b"a1 CAPABILITY\r\na2 LOGIN {3}\r\nbob {2+}\r\npw\r\na3 SELECT INBOX (CONDSTORE)\r\n"
        b'a4 APPEND INBOX (\\Seen) "17-Jul-1996 02:44:25 -0700" {10}\r\n0123456789 ~{3}\r\na\x00b\r\n'
        b"a5 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (FROM)]) (CHANGEDSINCE 5 VANISHED)\r\n"
        b"a6 FOO\r\na7 LOGOUT\r\n"
    )
    for threshold in (None, 0, 5):
        whole = feed_both(session, stream_threshold=threshold)
        assert len([e for e in whole if isinstance(e, CommandReady)]) == 6
        assert feed_bytewise(session, stream_threshold=threshold) == whole


def test_limits_from_config() -> None:
    from postoffice.config import IMAPLimits

    limits = ReaderLimits.from_config(IMAPLimits())
    assert limits.max_line_length_before_auth == IMAPLimits().max_line_length_before_auth
    assert limits.max_literal_size == IMAPLimits().max_literal_size
    assert limits.max_nesting == IMAPLimits().max_nesting


def test_eight_bit_tag_is_rejected_untagged() -> None:
    from postoffice.wire.imap import syntax_error_response

    events = feed_both(b"\xc3\xa9 NOOP\r\n")
    assert isinstance(events[0], Rejected) and events[0].error.tag is None
    assert syntax_error_response(events[0].error).startswith(b"* BAD")


def test_broken_append_is_refused_before_continuation_and_streaming() -> None:
    for bad in (
        b"a1 APPEND INBOX (\\Seen {5}\r\n",
        b'a1 APPEND INBOX "bad-date" {5}\r\n',
        b"a1 APPEND INBOX (\\Seen) UTF8 ({5}\r\n",
    ):
        reader = CommandReader(stream_threshold=0)
        reader.feed(bad + b"a2 NOOP\r\n")
        events = reader.events()
        assert isinstance(events[0], Rejected) and events[0].error.tag == "a1", (bad, events)
        assert events[1:] == [CommandReady(Noop("a2"))]
    good = feed_both(b"a1 APPEND INBOX (\\Seen) UTF8 (~{2}\r\nhi)\r\n", stream_threshold=0)
    assert isinstance(good[-1], CommandReady)
