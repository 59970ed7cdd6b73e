"""Benchmark: IMAP APPEND with the load driver's ``seed`` workload (4 clients), postoffice
alone, with the server's CPU and its fsyncs per APPEND (issue 14).

Run: ``.venv/bin/python -m bench.append_seed --load PATH/load.py [--rounds 3]
[--messages 100] [--strace]`` (or set ``POSTOFFICE_LOAD_DRIVER``). Without the driver
it says so and does nothing. Owns nothing but its temp dir and the server it starts.

One server (``[server] processes = 1``); each round appends ``--messages`` messages to
each of 4 fresh users over IMAP (LOGIN included, as the driver times it). Printed per
round: APPEND msgs/s (the driver's figure), the server's CPU milliseconds per APPEND
(utime + stime from /proc, so it holds on a loaded machine where msgs/s does not), and
with ``--strace`` (strace(1) attached for one extra round, not timed) fsync(2) and
fdatasync(2) calls per APPEND; then the medians. Side by side with Dovecot:
``bench.load_dovecot``. Loopback only; every figure is printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._servers import free_port, start_postoffice
from bench.load_dovecot import DOMAIN, PASSWORD, load, number, p50, po_config

__all__ = ["main"]

CLIENTS = 4


def cpu_seconds(pid: int) -> float:
    """utime + stime of process ``pid`` (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def syncs_per_append(driver: Path, pid: int, port: int, users: str, messages: int) -> dict[str, float]:
    """One round with strace counting fsync and fdatasync in every thread of ``pid``."""
    out = Path(tempfile.mkstemp(prefix="append-strace-")[1])
    tracer = subprocess.Popen(["strace", "-f", "-c", "-e", "trace=fsync,fdatasync", "-o", str(out), "-p", str(pid)],
                              stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        time.sleep(1.0)  # attached to every thread before the round starts
        done = load(driver, "seed", port, CLIENTS, users, ["--count", str(messages)])
    finally:
        tracer.terminate()
        tracer.wait(timeout=60)
    appended = number(done, "appended") or float("nan")
    counts = {name: 0 for name in ("fsync", "fdatasync")}
    for line in out.read_text().splitlines():
        found = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(fsync|fdatasync)$", line)
        if found:
            counts[found.group(2)] = int(found.group(1))
    out.unlink()
    return {name: count / appended for name, count in counts.items()}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench.append_seed", description=__doc__.splitlines()[0])
    parser.add_argument("--load", type=Path, default=os.environ.get("POSTOFFICE_LOAD_DRIVER"),
                        help="the load driver script (default: $POSTOFFICE_LOAD_DRIVER)")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--messages", type=int, default=100, help="messages per user and round")
    parser.add_argument("--strace", action="store_true", help="count fsyncs per APPEND in one extra round")
    args = parser.parse_args(argv)
    if args.load is None or not Path(args.load).exists():
        print("append_seed: no load driver (--load or POSTOFFICE_LOAD_DRIVER); skipped", flush=True)
        return 0
    work = Path(tempfile.mkdtemp(prefix="po-append-"))
    rounds = args.rounds + (1 if args.strace else 0)
    users = {f"user{i}@{DOMAIN}": PASSWORD for i in range(1, CLIENTS * rounds + 1)}
    imap, pop3 = free_port(), free_port()
    server = start_postoffice(work, users, config=po_config(work, imap, pop3, 1), port=imap)
    pid = server.proc.pid
    rates: list[float] = []
    cpus: list[float] = []
    try:
        for r in range(args.rounds):
            fresh = f"{CLIENTS * r + 1}-{CLIENTS * r + CLIENTS}"
            before = cpu_seconds(pid)
            done = load(args.load, "seed", imap, CLIENTS, fresh, ["--count", str(args.messages)])
            cpu_ms = (cpu_seconds(pid) - before) * 1000 / (number(done, "appended") or float("nan"))
            rates.append(number(done, "append_msgs_per_s"))
            cpus.append(cpu_ms)
            print(f"round {r + 1}: {rates[-1]:.1f} msgs/s, APPEND p50 {p50(done, 'APPEND'):.1f} ms, "
                  f"server CPU {cpu_ms:.2f} ms/APPEND", flush=True)  # fmt: skip
        print(f"medians over {args.rounds} rounds: {statistics.median(rates):.1f} msgs/s, "
              f"server CPU {statistics.median(cpus):.2f} ms/APPEND", flush=True)  # fmt: skip
        if args.strace:
            if shutil.which("strace") is None:
                print("strace not installed: no fsync count", flush=True)
            else:
                last = f"{CLIENTS * args.rounds + 1}-{CLIENTS * rounds}"
                syncs = syncs_per_append(args.load, pid, imap, last, args.messages)
                print("per APPEND (strace round): " + ", ".join(f"{k} {v:.2f}" for k, v in syncs.items()), flush=True)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
