"""Benchmark: N concurrent IMAP clients against postoffice, Dovecot and pymap, alternating.

Run: ``.venv/bin/python -m bench.imap_clients [--clients 8] [--duration 10] [--rounds 3]``.
Owns nothing but its temp dirs and the server processes it starts (bench/_servers.py).

Every server gets the same users (one per client) and the same corpus: ``--messages``
(default 200) small messages per user, some multipart with an attachment, delivered by
APPEND before anything is timed. Then, per round, each server in turn (postoffice,
dovecot, pymap, postoffice, ...) is driven by N client processes (imaplib, one process
each so the client is not the bottleneck), each looping one session:

    connect + LOGIN, SELECT INBOX, UID FETCH of 10 messages (BODY.PEEK[HEADER]),
    UID FETCH of 3 messages (BODY.PEEK[]), UID STORE +FLAGS (\\Seen) on those 3,
    UID SEARCH TEXT <word>, LOGOUT

for ``--duration`` seconds or ``--sessions`` sessions per client, whichever ends first.
Printed: operations (IMAP commands) per second as the median of the rounds, p50/p99
latency per operation type (all rounds pooled), and the ratios postoffice/dovecot
(issue 4 target >= 0.3) and postoffice/pymap. A server that cannot be installed or run
is skipped with the reason. Loopback only; every figure is printed, never asserted.

Fairness notes: postoffice checks an argon2id hash at LOGIN (its only stored form);
Dovecot's passwd-file holds {PLAIN} passwords; pymap uses its default hash (PBKDF2).
Dovecot keeps its default fsync settings, postoffice fsyncs every change (docs/architecture.md §6).
"""

from __future__ import annotations

import argparse
import base64
import imaplib
import multiprocessing
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench._servers import Server, Unavailable, start_dovecot, start_postoffice, start_pymap

__all__ = ["main"]

OPS = ("login", "select", "fetch_headers", "fetch_bodies", "store", "search", "logout")
WORDS = (
    "meeting report invoice lunch project budget review update schedule travel team notes "
    "quarter deadline draft contract customer release agenda minutes holiday office printer"
).split()
SEARCH_WORD = "printer"
STARTERS: dict[str, Callable[[Path, dict[str, str]], Server]] = {
    "postoffice": start_postoffice,
    "dovecot": start_dovecot,
    "pymap": start_pymap,
}


def corpus(count: int, user: str) -> list[bytes]:
    """The same ``count`` messages for every server (seeded); every 10th carries a 24 KiB attachment."""
    rng = random.Random(4242)
    out = []
    for n in range(count):
        subject = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 7)))
        text = "\r\n".join(" ".join(rng.choice(WORDS) for _ in range(12)) for _ in range(rng.randint(5, 60)))
        head = (
            f"From: Sender {n % 13} <s{n % 13}@example.org>\r\nTo: <{user}>\r\nSubject: {subject} #{n}\r\n"
            f"Date: Tue, {1 + n % 28:02d} Feb 2024 09:{n % 60:02d}:00 +0000\r\n"
            f"Message-ID: <c{n}-{rng.getrandbits(32):x}@example.org>\r\nMIME-Version: 1.0\r\n"
        )
        if n % 10 == 0:
            blob = rng.randbytes(24 * 1024)
            b64 = base64.encodebytes(blob).decode().replace("\n", "\r\n")
            msg = (
                head + 'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\n'
                "Content-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n--b1\r\n"
                'Content-Type: application/pdf; name="r.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
                + b64
                + "--b1--\r\n"
            )
        else:
            msg = head + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n"
        out.append(msg.encode())
    return out


def deliver(server: Server, messages_per_user: int) -> float:
    """APPEND the corpus into every user's INBOX (users in parallel); seconds taken."""

    def one(user: str, password: str) -> None:
        conn = imaplib.IMAP4("127.0.0.1", server.port)
        conn.login(user, password)
        for raw in corpus(messages_per_user, user):
            typ, data = conn.append("INBOX", None, None, raw)
            if typ != "OK":
                raise RuntimeError(f"{server.name} APPEND answered {typ} {data}")
        typ, selected = conn.select("INBOX")
        if typ != "OK" or int(selected[0] or 0) != messages_per_user:
            raise RuntimeError(f"{server.name} SELECT after APPEND answered {typ} {selected}")
        conn.logout()

    t0 = time.perf_counter()
    with ThreadPoolExecutor(len(server.users)) as pool:
        for f in [pool.submit(one, u, p) for u, p in server.users.items()]:
            f.result()
    return time.perf_counter() - t0


def client(args: tuple[int, str, str, int, float, int, int]) -> tuple[dict[str, list[float]], int, int]:
    """One client process: loop sessions until the deadline or the session cap.

    Returns (latencies per op, sessions completed, errors)."""
    port, user, password, messages, duration, max_sessions, seed = args
    rng = random.Random(seed)
    lat: dict[str, list[float]] = {op: [] for op in OPS}
    sessions = errors = 0
    end = time.monotonic() + duration

    def op(name: str, fn: Callable[..., tuple[str, Any]], *fn_args: str) -> None:
        t0 = time.perf_counter()
        typ, data = fn(*fn_args)
        lat[name].append(time.perf_counter() - t0)
        if typ not in ("OK", "BYE"):
            raise RuntimeError(f"{name}: {typ} {data!r}"[:300])

    while time.monotonic() < end and sessions < max_sessions:
        try:
            t0 = time.perf_counter()
            conn = imaplib.IMAP4("127.0.0.1", port)
            typ, data = conn.login(user, password)
            lat["login"].append(time.perf_counter() - t0)  # connect + greeting + LOGIN
            op("select", conn.select, "INBOX")
            headers = ",".join(str(u) for u in rng.sample(range(1, messages + 1), min(10, messages)))
            bodies = ",".join(str(u) for u in rng.sample(range(1, messages + 1), min(3, messages)))
            op("fetch_headers", conn.uid, "FETCH", headers, "(BODY.PEEK[HEADER])")
            op("fetch_bodies", conn.uid, "FETCH", bodies, "(BODY.PEEK[])")
            op("store", conn.uid, "STORE", bodies, "+FLAGS", "(\\Seen)")
            op("search", conn.uid, "SEARCH", "TEXT", SEARCH_WORD)
            op("logout", conn.logout)
            sessions += 1
        except Exception as exc:  # a failed session is counted, and the client goes on
            errors += 1
            if errors <= 3:
                print(f"  client {user}: {exc!r}"[:300], file=sys.stderr, flush=True)
            time.sleep(0.05)
    return lat, sessions, errors


def run_round(
    server: Server, args: argparse.Namespace, round_no: int
) -> tuple[float, dict[str, list[float]], int, int]:
    jobs = [
        (server.port, user, pw, args.messages, args.duration, args.sessions, 1000 * round_no + i)
        for i, (user, pw) in enumerate(server.users.items())
    ]
    ctx = multiprocessing.get_context("fork")
    t0 = time.perf_counter()
    with ctx.Pool(len(jobs)) as pool:
        results = pool.map(client, jobs)
    elapsed = time.perf_counter() - t0
    lat: dict[str, list[float]] = {op: [] for op in OPS}
    sessions = errors = 0
    for part, s, e in results:
        for name, values in part.items():
            lat[name].extend(values)
        sessions += s
        errors += e
    ops = sum(len(v) for v in lat.values())
    return ops / elapsed, lat, sessions, errors


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench.imap_clients", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients, one user each (default 8)")
    parser.add_argument("--messages", type=int, default=200, help="messages per user (default 200)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per server per round (default 10)")
    parser.add_argument("--sessions", type=int, default=2000, help="cap on sessions per client per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--servers", default="postoffice,dovecot,pymap", help="comma-separated, in run order")
    args = parser.parse_args(argv)
    args.clients = max(1, min(args.clients, 16))  # postoffice's default max_connections_per_user is 20

    print(f"{args.clients} clients, {args.messages} messages/user, {args.duration:g} s x {args.rounds} rounds; "
          f"{os.cpu_count()} CPUs", flush=True)  # fmt: skip
    users = {f"user{i}@example.test": f"secret-{i}-pw" for i in range(args.clients)}
    tmp = Path(tempfile.mkdtemp(prefix="postoffice-imapclients-"))
    os.chmod(tmp, 0o755)
    servers: dict[str, Server] = {}
    try:
        for name in [n.strip() for n in args.servers.split(",") if n.strip()]:
            try:
                server = STARTERS[name](tmp / name, users)
            except (Unavailable, OSError) as exc:
                print(f"{name}: skipped: {exc}", flush=True)
                continue
            servers[name] = server
            try:
                took = deliver(server, args.messages)
            except Exception as exc:
                print(f"{name}: skipped, corpus delivery failed: {exc!r}\n{server.tail_log()}", flush=True)
                server.stop()
                del servers[name]
                continue
            print(f"{name}: 127.0.0.1:{server.port}, corpus APPENDed in {took:.1f} s", flush=True)

        rates: dict[str, list[float]] = {n: [] for n in servers}
        lats: dict[str, dict[str, list[float]]] = {n: {op: [] for op in OPS} for n in servers}
        for r in range(args.rounds):
            for name, server in servers.items():
                rate, lat, sessions, errors = run_round(server, args, r)
                rates[name].append(rate)
                for op, values in lat.items():
                    lats[name][op].extend(values)
                print(f"round {r + 1} {name:<10} {rate:8.0f} ops/s  {sessions} sessions  {errors} errors", flush=True)

        print("\nops/s (median of rounds) and latency per operation, ms (p50 / p99):")
        header = f"{'server':<11}{'ops/s':>8}  " + "  ".join(f"{op:>15}" for op in OPS)
        print(header)
        for name in servers:
            cells = "  ".join(f"{pct(lats[name][op], 0.5) * 1000:6.1f}/{pct(lats[name][op], 0.99) * 1000:7.1f}"
                              for op in OPS)  # fmt: skip
            print(f"{name:<11}{statistics.median(rates[name]):8.0f}  {cells}")
        if "postoffice" in servers:
            po = statistics.median(rates["postoffice"])
            for ref, target in (("dovecot", 0.3), ("pymap", None)):
                if ref in servers:
                    ratio = po / statistics.median(rates[ref])
                    goal = f" (target >= {target}: {'met' if ratio >= target else 'MISSED'})" if target else ""
                    print(f"ratio postoffice/{ref}: {ratio:.2f}{goal}")
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
