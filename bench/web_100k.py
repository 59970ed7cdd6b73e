"""Benchmark: webmail server time on a folder of 100,000 messages.

Run: ``.venv/bin/python bench/web_100k.py [--messages N] [--requests N]``. Stores one
real message through the ingestion pipeline, copies its content row N times in bulk
(each copy its own subject and date, so the list shows N distinct messages), then
drives the ASGI app in-process (httpx, no socket) and prints p50/p99 of:
the first list page, a list page deep in the folder (keyset by UID), opening a
message, and the list grouped by conversation (the first grouping of the folder, then
pages from the grouping kept until the folder changes, and the regrouping after new mail). Roundcube is not measured here (not built: see the closing note of the work).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from postoffice import app  # noqa: E402
from postoffice.clock import ManualClock  # noqa: E402
from postoffice.mail.auth import fast_hasher  # noqa: E402
from postoffice.mail.web import WebMail  # noqa: E402
from postoffice.store.sqlite.web import SQLiteWebStore  # noqa: E402
from postoffice.testing.server import build_config  # noqa: E402
from postoffice.web.app import make_app  # noqa: E402

SAMPLE = (
    b"From: Ann Example <ann@example.test>\r\nTo: alice@example.test\r\nSubject: sample\r\n"
    b"Date: Tue, 14 Nov 2023 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    + b"A line of a reasonably ordinary message body, see https://example.org/.\r\n" * 40
)


def fill(conn, mailbox_id: int, template_id: int, count: int) -> None:  # type: ignore[no-untyped-def]
    row = conn.execute(
        "SELECT size, layout, envelope, bodystructure, preview, from_addr, to_addr, extra FROM contents WHERE id = ?",
        (template_id,),
    ).fetchone()
    size, layout, envelope, bodystructure, preview, from_addr, to_addr, extra = row
    first = int(conn.execute("SELECT MAX(id) FROM contents").fetchone()[0]) + 1
    contents, messages = [], []
    uid0 = int(conn.execute("SELECT uidnext FROM mailboxes WHERE id = ?", (mailbox_id,)).fetchone()[0])
    for n in range(count):
        cid = first + n
        contents.append((cid, f"{cid:064x}", size, layout, envelope, bodystructure, preview, f"message number {n}",
                         from_addr, to_addr, 1.7e9 + n, f"<{n}@bench.test>", extra))  # fmt: skip
        messages.append((mailbox_id, uid0 + n, cid, "\\Seen" if n % 3 else "", uid0 + n, 1.7e9 + n, 0, size))
    conn.executemany(
        "INSERT INTO contents (id, sha256, size, layout, envelope, bodystructure, preview, subject, from_addr,"
        " to_addr, date, message_id, extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        contents,
    )
    # The conversation keys ingestion stores (mail.conversations.thread_keys): own Message-ID, nothing named.
    conn.executemany("INSERT INTO thread_keys (content_id, keys) VALUES (?, ?)", [(c[0], c[11]) for c in contents])
    conn.executemany(
        "INSERT INTO messages (mailbox_id, uid, content_id, flags, modseq, internaldate, internaldate_tz, size)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        messages,
    )
    conn.execute(
        "UPDATE mailboxes SET uidnext = ?, highest_modseq = ?, messages = messages + ?, unseen = unseen + ?,"
        " size = size + ? WHERE id = ?",
        (uid0 + count, uid0 + count, count, sum(1 for m in messages if not m[3]), size * count, mailbox_id),
    )


async def measure(label: str, client: httpx.AsyncClient, paths: list[str]) -> None:
    times = []
    for path in paths:
        t0 = time.perf_counter()
        response = await client.get(path)
        times.append(time.perf_counter() - t0)
        assert response.status_code == 200, (path, response.status_code)
    times.sort()
    p50 = statistics.median(times) * 1000
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))] * 1000
    print(f"{label:<34} p50 {p50:7.1f} ms   p99 {p99:7.1f} ms   ({len(times)} requests)", flush=True)


async def run(count: int, requests: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = build_config(Path(tmp) / "data")
        s = await app.open_services(config, clock=ManualClock())
        try:
            s.mail.auth.hasher = fast_hasher()
            account = await s.mail.add_user("alice@example.test", "bench-pw")
            result = await s.mail.deliver(SAMPLE, ["alice@example.test"])
            inbox = await s.mail.get_mailbox(account, "INBOX")
            t0 = time.perf_counter()
            await s.store.db.write(lambda conn: fill(conn, inbox.id, result.records[0].content_id, count))  # type: ignore[attr-defined]
            print(f"filled {count} messages in {time.perf_counter() - t0:.1f} s", flush=True)
            roles = SQLiteWebStore(s.store.db)  # type: ignore[attr-defined]
            web = make_app(WebMail(s.mail, roles, roles))
            transport = httpx.ASGITransport(app=web, client=("127.0.0.1", 1))
            async with httpx.AsyncClient(transport=transport, base_url="http://bench.test") as c:
                page = await c.get("/login")
                csrf = re.search(r'name="csrf" value="([^"]*)"', page.text)
                assert csrf
                await c.post("/login", data={"csrf": csrf.group(1), "address": "alice@example.test", "password": "bench-pw"})
                top = count + 1
                await measure("list: first page", c, ["/folder/INBOX"] * requests)
                await measure("list: page deep in the folder", c, [f"/folder/INBOX?before={top // 2 - n}" for n in range(requests)])
                await measure("open a message", c, [f"/message/{top - 1 - n}?folder=INBOX" for n in range(requests)])
                # Conversations over the whole folder: the first request groups all of it
                # (links read from the store), the next ones reuse it until the folder changes.
                await measure("conversations: first grouping", c, ["/folder/INBOX?threads=1"])
                await measure("conversations: first page", c, ["/folder/INBOX?threads=1"] * requests)
                await measure(
                    "conversations: page deep", c, [f"/folder/INBOX?threads=1&before={top // 2 - n}" for n in range(requests)]
                )
                await s.mail.deliver(SAMPLE, ["alice@example.test"])
                await measure("conversations: after new mail", c, ["/folder/INBOX?threads=1"])
        finally:
            await s.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args(argv)
    asyncio.run(run(args.messages, args.requests))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
