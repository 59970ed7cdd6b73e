"""Benchmark: one big message sent with BDAT to the MX listener (issue 3).

Starts ``postoffice --config X serve`` (smtp listener only) under ``/usr/bin/time -v``,
sends a message of ``--size`` octets (default 1 GiB) in 1 MiB BDAT chunks, and prints
the throughput (MB/s, from MAIL to the 250 of BDAT LAST, i.e. until durable) and the
server's peak RSS. Usage: ``.venv/bin/python bench/smtp_big.py [--size 1GiB]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import socket
import tempfile
import time
from pathlib import Path

from postoffice import app
from postoffice.config import load_config, parse_size
from postoffice.testing.serve import POSTOFFICE

CHUNK = 1024 * 1024


async def reply(reader: asyncio.StreamReader) -> int:
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("closed")
        if line[3:4] != b"-":
            return int(line[:3])


async def run(size: int) -> None:
    with tempfile.TemporaryDirectory(prefix="po-bench-") as tmp, socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        config_file = Path(tmp) / "postoffice.toml"
        config_file.write_text(
            f'data_dir = "{tmp}/data"\ndomains = ["example.test"]\n[listen]\nsmtp = "127.0.0.1:{port}"\n'
            f"[limits.smtp]\nmax_message_size = {max(size * 2, 2**31)}\n"
        )
        async with app.services(load_config(config_file)) as s:
            await s.mail.add_user("alice@example.test", "password")
        process = await asyncio.create_subprocess_exec(
            "/usr/bin/time", "-v", str(POSTOFFICE), "--config", str(config_file), "serve",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, start_new_session=True,
        )  # fmt: skip
        for _ in range(600):
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                break
            except OSError:
                await asyncio.sleep(0.05)
        assert await reply(reader) == 220
        writer.write(b"EHLO bench.example.test\r\n")
        assert await reply(reader) == 250
        header = b"Subject: big\r\nContent-Type: application/octet-stream\r\n\r\n"
        block = (b"0123456789abcdef" * 63 + b"0123456789abcd\r\n") * (CHUNK // 1024)
        started = time.perf_counter()
        writer.write(
            f"MAIL FROM:<a@remote.test> BODY=BINARYMIME SIZE={size}\r\nRCPT TO:<alice@example.test>\r\n".encode()
        )
        assert await reply(reader) == 250 and await reply(reader) == 250
        remaining = size - len(header)
        writer.write(f"BDAT {len(header)}\r\n".encode() + header)
        pending = 1
        while remaining > 0:
            n = min(CHUNK, remaining)
            remaining -= n
            last = " LAST" if remaining == 0 else ""
            writer.write(f"BDAT {n}{last}\r\n".encode() + block[:n])
            pending += 1
            await writer.drain()
            while pending > 4:  # keep a few chunks in flight (RFC 3030 allows pipelining)
                assert await reply(reader) == 250
                pending -= 1
        while pending:
            code = await reply(reader)
            assert code == 250, code
            pending -= 1
        elapsed = time.perf_counter() - started
        writer.write(b"QUIT\r\n")
        writer.close()
        os.killpg(process.pid, signal.SIGINT)
        _, err = await process.communicate()
        rss = re.search(rb"Maximum resident set size \(kbytes\): (\d+)", err)
        peak = int(rss.group(1)) / 1024 if rss else float("nan")
        print(
            f"size {size / 2**20:.0f} MiB  {elapsed:.1f} s  {size / 1e6 / elapsed:.1f} MB/s  server peak RSS {peak:.0f} MiB"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="1GiB", help="message size (e.g. 20MiB, 1GiB)")
    asyncio.run(run(parse_size(parser.parse_args(argv).size)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
