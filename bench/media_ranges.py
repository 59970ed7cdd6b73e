"""Benchmark: HTTP ranges on a large attachment, in process (the webmail on the SQLite
store, driven by httpx; no socket, no browser).

Run::

    .venv/bin/python bench/media_ranges.py [--size 256MiB] [--count 200]

Delivers one message with a ``--size`` attachment (base64, streamed from a generator),
then times ``--count`` GETs of 64 KiB at 90% of the part (p50/p95) and one whole
download, and prints the octets read from the blob store per ranged answer (a range is
a read of that range of the part's blob: the figure stays 65536 whatever the size).

Measured elsewhere: seek latency to 90% of a 1 GB video and the octets of a 15-s listen
in bench/media_browser.py (chromium); IMAP ``BINARY[2]<offset.65536>`` against Dovecot
and ``BINARY.SIZE`` over 1000 messages in bench/media_imap.py; the store's growth for one
attachment delivered to 50 mailboxes in bench/media_dedup.py.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402

from postoffice import app  # noqa: E402
from postoffice.config import parse_size  # noqa: E402
from postoffice.mail.auth import fast_hasher  # noqa: E402
from postoffice.mail.web import WebMail  # noqa: E402
from postoffice.store.sqlite.web import SQLiteWebStore  # noqa: E402
from postoffice.testing.server import build_config  # noqa: E402
from postoffice.web.app import make_app  # noqa: E402

HEAD = (
    b"From: bench@example.test\r\nTo: alice@example.test\r\nSubject: big attachment\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
    b"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
)


async def message(size: int) -> AsyncIterator[bytes]:
    yield HEAD
    block = os.urandom(57 * 16384)  # whole base64 lines of 76 characters
    left = size
    while left > 0:
        chunk = block[: min(left, len(block))]
        left -= len(chunk)
        yield base64.encodebytes(chunk).replace(b"\n", b"\r\n")
    yield b"--b--\r\n"


async def run(size: int, count: int) -> None:
    with tempfile.TemporaryDirectory(prefix="po-bench-media-") as root:
        async with app.services(build_config(Path(root) / "data")) as s:
            s.mail.auth.hasher = fast_hasher()
            await s.mail.add_user("alice@example.test", "password")
            started = time.perf_counter()
            result = await s.mail.deliver(message(size), ["alice@example.test"], max_size=2 * size + 1024 * 1024)
            print(f"delivered {size} octets in {time.perf_counter() - started:.1f} s")
            roles = SQLiteWebStore(s.store.db)  # type: ignore[attr-defined]
            transport = httpx.ASGITransport(app=make_app(WebMail(s.mail, roles, roles)), client=("127.0.0.1", 40000))
            async with httpx.AsyncClient(transport=transport, base_url="http://mail.example.test") as c:
                page = (await c.get("/login")).text
                csrf = re.search(r'name="csrf" value="([^"]*)"', page)
                assert csrf is not None
                form = {"csrf": csrf.group(1), "address": "alice@example.test", "password": "password"}
                assert (await c.post("/login", data=form)).status_code == 303
                url = f"/message/{result.records[0].uid}/part/2?folder=INBOX"
                start = int(size * 0.9)
                times, reads = [], []
                for _ in range(count):
                    before = s.blobs.bytes_read
                    t = time.perf_counter()
                    r = await c.get(url, headers={"Range": f"bytes={start}-{start + 65535}"})
                    times.append(time.perf_counter() - t)
                    reads.append(s.blobs.bytes_read - before)
                    assert r.status_code == 206 and len(r.content) == 65536
                times.sort()
                p50, p95 = statistics.median(times), times[int(0.95 * (len(times) - 1))]
                print(f"Range 64 KiB at 90%: p50 {p50 * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms; blob octets read per answer: {max(reads)}")
                t = time.perf_counter()
                whole = 0
                async with c.stream("GET", url) as r:
                    async for data in r.aiter_bytes():
                        whole += len(data)
                elapsed = time.perf_counter() - t
                print(f"whole download: {whole} octets in {elapsed:.2f} s ({whole / elapsed / 1e6:.0f} MB/s)")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="256MiB", help="attachment size (default 256MiB)")
    parser.add_argument("--count", type=int, default=200, help="ranged GETs timed (default 200)")
    args = parser.parse_args(argv)
    asyncio.run(run(parse_size(args.size), args.count))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
