"""Hypothesis fuzzing of the parser: random bytes and mutated corpus messages never
raise, offsets stay within the data, and chunking never changes the result."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postoffice.config import MessageLimits
from postoffice.mail.codec import decode_bodystructure, decode_envelope, encode_bodystructure, encode_envelope
from postoffice.message.parser import MimeParser, Part, parse_bytes
from postoffice.message.structure import bodystructure_of, envelope_of
from postoffice.message.text import extract_text, make_preview, search_fields

CORPUS = [p.read_bytes() for p in sorted((Path(__file__).parent.parent / "corpus").glob("*.eml"))]
EXAMPLES = int(os.environ.get("POSTOFFICE_FUZZ_EXAMPLES", "300"))  # bench/fuzz.py runs more
LIMITS = MessageLimits(max_header_size=2000, max_depth=6, max_parts=40)
TOKENS = [b"\r\n", b"\n", b"\r", b"--", b"--b", b"--b--", b"\r\n\r\n", b":", b"=?utf-8?B?", b"?=", b"Content-Type: multipart/mixed; boundary=b\r\n",
          b"Content-Type: message/rfc822\r\n", b"Content-Transfer-Encoding: base64\r\n", b"\x00", b"\xff", b";", b'"']


def check(data: bytes, root: Part) -> None:
    for part in root.walk():
        assert 0 <= part.header_offset <= part.body_offset
        assert part.header_offset + part.header_length == part.body_offset
        assert part.body_offset + part.body_length <= len(data)
        assert part.body_lines >= 0
    structure, envelope = bodystructure_of(root), envelope_of(root)
    assert decode_bodystructure(encode_bodystructure(structure), len(data)) == structure
    assert decode_envelope(encode_envelope(envelope)) == envelope
    extract_text(root)
    make_preview(root)
    search_fields(root)


def parse_chunked(data: bytes, cuts: list[int]) -> Part:
    parser = MimeParser(LIMITS, text_limit=5000)
    pos = 0
    for cut in sorted(set(c % (len(data) + 1) for c in cuts)):
        parser.feed(data[pos:cut])
        pos = cut
    parser.feed(data[pos:])
    return parser.close()


def shape(root: Part) -> list[tuple[int, int, int, int, str]]:
    return [(p.header_offset, p.body_offset, p.body_length, p.body_lines, p.content_type) for p in root.walk()]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000), st.lists(st.integers(0, 4000), max_size=8))
def test_random_bytes(data: bytes, cuts: list[int]) -> None:
    root = parse_bytes(data, LIMITS, text_limit=5000)
    check(data, root)
    assert shape(parse_chunked(data, cuts)) == shape(root)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS) | st.binary(max_size=20), max_size=200), st.lists(st.integers(0, 4000), max_size=8))
def test_token_soup(tokens: list[bytes], cuts: list[int]) -> None:
    data = b"".join(tokens)
    root = parse_bytes(data, LIMITS, text_limit=5000)
    check(data, root)
    assert shape(parse_chunked(data, cuts)) == shape(root)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(CORPUS),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 40), st.binary(max_size=12) | st.sampled_from(TOKENS)), max_size=6),
    st.lists(st.integers(0, 10**6), max_size=6),
)
def test_mutated_corpus(message: bytes, edits: list[tuple[int, int, bytes]], cuts: list[int]) -> None:
    data = message
    for pos, delete, insert in edits:
        pos %= len(data) + 1
        data = data[:pos] + insert + data[pos + delete :]
    root = parse_bytes(data, LIMITS, text_limit=5000)
    check(data, root)
    assert shape(parse_chunked(data, cuts)) == shape(root)
