"""SIGKILL the SMTP server at random points while 200 messages are sent: every message that
got its 250 is in the mailbox exactly once afterwards, and no message is there twice
(docs/architecture.md §6: nothing acknowledged is lost, nothing is duplicated).

The server runs as ``postoffice --config X serve`` (only the ``smtp`` listener) in a
subprocess; a killer task kills and restarts it at seeded random moments while the
client sends one message per transaction, each with its own Message-ID. A message whose
connection broke before its reply is not acknowledged: it may be stored or not, once.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
from collections import Counter
from pathlib import Path

import pytest

from postoffice import app
from postoffice.config import load_config
from postoffice.testing.serve import POSTOFFICE, free_port, start_serve

MESSAGES = 200
KILLS = 6

pytestmark = [
    pytest.mark.timeout(90),
    pytest.mark.skipif(not POSTOFFICE.exists(), reason="the postoffice console script is not installed in the venv"),
]


class Broken(Exception):
    pass


async def reply(reader: asyncio.StreamReader) -> int:
    while True:
        line = await asyncio.wait_for(reader.readline(), 20)
        if not line:
            raise Broken
        if line[3:4] != b"-":
            return int(line[:3])


async def test_acknowledged_messages_survive_sigkill_exactly_once(tmp_path: Path) -> None:
    rng = random.Random(5321)
    port = free_port()
    config_file = tmp_path / "postoffice.toml"
    config_file.write_text(
        f'data_dir = "{tmp_path / "data"}"\ndomains = ["example.test"]\n[listen]\nsmtp = "127.0.0.1:{port}"\n'
    )
    config = load_config(config_file)
    async with app.services(config) as s:
        await s.mail.add_user("alice@example.test", "password")

    process = await start_serve(config_file, port)
    acked: list[int] = []
    done = asyncio.Event()

    async def killer() -> None:
        nonlocal process
        for _ in range(KILLS):
            await asyncio.sleep(rng.uniform(0.05, 0.5))
            if done.is_set():
                return
            os.kill(process.pid, signal.SIGKILL)
            await process.wait()
            process = await start_serve(config_file, port)

    async def sender() -> None:
        n = 0
        conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        while n < MESSAGES:
            try:
                if conn is None:
                    try:
                        conn = await asyncio.open_connection("127.0.0.1", port)
                    except OSError:
                        await asyncio.sleep(0.02)
                        continue
                    reader, writer = conn
                    if await reply(reader) != 220:
                        raise Broken
                    writer.write(b"EHLO client.example.test\r\n")
                    if await reply(reader) != 250:
                        raise Broken
                reader, writer = conn
                writer.write(b"MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n")
                codes = [await reply(reader) for _ in range(3)]
                if codes != [250, 250, 354]:
                    raise Broken
                body = f"Message-ID: <m{n}@crash.test>\r\nSubject: m{n}\r\n\r\n" + f"line {n}\r\n" * rng.randint(
                    1, 2000
                )
                writer.write(body.encode() + b".\r\n")
                sent, n = n, n + 1  # a message whose DATA was sent is not sent again
                if await reply(reader) == 250:
                    acked.append(sent)
            except (Broken, OSError, asyncio.IncompleteReadError, ValueError):
                if conn is not None:
                    conn[1].close()
                conn = None
        done.set()
        if conn is not None:
            conn[1].close()

    try:
        await asyncio.gather(sender(), killer())
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    async with app.services(config) as s:
        account = await s.mail.get_account("alice@example.test")
        assert account is not None
        box = await s.mail.get_mailbox(account, "INBOX")
        stored: Counter[int] = Counter()
        for record in await s.mail.list_messages(box):
            content = await s.mail.read(await s.mail.get_content(record.content_id), 0, 4096)
            m = re.search(rb"Message-ID: <m(\d+)@crash.test>", content)
            assert m is not None
            stored[int(m.group(1))] += 1
    assert len(acked) > MESSAGES // 2, len(acked)  # the kills did not stop the whole run
    assert all(stored[n] == 1 for n in acked), [n for n in acked if stored[n] != 1]
    assert all(count == 1 for count in stored.values()), stored.most_common(3)
