"""Benchmark: one big message submitted and relayed to another server (issue 10).

Starts ``postoffice --config X serve`` (submission listener only, a static route for
b.test to a discarding SMTP sink in this process, ``postoffice.testing.smtp_sink``)
under ``/usr/bin/time -v``; alice@a.test submits a message of ``--size`` octets (default
500 MB) with BDAT in 1 MiB chunks (BODY=BINARYMIME, so no conversion on either side);
the queue DKIM-signs it (a streamed read of the stored message) and relays it with BDAT
(a second streamed read). Printed: the submission rate (MAIL to the 250 of BDAT LAST,
i.e. until durable), the relay time (from that 250 until the sink has the whole
message), and the serve process's peak RSS, against the issue's target (< 200 MB).
The sink checks the octet count: the message and its DKIM-Signature fields.

Usage: ``.venv/bin/python bench/relay_big.py [--size 500MB]``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import re
import signal
import tempfile
import time
from pathlib import Path

from postoffice import app
from postoffice.config import load_config, parse_size
from postoffice.testing.serve import POSTOFFICE, free_port
from postoffice.testing.smtp_sink import SMTPSink

CHUNK = 1024 * 1024
PASSWORD = "bench-password"
TARGET_RSS_MB = 200


async def reply(reader: asyncio.StreamReader) -> int:
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("closed")
        if line[3:4] != b"-":
            return int(line[:3])


async def submit(port: int, size: int) -> tuple[float, int]:
    """Submit one message of ``size`` octets; (seconds until durable, octets sent)."""
    for _ in range(600):
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            break
        except OSError:
            await asyncio.sleep(0.05)
    assert await reply(reader) == 220
    writer.write(b"EHLO bench.a.test\r\n")
    assert await reply(reader) == 250
    token = base64.b64encode(f"\0alice@a.test\0{PASSWORD}".encode()).decode()
    writer.write(f"AUTH PLAIN {token}\r\n".encode())
    assert await reply(reader) == 235, "AUTH refused"
    header = b"From: alice@a.test\r\nTo: bob@b.test\r\nSubject: big\r\nContent-Type: application/octet-stream\r\n\r\n"
    block = (b"0123456789abcdef" * 63 + b"0123456789abcd\r\n") * (CHUNK // 1024)
    started = time.perf_counter()
    writer.write(f"MAIL FROM:<alice@a.test> BODY=BINARYMIME SIZE={size}\r\nRCPT TO:<bob@b.test>\r\n".encode())
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
        while pending > 4:  # a few chunks in flight (RFC 3030 allows pipelining)
            assert await reply(reader) == 250
            pending -= 1
    while pending:
        code = await reply(reader)
        assert code == 250, code
        pending -= 1
    elapsed = time.perf_counter() - started
    writer.write(b"QUIT\r\n")
    writer.close()
    return elapsed, size


async def run(size: int) -> int:
    sink = SMTPSink(discard=True, extensions=("PIPELINING", "8BITMIME", "CHUNKING", "BINARYMIME", f"SIZE {size * 2}"))
    sink_port = await sink.start()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="po-bench-relay-") as tmp:
        config_file = Path(tmp) / "postoffice.toml"
        config_file.write_text(
            f'hostname = "mail.a.test"\ndata_dir = "{tmp}/data"\ndomains = ["a.test"]\n'
            f'[listen]\nsubmission = "127.0.0.1:{port}"\n'
            f'[relay.routes]\n"b.test" = "127.0.0.1:{sink_port}"\n'
            f"[limits.smtp]\nmax_message_size = {max(size * 2, 2**31)}\n"
        )
        async with app.services(load_config(config_file)) as s:
            await s.mail.add_user("alice@a.test", PASSWORD)
        process = await asyncio.create_subprocess_exec(
            "/usr/bin/time", "-v", str(POSTOFFICE), "--config", str(config_file), "serve",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, start_new_session=True,
        )  # fmt: skip
        try:
            submitted, _ = await submit(port, size)
            durable = time.perf_counter()
            await sink.wait_for(1, timeout=3600)
            relayed = time.perf_counter() - durable
        finally:
            os.killpg(process.pid, signal.SIGINT)
            _, err = await process.communicate()
            await sink.stop()
    [got] = sink.messages
    rss = re.search(rb"Maximum resident set size \(kbytes\): (\d+)", err)
    peak = int(rss.group(1)) * 1024 / 1e6 if rss else float("nan")  # MB (10^6 octets), as the target
    signed = got.size - size  # the DKIM-Signature fields the queue put first
    ok = peak < TARGET_RSS_MB and signed > 0
    print(
        f"size {size / 1e6:.0f} MB  submitted {submitted:.1f} s ({size / 1e6 / submitted:.1f} MB/s)  "
        f"relayed {relayed:.1f} s ({size / 1e6 / relayed:.1f} MB/s, DKIM-signed: {signed} octets of signature)  "
        f"serve peak RSS {peak:.0f} MB (target < {TARGET_RSS_MB} MB: {'met' if ok else 'NOT met'})"
    )
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="500MB", help="message size (e.g. 20MiB, 500MB)")
    return asyncio.run(run(parse_size(parser.parse_args(argv).size)))


if __name__ == "__main__":
    raise SystemExit(main())
