"""The streamed DKIM body hash equals dkimpy's whole-body canonicalization (RFC 6376
§3.4.3, §3.4.4), whatever the chunking, byte at a time included."""

from __future__ import annotations

import hashlib

from dkim.canonicalization import CanonicalizationPolicy
from hypothesis import given, settings
from hypothesis import strategies as st

from postoffice.authn.bodyhash import BodyHasher

LINES = st.lists(st.text(alphabet="ab \t", max_size=8), max_size=8)


def dkimpy_hash(body: bytes, canon: str) -> bytes:
    policy = CanonicalizationPolicy.from_c_value(b"relaxed/" + canon.encode())
    return hashlib.sha256(policy.canonicalize_body(body)).digest()


def streamed(body: bytes, canon: str, step: int) -> bytes:
    hasher = BodyHasher(canon)
    for i in range(0, len(body), step):
        hasher.update(body[i : i + step])
    return hasher.digest()


@settings(max_examples=300, deadline=None)
@given(lines=LINES, step=st.integers(min_value=1, max_value=7), canon=st.sampled_from(["simple", "relaxed"]))
def test_streamed_equals_dkimpy(lines: list[str], step: int, canon: str) -> None:
    body = b"".join(line.encode() + b"\r\n" for line in lines)  # what ingestion stores: CRLF lines
    assert streamed(body, canon, step) == dkimpy_hash(body, canon)


def test_edge_bodies() -> None:
    for body in (b"", b"\r\n", b"\r\n\r\n", b"x\r\n\r\n\r\n", b" \t \r\n", b"a  b \r\n\r\nc\r\n"):
        for canon in ("simple", "relaxed"):
            assert streamed(body, canon, 1) == dkimpy_hash(body, canon), (body, canon)


def test_length_limit_counts_canonical_octets() -> None:
    hasher = BodyHasher("relaxed", length=5)
    hasher.update(b"abc  \r\ndef\r\n")
    assert hasher.digest() == hashlib.sha256(b"abc\r\n").digest()
