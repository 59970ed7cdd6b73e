"""Benchmark (issue 15): 10,000 IMAP connections in IDLE held by one ``postoffice serve``.

Run::

    .venv/bin/python bench/idle_10k.py [--connections 10000] [--clients 4] [--processes 1]

Starts ``postoffice --config X serve`` (imap listener; per-address and per-user
connection limits raised; ``[server] processes`` as given), raises the open-file limit
(``resource.setrlimit``, inherited by the server), and opens the connections from
``--clients`` client processes (asyncio, at most 16 logins in flight per process):
LOGIN, SELECT INBOX, IDLE. Once every connection is idling it reads the server's
resident set size (VmRSS summed over the serve process and its workers), APPENDs one
message from another connection, and each client process records when each of its
connections receives ``* 1 EXISTS``.

Prints: the RSS with one connection and with all of them, the RSS per connection
(the difference over the count), the time to open them all, and the wake-up latency
from sending the APPEND to each EXISTS (p50, p99, max; CLOCK_MONOTONIC is shared by the
processes), and how long the APPEND itself took. Exit status 1 if a connection was not
woken within ``--deadline``.

Measured 2026-12-05 (2 cores shared, load average 20-40, 10,000 connections, 4 client
processes, [server] processes = 1): 76 MiB with one connection, 273 MiB with all, 20.2
KiB per connection (1,457 KiB before glibc's mmap threshold was fixed: 500 connections
then took 787 MiB); 636 s to open them (argon2 logins). Wake-up: APPEND OK after 6.6 s,
EXISTS p50 7.2 s, p99 7.6 s, all 10,000 woken; before the shared reads and the
read-first claim_recent (store/sqlite): 42 s, 49.8 s and 56.9 s. 500 connections: p50
65 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._servers import free_port, start_postoffice  # noqa: E402

ADDRESS, PASSWORD = "idle@example.test", "idle-bench-password"
LOGINS_IN_FLIGHT = 16  # per client process: argon2 verifications are the cost of a login


def raise_fd_limit(wanted: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else wanted
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def tree_rss_mib(pid: int) -> float:
    """VmRSS of ``pid`` and of every process below it, in MiB."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo.extend(children.get(p, []))
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


async def _read_until(reader: asyncio.StreamReader, prefix: bytes, deadline: float) -> bytes:
    while True:
        line = await asyncio.wait_for(reader.readline(), deadline)
        if not line:
            raise ConnectionError(f"closed before {prefix!r}")
        if line.startswith(prefix):
            return line


async def _client(port: int, count: int, ready: Any, results: Any, deadline: float) -> None:
    gate = asyncio.Semaphore(LOGINS_IN_FLIGHT)

    async def open_one() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        async with gate:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            await _read_until(reader, b"* OK", deadline)
            writer.write(f"a LOGIN {ADDRESS} {PASSWORD}\r\nb SELECT INBOX\r\nc IDLE\r\n".encode())
            if not (await _read_until(reader, b"a ", deadline)).startswith(b"a OK"):
                raise RuntimeError("LOGIN refused")
            await _read_until(reader, b"+ ", deadline)
            return reader, writer

    sessions = await asyncio.gather(*(open_one() for _ in range(count)))
    ready.put(count)

    async def woken(reader: asyncio.StreamReader) -> float:
        await _read_until(reader, b"* 1 EXISTS", deadline)
        return time.monotonic()

    times = await asyncio.gather(*(woken(r) for r, _ in sessions), return_exceptions=True)
    results.put([t for t in times if isinstance(t, float)])
    for _, writer in sessions:
        writer.write(b"DONE\r\nd LOGOUT\r\n")
    await asyncio.sleep(0)
    for _, writer in sessions:
        writer.close()


def client_process(port: int, count: int, ready: Any, results: Any, deadline: float) -> None:
    raise_fd_limit(count * 2 + 100)
    asyncio.run(_client(port, count, ready, results, deadline))


def imap(sock: socket.socket, tag: bytes, command: bytes) -> bytes:
    sock.sendall(tag + b" " + command + b"\r\n")
    buf = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        buf += chunk
        for line in buf.split(b"\r\n"):
            if line.startswith(tag + b" "):
                if not line.startswith(tag + b" OK"):
                    raise RuntimeError(line.decode(errors="replace"))
                return buf


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--processes", type=int, default=1, help="the server's [server] processes")
    parser.add_argument("--deadline", type=float, default=600.0, help="seconds for any one wait")
    parser.add_argument("--dir", default=None, help="where the data dir goes (a temporary directory)")
    args = parser.parse_args(argv)
    limit = raise_fd_limit(args.connections * 2 + 1000)
    print(f"open-file limit {limit}", flush=True)
    with tempfile.TemporaryDirectory(prefix="idle-10k-", dir=args.dir) as tmp:
        workdir = Path(tmp)
        port = free_port()
        config = workdir / "postoffice.toml"
        config.write_text(
            f'hostname = "bench.example.test"\ndata_dir = "{workdir / "data"}"\ndomains = ["example.test"]\n'
            f'[listen]\nimap = "127.0.0.1:{port}"\n[server]\nprocesses = {args.processes}\n'
            f"[limits.imap]\nmax_connections_per_ip = {args.connections + 100}\n"
            f"max_connections_per_user = {args.connections + 100}\n"
        )
        server = start_postoffice(workdir, {ADDRESS: PASSWORD}, config=config, port=port)
        try:
            with socket.create_connection(("127.0.0.1", port)) as probe:
                probe.recv(4096)
                imap(probe, b"l", f"LOGIN {ADDRESS} {PASSWORD}".encode())
                imap(probe, b"s", b"SELECT INBOX")
                rss_one = tree_rss_mib(server.proc.pid)
                print(f"RSS with one connection: {rss_one:.1f} MiB", flush=True)
                ctx = multiprocessing.get_context("spawn")
                ready, results = ctx.Queue(), ctx.Queue()
                share = [args.connections // args.clients + (i < args.connections % args.clients) for i in range(args.clients)]
                started = time.monotonic()
                procs = [ctx.Process(target=client_process, args=(port, n, ready, results, args.deadline)) for n in share]
                for p in procs:
                    p.start()
                opened = sum(ready.get(timeout=args.deadline * 2) for _ in procs)
                took = time.monotonic() - started
                rss_all = tree_rss_mib(server.proc.pid)
                per_conn = (rss_all - rss_one) * 1024 / max(1, opened)
                print(f"{opened} connections in IDLE after {took:.0f} s; RSS {rss_all:.1f} MiB: "
                      f"{per_conn:.1f} KiB per connection", flush=True)  # fmt: skip
                message = b"Subject: wake up\r\n\r\nall of you\r\n"
                appended_at = time.monotonic()
                imap(probe, b"a", b"APPEND INBOX {%d+}\r\n" % len(message) + message)
                committed_at = time.monotonic()
                times = [t for _ in procs for t in results.get(timeout=args.deadline * 2)]
                for p in procs:
                    p.join(60)
        finally:
            server.stop()
    if not times:
        print("no connection was woken")
        return 1
    latencies = sorted((t - appended_at) * 1000 for t in times)
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"APPEND took {(committed_at - appended_at) * 1000:.0f} ms; woken {len(times)} of {opened}; latency from sending "
          f"it: p50 {p50:.0f} ms, p99 {p99:.0f} ms, max {latencies[-1]:.0f} ms", flush=True)  # fmt: skip
    return 0 if len(times) == opened == args.connections else 1


if __name__ == "__main__":
    raise SystemExit(main())
