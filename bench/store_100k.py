"""Benchmark: the SQLite store with 100,000 messages in one mailbox.

Run: ``.venv/bin/python bench/store_100k.py [--messages N]``. Fills one mailbox in
bulk (directly through the writer, one transaction), then prints the median time of
``list_messages``, a rare-word ``search_text``, a common-word one, a 2-character
(scan) one, ``get_mailbox`` (counters), the store's figures (``store_totals``, what
``/metrics`` and ``status`` read, against the scan they replaced) and a group-committed
burst of inserts.
Targets (store brief): list_messages well under 1 s, rare-word search well under 0.5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from postoffice.store.api import Credentials, NewContent, NewMessage, SearchText  # noqa: E402
from postoffice.store.sqlite import SQLiteStore  # noqa: E402

WORDS = "meeting report invoice lunch project budget review update schedule travel team notes".split()


def fill(conn: sqlite3.Connection, mailbox_id: int, count: int) -> None:
    rng = random.Random(1)
    contents, search, messages = [], [], []
    for n in range(1, count + 1):
        subject = " ".join(rng.choice(WORDS) for _ in range(4)) + f" #{n}"
        body = " ".join(rng.choice(WORDS) for _ in range(60))
        if n == count // 2:
            body += " xylophonist"
        sha = hashlib.sha256(f"{n}".encode()).hexdigest()
        contents.append((n, sha, 2000 + n % 500, b"", "[]", "[]", body[:80], subject, "Ann <ann@example.test>",
                         "bob@example.test", 1.7e9 + n, f"<{n}@example.test>", "{}"))  # fmt: skip
        search.append((n, "Ann <ann@example.test>", "bob@example.test", "", "", subject, f"Subject: {subject}", body))
        flags = "\\Seen" if n % 3 else ""
        messages.append((mailbox_id, n, n, flags, n + 1, 1.7e9 + n, 0, 2000 + n % 500))
    conn.executemany(
        "INSERT INTO contents (id, sha256, size, layout, envelope, bodystructure, preview, subject, from_addr,"
        " to_addr, date, message_id, extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        contents,
    )
    # The text once in search_text, and indexed (migration 0004: nothing left pending).
    conn.executemany(
        "INSERT INTO search_text (id, from_addr, to_addr, cc, bcc, subject, headers, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        search,
    )
    conn.executemany(
        "INSERT INTO search (rowid, from_addr, to_addr, cc, bcc, subject, headers, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        search,
    )
    conn.executemany(
        "INSERT INTO messages (mailbox_id, uid, content_id, flags, modseq, internaldate, internaldate_tz, size)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        messages,
    )
    conn.execute(
        "UPDATE mailboxes SET uidnext = ?, highest_modseq = ?, messages = ?, unseen = ?, size = ? WHERE id = ?",
        (count + 1, count + 1, count, sum(1 for m in messages if not m[3]), sum(m[7] for m in messages), mailbox_id),
    )


async def timed(label: str, fn, repeat: int = 5) -> None:  # type: ignore[no-untyped-def]
    times = []
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = await fn()
        times.append(time.perf_counter() - t0)
    size = len(result) if isinstance(result, (list, set)) else "-"
    print(f"{label:<34} median {statistics.median(times) * 1000:8.1f} ms   (result size {size})", flush=True)


async def run(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = await SQLiteStore.open(Path(tmp) / "bench.sqlite3")
        creds = Credentials("x", b"s", 4096, b"k", b"k")
        account = await store.add_account("bench@example.test", creds)
        inbox = await store.create_mailbox(account.id, "INBOX")
        t0 = time.perf_counter()
        await store.db.write(lambda conn: fill(conn, inbox.id, count))
        print(f"fill {count} messages (one transaction)  {time.perf_counter() - t0:.1f} s", flush=True)

        await timed("list_messages", lambda: store.list_messages(inbox.id))
        await timed("search_text rare word (text)", lambda: store.search_text(inbox.id, "xylophonist", "text"))
        await timed("search_text common word (subject)", lambda: store.search_text(inbox.id, "budget", "subject"))
        await timed("search_text 2 chars (scan, body)", lambda: store.search_text(inbox.id, "zq", "body"))
        await timed("get_mailbox (counters)", lambda: store.get_mailbox_by_id(inbox.id), repeat=50)
        await timed("changes_since (last 10)", lambda: store.changes_since(inbox.id, count - 9))
        # The figures of /metrics and `status`: kept by triggers (migration 0013), against
        # the scan of every mailbox's messages they replaced.
        await timed("store_totals (figures, one row)", store.store_totals, repeat=50)

        async def scan() -> list[object]:
            return [r for box in await store.list_mailboxes(account.id) for r in await store.list_messages(box.id)]

        await timed("figures by scanning every message", scan)

        async def burst() -> list[object]:
            base = random.randrange(1 << 30)
            return await asyncio.gather(
                *(
                    store.insert_messages(
                        NewContent(hashlib.sha256(f"b{base}-{i}".encode()).hexdigest(), 100, b"", (), "[]", "[]",
                                   search=SearchText(body="burst")),  # fmt: skip
                        [NewMessage(inbox.id)],
                    )
                    for i in range(200)
                )
            )

        commits = store.commit_count
        await timed("200 concurrent insert_messages", burst, repeat=3)
        print(f"  commits for 600 inserts: {store.commit_count - commits}", flush=True)
        await store.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=100_000)
    args = parser.parse_args(argv)
    asyncio.run(run(args.messages))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
