"""Micro-benchmark: the store's write path for one delivered small message.

Run: ``.venv/bin/python bench/store_insert.py [--messages 2000] [--tasks 10] [--runs 3]
[--body prose|xs] [--setup "SQL; SQL"]``.

Builds N distinct 4 KiB messages through the real ingestion code (``ingest_bytes``,
outside the timed part), then has ``--tasks`` concurrent tasks deliver them to one
mailbox with ``SQLiteStore.insert_messages`` (what SMTP DATA does per message, group
commit included). Prints per run and as the median of ``--runs`` fresh databases:

- messages/s (wall clock),
- CPU ms per message: the whole process, and the writer thread alone,
- pages written per message: bytes passed to write()/pwrite() (``/proc/self/io``
  wchar: WAL frames plus checkpoint copies) divided by the page size,
- write and read system calls per message (syscw, syscr), commits per message,
- with deferred search indexing (migration 0004): the writer CPU ms per message
  once the index has caught up (``total``: timed part plus draining the backlog).

``--body xs`` makes the body the shape ``smtp-source -l 4096`` sends (lines of X, what
bench/smtp_postfix.py measures); ``prose`` (the default) is varied text, as real mail.
``--setup`` runs SQL statements on the writer connection before the timed part, to try
a variant (a pragma, another search table definition) without editing the store.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from postoffice.config import MessageLimits  # noqa: E402
from postoffice.mail.ingest import ingest_bytes  # noqa: E402
from postoffice.store.api import Credentials, NewContent, NewMessage  # noqa: E402
from postoffice.store.memory import MemoryBlobStore  # noqa: E402
from postoffice.store.sqlite import SQLiteStore  # noqa: E402

CREDS = Credentials("x", b"salt", 4096, b"k" * 32, b"s" * 32)
MESSAGE_SIZE = 4096


def _vocabulary(rng: random.Random, count: int = 3000) -> list[str]:
    letters = "etaoinshrdlucmfwypvbgkjqxz"
    weights = [12, 9, 8, 7, 7, 6, 6, 6, 4, 4, 3, 3, 3, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1]
    return ["".join(rng.choices(letters, weights, k=rng.randint(2, 10))) for _ in range(count)]


def _body(rng: random.Random, kind: str, words: list[str], size: int) -> bytes:
    lines: list[str] = []
    total = 0
    n = 0
    while total < size:
        n += 1
        if kind == "xs":  # smtp-source: "<n>XXXX..." lines of 79 octets
            line = (str(n) + "X" * 79)[:79]
        else:
            picked = rng.choices(words, k=12)
            line = " ".join(picked).capitalize() + "."
        lines.append(line)
        total += len(line) + 2
    return ("\r\n".join(lines) + "\r\n").encode()


def build_messages(count: int, kind: str, seed: int = 7) -> list[NewContent]:
    """``count`` distinct contents of ~4 KiB, made by the real ingestion code."""
    rng = random.Random(seed)
    words = _vocabulary(rng)
    blobs = MemoryBlobStore()
    limits = MessageLimits()
    out: list[NewContent] = []
    with tempfile.TemporaryDirectory() as spool:
        for n in range(count):
            subject = " ".join(rng.choices(words, k=5))
            head = (
                "Return-Path: <sender@remote.test>\r\n"
                f"Received: from client.remote.test (client.remote.test [127.0.0.1])\r\n"
                f"\tby mail.example.test with ESMTP id {n:08x}\r\n"
                "\tfor <pobench@example.test>; Fri, 27 Nov 2026 21:24:54 +0000\r\n"
                f"From: Sender {n % 97} <sender{n % 97}@remote.test>\r\n"
                "To: Bench <pobench@example.test>\r\n"
                f"Subject: {subject}\r\n"
                "Date: Fri, 27 Nov 2026 21:24:54 +0000\r\n"
                f"Message-Id: <{n}.{seed}@remote.test>\r\n"
                "MIME-Version: 1.0\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n"
                "\r\n"
            ).encode()
            data = head + _body(rng, kind, words, MESSAGE_SIZE - len(head))
            out.append(ingest_bytes(data, blobs, limits, Path(spool)).content)
    return out


def _proc_io() -> dict[str, int]:
    with open("/proc/self/io") as f:
        return {k: int(v) for k, v in (line.split(": ") for line in f)}


@dataclass
class Result:
    rate: float  # messages/s
    cpu_ms: float  # process CPU per message
    writer_ms: float  # writer thread CPU per message
    pages: float  # pages written per message
    syscw: float
    syscr: float
    commits: float
    total_ms: float  # writer CPU per message, including indexing the backlog left


async def one_run(contents: list[NewContent], tasks: int, warmup: int, setup: list[str], path: Path) -> Result:
    store = await SQLiteStore.open(path)
    try:
        account = await store.add_account("pobench@example.test", CREDS)
        inbox = await store.create_mailbox(account.id, "INBOX")
        for sql in setup:
            await store.db.write(lambda conn, sql=sql: conn.execute(sql).fetchall())
        page_size = await store.db.read(lambda c: int(c.execute("PRAGMA page_size").fetchone()[0]))
        target = [NewMessage(inbox.id, internaldate=1.8e9)]

        async def deliver(items: list[NewContent]) -> None:
            for content in items:
                await store.insert_messages(content, target)

        async def burst(items: list[NewContent]) -> None:
            await asyncio.gather(*(deliver(items[i::tasks]) for i in range(tasks)))

        await burst(contents[:warmup])
        timed = contents[warmup:]
        writer = store.db._writer
        assert writer is not None and writer.ident is not None
        clock_id = time.pthread_getcpuclockid(writer.ident)
        io0, cpu0, wcpu0, commits0 = _proc_io(), time.process_time(), time.clock_gettime(clock_id), store.commit_count
        t0 = time.perf_counter()
        await burst(timed)
        wall = time.perf_counter() - t0
        io1, cpu1, wcpu1, commits1 = _proc_io(), time.process_time(), time.clock_gettime(clock_id), store.commit_count
        await drain(store)
        wcpu2 = time.clock_gettime(clock_id)
        n = len(timed)
        got = await store.get_mailbox_by_id(inbox.id)
        assert got is not None and got.messages == len(contents), got
        return Result(
            rate=n / wall,
            cpu_ms=(cpu1 - cpu0) * 1000 / n,
            writer_ms=(wcpu1 - wcpu0) * 1000 / n,
            pages=(io1["wchar"] - io0["wchar"]) / page_size / n,
            syscw=(io1["syscw"] - io0["syscw"]) / n,
            syscr=(io1["syscr"] - io0["syscr"]) / n,
            commits=(commits1 - commits0) / n,
            total_ms=(wcpu2 - wcpu0) * 1000 / n,
        )
    finally:
        await store.close()


async def drain(store: SQLiteStore) -> None:
    """Wait until the writer has indexed every pending search text (no-op before 0004)."""

    def pending(conn: sqlite3.Connection) -> int:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'search_pending'").fetchone() is None:
            return 0
        return int(conn.execute("SELECT count(*) FROM search_pending").fetchone()[0])

    await store.db.write(lambda _conn: None)  # wakes the writer
    while await store.db.read(pending):  # noqa: ASYNC110 - the state is in the database: poll it
        await asyncio.sleep(0.01)


def _line(label: str, r: Result) -> str:
    return (
        f"{label:>8}  {r.rate:8.0f} msg/s  cpu {r.cpu_ms:5.2f} ms/msg (writer {r.writer_ms:5.2f})"
        f"  {r.pages:6.1f} pages/msg  syscw {r.syscw:5.1f}  syscr {r.syscr:5.1f}  commits {r.commits:4.2f}/msg"
        f"  | writer incl. indexing {r.total_ms:5.2f} ms/msg"
    )


async def main_async(args: argparse.Namespace) -> None:
    warmup = args.warmup
    contents = build_messages(warmup + args.messages, args.body)
    setup = [s.strip() for s in args.setup.split(";") if s.strip()]
    results: list[Result] = []
    for run in range(args.runs):
        # Fresh sha256 per run is not needed: each run has its own database.
        with tempfile.TemporaryDirectory(dir=args.dir) as d:
            r = await one_run([replace(c) for c in contents], args.tasks, warmup, setup, Path(d) / "store.sqlite3")
        results.append(r)
        print(_line(f"run {run + 1}", r), flush=True)
    med = Result(*(statistics.median(getattr(r, f) for r in results) for f in Result.__dataclass_fields__))
    print(_line("median", med))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000, help="timed deliveries per run")
    parser.add_argument("--warmup", type=int, default=300, help="untimed deliveries first")
    parser.add_argument("--tasks", type=int, default=10, help="concurrent delivering tasks")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--body", choices=("prose", "xs"), default="prose")
    parser.add_argument("--setup", default="", help="SQL run on the writer connection first ('; '-separated)")
    parser.add_argument("--dir", default=None, help="where the temporary databases go (default: $TMPDIR)")
    args = parser.parse_args(argv)
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
