"""Every parser that reads what a client or a sender wrote, under one contract (issue 15).

For any input — random bytes, a soup of the protocol's own tokens, and one fragment
repeated thousands of times (which is how backtracking and quadratic rescans show) — a
parse returns a value or raises the protocol's own syntax error, and it finishes: the
CPU time of one parse stays under ``CPU_BOUND``, which is a liveness bound (a parser
that backtracks takes minutes on these inputs), not a speed figure; the parses take
milliseconds. Parsers covered: IMAP commands (the reader and the line parser, with
SEARCH, FETCH, STORE, SORT/THREAD, LIST, APPEND, STATUS...), IMAP URLs, sequence sets,
date-times, mailbox names, SASL responses; SMTP command lines, paths, xtext, DATA and
BDAT framing; POP3 commands; the SASL mechanisms; the MIME parser, header fields,
encoded words, parameters, address lists, HTML to text; HTTP ranges; LIST patterns.

The budget in ``make test`` is small (``FUZZ_EXAMPLES``, 60 examples per test by
default); ``bench/fuzz.py`` runs the same tests with many more
(``POSTOFFICE_FUZZ_EXAMPLES``).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from typing import TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postoffice.config import MessageLimits
from postoffice.message.address import parse_address_list
from postoffice.message.headers import (
    decode_encoded_words,
    decode_header_bytes,
    header_str,
    header_text,
    parse_params,
    raw_params,
    split_header_block,
    unfold,
)
from postoffice.message.parser import parse_bytes
from postoffice.message.structure import bodystructure_of, envelope_of
from postoffice.message.text import decode_transfer, extract_text, html_to_text, make_preview, search_fields
from postoffice.protocols.imap.mailboxes import _Pattern
from postoffice.wire import sasl
from postoffice.wire.httprange import Unsatisfiable, parse_range
from postoffice.wire.imap import (
    CommandReader,
    ImapSyntaxError,
    ReaderLimits,
    SASLCancelled,
    SequenceSet,
    mutf7,
    parse_date_time,
    parse_line,
    parse_sasl_response,
)
from postoffice.wire.imap.mutf7 import MailboxNameError, MUTF7Error
from postoffice.wire.imap.url import parse_message_url
from postoffice.wire.pop3 import POP3SyntaxError
from postoffice.wire.pop3 import parse_command as pop3_parse
from postoffice.wire.smtp import (
    BdatReader,
    DataReader,
    SMTPSyntaxError,
    decode_xtext,
    parse_forward_path,
    parse_reverse_path,
    split_command_lines,
)
from postoffice.wire.smtp import parse_command as smtp_parse

EXAMPLES = int(os.environ.get("POSTOFFICE_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
CPU_BOUND = 2.0  # seconds of this thread's CPU time for one parse of at most MAX_INPUT octets
MAX_INPUT = 24_000

T = TypeVar("T")


def bounded(parse: Callable[[], T]) -> T:
    """Run one parse; fail if it spins (CPU time of this thread, so a busy machine is no excuse)."""
    start = time.thread_time()
    try:
        return parse()
    finally:
        spent = time.thread_time() - start
        assert spent < CPU_BOUND, f"one parse took {spent:.1f} s of CPU: it backtracks or rescans"


def hostile(tokens: list[bytes]) -> st.SearchStrategy[bytes]:
    """Random bytes, token soup, and prefix + fragment * n + suffix (n up to thousands)."""
    piece = st.sampled_from(tokens) | st.binary(max_size=6)
    soup = st.lists(piece, max_size=40).map(b"".join)
    short = st.lists(piece, min_size=1, max_size=4).map(b"".join)

    def repeat(parts: tuple[bytes, bytes, int, bytes]) -> bytes:
        prefix, fragment, times, suffix = parts
        times = min(times, MAX_INPUT // max(1, len(fragment)))
        return prefix + fragment * times + suffix

    repeated = st.tuples(soup, short, st.integers(1, 6000), soup).map(repeat)
    return st.binary(max_size=300) | soup | repeated


def text_of(data: st.SearchStrategy[bytes]) -> st.SearchStrategy[str]:
    return data.map(lambda b: b.decode("utf-8", "surrogateescape"))


# ---- IMAP -------------------------------------------------------------------------------------
IMAP_TOKENS = [
    b" ", b"(", b")", b"[", b"]", b"<", b">", b"{", b"}", b"{3}\r\n", b"{2+}\r\n", b"~{1}\r\n", b"\r\n",
    b'"', b"\\", b"*", b"%", b"$", b"1", b"0", b":", b",", b".", b"+", b"-", b"NIL", b"ALL", b"OR", b"NOT",
    b"BODY", b"BODY.PEEK", b"BINARY", b"HEADER", b"HEADER.FIELDS", b"MIME", b"TEXT", b"FLAGS", b"\\Seen",
    b"UID", b"SUBJECT", b"FROM", b"HEADER X ", b"SINCE 1-Feb-1994", b"LARGER", b"MODSEQ", b"CHANGEDSINCE",
    b"RETURN", b"CHARSET", b"UTF-8", b"(ALL)", b"$", b"OLDER", b"YOUNGER", b"FUZZY", b"SAVEDBEFORE",
    b"EMAILID", b"THREADID", b"&", b"&AGE-", b"\x00", b"\xff", b"99999999999999999999", b"INBOX", b"DONE",
]  # fmt: skip
IMAP_PREFIXES = [
    b"", b"a1 ", b"a1 UID ", b"a1 SEARCH ", b"a1 UID SEARCH RETURN (MIN MAX SAVE) ", b"a1 FETCH 1:* ",
    b"a1 UID FETCH 1,3:5 (", b"a1 STORE 1 +FLAGS ", b"a1 SORT (DATE REVERSE SUBJECT) UTF-8 ",
    b"a1 THREAD REFERENCES UTF-8 ", b"a1 LIST ", b'a1 LIST (SUBSCRIBED) "" ', b"a1 STATUS INBOX ",
    b"a1 APPEND INBOX ", b"a1 SELECT INBOX ", b"a1 ID ", b"a1 LOGIN ", b"a1 AUTHENTICATE PLAIN ",
    b"a1 GETMETADATA ", b"a1 SETMETADATA INBOX ", b"a1 ENABLE ", b"a1 COPY 1 ", b"a1 UID EXPUNGE ",
    b"a1 SELECT INBOX (QRESYNC (1 2 ", b"a1 APPEND INBOX CATENATE (URL ",
]  # fmt: skip
imap_input = hostile(IMAP_TOKENS)


@FUZZ
@given(st.sampled_from(IMAP_PREFIXES), imap_input, st.booleans())
def test_imap_command_parser(prefix: bytes, data: bytes, utf8_names: bool) -> None:
    try:
        bounded(lambda: parse_line(prefix + data, utf8_names=utf8_names))
    except ImapSyntaxError:
        pass


@FUZZ
@given(st.sampled_from(IMAP_PREFIXES), imap_input, st.sampled_from([None, 0, 64]), st.booleans())
def test_imap_command_reader(prefix: bytes, data: bytes, threshold: int | None, authenticated: bool) -> None:
    reader = CommandReader(ReaderLimits(), stream_threshold=threshold)
    reader.authenticated = authenticated

    def read() -> int:
        events = 0
        reader.feed(prefix + data + b"\r\n")
        while reader.next_event() is not None:
            events += 1
        return events

    bounded(read)


@FUZZ
@given(text_of(hostile([b"imap://", b"/", b";UID=", b";UIDVALIDITY=", b";SECTION=", b";PARTIAL=", b"@", b":",
                        b"[", b"]", b"%", b"%C3%A9", b"%FF", b"1", b".", b"HEADER.FIELDS%20(A)", b"INBOX"])))  # fmt: skip
def test_imap_url_parser(text: str) -> None:
    try:
        bounded(lambda: parse_message_url(text))
    except ValueError:  # the server answers NO [BADURL]
        pass


@FUZZ
@given(text_of(hostile([b"1", b":", b",", b"*", b"$", b"0", b"4294967295", b"99999999999"])))
def test_sequence_set_parser(text: str) -> None:
    try:
        bounded(lambda: SequenceSet.parse(text))
    except ImapSyntaxError:
        pass


@FUZZ
@given(text_of(hostile([b"17-Jul-1996", b" 1-Jul-1996", b" ", b"02:44:25", b" -0700", b"+9999", b"-", b":"])))
def test_date_time_parser(text: str) -> None:
    try:
        bounded(lambda: parse_date_time(text))
    except ImapSyntaxError:
        pass


@FUZZ
@given(text_of(hostile([b"&", b"-", b"&-", b"&AGE-", b"/", b"INBOX", b"%", b"*", b"\x00", "\u2028".encode(), "\u2029".encode()])))  # fmt: skip
def test_mailbox_name_parsers(text: str) -> None:
    try:
        bounded(lambda: mutf7.decode(text))
    except MUTF7Error:
        pass
    try:
        bounded(lambda: mutf7.check_mailbox_name(text))
    except MailboxNameError:
        pass


@FUZZ
@given(hostile([b"*", b"=", b"AAAA", b"YWxp", b"\x00", b"====", b" "]))
def test_sasl_response_line(line: bytes) -> None:
    try:
        bounded(lambda: parse_sasl_response(line))
    except (ImapSyntaxError, SASLCancelled):
        pass


def _reference_match(pattern: str, name: str) -> bool:
    regex = "".join(".*" if c == "*" else "[^/]*" if c == "%" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, name, re.DOTALL) is not None


@FUZZ
@given(st.text(alphabet="ab/*%", max_size=12), st.text(alphabet="ab/", max_size=12))
def test_list_pattern_matches_like_the_rfc_says(pattern: str, name: str) -> None:
    assert _Pattern("", pattern).match(name) == _reference_match(pattern, name)


@FUZZ
@given(text_of(hostile([b"*", b"%", b"a", b"/", b"*a", b"%/"])), text_of(hostile([b"a", b"/", b"b"])))
def test_list_pattern_is_linear(pattern: str, name: str) -> None:
    bounded(lambda: _Pattern("", pattern).match(name))


# ---- SMTP -------------------------------------------------------------------------------------
SMTP_TOKENS = [
    b"MAIL FROM:", b"RCPT TO:", b"EHLO ", b"HELO ", b"BDAT ", b"AUTH PLAIN ", b"DATA", b"VRFY ", b"<", b">", b"@",
    b"<>", b"<@a,@b:x@y>", b"\"", b"\\", b" SIZE=", b" BODY=8BITMIME", b" SMTPUTF8", b" RET=HDRS", b" ENVID=",
    b" NOTIFY=SUCCESS,FAILURE", b" ORCPT=rfc822;", b"+2B", b"[", b"]", b"IPv6:", b"::1", b"127.0.0.1", b".",
    b" LAST", b"=", b"\x00", b"\xff", b"\xc3\xa9", b"postmaster", b" ",
]  # fmt: skip
smtp_input = hostile(SMTP_TOKENS)


@FUZZ
@given(st.sampled_from([b"", b"MAIL FROM:", b"RCPT TO:", b"EHLO ", b"BDAT ", b"AUTH ", b"NOOP "]), smtp_input,
       st.booleans())  # fmt: skip
def test_smtp_command_parser(prefix: bytes, data: bytes, smtputf8: bool) -> None:
    try:
        bounded(lambda: smtp_parse(prefix + data, smtputf8=smtputf8))
    except SMTPSyntaxError as error:
        assert 500 <= error.reply.code < 600


@FUZZ
@given(text_of(smtp_input), st.booleans())
def test_smtp_path_parsers(text: str, smtputf8: bool) -> None:
    for parse in (parse_forward_path, parse_reverse_path):
        try:
            bounded(lambda: parse(text, smtputf8=smtputf8))  # noqa: B023 (called at once)
        except SMTPSyntaxError:
            pass
    try:
        bounded(lambda: decode_xtext(text))
    except ValueError:
        pass


@FUZZ
@given(hostile([b"\r\n", b"\r", b"\n", b".", b"\r\n.\r\n", b"..", b"a", b"\x00"]), st.integers(0, 50_000))
def test_smtp_data_and_bdat_framing(data: bytes, bdat_size: int) -> None:
    def frame() -> None:
        DataReader(max_size=10_000).feed(data)
        DataReader(mode="refuse").feed(data)
        BdatReader(bdat_size).feed(data)
        split_command_lines(data)

    bounded(frame)


# ---- POP3 and SASL ----------------------------------------------------------------------------
@FUZZ
@given(st.sampled_from([b"", b"USER ", b"PASS ", b"RETR ", b"TOP 1 ", b"LIST ", b"UIDL ", b"AUTH ", b"APOP x "]),
       hostile([b" ", b"1", b"0", b"-1", b"99999999999999999999", b"PLAIN", b"=", b"\x00", b"\xff"]))  # fmt: skip
def test_pop3_command_parser(prefix: bytes, data: bytes) -> None:
    try:
        bounded(lambda: pop3_parse(prefix + data))
    except POP3SyntaxError as error:
        assert not error.response.ok


SASL_TOKENS = [b"\x00", b"n,,", b"y,,", b"p=x,,", b"n=", b"r=", b"c=biws", b"p=", b"a=", b",", b"=2C", b"=3D", b"="]


@FUZZ
@given(st.sampled_from(sasl.MECHANISMS), hostile(SASL_TOKENS), hostile(SASL_TOKENS))
def test_sasl_mechanisms(name: str, first: bytes, second: bytes) -> None:
    mechanism = sasl.new_mechanism(name, unknown_user_iterations=1)
    assert mechanism is not None

    def exchange() -> None:
        step = mechanism.start(first or None)
        if isinstance(step, sasl.NeedsScramCredentials):
            assert isinstance(mechanism, sasl.ScramSha256)
            step = mechanism.provide_credentials(sasl.ScramCredentials(b"salt", 1, b"k" * 32, b"s" * 32))
        if isinstance(step, sasl.Challenge):
            mechanism.step(second)

    bounded(exchange)


# ---- messages: MIME, header fields, addresses, text ---------------------------------------------
HEADER_TOKENS = [
    b"\r\n", b"\r\n ", b"\n", b":", b";", b"=", b'"', b"\\", b"(", b")", b"<", b">", b"@", b",", b"=?utf-8?B?",
    b"=?iso-8859-1?Q?", b"?=", b"=41", b"_", b"*0*=", b"*1=", b"utf-8''%41", b"boundary=", b"name=", b"\x00",
    b"\xff", b"Subject: ", b"From: ", b"To: a@b, ", b"group: ;", b"Content-Type: multipart/mixed; boundary=b\r\n",
]  # fmt: skip
header_input = hostile(HEADER_TOKENS)
LIMITS = MessageLimits(max_header_size=64_000, max_depth=20, max_parts=200)


@FUZZ
@given(header_input)
def test_header_parsers(raw: bytes) -> None:
    def parse() -> None:
        # The two decodings the MIME parser gives these functions: for display, and as written.
        text, written = decode_header_bytes(raw), header_str(raw)
        split_header_block(raw)
        header_text(raw)
        decode_encoded_words(text)
        unfold(written)
        parse_params(text)
        raw_params(written)
        parse_address_list(text)
        parse_address_list(written)

    bounded(parse)


@FUZZ
@given(hostile(HEADER_TOKENS + [b"--b", b"--b--", b"\r\n\r\n", b"Content-Transfer-Encoding: base64\r\n",
                                b"Content-Type: message/rfc822\r\n", b"Content-Type: text/html\r\n", b"<p>"]))  # fmt: skip
def test_mime_parser(data: bytes) -> None:
    def parse() -> None:
        root = parse_bytes(data, LIMITS, text_limit=50_000)
        bodystructure_of(root)
        envelope_of(root)
        extract_text(root)
        make_preview(root)
        search_fields(root)

    bounded(parse)


@FUZZ
@given(text_of(hostile([b"<", b">", b"</", b"<p>", b"<br>", b"<script>", b"</script>", b"<style", b"<!--", b"-->",
                        b"&amp;", b"&#", b"&#x", b";", b"\"", b"'", b"=", b" ", b"a"])))  # fmt: skip
def test_html_to_text(html: str) -> None:
    bounded(lambda: html_to_text(html))


@FUZZ
@given(hostile([b"=", b"=\r\n", b"=4", b"=41", b"A", b"====", b"\r\n", b" ", b"-"]), st.sampled_from(
    ["base64", "quoted-printable", "7bit", "x-uuencode"]))  # fmt: skip
def test_transfer_decoding(data: bytes, encoding: str) -> None:
    bounded(lambda: decode_transfer(data, encoding))


# ---- HTTP -------------------------------------------------------------------------------------
@FUZZ
@given(text_of(hostile([b"bytes=", b"0", b"-", b"1", b",", b" ", b"99999999999999999999", b"=", b"items="])),
       st.integers(0, 10**9))  # fmt: skip
def test_http_range_parser(header: str, size: int) -> None:
    result = bounded(lambda: parse_range(header, size))
    assert result is None or isinstance(result, (tuple, Unsatisfiable))
