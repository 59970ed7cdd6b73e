"""The one line-end normaliser: CRLF stays, bare LF and bare CR become CRLF, whatever
the chunking (docs/architecture.md §5, RFC 5322 §2.3)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from postoffice.message.lineends import LineEndNormaliser, to_crlf
from postoffice.testing.chunks import pieces

chunkings = st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=50)
line_bytes = st.lists(st.sampled_from([b"a", b".", b"\r", b"\n", b"\r\n", b"\n\r"]), max_size=60).map(b"".join)


def reference(data: bytes) -> bytes:
    return re.sub(rb"\r\n|\r|\n", b"\r\n", data)


@given(data=line_bytes | st.binary(max_size=100), cuts=chunkings)
def test_any_chunking_gives_the_reference_output(data: bytes, cuts: list[int]) -> None:
    normaliser = LineEndNormaliser()
    out = b"".join(normaliser.feed(piece) for piece in pieces(data, cuts)) + normaliser.flush()
    assert out == reference(data) == to_crlf(data)


def test_table() -> None:
    assert to_crlf(b"") == b""
    assert to_crlf(b"a\r\nb") == b"a\r\nb"
    assert to_crlf(b"a\nb\rc\r\n") == b"a\r\nb\r\nc\r\n"
    assert to_crlf(b"\n\r") == b"\r\n\r\n"  # LF then a bare CR: two line ends
    assert to_crlf(b"x\r") == b"x\r\n"  # a CR at the very end
    assert to_crlf(b"a\r\nb\nc\rd\r\r\ne\n\rf\r") == b"a\r\nb\r\nc\r\nd\r\n\r\ne\r\n\r\nf\r\n"


def test_clean_input_is_not_copied() -> None:
    data = b"Subject: x\r\n\r\nbody\r\n" * 100
    assert LineEndNormaliser().feed(data) is data
