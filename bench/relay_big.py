"""Benchmark: one big message relayed over SMTP, and the sender's peak RSS (issue 10).

Run::

    .venv/bin/python bench/relay_big.py [--size 500MB] [--modes bdat,data]

``postoffice --config X serve`` (submission listener only, a static route
``"b.test" = "127.0.0.1:SINK"``) takes a message of ``--size`` octets from
alice@a.test to bob@b.test through submission (AUTH PLAIN, BDAT in 1 MiB chunks), then
its outbound queue relays it to a sink on loopback (bench/_relay.py: takes DATA or BDAT,
hashes the body, keeps nothing). The message is text/plain, 7bit, lines of 998
characters, so it is relayed as it was stored, DKIM-signed (the default).

Modes: ``bdat`` (the sink offers CHUNKING: the queue sends BDAT chunks) and ``data`` (no
CHUNKING: DATA with dot-stuffing; every line of the body starts with a dot, so every
line is stuffed on the way out and un-stuffed by the sink). A fresh server per mode.

Printed per mode: submission time and MB/s (to the 250), relay time and MB/s (from the
250 of the submission to the arrival of the end of the data at the sink), whether the
body arrived intact (SHA-256), and the peak RSS (``VmHWM`` from /proc/PID/status, read
before the server stops) of every process of ``serve``: the main process, which runs the
queue runner and so sends the message, and each worker process (a submission may land
on either, SO_REUSEPORT). Target (issue 10): the sending process under 200 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._relay import Outgoing, Sink, submit, wait_arrivals  # noqa: E402
from postoffice.config import parse_size  # noqa: E402
from postoffice.testing.serve import POSTOFFICE, free_port, start_serve  # noqa: E402

__all__ = ["main", "peak_rss"]

PASSWORD = "bench-password"
LINE = 998  # RFC 5322 §2.1.1: at most 998 characters a line
LIMIT_MB = 200


def peak_rss(pid: int) -> dict[int, float]:
    """VmHWM in MB (10**6 octets) of ``pid`` and of each of its live child processes."""
    out: dict[int, float] = {}
    pids = [pid]
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(f"/proc/{entry.name}/stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                pids.append(int(entry.name))
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    out[p] = int(line.split()[1]) * 1024 / 1e6
        except OSError:
            pass
    return out


def message_head(size: int) -> bytes:
    return (
        "From: Alice <alice@a.test>\r\nTo: Bob <bob@b.test>\r\nSubject: big relay\r\n"
        "Message-ID: <big-relay@a.test>\r\nDate: Sat, 05 Dec 2026 08:00:00 +0000\r\n"
        f"X-Bench-Id: big-{size}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n"
        "Content-Transfer-Encoding: 7bit\r\n\r\n"
    ).encode()


def body_lines(size: int) -> tuple[bytes, int]:
    """One block of lines (each starting with a dot) and how many whole blocks make ``size``."""
    line = b"." + b"0123456789abcdef" * (LINE // 16) + b"x" * (LINE - 1 - 16 * (LINE // 16)) + b"\r\n"
    block = line * 1024
    return block, max(1, (size - len(message_head(size))) // len(block))


def expected_body_sha256(size: int) -> str:
    block, blocks = body_lines(size)
    digest = hashlib.sha256()
    for _ in range(blocks):
        digest.update(block)
    return digest.hexdigest()


def write_config(workdir: Path, submission: int, sink: int) -> Path:
    config = workdir / "postoffice.toml"
    config.write_text(
        f'hostname = "mail.a.test"\ndata_dir = "{workdir / "data"}"\ndomains = ["a.test"]\n'
        f'[listen]\nsubmission = "127.0.0.1:{submission}"\n'
        f'[relay.routes]\n"b.test" = "127.0.0.1:{sink}"\n'
        "[limits.smtp]\nmax_message_size = \"4GiB\"\n"
        "[limits.relay]\npoll_interval = 1\n"
    )
    return config


def prepare(workdir: Path, submission: int, sink: int) -> Path:
    """The data dir with alice@a.test in it, and the config file."""
    workdir.mkdir(parents=True)
    config = write_config(workdir, submission, sink)
    done = subprocess.run([str(POSTOFFICE), "--config", str(config), "user", "add", "alice@a.test", "--password-stdin"],
                          input=f"{PASSWORD}\n".encode(), capture_output=True, timeout=120)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"user add: {done.stderr.decode(errors='replace')}")
    return config


@dataclass
class Result:
    size: int
    submit_s: float
    relay_s: float
    intact: bool
    signed: bool
    via: str
    rss: dict[int, float]
    main_pid: int


async def run_mode(workdir: Path, size: int, chunking: bool) -> Result:
    sink = Sink(chunking=chunking)
    sink_port = await sink.start()
    port = free_port()
    config = await asyncio.to_thread(prepare, workdir, port, sink_port)
    server = await start_serve(config, port)
    try:
        head = message_head(size)
        block, blocks = body_lines(size)
        total = len(head) + blocks * len(block)

        async def stream() -> AsyncIterator[bytes]:
            yield head
            for _ in range(blocks):
                yield block

        out = Outgoing("big", "alice@a.test", "bob@b.test", stream, total)
        await submit(port, [out], sessions=1, auth=("alice@a.test", PASSWORD))
        await wait_arrivals(sink, 1, timeout=3600)
        arrival = sink.arrivals[0]
        rss = peak_rss(server.pid)
        intact = arrival.body_sha256 == expected_body_sha256(size)
        return Result(total, out.accepted - out.submitted, arrival.at - out.accepted, intact,
                      b"DKIM-Signature:" in arrival.head, arrival.via, rss, server.pid)  # fmt: skip
    finally:
        if server.returncode is None:
            server.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(server.wait(), 60)
            except TimeoutError:
                server.kill()
                await server.wait()
        await sink.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", default="500MB", help="message size (500MB = 500 * 10**6 octets; MiB, GiB too)")
    parser.add_argument("--modes", default="bdat,data", help="bdat, data or both")
    args = parser.parse_args(argv)
    size = parse_size(args.size)
    work = Path(tempfile.mkdtemp(prefix="relay-big-", dir="/var/tmp"))
    status = 0
    try:
        for mode in args.modes.split(","):
            started = time.perf_counter()
            r = asyncio.run(run_mode(work / mode, size, chunking=mode == "bdat"))
            sender = r.rss.get(r.main_pid, float("nan"))
            workers = "  ".join(f"worker {v:.0f} MB" for p, v in sorted(r.rss.items()) if p != r.main_pid)
            status |= 0 if r.intact and sender < LIMIT_MB else 1
            mb = r.size / 1e6
            print(f"{mode}: {mb:.0f} MB via {r.via}  submission {r.submit_s:.1f} s ({mb / r.submit_s:.0f} MB/s)  "
                  f"relay {r.relay_s:.1f} s ({mb / r.relay_s:.0f} MB/s)  body intact {r.intact}  "
                  f"DKIM-signed {r.signed}  peak RSS: sender (main, queue runner) {sender:.0f} MB  {workers}  "
                  f"({'under' if sender < LIMIT_MB else 'OVER'} {LIMIT_MB} MB; {time.perf_counter() - started:.0f} s in all)",
                  flush=True)  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
