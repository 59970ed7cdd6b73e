"""Benchmark: RETR of one big message over POP3; the server's peak RSS must stay flat.

Run::

    .venv/bin/python bench/pop3_retr_big.py [--size 1GiB] [--dir /var/tmp]

Builds a data dir with one account and one message of ``--size`` octets (text lines,
some starting with "." so dot-stuffing works), ingested in constant memory from a
generator; then runs ``/usr/bin/time -v postoffice --config X serve`` (pop3 listener
only), RETRs the message with a plain socket client (checking the octet count after
un-stuffing), QUITs, stops the server by its pid and prints the RETR throughput and the
server's "Maximum resident set size" (target: under 200 MB for 1 GiB).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._servers import VENV_BIN, free_port, wait_port  # noqa: E402
from postoffice import app  # noqa: E402
from postoffice.config import load_config, parse_size  # noqa: E402

LINE = b"The quick brown fox jumps over the lazy dog; pack my box with five dozen jugs.\r\n"
DOT_LINE = b".a line that starts with a dot and must be stuffed on the wire..............\r\n"


async def body(size: int, header: bytes) -> AsyncIterator[bytes]:
    yield header
    left = size - len(header)
    block = (LINE * 99 + DOT_LINE) * 100  # about 800 KB
    while left > 0:
        chunk = block[:left] if left < len(block) else block
        if left < len(block):  # end on a line end
            chunk = chunk[: chunk.rfind(b"\r\n") + 2] if b"\r\n" in chunk else b""
            chunk += b"x" * (left - len(chunk) - 2) + b"\r\n" if left - len(chunk) >= 2 else b""
        if not chunk:
            break
        left -= len(chunk)
        yield chunk


async def prepare(config_file: Path, size: int) -> int:
    config = load_config(config_file)
    async with app.services(config) as s:
        await s.mail.add_user("alice@example.test", "password")
        header = b"From: bench@example.test\r\nTo: alice@example.test\r\nSubject: big\r\n\r\n"
        result = await s.mail.deliver(body(size, header), ["alice@example.test"], max_size=size + 1024)
        return result.size


def retr(port: int) -> tuple[int, int, float]:
    """(LIST size, octets received after un-stuffing, seconds)."""
    sock = socket.create_connection(("127.0.0.1", port))
    f = sock.makefile("rb", buffering=1 << 20)

    def cmd(text: str) -> bytes:
        sock.sendall(text.encode() + b"\r\n")
        return f.readline()

    f.readline()
    assert cmd("USER alice@example.test").startswith(b"+OK")
    assert cmd("PASS password").startswith(b"+OK")
    listed = int(cmd("LIST 1").split()[2])
    start = time.perf_counter()
    assert cmd("RETR 1").startswith(b"+OK")
    received = 0
    while True:
        line = f.readline()
        if line == b".\r\n" or not line:
            break
        received += len(line) - (1 if line.startswith(b".") else 0)
    elapsed = time.perf_counter() - start
    cmd("QUIT")
    sock.close()
    return listed, received, elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1GiB")
    parser.add_argument("--dir", default=None, help="where the temporary data dir goes")
    args = parser.parse_args(argv)
    size = parse_size(args.size)
    with tempfile.TemporaryDirectory(prefix="pop3-retr-big-", dir=args.dir) as tmp:
        work = Path(tmp)
        port = free_port()
        config_file = work / "postoffice.toml"
        config_file.write_text(
            f'data_dir = "{work / "data"}"\ndomains = ["example.test"]\n[listen]\npop3 = "127.0.0.1:{port}"\n'
        )
        t0 = time.perf_counter()
        stored = asyncio.run(prepare(config_file, size))
        print(f"ingested {stored} octets in {time.perf_counter() - t0:.1f} s")
        stats = work / "time.txt"
        proc = subprocess.Popen(
            ["/usr/bin/time", "-v", "-o", str(stats), str(VENV_BIN / "postoffice"), "--config", str(config_file), "serve"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_port(port, proc)
            listed, received, elapsed = retr(port)
        finally:
            children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
            pids = [int(p) for p in children.read_text().split()] if children.exists() else []
            for pid in pids:  # the postoffice process /usr/bin/time started
                with __import__("contextlib").suppress(ProcessLookupError):
                    __import__("os").kill(pid, signal.SIGTERM)
            proc.wait(timeout=60)
        rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", stats.read_text()).group(1))  # type: ignore[union-attr]
        ok = listed == stored == received
        print(f"RETR {received} octets in {elapsed:.2f} s = {received / elapsed / 1e6:.0f} MB/s; LIST size {listed} "
              f"{'matches' if ok else 'DOES NOT MATCH'}")  # fmt: skip
        print(f"server peak RSS: {rss_kb / 1024:.0f} MiB (target < 200 MB)")
        return 0 if ok and rss_kb * 1024 < 200e6 else 1


if __name__ == "__main__":
    raise SystemExit(main())
