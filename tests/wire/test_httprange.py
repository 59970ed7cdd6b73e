"""RFC 9110 §14 byte ranges: the parser's table, and a Hypothesis check that every
answer selects exactly ``data[first:last+1]`` of what was asked."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postoffice.wire.httprange import UNSATISFIABLE, ByteRange, content_range, if_range_allows, parse_range

SIZE = 10_000


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-1", (ByteRange(0, 1),)),  # exactly two octets
        ("bytes=0-0", (ByteRange(0, 0),)),
        ("bytes=100-199", (ByteRange(100, 199),)),
        ("bytes=9000-", (ByteRange(9000, 9999),)),  # open: to the end
        ("bytes=9999-", (ByteRange(9999, 9999),)),
        ("bytes=-500", (ByteRange(9500, 9999),)),  # suffix: the last 500
        ("bytes=-20000", (ByteRange(0, 9999),)),  # a suffix longer than the whole is the whole
        ("bytes=0-99999", (ByteRange(0, 9999),)),  # last-pos clamped to the size
        ("bytes=10000-", UNSATISFIABLE),  # first-pos at the size: nothing
        ("bytes=20000-30000", UNSATISFIABLE),
        ("bytes=-0", UNSATISFIABLE),  # §14.1.1: zero suffix-length
        ("bytes=10000-,-0", UNSATISFIABLE),
        ("bytes=0-1,10000-", (ByteRange(0, 1),)),  # unsatisfiable members dropped
        ("bytes=0-1,5-6", (ByteRange(0, 1), ByteRange(5, 6))),
        ("bytes=5-6,0-1", (ByteRange(5, 6), ByteRange(0, 1))),  # the request's order (§14.6)
        ("bytes=0-10,5-20", (ByteRange(0, 20),)),  # overlapping: coalesced
        ("bytes=50-60,0-1,55-70", (ByteRange(50, 70), ByteRange(0, 1))),
        ("bytes=0-1, 5-6", (ByteRange(0, 1), ByteRange(5, 6))),  # OWS in the list (§5.6.1)
        ("bytes=0-1,,5-6", (ByteRange(0, 1), ByteRange(5, 6))),  # empty list elements
        ("BYTES=0-1", (ByteRange(0, 1),)),  # range units are case-insensitive (§14.1)
        # ignored (the whole representation is sent, §14.2)
        ("items=0-1", None),  # a unit we do not understand
        ("bytes=1-0", None),  # last-pos < first-pos: invalid
        ("bytes=abc", None),
        ("bytes=", None),
        ("bytes=-", None),
        ("bytes=1", None),
        ("bytes=+1-2", None),
        ("bytes=0x1-2", None),
        ("bytes 0-1", None),
        ("bytes=0-1,1-0", None),  # one invalid member invalidates the set (§14.1.1)
        (",".join(["bytes=0-0"] + [f"{n}-{n}" for n in range(2, 40, 2)]), None),  # too many ranges
    ],
)
def test_range_table(header: str | None, expected: object) -> None:
    assert parse_range(header, SIZE, max_ranges=16) == expected


def test_max_ranges_is_the_edge() -> None:
    sixteen = "bytes=" + ",".join(f"{2 * n}-{2 * n}" for n in range(16))
    assert len(parse_range(sixteen, SIZE, max_ranges=16)) == 16  # type: ignore[arg-type]
    assert parse_range(sixteen + ",40-40", SIZE, max_ranges=16) is None


def test_zero_length_representation_is_sent_whole() -> None:
    assert parse_range("bytes=0-1", 0) is None and parse_range("bytes=-5", 0) is None


@pytest.mark.parametrize(
    ("if_range", "allowed"),
    [
        (None, True),
        ('"abc"', True),
        ('"abd"', False),  # stale
        ('W/"abc"', False),  # weak: the comparison is strong (§13.1.5)
        ("Fri, 04 Dec 2026 17:00:00 GMT", False),  # a date: no Last-Modified is sent
        ("abc", False),  # not an entity-tag
    ],
)
def test_if_range(if_range: str | None, allowed: bool) -> None:
    assert if_range_allows(if_range, '"abc"') is allowed


def test_content_range() -> None:
    assert content_range(ByteRange(0, 1), 10) == "bytes 0-1/10"


_position = st.integers(min_value=0, max_value=300)
_spec = st.one_of(
    st.tuples(_position, _position).map(lambda t: f"{min(t)}-{max(t)}"),
    _position.map(lambda n: f"{n}-"),
    _position.map(lambda n: f"-{n}"),
)


@given(size=st.integers(min_value=1, max_value=256), specs=st.lists(_spec, min_size=1, max_size=5))
def test_ranges_select_what_was_asked(size: int, specs: list[str]) -> None:
    """Against a model: the octets selected are exactly those some satisfiable spec asks
    for, each answered range is bytes[first:last+1] within the size, and none overlap."""
    data = bytes(n % 251 for n in range(size))
    answer = parse_range("bytes=" + ",".join(specs), size)
    wanted: set[int] = set()
    for spec in specs:
        first, _, last = spec.partition("-")
        if not first:
            wanted |= set(range(max(0, size - int(last)), size)) if int(last) > 0 else set()
        elif int(first) < size:
            wanted |= set(range(int(first), min(size, int(last) + 1) if last else size))
    if not wanted:
        assert answer is UNSATISFIABLE
        return
    assert isinstance(answer, tuple)
    got: list[int] = []
    for r in answer:
        assert 0 <= r.first <= r.last < size
        assert data[r.first : r.last + 1] == bytes(data[i] for i in range(r.first, r.last + 1))
        got.extend(range(r.first, r.last + 1))
    assert len(got) == len(set(got))  # coalesced: no octet twice
    assert set(got) == wanted
