"""A SIGKILL during UPDATE leaves all or none of the marked messages deleted.

The server runs as ``postoffice --config X serve`` in a subprocess; the test marks every
message, sends QUIT and kills the server at once (at a few delays), then reopens the
store: the INBOX holds either every message or none (one store transaction).
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from postoffice import app
from postoffice.config import load_config
from postoffice.testing.serve import POSTOFFICE, free_port, start_serve

MESSAGES = 30


@pytest.mark.skipif(not POSTOFFICE.exists(), reason="the postoffice console script is not installed in the venv")
@pytest.mark.parametrize("delay", [0.0, 0.002, 0.02])
async def test_sigkill_during_update_is_all_or_none(tmp_path: Path, delay: float) -> None:
    port = free_port()
    config_file = tmp_path / "postoffice.toml"
    config_file.write_text(
        f'data_dir = "{tmp_path / "data"}"\ndomains = ["example.test"]\n[listen]\npop3 = "127.0.0.1:{port}"\n'
    )
    config = load_config(config_file)
    async with app.services(config) as s:
        await s.mail.add_user("alice@example.test", "password")
        for i in range(MESSAGES):
            await s.mail.deliver(f"Subject: m{i}\r\n\r\nbody {i}\r\n".encode(), ["alice@example.test"])
    process = await start_serve(config_file, port)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await reader.readline()
        commands = b"USER alice@example.test\r\nPASS password\r\n" + b"".join(
            b"DELE %d\r\n" % n for n in range(1, MESSAGES + 1)
        )
        writer.write(commands)
        for _ in range(2 + MESSAGES):
            assert (await asyncio.wait_for(reader.readline(), 30)).startswith(b"+OK")
        writer.write(b"QUIT\r\n")
        await writer.drain()
        if delay:
            await asyncio.sleep(delay)
        os.kill(process.pid, signal.SIGKILL)
        await process.wait()
        writer.close()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    async with app.services(config) as s:
        account = await s.mail.get_account("alice@example.test")
        assert account is not None
        box = await s.mail.get_mailbox(account, "INBOX")
        left = len(await s.mail.list_messages(box))
        assert left in (0, MESSAGES), left
        assert box.messages in (0, MESSAGES)
