"""The server's timeouts under ``[limits.smtp]`` (server side of RFC 5321 §4.5.3.2), each at
its edge: a client idle longer than the limit at the point the key governs gets
421 4.4.2 and the close; one that sends within it is served; idling as long at a point
another key governs (set large) is served too, so each key governs only its own wait.

The server's timeouts run on the event loop's real clock, so the limit under test is
small (``SHORT``) and the others large (``LONG``); "idle longer" is a wait for the 421
with a generous deadline, and "idle elsewhere" is ``IDLE`` = 3 x ``SHORT``.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from postoffice.testing import TranscriptServer
from postoffice.testing.smtp_client import SMTPClient

pytestmark = pytest.mark.timeout(60)

SHORT = 0.4  # seconds: the limit under test
LONG = 30.0  # seconds: every other limit
IDLE = 3 * SHORT  # a client idle at a point the limit under test does not govern
DEADLINE = 20.0
KEYS = ("timeout_initial", "timeout_server", "timeout_data_init", "timeout_data_block")
MESSAGE = b"Subject: timeouts\r\n\r\nhello\r\n"

OpenServer = Callable[[str], Awaitable[TranscriptServer]]  # the key set to SHORT -> a running server


@pytest.fixture
async def open_server() -> AsyncIterator[OpenServer]:
    opened: list[TranscriptServer] = []

    async def open_one(short_key: str) -> TranscriptServer:
        overrides: dict[str, object] = {f"limits.smtp.{key}": (SHORT if key == short_key else LONG) for key in KEYS}
        server = TranscriptServer("smtp", users=["alice"], listeners=["smtp", "submission"], config_overrides=overrides)
        opened.append(await server.__aenter__())
        return server

    yield open_one
    for server in opened:
        await server.aclose()


class Client(SMTPClient):
    async def timed_out(self) -> bool:
        """The 421 4.4.2, then the end of the stream."""
        assert await self.reply() == (421, "4.4.2")
        return await self.closed()

    async def transaction(self) -> None:
        assert (await self.send(b"MAIL FROM:<a@remote.test>\r\n"))[0] == 250
        assert (await self.send(b"RCPT TO:<alice@example.test>\r\n"))[0] == 250


# ---- timeout_initial: the first command after the greeting -------------------------------------


async def test_timeout_initial(open_server: OpenServer) -> None:
    srv = await open_server("timeout_initial")
    silent = await Client.open(srv.port("smtp"))
    assert await silent.timed_out()
    prompt = await Client.open(srv.port("smtp"))
    assert (await prompt.send(b"EHLO client.example.test\r\n"))[0] == 250
    await asyncio.sleep(IDLE)  # later commands are timeout_server's (LONG)
    assert (await prompt.send(b"NOOP\r\n"))[0] == 250
    for client in (silent, prompt):
        client.close()


# ---- timeout_server: every later command, and AUTH lines (RFC 5321 §4.5.3.2.7) -----------------


async def test_timeout_server(open_server: OpenServer) -> None:
    srv = await open_server("timeout_server")
    client = await Client.open(srv.port("smtp"))
    await asyncio.sleep(IDLE)  # the first command is timeout_initial's (LONG)
    assert (await client.send(b"EHLO client.example.test\r\n"))[0] == 250
    for _ in range(3):  # commands sent within the limit are served
        assert (await client.send(b"NOOP\r\n"))[0] == 250
    assert await client.timed_out()
    client.close()


async def test_timeout_server_in_auth(open_server: OpenServer) -> None:
    srv = await open_server("timeout_server")
    client = await Client.open(srv.port("submission"))
    assert (await client.send(b"EHLO client.example.test\r\n"))[0] == 250
    assert (await client.send(b"AUTH LOGIN\r\n"))[0] == 334
    assert (await client.send(base64.b64encode(b"alice@example.test") + b"\r\n"))[0] == 334
    assert await client.timed_out()  # no password line
    client.close()


# ---- timeout_data_init: the first octets after 354 --------------------------------------------


async def test_timeout_data_init(open_server: OpenServer) -> None:
    srv = await open_server("timeout_data_init")
    silent = await Client.open(srv.port("smtp"))
    assert (await silent.send(b"EHLO client.example.test\r\n"))[0] == 250
    await silent.transaction()
    assert (await silent.send(b"DATA\r\n"))[0] == 354
    assert await silent.timed_out()
    assert await srv.count_messages("alice", "INBOX") == 0

    prompt = await Client.open(srv.port("smtp"))
    assert (await prompt.send(b"EHLO client.example.test\r\n"))[0] == 250
    await prompt.transaction()
    assert (await prompt.send(b"DATA\r\n"))[0] == 354
    await prompt.write(MESSAGE[:10])
    await asyncio.sleep(IDLE)  # later data blocks are timeout_data_block's (LONG)
    assert (await prompt.send(MESSAGE[10:] + b".\r\n"))[0] == 250
    assert await srv.count_messages("alice", "INBOX") == 1
    for client in (silent, prompt):
        client.close()


# ---- timeout_data_block: each further read of DATA / BDAT octets ------------------------------


async def test_timeout_data_block_in_data(open_server: OpenServer) -> None:
    srv = await open_server("timeout_data_block")
    client = await Client.open(srv.port("smtp"))
    assert (await client.send(b"EHLO client.example.test\r\n"))[0] == 250
    await client.transaction()
    assert (await client.send(b"DATA\r\n"))[0] == 354
    await asyncio.sleep(IDLE)  # the first octets are timeout_data_init's (LONG)
    assert (await client.send(MESSAGE + b".\r\n"))[0] == 250  # streamed within the limit: served
    await client.transaction()
    assert (await client.send(b"DATA\r\n"))[0] == 354
    await client.write(MESSAGE[:10])  # then nothing
    assert await client.timed_out()
    assert await srv.count_messages("alice", "INBOX") == 1  # the first message only
    client.close()


async def test_timeout_data_block_in_bdat(open_server: OpenServer) -> None:
    srv = await open_server("timeout_data_block")
    client = await Client.open(srv.port("smtp"))
    assert (await client.send(b"EHLO client.example.test\r\n"))[0] == 250
    await client.transaction()
    assert (await client.send(f"BDAT {len(MESSAGE)} LAST\r\n".encode() + MESSAGE))[0] == 250
    await client.transaction()
    await client.write(b"BDAT 100 LAST\r\n" + MESSAGE[:10])  # 90 octets short
    assert await client.timed_out()
    assert await srv.count_messages("alice", "INBOX") == 1
    client.close()
