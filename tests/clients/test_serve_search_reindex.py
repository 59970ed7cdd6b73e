"""``postoffice serve`` on a data directory whose search text was made by an older text
extraction (mail/ingest.py SEARCH_TEXT_VERSION): the server answers at once, and the
background worker makes the text again until IMAP SEARCH finds old mail as it finds new.
"""

from __future__ import annotations

import asyncio
import imaplib
import socket
import sys
import time
from pathlib import Path

import pytest

from postoffice import app
from postoffice.config import load_config
from postoffice.store.api import SearchText

POSTOFFICE = Path(sys.executable).parent / "postoffice"
DEADLINE = 30.0

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(not POSTOFFICE.exists(), reason="the postoffice console script is not installed in the venv"),
]

MESSAGE = b"From: ann@example.test\r\nSubject: parts list\r\n\r\nbefore the nul\x00after it comes the marimba\r\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_serve_makes_old_search_text_again_in_the_background(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    imap = _free_port()
    config = tmp_path / "postoffice.toml"
    config.write_text(f'data_dir = "{data_dir}"\ndomains = ["example.test"]\n[listen]\nimap = "127.0.0.1:{imap}"\n')
    async with app.services(load_config(config)) as s:
        account = await s.mail.add_user("alice@example.test", "secret-pw")
        for n in range(30):  # 30 old messages (30 contents): several batches of the worker
            await s.mail.deliver(MESSAGE + b"x" * n, ["alice@example.test"])
        box = await s.mail.get_mailbox(account, "INBOX")
        for rec in await s.mail.list_messages(box):  # as the old extraction stored it: cut at the NUL
            await s.mail.store.replace_search_text(rec.content_id, SearchText(subject="parts list", body="before the nul"))
    log = (tmp_path / "serve.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        str(POSTOFFICE), "--config", str(config), "serve", stdout=asyncio.subprocess.PIPE, stderr=log
    )
    try:
        assert process.stdout is not None
        end = time.monotonic() + DEADLINE
        while b"listening on" not in await asyncio.wait_for(process.stdout.readline(), end - time.monotonic()):
            pass

        def found_all() -> bool:
            c = imaplib.IMAP4("127.0.0.1", imap)
            try:
                c.login("alice@example.test", "secret-pw")
                c.select("INBOX", readonly=True)
                _, data = c.uid("SEARCH", "BODY", "marimba")
                return len(data[0].split()) == 30
            finally:
                c.logout()

        while not await asyncio.to_thread(found_all):
            assert time.monotonic() < end, "old mail was never found by its whole body"
            await asyncio.sleep(0.1)
        # the worker then finds nothing left, says so and stops
        while b"search text made again for 30 messages" not in (tmp_path / "serve.log").read_bytes():
            assert time.monotonic() < end, "the worker never reported its end"
            await asyncio.sleep(0.1)
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), DEADLINE)
