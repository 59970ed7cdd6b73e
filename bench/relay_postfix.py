"""Benchmark: relay throughput, postoffice side by side with Debian's Postfix (issue 10).

Run::

    .venv/bin/python bench/relay_postfix.py [--rounds 3] [--messages 2000] [--sessions 10]
                                            [--length 4096] [--no-dkim]

Each server is given ``--messages`` messages of ``--length`` octets of body for
bob@b.test, by the same load generator (this script, ``--sessions`` parallel connections, each
sending MAIL, RCPT, DATA for message after message until all are sent), and relays them over
SMTP to the same sink: ``postoffice.testing.smtp_sink.SMTPSink`` in a process of its
own (PIPELINING, 8BITMIME, SIZE; no CHUNKING, so both send with DATA), which stamps
each message's arrival.

- postoffice: ``serve`` with a submission listener; each connection authenticates once
  (AUTH PLAIN, argon2id-checked; Postfix gets none) as alice@a.test; ``[relay.routes]`` sends
  b.test to the sink. The queue DKIM-signs every message (RSA-2048 and Ed25519, as
  deployed) unless ``--no-dkim`` (``[authn] dkim_sign = false``); Postfix signs nothing.
- Postfix: the private instance of ``bench/smtp_postfix.py`` (Debian's main.cf and
  master.cf, own queue, loopback only), with ``relayhost = [127.0.0.1]:SINK``; clients on
  loopback may relay (Debian's mynetworks).

Figures per run: **delivered msg/s** = messages / (last arrival at the sink − first
connection of the load generator); the issue's target is postoffice ≥ 0.8× Postfix.
Latency: from the 250 that accepted a message (durable at the server) to its arrival
at the sink, p50 and p99. Rounds alternate which server goes first; medians printed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._servers import Server, Unavailable, free_port, start_postoffice  # noqa: E402
from bench.smtp_postfix import POSTCONF, POSTFIX, Postfix, start_postfix  # noqa: E402

__all__ = ["main"]

PASSWORD = "bench-password"
SENDER = "alice@a.test"
RECIPIENT = "bob@b.test"


# ---- the sink, in its own process ------------------------------------------------------


async def sink_main() -> None:
    """Serve as the sink: print the port, then one JSON line per arrival (subject, time)."""
    from postoffice.testing.smtp_sink import SMTPSink

    sink = SMTPSink(extensions=("PIPELINING", "8BITMIME", "SIZE 100000000"))
    print(await sink.start(), flush=True)
    seen = 0
    while True:
        sink.received.clear()
        await sink.received.wait()
        for captured in sink.messages[seen:]:
            subject = captured.message.split(b"\r\nSubject: ", 1)[1].split(b"\r\n", 1)[0].decode()
            print(json.dumps([subject, captured.arrived]), flush=True)
        seen = len(sink.messages)
        del sink.messages[:]  # keep nothing: counted above
        seen = 0


class Sink:
    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, __file__, "--sink"], stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())
        self.arrivals: dict[str, float] = {}

    def wait_for(self, subjects: set[str], timeout: float) -> None:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while not subjects <= self.arrivals.keys():
            if time.monotonic() > deadline:
                raise RuntimeError(f"the sink has {len(subjects & self.arrivals.keys())} of {len(subjects)} messages")
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("the sink ended")
            subject, arrived = json.loads(line)
            self.arrivals[subject] = arrived

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


# ---- the load generator ----------------------------------------------------------------


async def _reply(reader: asyncio.StreamReader) -> int:
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("closed")
        if line[3:4] != b"-":
            return int(line[:3])


async def _session(port: int, todo: list[str], body: bytes, auth: bool, accepted: dict[str, float]) -> None:
    """One connection (AUTH once for postoffice): messages from ``todo`` until it is
    empty, each MAIL, RCPT, DATA; the time of the 250 that accepted each."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        assert await _reply(reader) == 220
        writer.write(b"EHLO load.bench.test\r\n")
        assert await _reply(reader) == 250
        if auth:
            token = base64.b64encode(f"\0{SENDER}\0{PASSWORD}".encode()).decode()
            writer.write(f"AUTH PLAIN {token}\r\n".encode())
            assert await _reply(reader) == 235
        while todo:
            subject = todo.pop()
            writer.write(f"MAIL FROM:<{SENDER}>\r\n".encode())
            assert await _reply(reader) == 250
            writer.write(f"RCPT TO:<{RECIPIENT}>\r\n".encode())
            code = await _reply(reader)
            assert code == 250, f"RCPT answered {code}"
            writer.write(b"DATA\r\n")
            assert await _reply(reader) == 354
            head = f"From: {SENDER}\r\nTo: {RECIPIENT}\r\nSubject: {subject}\r\nMessage-ID: <{subject}@a.test>\r\n\r\n"
            writer.write(head.encode() + body + b".\r\n")
            code = await _reply(reader)
            accepted[subject] = time.time()
            assert code == 250, f"end of data answered {code}"
        writer.write(b"QUIT\r\n")
        await _reply(reader)
    finally:
        writer.close()


async def load(port: int, subjects: list[str], sessions: int, length: int, auth: bool) -> dict[str, float]:
    line = b"x" * 70 + b"\r\n"
    body = line * max(1, length // len(line))
    todo = list(reversed(subjects))
    accepted: dict[str, float] = {}
    await asyncio.gather(*(_session(port, todo, body, auth, accepted) for _ in range(sessions)))
    return accepted


# ---- servers ---------------------------------------------------------------------------


def postfix_relaying(workdir: Path, sink_port: int) -> Postfix:
    pf = start_postfix(workdir)
    for setting in (f"relayhost = [127.0.0.1]:{sink_port}", "smtp_tls_security_level = none"):
        subprocess.run([POSTCONF, "-c", str(pf.conf), "-e", setting], check=True, capture_output=True, timeout=60)
    subprocess.run([POSTFIX, "-c", str(pf.conf), "reload"], check=True, capture_output=True, timeout=60)
    return pf


def postoffice_relaying(workdir: Path, sink_port: int, dkim: bool, connections: int | None) -> Server:
    workdir.mkdir(parents=True)
    port = free_port()
    config = workdir / "postoffice.toml"
    config.write_text(
        f'hostname = "mail.a.test"\ndata_dir = "{workdir / "data"}"\ndomains = ["a.test"]\n'
        f'[listen]\nsubmission = "127.0.0.1:{port}"\n'
        f'[relay.routes]\n"b.test" = "127.0.0.1:{sink_port}"\n'
        f"[authn]\ndkim_sign = {'true' if dkim else 'false'}\n"
        "[limits.smtp]\nmax_messages_per_hour = 1000000\n"  # one sender submits every message of the bench
        + (f"[limits.relay]\nconnections_per_destination = {connections}\n" if connections else "")
    )
    return start_postoffice(workdir, {SENDER: PASSWORD}, config=config, port=port)


@dataclass
class Run:
    rate: float  # delivered messages per second
    accepted: float  # messages per second accepted (250 after the data) by the server
    p50: float  # seconds from the accepting 250 to arrival at the sink
    p99: float


def measure(name: str, port: int, sink: Sink, args: argparse.Namespace, tag: str) -> Run:
    subjects = [f"{name}-{tag}-{i:05d}" for i in range(args.messages)]
    started = time.time()
    accepted = asyncio.run(load(port, subjects, args.sessions, args.length, auth=name == "postoffice"))
    sink.wait_for(set(subjects), timeout=600)
    last = max(sink.arrivals[s] for s in subjects)
    latencies = sorted(sink.arrivals[s] - accepted[s] for s in subjects)
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    accept_rate = len(subjects) / (max(accepted.values()) - started)
    return Run(len(subjects) / (last - started), accept_rate, statistics.median(latencies), p99)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--length", type=int, default=4096, help="body octets per message")
    parser.add_argument("--no-dkim", action="store_true", help="postoffice without DKIM signing")
    parser.add_argument("--connections", type=int, default=None,
                        help="postoffice [limits.relay] connections_per_destination (default: the server's)")
    parser.add_argument("--sink", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sink:
        asyncio.run(sink_main())
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that `finally` stops Postfix
    work = Path(tempfile.mkdtemp(prefix="relay-bench-", dir="/var/tmp"))
    os.chmod(work, 0o755)
    sink = Sink()
    pf: Postfix | None = None
    po: Server | None = None
    try:
        try:
            pf = postfix_relaying(work / "postfix", sink.port)
        except Unavailable as exc:
            print(f"Postfix unavailable: {exc}")
            return 2
        po = postoffice_relaying(work / "po", sink.port, dkim=not args.no_dkim, connections=args.connections)
        ports = {"postfix": pf.port, "postoffice": po.port}
        print(f"{args.sessions} sessions x {args.messages} messages of {args.length} octets, {args.rounds} rounds, "
              f"postoffice DKIM {'off' if args.no_dkim else 'on'}; sink :{sink.port}", flush=True)  # fmt: skip
        warm = argparse.Namespace(**{**vars(args), "messages": min(200, args.messages)})
        for name in ports:
            measure(name, ports[name], sink, warm, "warm")
        results: dict[str, list[Run]] = {"postfix": [], "postoffice": []}
        for r in range(args.rounds):
            order = ["postfix", "postoffice"] if r % 2 == 0 else ["postoffice", "postfix"]
            for name in order:
                run = measure(name, ports[name], sink, args, str(r))
                results[name].append(run)
                print(f"round {r + 1} {name:<10} delivered {run.rate:7.1f} msg/s (accepted {run.accepted:7.1f})  "
                      f"latency p50 {1e3 * run.p50:7.1f} ms  p99 {1e3 * run.p99:7.1f} ms", flush=True)  # fmt: skip
        med = {n: statistics.median(x.rate for x in runs) for n, runs in results.items()}
        for name, runs in results.items():
            print(f"median {name:<10} delivered {med[name]:7.1f} msg/s  "
                  f"latency p50 {1e3 * statistics.median(x.p50 for x in runs):7.1f} ms  "
                  f"p99 {1e3 * statistics.median(x.p99 for x in runs):7.1f} ms")  # fmt: skip
        ratio = med["postoffice"] / med["postfix"]
        print(f"ratio postoffice/postfix (delivered) {ratio:.2f}x  ({'meets' if ratio >= 0.8 else 'misses'} the 0.8x target)")
        return 0 if ratio >= 0.8 else 1
    finally:
        if po is not None:
            po.stop()
        if pf is not None:
            pf.stop()
        sink.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
