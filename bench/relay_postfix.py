"""Benchmark: relay throughput, postoffice side by side with Debian's Postfix (issue 10).

Run::

    .venv/bin/python bench/relay_postfix.py [--rounds 3] [--messages 2000] [--sessions 10]
                                            [--length 4096] [--profile /tmp/relay.txt]

Both servers take the same messages by SMTP from the same submitter and relay them over
SMTP to the same sink; the sink and the submitter are bench/_relay.py, on this process's
asyncio loop, on loopback. Each message is ``--length`` octets (4 KiB: a header block
with ``X-Bench-Id`` and a 7-bit text body), from alice@a.test to bob@b.test, sent over
``--sessions`` parallel connections of up to 100 transactions each (MAIL, RCPT and DATA
pipelined; then the dot-stuffed body).

postoffice: ``postoffice --config X serve`` with only the submission listener; alice
authenticates (AUTH PLAIN, allowed without TLS from loopback); a static route
``"b.test" = "127.0.0.1:SINK"`` sends the mail to the sink. Its defaults otherwise:
DKIM-signed (RSA-2048 and Ed25519, which Postfix does not do; ``--no-dkim`` turns
signing off), the default ``[limits.relay]`` concurrency, ``[server] processes``
unset (one per core); only the per-user hourly submission limit is lifted.

Postfix: the private instance of bench/smtp_postfix.py (Debian's main.cf and master.cf,
own queue, smtpd on a loopback port) with ``relayhost = [127.0.0.1]:SINK``; loopback
is in ``mynetworks``, so it relays without AUTH. Its queue manager and smtp client run
with their defaults (fsync of the queue file before the 250, connection cache on demand,
up to 20 connections per destination).

The sink offers PIPELINING, 8BITMIME and CHUNKING (postoffice sends BDAT, Postfix's
client DATA) and records when each message's data ended. Figures per run: **delivered**
msg/s = messages / (last arrival at the sink - first MAIL sent); accepted msg/s (until
the last 250 of the submission); p50/p99 of the time from a message's MAIL to its arrival
at the sink; server CPU (the process and its children, from /proc). Rounds alternate
the order (Postfix first in even rounds); a run starts only when the sink has every
message of the previous one. Printed at the end: the medians over the rounds and the
ratio of delivered msg/s, postoffice/Postfix (issue target: >= 0.8). A message that does
not arrive within 600 s fails the bench. ``--profile FILE`` adds one unmeasured postoffice
run under ``py-spy record`` of the main process (which runs the queue runner).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._relay import Outgoing, Sink, submit, wait_arrivals  # noqa: E402
from bench._servers import VENV_BIN, Server, Unavailable, free_port, start_postoffice  # noqa: E402
from bench.smtp_postfix import Postfix, cpu_seconds, print_profile, start_postfix  # noqa: E402

__all__ = ["main"]

SENDER = "alice@a.test"
RECIPIENT = "bob@b.test"
PASSWORD = "bench-password"


def make_message(bench_id: str, length: int) -> bytes:
    head = (
        f"From: Alice <{SENDER}>\r\nTo: Bob <{RECIPIENT}>\r\nSubject: relay bench {bench_id}\r\n"
        f"Message-ID: <{bench_id}@a.test>\r\nDate: Sat, 05 Dec 2026 08:00:00 +0000\r\nX-Bench-Id: {bench_id}\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
    ).encode()
    line = b"The quick brown fox jumps over the lazy dog, 0123456789 times over.\r\n"
    body = (line * (length // len(line) + 1))[: max(0, length - len(head) - 2)]
    return head + body.rstrip(b"\r\n") + b"\r\n"


def start_po(workdir: Path, sink_port: int, dkim: bool, relay: list[str]) -> Server:
    workdir.mkdir(parents=True)
    port = free_port()
    config = workdir / "postoffice.toml"
    config.write_text(
        f'hostname = "mail.a.test"\ndata_dir = "{workdir / "data"}"\ndomains = ["a.test"]\n'
        f'[listen]\nsubmission = "127.0.0.1:{port}"\n'
        f'[relay.routes]\n"b.test" = "127.0.0.1:{sink_port}"\n'
        "[limits.smtp]\nmax_messages_per_hour = 0\n" + ("" if dkim else "[authn]\ndkim_sign = false\n")
        + "".join(f"[limits.relay]\n{line}\n" for line in relay[:1]) + "".join(f"{line}\n" for line in relay[1:])
    )
    return start_postoffice(workdir, {SENDER: PASSWORD}, config=config, port=port)


@dataclass
class Run:
    delivered_s: float  # first MAIL to the last arrival at the sink
    accepted_s: float  # first MAIL to the last 250 of the submission
    latencies: list[float]  # per message: MAIL to arrival, seconds
    cpu_s: float  # the server's CPU (with its children) from the first MAIL to the last arrival

    def rate(self, n: int) -> float:
        return n / self.delivered_s

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def one_run(name: str, port: int, pid: int, sink: Sink, tag: str, args: argparse.Namespace) -> Run:
    sink.arrivals.clear()
    outgoing = [Outgoing(f"{tag}-{i}", SENDER, RECIPIENT, b"", 0) for i in range(args.messages)]
    for out in outgoing:
        out.body = make_message(out.bench_id, args.length)
        out.size = len(out.body)
    auth = (SENDER, PASSWORD) if name == "postoffice" else None
    cpu0 = cpu_seconds(pid, children=True)
    started = time.monotonic()
    per_connection = -(-args.messages // args.sessions)  # one connection per session, as a submitting client keeps it
    await submit(port, outgoing, sessions=args.sessions, auth=auth, per_connection=per_connection)
    accepted = max(o.accepted for o in outgoing) - started
    try:
        await wait_arrivals(sink, args.messages, timeout=600)
    except TimeoutError:
        raise RuntimeError(f"{name}: only {len(sink.arrivals)} of {args.messages} messages arrived in 600 s") from None
    cpu1 = cpu_seconds(pid, children=True)
    arrived = {a.bench_id: a.at for a in sink.arrivals}
    missing = [o.bench_id for o in outgoing if o.bench_id not in arrived]
    if missing or len(sink.arrivals) != args.messages:
        copies = Counter(a.bench_id for a in sink.arrivals)
        twice = sorted(i for i, c in copies.items() if c > 1)
        strangers = sorted(i for i in copies if not i.startswith(f"{tag}-"))
        raise RuntimeError(f"{name}: {len(missing)} missing {missing[:5]}, {len(sink.arrivals)} arrivals for "
                           f"{args.messages} sent; more than once: {twice[:5]}; from another run: {strangers[:5]}")  # fmt: skip
    latencies = [arrived[o.bench_id] - o.submitted for o in outgoing]
    return Run(max(arrived.values()) - started, accepted, latencies, cpu1 - cpu0)


async def bench(args: argparse.Namespace, work: Path) -> int:
    sink = Sink(chunking=True)
    sink_port = await sink.start()
    pf: Postfix | None = None
    po: Server | None = None
    try:
        try:
            pf = await asyncio.to_thread(start_postfix, work / "postfix", (f"relayhost = [127.0.0.1]:{sink_port}",))
        except Unavailable as exc:
            print(f"Postfix unavailable: {exc}")
            return 2
        po = await asyncio.to_thread(start_po, work / "po", sink_port, not args.no_dkim, args.relay)
        servers = {"postfix": (pf.port, pf.master_pid), "postoffice": (po.port, po.proc.pid)}
        print(f"{args.sessions} sessions x {args.messages} messages of {args.length} octets, {args.rounds} rounds; "
              f"Postfix :{pf.port}, postoffice :{po.port} (DKIM {'off' if args.no_dkim else 'on'}), sink :{sink_port}",
              flush=True)  # fmt: skip
        warm = argparse.Namespace(**{**vars(args), "messages": min(200, args.messages)})
        for name, (port, pid) in servers.items():
            await one_run(name, port, pid, sink, f"warm-{name}", warm)
        results: dict[str, list[Run]] = {"postfix": [], "postoffice": []}
        for r in range(args.rounds):
            order = ["postfix", "postoffice"] if r % 2 == 0 else ["postoffice", "postfix"]
            for name in order:
                port, pid = servers[name]
                run = await one_run(name, port, pid, sink, f"r{r}-{name}", args)
                results[name].append(run)
                n = args.messages
                print(f"round {r + 1} {name:<10} delivered {run.rate(n):6.0f} msg/s ({run.delivered_s:5.2f} s)  "
                      f"accepted {n / run.accepted_s:6.0f} msg/s  latency p50 {1e3 * run.quantile(0.5):6.0f} ms  "
                      f"p99 {1e3 * run.quantile(0.99):6.0f} ms  server CPU {1e3 * run.cpu_s / n:.2f} ms/msg  "
                      f"sink connections so far {sink.connections}", flush=True)  # fmt: skip
        n = args.messages
        med: dict[str, float] = {}
        for name, runs in results.items():
            med[name] = statistics.median(x.rate(n) for x in runs)
            print(f"median {name:<10} delivered {med[name]:6.0f} msg/s  "
                  f"accepted {statistics.median(n / x.accepted_s for x in runs):6.0f} msg/s  "
                  f"p50 {1e3 * statistics.median(x.quantile(0.5) for x in runs):6.0f} ms  "
                  f"p99 {1e3 * statistics.median(x.quantile(0.99) for x in runs):6.0f} ms  "
                  f"server CPU {1e3 * statistics.median(x.cpu_s / n for x in runs):.2f} ms/msg")  # fmt: skip
        ratio = med["postoffice"] / med["postfix"]
        print(f"ratio postoffice/postfix (delivered msg/s) {ratio:.2f}x "
              f"({'meets' if ratio >= 0.8 else 'misses'} the 0.8x target)", flush=True)  # fmt: skip
        if args.profile:
            spy = await asyncio.create_subprocess_exec(
                str(VENV_BIN / "py-spy"), "record", "-o", str(args.profile), "-f", "raw", "--gil", "--subprocesses", "-r", "200",
                "-p", str(po.proc.pid), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            try:
                await asyncio.sleep(1.0)  # py-spy attaches
                await one_run("postoffice", po.port, po.proc.pid, sink, "profiled", args)
            finally:
                spy.send_signal(2)  # SIGINT: py-spy writes the file and exits
                await asyncio.wait_for(spy.wait(), 60)
            print_profile(args.profile, args.top)
        return 0 if ratio >= 0.8 else 1
    finally:
        if po is not None:
            await asyncio.to_thread(po.stop)
        if pf is not None:
            await asyncio.to_thread(pf.stop)
        await sink.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--length", type=int, default=4096, help="octets of each message")
    parser.add_argument("--no-dkim", action="store_true", help="postoffice does not DKIM-sign (as Postfix)")
    parser.add_argument("--relay", action="append", default=[], metavar="'NAME = VALUE'",
                        help="a postoffice [limits.relay] setting (repeatable); default: none, the defaults")
    parser.add_argument("--profile", type=Path, help="also profile one postoffice run with py-spy into FILE")
    parser.add_argument("--top", type=int, default=20, help="frames shown per profile list")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="relay-bench-", dir="/var/tmp"))
    os.chmod(work, 0o755)
    try:
        return asyncio.run(bench(args, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
