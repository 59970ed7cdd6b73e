"""421 4.3.2 at shutdown (RFC 5321 §3.8).

A session waiting for a command is told 421 4.3.2 and closed at once; a session in the
middle of DATA or of a BDAT transaction may finish its message within the grace (its 250
means stored), then gets 421 4.3.2; one that does not finish in time gets 421 4.3.2 and
nothing of its message is kept. The last test runs ``postoffice serve`` and sends SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Self

import pytest

from postoffice import app
from postoffice.config import load_config
from postoffice.protocols.smtp import SMTPServer
from postoffice.testing import TranscriptServer
from postoffice.testing.serve import POSTOFFICE, free_port, start_serve
from postoffice.testing.smtp_client import DEADLINE, SMTPClient

pytestmark = pytest.mark.timeout(60)

MESSAGE = b"Subject: shutdown\r\n\r\nhello\r\n"


@pytest.fixture
async def srv() -> AsyncIterator[TranscriptServer]:
    async with TranscriptServer("smtp", users=["alice"], listeners=["smtp"]) as server:
        yield server


def smtp_server(srv: TranscriptServer) -> SMTPServer:
    server = srv.listener("smtp").server
    assert isinstance(server, SMTPServer)
    return server


class Client(SMTPClient):
    @classmethod
    async def open(cls, port: int, *, ehlo: bool = True) -> Self:
        return await super().open(port, ehlo=ehlo)


async def test_idle_sessions_get_421_and_close(srv: TranscriptServer) -> None:
    clients = [await Client.open(srv.port("smtp")) for _ in range(3)]
    assert (await clients[1].send(b"MAIL FROM:<a@remote.test>\r\n"))[0] == 250  # in a transaction: still idle
    await asyncio.wait_for(smtp_server(srv).shutdown(), DEADLINE)
    for client in clients:
        assert await client.reply() == (421, "4.3.2")
        assert await client.closed()
        client.close()
    assert await srv.count_messages("alice", "INBOX") == 0


async def test_data_in_progress_finishes_then_421(srv: TranscriptServer) -> None:
    client = await Client.open(srv.port("smtp"))
    assert (await client.send(b"MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\n"))[0] == 250
    assert (await client.reply())[0] == 250
    assert (await client.send(b"DATA\r\n"))[0] == 354
    client.writer.write(MESSAGE[:10])
    await client.writer.drain()
    shutdown = asyncio.create_task(smtp_server(srv).shutdown(grace=DEADLINE))
    await asyncio.sleep(0)  # the shutdown has begun: the session is in DATA
    assert (await client.send(MESSAGE[10:] + b".\r\n"))[0] == 250  # acknowledged: stored
    assert await client.reply() == (421, "4.3.2")
    assert await client.closed()
    client.close()
    await asyncio.wait_for(shutdown, DEADLINE)
    assert await srv.count_messages("alice", "INBOX") == 1


async def test_bdat_transaction_finishes_then_421(srv: TranscriptServer) -> None:
    client = await Client.open(srv.port("smtp"))
    assert (await client.send(b"MAIL FROM:<a@remote.test>\r\n"))[0] == 250
    assert (await client.send(b"RCPT TO:<alice@example.test>\r\n"))[0] == 250
    assert (await client.send(b"BDAT 10\r\n" + MESSAGE[:10]))[0] == 250
    shutdown = asyncio.create_task(smtp_server(srv).shutdown(grace=DEADLINE))
    await asyncio.sleep(0)
    rest = MESSAGE[10:]
    assert (await client.send(f"BDAT {len(rest)} LAST\r\n".encode() + rest))[0] == 250
    assert await client.reply() == (421, "4.3.2")
    assert await client.closed()
    client.close()
    await asyncio.wait_for(shutdown, DEADLINE)
    assert await srv.count_messages("alice", "INBOX") == 1


async def test_unfinished_message_past_the_grace_gets_421_and_is_not_kept(srv: TranscriptServer) -> None:
    client = await Client.open(srv.port("smtp"))
    assert (await client.send(b"MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\n"))[0] == 250
    assert (await client.reply())[0] == 250
    assert (await client.send(b"DATA\r\n"))[0] == 354
    client.writer.write(MESSAGE[:10])  # and nothing more
    await client.writer.drain()
    await asyncio.wait_for(smtp_server(srv).shutdown(grace=0.2), DEADLINE)
    assert await client.reply() == (421, "4.3.2")
    assert await client.closed()
    client.close()
    assert await srv.count_messages("alice", "INBOX") == 0
    assert not list(srv.config.spool_dir.glob("*"))  # no spool file left behind


@pytest.mark.skipif(not POSTOFFICE.exists(), reason="the postoffice console script is not installed in the venv")
async def test_serve_sigterm_sends_421_to_connected_clients(tmp_path: Path) -> None:
    port = free_port()
    config_file = tmp_path / "postoffice.toml"
    config_file.write_text(
        f'data_dir = "{tmp_path / "data"}"\ndomains = ["example.test"]\n[listen]\nsmtp = "127.0.0.1:{port}"\n'
    )
    async with app.services(load_config(config_file)) as s:
        await s.mail.add_user("alice@example.test", "password")
    process = await start_serve(config_file, port, deadline=DEADLINE)
    try:
        client = await Client.open(port)
        process.send_signal(signal.SIGTERM)
        assert await client.reply() == (421, "4.3.2")
        assert await client.closed()
        client.close()
        assert await asyncio.wait_for(process.wait(), DEADLINE) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
