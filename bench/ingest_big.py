"""Benchmark: ingest one huge message (default 2 GiB, a 1.5 GiB random attachment in base64).

Run::

    /usr/bin/time -v .venv/bin/python bench/ingest_big.py [--size 200MB] [--dir /var/tmp]

It builds the message on disk, streaming (the attachment is random octets, hashed as
they are made, never held whole), ingests it from the file through
``mail.ingest.ingest`` into a ``FileBlobStore`` (real fsync) in a temporary directory,
checks that the stored DECODED part's SHA-256 equals the original attachment's and
that no part fell back to raw, and prints the build and ingest times. Peak memory is
what ``/usr/bin/time -v`` reports as "Maximum resident set size" (the script also
prints ``ru_maxrss``, the same figure); it should stay flat whatever ``--size``.
Needs about 2.6x ``--size`` of free disk in ``--dir``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from postoffice.config import MessageLimits, parse_size  # noqa: E402
from postoffice.mail.codec import decode_layout  # noqa: E402
from postoffice.mail.ingest import ingest  # noqa: E402
from postoffice.mail.parts import StoredMessage  # noqa: E402
from postoffice.store.blobs import FileBlobStore  # noqa: E402

_BLOCK = 57 * 16 * 1024  # octets per write: a whole number of 76-character lines


def build_message(path: Path, size: int) -> tuple[int, str]:
    """Write a message of about ``size`` octets; returns (attachment size, its SHA-256)."""
    attachment = size * 57 // 78 - 4096
    digest = hashlib.sha256()
    with path.open("wb") as out:
        out.write(
            b"From: Sender <sender@example.test>\r\nTo: rcpt@example.test\r\nSubject: big video\r\n"
            b"Date: Fri, 27 Nov 2026 12:00:00 +0000\r\nMessage-ID: <big@example.test>\r\nMIME-Version: 1.0\r\n"
            b'Content-Type: multipart/mixed; boundary="=_big"\r\n\r\n'
            b"--=_big\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHere is the recording.\r\n"
            b'--=_big\r\nContent-Type: video/mp4; name="big.mp4"\r\nContent-Transfer-Encoding: base64\r\n'
            b'Content-Disposition: attachment; filename="big.mp4"\r\n\r\n'
        )
        left = attachment
        while left > 0:
            block = os.urandom(min(_BLOCK, left))
            left -= len(block)
            digest.update(block)
            out.write(base64.encodebytes(block).replace(b"\n", b"\r\n"))
        out.write(b"--=_big--\r\n")
    return attachment, digest.hexdigest()


async def run(size: int, directory: Path | None) -> int:
    with tempfile.TemporaryDirectory(dir=directory, prefix="ingest-big-") as tmp:
        root = Path(tmp)
        message = root / "big.eml"
        t0 = time.perf_counter()
        attachment, want = build_message(message, size)
        t1 = time.perf_counter()
        blobs = FileBlobStore(root / "blobs")
        ingested = await ingest(message, blobs, MessageLimits(), root / "spool")
        t2 = time.perf_counter()
        stored = StoredMessage(decode_layout(ingested.content.layout), blobs)
        digest = hashlib.sha256()
        for piece in stored.iter_part("2"):
            digest.update(piece)
        t3 = time.perf_counter()
        ok = digest.hexdigest() == want and ingested.raw_parts_fallback == 0 and stored.size == message.stat().st_size
        mib = ingested.content.size / 2**20
        print(f"message {mib:.0f} MiB, attachment {attachment / 2**20:.0f} MiB decoded")
        print(f"build {t1 - t0:.1f} s; ingest {t2 - t1:.1f} s ({mib / (t2 - t1):.0f} MiB/s); verify {t3 - t2:.1f} s")
        print(f"blob store {blobs.total_size() / 2**20:.0f} MiB; parts split {ingested.parts_split}; raw fallback {ingested.raw_parts_fallback}")
        print(f"ru_maxrss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
        print("decoded part SHA-256 matches" if ok else "MISMATCH")
        return 0 if ok else 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="2GiB", help="message size (default 2GiB)")
    parser.add_argument("--dir", type=Path, default=None, help="where the temporary files go")
    args = parser.parse_args(argv)
    return asyncio.run(run(parse_size(args.size), args.dir))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
