"""Hypothesis: random input never raises anything but ImapSyntaxError; round trips."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from imap_wire_helpers import merged
from test_imap_commands import GOOD

from postoffice.wire.imap import (
    CommandReader,
    CommandReady,
    ContinuationNeeded,
    ImapSyntaxError,
    LineReceived,
    LiteralChunk,
    LiteralEnd,
    LiteralStart,
    Login,
    Rejected,
    SequenceSet,
    mutf7,
    parse_line,
)
from postoffice.wire.imap import response as r
from postoffice.wire.imap.reader import Event

EXAMPLES = int(os.environ.get("POSTOFFICE_FUZZ_EXAMPLES", "300"))  # bench/fuzz.py runs more
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW_FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
EVENT_TYPES = (CommandReady, ContinuationNeeded, LiteralStart, LiteralChunk, LiteralEnd, LineReceived, Rejected)

TOKENS = [
    b"a1",
    b" ",
    b"UID",
    b"FETCH",
    b"SEARCH",
    b"STORE",
    b"APPEND",
    b"LOGIN",
    b"LIST",
    b"SELECT",
    b"STATUS",
    b"ID",
    b"(",
    b")",
    b"[",
    b"]",
    b"<",
    b">",
    b"{",
    b"}",
    b"~{",
    b"{3}\r\n",
    b"{2+}\r\n",
    b"~{1}\r\n",
    b"\r\n",
    b"\n",
    b'"',
    b"\\",
    b"*",
    b"%",
    b"$",
    b"1",
    b"0",
    b":",
    b",",
    b".",
    b"+",
    b"-",
    b"NIL",
    b"BODY",
    b"PEEK",
    b"HEADER",
    b"FIELDS",
    b"NOT",
    b"OR",
    b"ALL",
    b"FLAGS",
    b"\\Seen",
    b"CHANGEDSINCE",
    b"QRESYNC",
    b"RETURN",
    b"CHARSET",
    b"UTF8",
    b"&",
    b"&AGE-",
    b"\x00",
    b"\xff",
    b"99999999999999999999",
    b"1-Feb-1994",
    b"INBOX",
    b"NOTIFY",  # RFC 5465
    b"SET",
    b"NONE",
    b"SELECTED",
    b"SUBTREE",
    b"MessageNew",
    b"MessageExpunge",
]
token_soup = st.lists(st.sampled_from(TOKENS), max_size=40).map(b"".join)
any_input = st.one_of(st.binary(max_size=300), token_soup)


def run_reader(data: bytes, cuts: list[int], **kwargs: object) -> list[Event]:
    reader = CommandReader(**kwargs)  # type: ignore[arg-type]
    events: list[Event] = []
    pos = 0
    for cut in sorted(set(c % (len(data) + 1) for c in cuts)) + [len(data)]:
        reader.feed(data[pos:cut])
        pos = max(pos, cut)
        while (ev := reader.next_event()) is not None:
            assert isinstance(ev, EVENT_TYPES)
            events.append(ev)
    return merged(events)


@FUZZ
@given(any_input, st.lists(st.integers(min_value=0, max_value=400), max_size=10), st.sampled_from([None, 0, 2]))
def test_reader_never_raises_and_chunking_does_not_matter(data: bytes, cuts: list[int], threshold: int | None) -> None:
    whole = run_reader(data, [], stream_threshold=threshold)
    assert run_reader(data, cuts, stream_threshold=threshold) == whole


@FUZZ
@given(any_input)
def test_parser_raises_only_syntax_errors(data: bytes) -> None:
    for line in (
        data,
        b"a1 " + data,
        b"a1 UID " + data,
        b"a1 SEARCH " + data,
        b"a1 FETCH 1 " + data,
        b"a1 NOTIFY SET " + data,
    ):
        try:
            parse_line(line)
        except ImapSyntaxError:
            pass


@FUZZ
@given(st.sampled_from(GOOD), st.lists(st.integers(min_value=0, max_value=400), max_size=8))
def test_good_commands_survive_any_chunking(case: tuple[bytes, object], cuts: list[int]) -> None:
    line, expected = case
    assert run_reader(line + b"\r\n", cuts) == [CommandReady(expected)]  # type: ignore[arg-type]


text_no_nul = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=60)


@FUZZ
@given(text_no_nul, st.booleans())
def test_string_serialise_parse_round_trip(text: str, utf8: bool) -> None:
    wire = r.astring(text, utf8=utf8)
    cmd = parse_line(b"a LOGIN " + wire + b" pw")
    assert isinstance(cmd, Login) and cmd.username == text


@SLOW_FUZZ
@given(st.sets(st.integers(min_value=1, max_value=2**32 - 1), min_size=1, max_size=50))
def test_sequence_set_round_trip(numbers: set[int]) -> None:
    text = str(SequenceSet.of(numbers))
    parsed = SequenceSet.parse(text)
    assert str(parsed) == text
    spans = parsed.resolve(1)
    assert sum(hi - lo + 1 for lo, hi in spans) == len(numbers)
    assert all(parsed.contains(n, 1) for n in list(numbers)[:10])


@SLOW_FUZZ
@given(
    st.lists(
        st.tuples(st.one_of(st.none(), st.integers(1, 1000)), st.one_of(st.none(), st.integers(1, 1000))),
        min_size=1,
        max_size=10,
    ),
    st.integers(0, 1200),
)
def test_sequence_set_resolution_matches_brute_force(ranges: list[tuple[int | None, int | None]], largest: int) -> None:
    s = SequenceSet(tuple(ranges))
    assert SequenceSet.parse(str(s)) == s
    expected: set[int] = set()
    for a, b in ranges:
        if largest == 0 and (a is None or b is None):
            continue
        lo, hi = sorted((largest if a is None else a, largest if b is None else b))
        expected.update(range(lo, min(hi, largest) + 1))
    assert list(s.iter(largest)) == sorted(expected)


@FUZZ
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_mutf7_round_trip(name: str) -> None:
    encoded = mutf7.encode(name)
    assert encoded.isascii()
    assert mutf7.decode(encoded) == name


@FUZZ
@given(st.text(alphabet="&-AZaz09+,/ \x7fé", max_size=30))
def test_mutf7_decode_accepts_only_canonical(text: str) -> None:
    try:
        decoded = mutf7.decode(text)
    except mutf7.MUTF7Error:
        return
    assert mutf7.encode(decoded) == text
