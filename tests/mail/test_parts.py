"""The part store: exact rebuild, decoded parts as blobs, ranged reads that read little."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import quopri
import random
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postoffice.config import MessageLimits
from postoffice.mail.codec import decode_layout
from postoffice.mail.ingest import Ingested, ingest
from postoffice.mail.parts import Base64Segment, BlobSegment, SkeletonSegment, StoredMessage
from postoffice.store.blobs import FileBlobStore

LIMITS = MessageLimits(part_store_threshold=2048)


def new_blobs(root: Path) -> FileBlobStore:
    return FileBlobStore(root, fsync=lambda fd: None)


def run(data: bytes, blobs: FileBlobStore, spool: Path, limits: MessageLimits = LIMITS) -> Ingested:
    return asyncio.run(ingest(data, blobs, limits, spool, fsync=lambda fd: None))


def crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def b64_lines(data: bytes, line_length: int, eol: bytes = b"\r\n") -> bytes:
    enc = base64.b64encode(data)
    return eol.join(enc[i : i + line_length] for i in range(0, len(enc), line_length)) + eol


def encode_part(data: bytes, cte: str, line_length: int) -> bytes:
    if cte == "base64":
        return b64_lines(data, line_length)
    if cte == "quoted-printable":
        return quopri.encodestring(data)
    return data


def build_message(parts: list[tuple[str, bytes, int]], eol: bytes) -> bytes:
    out = b"From: a@x.test\r\nSubject: round trip\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"=_rt\"\r\n\r\n"
    for cte, data, line_length in parts:
        out += b"--=_rt\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: " + cte.encode() + b"\r\n\r\n"
        out += encode_part(data, cte, line_length) + b"\r\n"
    out += b"--=_rt--\r\n"
    return out.replace(b"\r\n", eol)


# Text-safe payloads for identity encodings (no bare CR/LF/NUL worries for 7bit/8bit).
def payload(kind: str, size: int, seed: int) -> bytes:
    rng = random.Random(seed)
    if kind == "random":
        return rng.randbytes(size)
    line = bytes(rng.choice(b"abcdefghij klmnop") for _ in range(60)) + b"\r\n"
    return (line * (size // len(line) + 1))[:size].rstrip(b"\r")


PART = st.tuples(
    st.sampled_from(["base64", "base64", "7bit", "8bit", "quoted-printable"]),
    st.sampled_from([10, 500, 3000, 40_000]),
    st.sampled_from([60, 64, 76]),
    st.integers(0, 2**32),
)


@pytest.fixture(scope="module")
def shared_dir() -> Iterator[Path]:
    """One directory for every example (on tmpfs when there is one): the test is about bytes."""
    with tempfile.TemporaryDirectory(dir="/dev/shm" if Path("/dev/shm").is_dir() else None) as tmp:
        yield Path(tmp)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=st.lists(PART, min_size=1, max_size=4), eol=st.sampled_from([b"\r\n", b"\n"]))
def test_round_trip(shared_dir: Path, parts: list[tuple[str, int, int, int]], eol: bytes) -> None:
    tmp = shared_dir
    blobs = new_blobs(tmp / "blobs")
    built = [(cte, payload("random" if cte == "base64" else "text", size, seed), ll) for cte, size, ll, seed in parts]
    message = build_message(built, eol)
    ingested = run(message, blobs, Path(tmp) / "spool")
    assert ingested.raw_parts_fallback == 0
    stored = StoredMessage(decode_layout(ingested.content.layout), blobs)
    rebuilt = stored.read(0, stored.size)
    assert rebuilt == crlf(message)
    assert hashlib.sha256(rebuilt).hexdigest() == ingested.content.sha256
    for i, (cte, data, _) in enumerate(built, 1):
        if cte == "base64":
            assert stored.read_part(str(i)) == data
            assert stored.part_size(str(i)) == len(data)
    kinds = {type(seg) for seg in decode_layout(ingested.content.layout).segments}
    assert kinds <= {SkeletonSegment, BlobSegment, Base64Segment}
    if any(cte == "base64" and len(data) >= LIMITS.part_store_threshold for cte, data, _ in built):
        assert Base64Segment in kinds  # large base64 parts really are stored decoded


@pytest.fixture
def blobs(tmp_path: Path) -> FileBlobStore:
    return new_blobs(tmp_path / "blobs")


def test_large_base64_part_is_stored_decoded(blobs: FileBlobStore, tmp_path: Path) -> None:
    data = random.Random(1).randbytes(300_000)
    ingested = run(build_message([("base64", data, 76)], b"\r\n"), blobs, tmp_path / "spool")
    layout = decode_layout(ingested.content.layout)
    kinds = [type(seg) for seg in layout.segments]
    assert kinds == [SkeletonSegment, Base64Segment, SkeletonSegment]
    segment = layout.segments[1]
    assert isinstance(segment, Base64Segment) and blobs.read(segment.blob_id) == data  # the decoded part IS a blob
    assert ingested.parts_split == 1 and ingested.raw_parts_fallback == 0


def test_ranged_reads_read_about_what_they_return(blobs: FileBlobStore, tmp_path: Path) -> None:
    data = random.Random(2).randbytes(1_000_000)
    message = build_message([("base64", data, 76), ("7bit", payload("text", 200_000, 3), 0)], b"\r\n")
    ingested = run(message, blobs, tmp_path / "spool")
    stored = StoredMessage(decode_layout(ingested.content.layout), blobs)
    expected = crlf(message)
    rng = random.Random(4)
    for _ in range(200):
        offset = rng.randrange(len(expected))
        length = rng.choice([1, 10, 100, 5000, 100_000])
        blobs.bytes_read = 0
        got = stored.read(offset, length)
        assert got == expected[offset : offset + length]
        assert blobs.bytes_read <= len(got) + 2 * 78  # at most one extra base64 line each side
    blobs.bytes_read = 0
    assert stored.read_part("1", 500_000, 1000) == data[500_000:501_000]
    assert blobs.bytes_read == 1000
    pieces = list(stored.iter_range(1000, 300_000, chunk=4096))
    assert b"".join(pieces) == expected[1000:301_000] and all(len(p) <= 4096 for p in pieces)
    assert stored.read(len(expected) - 5, 100) == expected[-5:]


def test_irregular_base64_is_kept_raw_and_counted(blobs: FileBlobStore, tmp_path: Path) -> None:
    data = random.Random(5).randbytes(100_000)
    enc = base64.b64encode(data)
    lines, pos, rng = [], 0, random.Random(6)
    while pos < len(enc):
        n = rng.choice([72, 76, 64])
        lines.append(enc[pos : pos + n])
        pos += n
    body = b"\r\n".join(lines) + b"\r\n"
    message = (b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Transfer-Encoding: base64\r\n\r\n" + body + b"--x--\r\n")
    ingested = run(message, blobs, tmp_path / "spool")
    assert ingested.raw_parts_fallback == 1
    stored = StoredMessage(decode_layout(ingested.content.layout), blobs)
    assert stored.read(0, stored.size) == message
    assert stored.read_part("1") == data
    assert stored.read_part("1", 99_990, 100) == data[99_990:]
    assert stored.part_size("1") == len(data)


def test_quoted_printable_large_part_kept_raw_not_counted(blobs: FileBlobStore, tmp_path: Path) -> None:
    text = payload("text", 50_000, 7) + "é".encode()
    ingested = run(build_message([("quoted-printable", text, 0)], b"\r\n"), blobs, tmp_path / "spool")
    assert ingested.raw_parts_fallback == 0 and ingested.parts_split == 1
    stored = StoredMessage(decode_layout(ingested.content.layout), blobs)
    assert stored.read_part("1").replace(b"\r\n", b"\n") == crlf(text).replace(b"\r\n", b"\n")


def test_small_parts_stay_in_the_skeleton(blobs: FileBlobStore, tmp_path: Path) -> None:
    message = build_message([("base64", b"tiny", 76)], b"\r\n")
    ingested = run(message, blobs, tmp_path / "spool")
    assert ingested.parts_split == 0 and ingested.content.blob_ids == ()  # skeleton inline
    stored = StoredMessage(decode_layout(ingested.content.layout), blobs)
    assert stored.read_part("1") == b"tiny" and stored.part_size("1") == 4
    with pytest.raises(KeyError):
        stored.read_part("9")


@pytest.mark.parametrize("extra", [0, 1])
def test_skeleton_inline_up_to_its_limit(blobs: FileBlobStore, tmp_path: Path, extra: int) -> None:
    """[limits.message] skeleton_inline_max: a skeleton of exactly that size stays in the
    layout (no blob, nothing read from the blob store); one octet more is a blob file."""
    import dataclasses

    message = build_message([("7bit", b"small body\r\n", 0)], b"\r\n")
    limits = dataclasses.replace(LIMITS, skeleton_inline_max=len(message) - 1 + (1 - extra))
    ingested = run(message, blobs, tmp_path / "spool", limits)
    assert ingested.parts_split == 0
    assert len(ingested.content.blob_ids) == extra
    blobs.bytes_read = 0
    stored = StoredMessage(decode_layout(ingested.content.layout), blobs)
    assert stored.read(0, len(message) + 10) == message
    assert stored.read(5, 7) == message[5:12]
    assert (blobs.bytes_read == 0) == (extra == 0)
