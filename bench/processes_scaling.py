"""Benchmark: the IMAP session load against postoffice with 1 and with 2 processes.

Run: ``.venv/bin/python -m bench.processes_scaling --load PATH/load.py [--rounds 3]
[--seconds 20] [--clients 8] [--processes 1,2]`` (or set ``POSTOFFICE_LOAD_DRIVER``).
Owns nothing but its temp dir and the server processes it starts (bench/_servers.py).

The load driver is an external standard-library script with subcommands ``seed`` (IMAP
APPEND of a deterministic corpus) and ``imap`` (N clients each looping LOGIN, SELECT,
FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE RFC822.SIZE), FETCH BODY.PEEK[] of a few
messages, STORE, SEARCH, LOGOUT), printing one JSON line with ``ops_per_s``. Without
it, this benchmark says so and does nothing.

One data dir is seeded once (users ``user1..N@example.test``, ``--messages`` each);
then, per round, ``serve`` is started with ``[server] processes = 1``, then 2 (the
order alternates between rounds), the load runs ``--seconds``, the server stops.
Printed: ops/s per round, the median per process count, and the ratio of each to the
first. Loopback only; every figure is printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._servers import Server, Unavailable, free_port, start_postoffice

__all__ = ["main"]

DOMAIN = "example.test"
PASSWORD = "pass"


def write_config(workdir: Path, port: int, processes: int) -> Path:
    config = workdir / "postoffice.toml"
    config.write_text(
        f'hostname = "bench.{DOMAIN}"\ndata_dir = "{workdir / "data"}"\ndomains = ["{DOMAIN}"]\n'
        f'[listen]\nimap = "127.0.0.1:{port}"\n'
        f"[server]\nprocesses = {processes}\n"
        "[limits.imap]\nmax_connections_per_ip = 500\nmax_connections_per_user = 500\n"
    )
    return config


def run_load(load: Path, command: str, port: int, clients: int, extra: list[str]) -> dict[str, object]:
    argv = [sys.executable, str(load), command, "--port", str(port), "--clients", str(clients),
            "--users", f"1-{clients}", "--user-fmt", f"user%d@{DOMAIN}", "--password", PASSWORD, *extra]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, timeout=1200)
    if done.returncode != 0:
        raise RuntimeError(f"{command}: {done.stderr.decode(errors='replace')[-800:]}")
    result: dict[str, object] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return result


def wait_workers(server: Server, offset: int, count: int, deadline: float = 60.0) -> None:
    """Until ``count`` ``worker N serving`` lines were logged after ``offset``."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        text = server.log.read_bytes()[offset:].decode(errors="replace")
        if sum(line.startswith("worker ") and " serving " in line for line in text.splitlines()) >= count:
            return
        time.sleep(0.1)
    raise Unavailable(f"{count} worker(s) did not start within {deadline:.0f} s")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench.processes_scaling", description=__doc__.splitlines()[0])
    parser.add_argument("--load", type=Path, default=os.environ.get("POSTOFFICE_LOAD_DRIVER"),
                        help="the load driver script (default: $POSTOFFICE_LOAD_DRIVER)")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--messages", type=int, default=100, help="messages per user")
    parser.add_argument("--processes", default="1,2", help="process counts to compare, the first is the base")
    args = parser.parse_args(argv)
    if args.load is None or not Path(args.load).exists():
        print("processes_scaling: no load driver (--load or POSTOFFICE_LOAD_DRIVER); skipped", flush=True)
        return 0
    counts = [int(n) for n in args.processes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="po-scaling-"))
    port = free_port()
    users = {f"user{i}@{DOMAIN}": PASSWORD for i in range(1, args.clients + 1)}
    figures: dict[int, list[float]] = {n: [] for n in counts}
    try:
        server = start_postoffice(work, users, config=write_config(work, port, 1), port=port)
        try:
            seeded = run_load(args.load, "seed", port, min(args.clients, 4), ["--count", str(args.messages)])
            print(f"seeded: {seeded.get('append_msgs_per_s')} msgs/s APPEND", flush=True)
        finally:
            server.stop()
        for r in range(args.rounds):
            for n in counts if r % 2 == 0 else list(reversed(counts)):
                offset = (work / "postoffice.log").stat().st_size
                server = start_postoffice(work, config=write_config(work, port, n), port=port)
                try:
                    wait_workers(server, offset, n - 1)
                    result = run_load(args.load, "imap", port, args.clients, ["--seconds", str(args.seconds)])
                finally:
                    server.stop()
                ops = float(result["ops_per_s"])  # type: ignore[arg-type]
                figures[n].append(ops)
                print(f"round {r + 1}: {n} process(es): {ops:.1f} ops/s, errors {result.get('errors')}", flush=True)
        base = statistics.median(figures[counts[0]])
        for n in counts:
            median = statistics.median(figures[n])
            print(f"{n} process(es): median {median:.1f} ops/s over {len(figures[n])} rounds; "
                  f"{median / base:.2f}x of {counts[0]}", flush=True)  # fmt: skip
    except Unavailable as exc:
        print(f"processes_scaling: skipped: {exc}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
