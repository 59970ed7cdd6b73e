"""Benchmark: IMAP partial reads of a large media part, postoffice side by side with
Debian's Dovecot on the same message, and BINARY.SIZE over many messages.

Run::

    .venv/bin/python bench/media_imap.py [--size 1GiB] [--count 100] [--messages 1000]

1. One message with a ``--size`` video/mp4 part (random octets, base64, as a file) is
   given to both servers: postoffice through ``mail.deliver`` (in this process, its IMAP
   listener on loopback), Dovecot as a Maildir file (a private instance, see
   bench/_servers.py). ``--count`` times, one imaplib client per server sends
   ``FETCH 1 (BINARY.PEEK[2]<offset.65536>)`` at 90% of the part; prints p50/p95 per
   server and their ratio, and the first answer's time on its own (Dovecot decodes the
   base64 from the part's start once, then answers from its cache).
2. ``--messages`` messages, each with its own 100 KiB part (a blob of its own), then
   ``UID FETCH 1:N (BINARY.SIZE[2])`` on postoffice, with an audit hook counting every
   file this process opens under the blob store: the figure is expected to be 0 (the
   decoded size is kept with the message).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import imaplib
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._servers import Unavailable, start_dovecot  # noqa: E402
from postoffice.config import parse_size  # noqa: E402
from postoffice.testing.server import TranscriptServer  # noqa: E402

PASSWORD = "password"
HEAD = (
    b"From: bench@example.test\r\nTo: alice@example.test\r\nSubject: big video\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
    b"--b\r\nContent-Type: video/mp4\r\nContent-Transfer-Encoding: base64\r\n\r\n"
)


def write_message(path: Path, size: int) -> None:
    block = os.urandom(57 * 16384)  # whole base64 lines of 76 characters
    with path.open("wb") as out:
        out.write(HEAD)
        left = size
        while left > 0:
            chunk = block[: min(left, len(block))]
            left -= len(chunk)
            out.write(base64.encodebytes(chunk).replace(b"\n", b"\r\n"))
        out.write(b"--b--\r\n")


def time_partials(port: int, user: str, size: int, count: int) -> tuple[float, list[float]]:
    """The first answer's seconds, and each later one's."""
    start = int(size * 0.9)
    item = f"(BINARY.PEEK[2]<{start}.65536>)"
    times: list[float] = []
    with imaplib.IMAP4("127.0.0.1", port, timeout=600) as c:
        c.login(user, PASSWORD)
        c.select("INBOX", readonly=True)
        for _ in range(count + 1):
            t = time.perf_counter()
            typ, data = c.fetch("1", item)
            times.append(time.perf_counter() - t)
            part = data[0]
            assert typ == "OK" and isinstance(part, tuple) and len(part[1]) == 65536, (typ, str(data)[:200])
    return times[0], sorted(times[1:])


def percentiles(times: list[float]) -> tuple[float, float]:
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


async def partial_reads(root: Path, size: int, count: int) -> None:
    path = root / "big.eml"
    t = time.perf_counter()
    await asyncio.to_thread(write_message, path, size)
    print(f"message of {path.stat().st_size} octets ({size} decoded) written in {time.perf_counter() - t:.1f} s", flush=True)
    async with TranscriptServer("imap", users=["alice"], data_dir=root / "po", listeners=["imap"]) as srv:
        t = time.perf_counter()
        await srv.mail.deliver(path, ["alice@example.test"], max_size=2 * size + 1024 * 1024)
        print(f"postoffice: delivered in {time.perf_counter() - t:.1f} s", flush=True)
        port = await srv.start_listener("imap")
        first, times = await asyncio.to_thread(time_partials, port, "alice@example.test", size, count)
        ours = percentiles(times)
        print(f"postoffice BINARY[2]<90%.65536>: first {first * 1000:.1f} ms; p50 {ours[0] * 1000:.2f} ms, p95 {ours[1] * 1000:.2f} ms", flush=True)
    shutil.rmtree(root / "po", ignore_errors=True)

    def fill(mail: Path) -> None:
        new = mail / "alice" / "Maildir" / "new"
        for sub in ("new", "cur", "tmp"):
            (new.parent / sub).mkdir(parents=True, exist_ok=True)
        os.replace(path, new / "1700000000.M1P1.bench")

    try:
        dovecot = start_dovecot(root / "dovecot", {"alice": PASSWORD}, fill=fill)
    except Unavailable as exc:
        print(f"Dovecot unavailable: {exc}")
        return
    try:
        first, times = await asyncio.to_thread(time_partials, dovecot.port, "alice", size, count)
        theirs = percentiles(times)
        print(f"Dovecot    BINARY[2]<90%.65536>: first {first * 1000:.1f} ms; p50 {theirs[0] * 1000:.2f} ms, p95 {theirs[1] * 1000:.2f} ms")
        print(f"ratio Dovecot/postoffice: p50 {theirs[0] / ours[0]:.0f}x, p95 {theirs[1] / ours[1]:.0f}x", flush=True)
    finally:
        dovecot.stop()


def small_part_message(n: int) -> bytes:
    encoded = base64.encodebytes(os.urandom(100 * 1024)).replace(b"\n", b"\r\n")
    return (
        f"From: bench@example.test\r\nTo: alice@example.test\r\nSubject: clip {n}\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nclip\r\n"
        "--b\r\nContent-Type: audio/ogg\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    ).encode() + encoded + b"--b--\r\n"


async def binary_sizes(root: Path, messages: int) -> None:
    async with TranscriptServer("imap", users=["alice"], data_dir=root / "sizes", listeners=["imap"]) as srv:
        t = time.perf_counter()
        for n in range(messages):
            await srv.mail.deliver(small_part_message(n), ["alice@example.test"])
        print(f"{messages} messages with a 100 KiB part delivered in {time.perf_counter() - t:.1f} s", flush=True)
        if srv.mail.media is not None:
            await srv.mail.media.settle()  # the background probes of those parts are over
        port = await srv.start_listener("imap")
        blob_root = await asyncio.to_thread(os.path.realpath, srv.config.data_dir)
        opened: list[str] = []
        watching = [False]

        def hook(event: str, args: tuple[object, ...]) -> None:
            if watching[0] and event == "open" and isinstance(args[0], str | bytes | os.PathLike):
                name = os.fsdecode(args[0])
                if name.startswith(blob_root) and "/blobs/" in name:
                    opened.append(name)

        sys.addaudithook(hook)  # audit hooks cannot be removed: ``watching`` turns it off

        def fetch_sizes() -> tuple[int, float, int, int]:
            with imaplib.IMAP4("127.0.0.1", port, timeout=600) as c:
                c.login("alice@example.test", PASSWORD)
                c.select("INBOX", readonly=True)
                t = time.perf_counter()
                watching[0] = True
                try:
                    typ, data = c.uid("FETCH", f"1:{messages}", "(BINARY.SIZE[2])")
                finally:
                    watching[0] = False
                elapsed = time.perf_counter() - t
                assert typ == "OK"
                sizes = [int(m.group(1)) for d in data if isinstance(d, bytes) and (m := re.search(rb"BINARY.SIZE\[2\] (\d+)", d))]
                assert sizes and all(s == 100 * 1024 for s in sizes), sizes[:5]
                by_sizes = len(opened)
                # The control: one partial read of one part is seen by the same hook.
                watching[0] = True
                try:
                    typ, _ = c.uid("FETCH", "1", "(BINARY.PEEK[2]<0.16>)")
                finally:
                    watching[0] = False
                return len(sizes), elapsed, by_sizes, len(opened) - by_sizes

        answered, elapsed, by_sizes, control = await asyncio.to_thread(fetch_sizes)
        print(
            f"UID FETCH 1:{messages} (BINARY.SIZE[2]): {answered} sizes in {elapsed * 1000:.0f} ms; "
            f"part files opened: {by_sizes} (control, BINARY.PEEK[2]<0.16> of one part: {control} opened)"
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="1GiB", help="the large part's decoded size (default 1GiB)")
    parser.add_argument("--count", type=int, default=100, help="partial FETCHes timed per server (default 100)")
    parser.add_argument("--messages", type=int, default=1000, help="messages for BINARY.SIZE (default 1000)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="po-bench-media-imap-") as root:
        os.chmod(root, 0o755)
        asyncio.run(binary_sizes(Path(root), args.messages))
        asyncio.run(partial_reads(Path(root), parse_size(args.size), args.count))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
