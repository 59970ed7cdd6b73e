"""The ingestion pipeline: line-end normalisation, size limit, spool hygiene, constant
memory, dedup of large parts across messages."""

from __future__ import annotations

import base64
import hashlib
import os
import random
import tempfile
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from postoffice.config import MessageLimits
from postoffice.errors import Kind, MailError
from postoffice.mail.codec import decode_bodystructure, decode_envelope, decode_layout
from postoffice.mail.ingest import ingest
from postoffice.mail.parts import StoredMessage
from postoffice.message.address import Address
from postoffice.store.blobs import FileBlobStore
from postoffice.testing.chunks import pieces

LIMITS = MessageLimits()
TMPFS = "/dev/shm" if Path("/dev/shm").is_dir() else None


def no_fsync(fd: int) -> None:
    pass


def spool_empty(spool: Path) -> bool:
    """No spool file left (small messages never create the spool directory)."""
    return not spool.exists() or os.listdir(spool) == []


@pytest.fixture
def blobs(tmp_path: Path) -> FileBlobStore:
    return FileBlobStore(tmp_path / "blobs", fsync=no_fsync)


@pytest.fixture
def spool(tmp_path: Path) -> Path:
    return tmp_path / "spool"


async def chunks(data: bytes, sizes: list[int]) -> AsyncIterator[bytes]:
    for piece in pieces(data, sizes):
        yield piece


async def test_byte_at_a_time_source(blobs: FileBlobStore, spool: Path) -> None:
    message = b"Subject: hi\nFrom: a@x.test\n\nline one\rline two\r\nend\n"
    whole = await ingest(message, blobs, LIMITS, spool, fsync=no_fsync)
    trickle = await ingest(chunks(message, [1]), blobs, LIMITS, spool, fsync=no_fsync)
    assert whole.content.sha256 == trickle.content.sha256
    assert whole.content.bodystructure == trickle.content.bodystructure
    stored = StoredMessage(decode_layout(trickle.content.layout), blobs)
    assert stored.read(0, stored.size) == b"Subject: hi\r\nFrom: a@x.test\r\n\r\nline one\r\nline two\r\nend\r\n"
    assert whole.content.subject == "hi" and whole.content.preview == "line one line two end"
    assert spool_empty(spool)


async def test_prepend_and_path_source(blobs: FileBlobStore, spool: Path, tmp_path: Path) -> None:
    path = tmp_path / "m.eml"
    path.write_bytes(b"Subject: p\n\nbody\n")
    got = await ingest(path, blobs, LIMITS, spool, prepend=b"Return-Path: <a@x.test>\r\n", fsync=no_fsync)
    stored = StoredMessage(decode_layout(got.content.layout), blobs)
    assert stored.read(0, stored.size) == b"Return-Path: <a@x.test>\r\nSubject: p\r\n\r\nbody\r\n"
    assert got.content.size == stored.size


async def test_too_big_consumes_source_and_keeps_nothing(blobs: FileBlobStore, spool: Path) -> None:
    consumed = []

    async def source() -> AsyncIterator[bytes]:
        for i in range(100):
            consumed.append(i)
            yield b"x" * 1000 + b"\r\n"

    with pytest.raises(MailError) as info:
        await ingest(source(), blobs, LIMITS, spool, max_size=10_000, fsync=no_fsync)
    assert info.value.kind is Kind.TOO_BIG
    assert len(consumed) == 100
    assert blobs.total_size() == 0
    assert spool_empty(spool)


async def test_spool_removed_on_failure(blobs: FileBlobStore, spool: Path) -> None:
    async def source() -> AsyncIterator[bytes]:
        yield b"Subject: x\r\n\r\n"
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await ingest(source(), blobs, LIMITS, spool, fsync=no_fsync)
    assert spool_empty(spool)


async def test_content_facts(blobs: FileBlobStore, spool: Path) -> None:
    message = (
        b"From: =?utf-8?Q?J=C3=B6rg?= <j@x.test>\r\nTo: Ann <ann@y.test>, bob@y.test\r\nCc: c@z.test\r\n"
        b"Subject: =?iso-8859-1?Q?Gr=FC=DFe?=\r\nDate: Fri, 27 Nov 2026 12:00:00 +0000\r\nMessage-ID: <m1@x.test>\r\n"
        b"Content-Type: text/plain; charset=koi8-r\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    ) + "Привет,   мир\r\n".encode("koi8-r")
    got = await ingest(message, blobs, LIMITS, spool, fsync=no_fsync)
    c = got.content
    assert c.subject == "Grüße" and c.from_ == "Jörg <j@x.test>" and c.to == "Ann <ann@y.test>, bob@y.test"
    assert c.message_id == "<m1@x.test>" and c.date == 1795780800.0
    assert c.preview == "Привет, мир" and "Привет" in c.search.body and c.search.cc == "c@z.test"
    assert "Subject: Grüße" in c.search.headers
    envelope = decode_envelope(c.envelope)
    assert envelope == got.envelope
    assert envelope.subject == "=?iso-8859-1?Q?Gr=FC=DFe?=" and envelope.from_ == (Address("=?utf-8?Q?J=C3=B6rg?=", None, "j", "x.test"),)
    structure = decode_bodystructure(c.bodystructure, c.size)
    assert structure == got.structure
    assert structure.size == c.size and structure.root.section == "1"
    assert structure.root.lines == 1 and structure.root.params == (("charset", "koi8-r"),)


def attachment_message(data: bytes, n: int, enc: bytes | None = None) -> bytes:
    enc = enc if enc is not None else base64.encodebytes(data).replace(b"\n", b"\r\n")
    return (
        f"From: a@x.test\r\nTo: u{n}@y.test\r\nSubject: copy {n}\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        f"--b\r\nContent-Type: text/plain\r\n\r\nmessage {n}\r\n--b\r\nContent-Type: video/mp4\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode() + enc + b"--b--\r\n"


async def test_one_attachment_in_fifty_messages_is_stored_once() -> None:
    # ~700 MB pass through the spool: on tmpfs when there is one, to keep the suite fast.
    tmp = tempfile.TemporaryDirectory(dir=TMPFS)
    blobs = FileBlobStore(Path(tmp.name) / "blobs", fsync=no_fsync)
    spool = Path(tmp.name) / "spool"
    data = random.Random(1).randbytes(10 * 1024 * 1024)
    enc = base64.encodebytes(data).replace(b"\n", b"\r\n")
    for n in range(50):
        got = await ingest(attachment_message(data, n, enc), blobs, LIMITS, spool, fsync=no_fsync)
        assert got.raw_parts_fallback == 0 and got.parts_split == 1
    assert blobs.total_size() <= int(10.2 * 1024 * 1024)
    stored = StoredMessage(decode_layout(got.content.layout), blobs)
    assert stored.read_part("2", 5_000_000, 10) == data[5_000_000:5_000_010]
    tmp.cleanup()


async def test_twenty_megabyte_attachment_in_constant_memory(blobs: FileBlobStore, spool: Path, tmp_path: Path) -> None:
    original = tmp_path / "video.bin"
    rng = random.Random(2)
    sha = hashlib.sha256()
    with original.open("wb") as f:
        for _ in range(20):
            block = rng.randbytes(1024 * 1024)
            sha.update(block)
            f.write(block)
    message = tmp_path / "big.eml"
    with original.open("rb") as src, message.open("wb") as out:
        out.write(b"Subject: big\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
                  b"Content-Type: video/mp4\r\nContent-Transfer-Encoding: base64\r\n\r\n")
        while block := src.read(57 * 1024):  # 57 octets = one 76-character line
            out.write(base64.encodebytes(block).replace(b"\n", b"\r\n"))
        out.write(b"--b--\r\n")
    size = message.stat().st_size
    tracemalloc.start()
    try:
        got = await ingest(message, blobs, LIMITS, spool, fsync=no_fsync)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got.content.size == size and got.raw_parts_fallback == 0
    assert peak < size / 4, (peak, size)
    assert spool_empty(spool)  # past SPOOL_IN_MEMORY it went to a spool file, now removed
    stored = StoredMessage(decode_layout(got.content.layout), blobs)
    digest = hashlib.sha256()
    for piece in stored.iter_part("1"):
        digest.update(piece)
    assert digest.hexdigest() == sha.hexdigest()
