"""Benchmark: postoffice's IMAP server with 100,000 small messages in one INBOX.

Run: ``.venv/bin/python -m bench.imap_100k [--count N] [--repeat R]`` (``--count 10000``
for a quick run). Owns nothing but its temp dir, removed at the end.

How the mailbox is filled (fast, and documented because it is not plain delivery):
``--distinct`` (default 3,000) distinct small messages go through the real ingestion
pipeline (``postoffice.mail.ingest.ingest``; spool fsync off, it is setup only). Every
other message reuses the part-store bytes (layout and blobs) of one of those, but gets
its own content row: its own SHA-256 key, subject, preview and search text (a new mix
of words and its own number), so the full-text index holds one row per message, as in
a real 100k mailbox. A rare word sits in exactly ``RARE_HITS`` messages. Rows go in
through ``Store.insert_messages`` (group-committed by the SQLite writer).

Then ``postoffice --config X serve`` runs as a subprocess with only the imap listener
on a free loopback port, and imaplib times (median of ``--repeat``, default 5):
LOGIN, SELECT INBOX (on a new connection each time), FETCH 1:* (FLAGS),
UID SEARCH TEXT <rare word> and UID SEARCH TEXT <a word in every message> ("subject":
every message's header block has a Subject field). Targets (issue 4): SELECT < 1 s, FETCH < 2 s, SEARCH < 0.5 s.
Figures are printed, never asserted. Flame graphs of the server (py-spy, 4 x SELECT,
FETCH 1:* (FLAGS) and the common-word UID SEARCH) before and after the issue-14 work:
``bench/flamegraphs/imap100k-before.svg`` and ``imap100k-after.svg``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import imaplib
import random
import shutil
import socket
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench._servers import ROOT, Server, free_port, start_postoffice, write_postoffice_config

sys.path.insert(0, str(ROOT))

__all__ = ["main"]

USER = "bench@example.test"
PASSWORD = "bench-password-1"
RARE_WORD = "quetzalcoatlus"
RARE_HITS = 5
COMMON_WORD = "subject"  # in every message's header block (TEXT searches header and body)
WORDS = (
    "meeting report invoice lunch project budget review update schedule travel team notes "
    "quarter deadline draft contract customer release agenda minutes holiday office printer "
    "server backup ticket feedback proposal estimate shipment order payment receipt"
).split()
SENDERS = ["Ann Archer", "Bob Baker", "Chloé Durand", "Dev Patel", "Eve Quinn", "Fritz Müller", "Grace Ho"]


def make_message(n: int, rng: random.Random, rare: bool) -> bytes:
    name = rng.choice(SENDERS)
    local = name.split()[0].lower().replace("é", "e")
    subject = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 7)))
    lines = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 14))) for _ in range(rng.randint(3, 25))]
    if rare:
        lines.insert(len(lines) // 2, f"The {RARE_WORD} sighting is confirmed.")
    body = "\r\n".join(lines)
    day = 1 + n % 28
    return (
        f"From: {name} <{local}@example.org>\r\nTo: Bench <{USER}>\r\nSubject: {subject} #{n}\r\n"
        f"Date: Mon, {day:02d} Jan 2024 10:{n % 60:02d}:00 +0000\r\nMessage-ID: <bench-{n}@example.org>\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


async def fill(config_path: Path, count: int, distinct: int) -> None:
    from postoffice.app import open_services
    from postoffice.config import load_config
    from postoffice.mail.ingest import ingest
    from postoffice.store.api import NewContent, NewMessage, SearchText

    config = load_config(config_path)
    services = await open_services(config)
    try:
        account = await services.mail.add_user(USER, PASSWORD)
        inbox = await services.store.get_mailbox(account.id, "INBOX")
        assert inbox is not None
        rng = random.Random(20240101)
        distinct = max(1, min(distinct, count))
        rare_at = set(rng.sample(range(distinct), min(RARE_HITS, distinct)))
        t0 = time.perf_counter()
        bases: list[NewContent] = []
        for start in range(0, distinct, 64):
            raws = [make_message(n, rng, n in rare_at) for n in range(start, min(start + 64, distinct))]
            done = await asyncio.gather(
                *(
                    ingest(raw, services.blobs, config.limits.message, config.spool_dir, fsync=lambda fd: None)
                    for raw in raws
                )  # fmt: skip
            )
            bases.extend(d.content for d in done)
        t_ingest = time.perf_counter() - t0
        reusable = [c for i, c in enumerate(bases) if i not in rare_at]

        def derived(n: int) -> NewContent:
            if n < distinct:
                return bases[n]
            base = reusable[n % len(reusable)] if reusable else bases[0]
            subject = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 7))) + f" #{n}"
            body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(30, 200))) + f" item{n}"
            sender = rng.choice(SENDERS)
            search = SearchText(from_=sender, to=USER, subject=subject, headers=f"Subject: {subject}", body=body)
            sha = hashlib.sha256(f"{base.sha256}/{n}".encode()).hexdigest()
            return dataclasses.replace(base, sha256=sha, subject=subject, preview=body[:200], from_=sender,
                                       message_id=f"<bench-{n}@example.org>", search=search)  # fmt: skip

        t0 = time.perf_counter()
        batch = 2000
        for start in range(0, count, batch):
            await asyncio.gather(
                *(
                    services.store.insert_messages(
                        derived(n),
                        [NewMessage(inbox.id, frozenset({"\\Seen"}) if n % 3 else frozenset(), 1.7e9 + n)],
                    )
                    for n in range(start, min(start + batch, count))
                )
            )
        t_insert = time.perf_counter() - t0
        print(f"fill: {distinct} distinct messages ingested in {t_ingest:.1f} s; {count} rows inserted in "
              f"{t_insert:.1f} s ({count / t_insert:.0f}/s)", flush=True)  # fmt: skip
    finally:
        await services.close()


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def report(label: str, times: list[float], target: float | None) -> None:
    med = statistics.median(times)
    goal = f"  target < {target:g} s: {'met' if med < target else 'MISSED'}" if target else ""
    print(f"{label:<34} median {med * 1000:9.1f} ms  (min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f})"
          f"{goal}", flush=True)  # fmt: skip


def measure(server: Server, count: int, repeat: int) -> None:
    logins: list[float] = []
    selects: list[float] = []
    both: list[float] = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        conn = imaplib.IMAP4("127.0.0.1", server.port)
        conn.login(USER, PASSWORD)
        t1 = time.perf_counter()
        typ, data = conn.select("INBOX")
        t2 = time.perf_counter()
        assert typ == "OK" and int(data[0] or 0) == count, f"SELECT answered {typ} {data}"
        conn.logout()
        logins.append(t1 - t0)
        selects.append(t2 - t1)
        both.append(t2 - t0)
    report("connect+LOGIN", logins, None)
    report("SELECT INBOX", selects, 1.0)
    report("connect+LOGIN+SELECT", both, None)

    conn = imaplib.IMAP4("127.0.0.1", server.port)
    conn.login(USER, PASSWORD)
    conn.select("INBOX")

    def fetch_flags() -> None:
        typ, data = conn.fetch("1:*", "(FLAGS)")
        assert typ == "OK" and len(data) == count, f"FETCH answered {typ}, {len(data)} items"

    hits: list[bytes] = []

    def search_rare() -> None:
        typ, data = conn.uid("SEARCH", "TEXT", RARE_WORD)
        assert typ == "OK", f"UID SEARCH answered {typ} {data}"
        hits[:] = (data[0] or b"").split()

    def search_common() -> None:
        typ, data = conn.uid("SEARCH", "TEXT", COMMON_WORD)
        assert typ == "OK", f"UID SEARCH answered {typ} {data}"
        hits[:] = (data[0] or b"").split()

    report("FETCH 1:* (FLAGS)", timed(fetch_flags, repeat), 2.0)
    report(f"UID SEARCH TEXT {RARE_WORD}", timed(search_rare, repeat), 0.5)
    print(f"  rare word found in {len(hits)} messages (expected {min(RARE_HITS, count)})", flush=True)
    report(f"UID SEARCH TEXT {COMMON_WORD}", timed(search_common, repeat), 0.5)
    print(f"  common word found in {len(hits)} messages (expected {count})", flush=True)
    conn.logout()

    # The same two commands over a bare socket: the server's time without imaplib's parsing.
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        raw_command(sock, b"", b"*")  # greeting
        raw_command(sock, f"r1 LOGIN {USER} {PASSWORD}\r\n".encode(), b"r1")
        raw_command(sock, b"r2 SELECT INBOX\r\n", b"r2")
        report(
            "  raw socket: FETCH 1:* (FLAGS)",
            timed(lambda: raw_command(sock, b"r3 FETCH 1:* (FLAGS)\r\n", b"r3"), repeat),
            2.0,
        )
        search = f"r4 UID SEARCH TEXT {RARE_WORD}\r\n".encode()
        report("  raw socket: UID SEARCH TEXT", timed(lambda: raw_command(sock, search, b"r4"), repeat), 0.5)
        common = f"r6 UID SEARCH TEXT {COMMON_WORD}\r\n".encode()
        report("  raw socket: UID SEARCH TEXT common", timed(lambda: raw_command(sock, common, b"r6"), repeat), 0.5)
        raw_command(sock, b"r5 LOGOUT\r\n", b"r5")


def raw_command(sock: socket.socket, line: bytes, tag: bytes) -> bytes:
    """Send one command line and read until its tagged answer (any first line for tag ``*``, the greeting)."""
    if line:
        sock.sendall(line)
    buf = bytearray()
    while True:
        data = sock.recv(1 << 20)
        if not data:
            raise ConnectionError("server closed the connection")
        buf += data
        if not buf.endswith(b"\r\n"):
            continue
        pos = buf.rfind(b"\r\n", 0, len(buf) - 2)
        last = bytes(buf[pos + 2 if pos >= 0 else 0 :])
        if tag == b"*" or last.startswith(tag + b" "):
            if tag != b"*" and not last.startswith(tag + b" OK"):
                raise RuntimeError(f"{line!r} answered {last!r}")
            return bytes(buf)


def wait_indexed(db: Path, deadline: float = 1800.0) -> None:
    """Search text is indexed after delivery by the idle writer (migration 0004); the
    figures below are for the steady state, so wait until nothing is pending."""
    t0 = time.perf_counter()
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        while (pending := conn.execute("SELECT count(*) FROM search_pending").fetchone()[0]) > 0:
            if time.perf_counter() - t0 > deadline:
                raise TimeoutError(f"{pending} messages still not indexed after {deadline:.0f} s")
            time.sleep(0.5)
    finally:
        conn.close()
    print(f"search index caught up {time.perf_counter() - t0:.1f} s after start", flush=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench.imap_100k", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--count", type=int, default=100_000, help="messages in INBOX (default 100000)")
    parser.add_argument("--distinct", type=int, default=3000, help="messages through the ingestion pipeline")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (median printed)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (printed)")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="postoffice-imap100k-"))
    try:
        port = free_port()
        config = write_postoffice_config(tmp, port)
        asyncio.run(fill(config, args.count, args.distinct))
        t0 = time.perf_counter()
        server = start_postoffice(tmp, config=config, port=port)
        print(f"postoffice serve listening on 127.0.0.1:{port} after {time.perf_counter() - t0:.1f} s", flush=True)
        try:
            wait_indexed(tmp / "data" / "postoffice.sqlite3")
            measure(server, args.count, args.repeat)
        finally:
            server.stop()
    finally:
        if args.keep:
            print(f"data kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
