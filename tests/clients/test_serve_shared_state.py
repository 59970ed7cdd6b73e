"""Two ``postoffice serve`` processes on ONE data directory, on different ports: what one
process knows about clients, the other knows too (``store.shared``).

- Failed logins against process A lengthen the failure delay of a login on process B.
- Connections to A count toward the per-address connection limit on B: the
  over-limit connection to B is refused, and accepted again once one to A has closed.
- IMAP sessions per user are counted over both processes.
- The webmail's connections per address are counted over both processes too, so
  ``[server] processes = 2`` cannot double what one address may hold open.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from postoffice import app
from postoffice.config import load_config

POSTOFFICE = Path(sys.executable).parent / "postoffice"
DEADLINE = 30.0
FAILURE_DELAY = 0.25  # [auth] failure_delay of both processes

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(not POSTOFFICE.exists(), reason="the postoffice console script is not installed in the venv"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Serve:
    """``postoffice serve`` with a config of its own (own ports) on a shared data dir."""

    def __init__(self, process: asyncio.subprocess.Process, imap: int, http: int) -> None:
        self.process = process
        self.imap = imap
        self.http = http

    @classmethod
    async def start(cls, tmp_path: Path, name: str, data_dir: Path) -> Serve:
        imap, http = free_port(), free_port()
        config = tmp_path / f"{name}.toml"
        config.write_text(
            f'data_dir = "{data_dir}"\ndomains = ["example.test"]\n'
            f'[listen]\nimap = "127.0.0.1:{imap}"\nhttp = "127.0.0.1:{http}"\n'
            "[limits.http]\nmax_connections_per_ip = 2\n"
            f"[auth]\nfailure_delay = {FAILURE_DELAY}\nfailure_delay_max = 60\nfailure_window = 600\n"
            "[limits.imap]\nmax_connections_per_ip = 2\nmax_connections_per_user = 1\n"
        )
        log = (tmp_path / f"{name}.log").open("wb")
        process = await asyncio.create_subprocess_exec(
            str(POSTOFFICE), "--config", str(config), "serve", stdout=asyncio.subprocess.PIPE, stderr=log
        )
        serve = cls(process, imap, http)
        assert process.stdout is not None
        end = time.monotonic() + DEADLINE
        # Every listener is up once the webmail's URL is printed (after the "listening on" lines).
        while b"Webmail URL" not in await asyncio.wait_for(process.stdout.readline(), end - time.monotonic()):
            pass
        return serve

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), DEADLINE)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


@pytest.fixture
async def two(tmp_path: Path) -> AsyncIterator[tuple[Serve, Serve]]:
    data_dir = tmp_path / "data"
    config_file = tmp_path / "setup.toml"
    config_file.write_text(f'data_dir = "{data_dir}"\ndomains = ["example.test"]\n')
    async with app.services(load_config(config_file)) as s:
        await s.mail.add_user("alice@example.test", "secret-pw")
    a = await Serve.start(tmp_path, "a", data_dir)
    try:
        b = await Serve.start(tmp_path, "b", data_dir)
        try:
            yield a, b
        finally:
            await b.stop()
    finally:
        await a.stop()


class IMAP:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, greeting: bytes) -> None:
        self.reader, self.writer, self.greeting = reader, writer, greeting

    @classmethod
    async def connect(cls, port: int) -> IMAP:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer, await asyncio.wait_for(reader.readline(), DEADLINE))

    async def command(self, tag: str, text: str) -> bytes:
        """The tagged answer of one command."""
        self.writer.write(f"{tag} {text}\r\n".encode())
        while True:
            line = await asyncio.wait_for(self.reader.readline(), DEADLINE)
            assert line, "the server closed the connection"
            if line.startswith(tag.encode() + b" "):
                return line

    async def closed(self) -> bool:
        return await asyncio.wait_for(self.reader.read(), DEADLINE) == b""

    def close(self) -> None:
        self.writer.close()


async def test_failed_logins_on_one_process_lengthen_the_delay_on_the_other(two: tuple[Serve, Serve]) -> None:
    a, b = two
    client = await IMAP.connect(a.imap)
    for n in range(2):  # each waits its own delay: FAILURE_DELAY, then twice that
        assert (await client.command(f"a{n}", "LOGIN alice@example.test wrong")).split()[1:3] == [
            b"NO",
            b"[AUTHENTICATIONFAILED]",
        ]
    client.close()
    other = await IMAP.connect(b.imap)
    try:
        started = time.monotonic()
        answer = await other.command("b1", "LOGIN alice@example.test wrong")
        waited = time.monotonic() - started
        assert answer.split()[1:3] == [b"NO", b"[AUTHENTICATIONFAILED]"]
        # The third failure from this address: 4 x FAILURE_DELAY, where a process that
        # knew only its own failures would wait FAILURE_DELAY. A sleep never ends early,
        # so this lower bound holds however slow the machine is.
        assert waited >= 4 * FAILURE_DELAY
        # A right password still logs in at once (no delay on success).
        assert (await other.command("b2", "LOGIN alice@example.test secret-pw")).split()[1] == b"OK"
    finally:
        other.close()


async def test_connections_to_one_process_count_toward_the_limit_on_the_other(two: tuple[Serve, Serve]) -> None:
    a, b = two
    held = [await IMAP.connect(a.imap) for _ in range(2)]  # max_connections_per_ip = 2
    try:
        assert all(c.greeting.startswith(b"* OK") for c in held)
        refused = await IMAP.connect(b.imap)
        assert refused.greeting.startswith(b"* BYE [LIMIT]")
        assert await refused.closed()
        refused.close()
        # One connection to A ends: B accepts again (the slot is given back at once).
        assert (await held[0].command("z", "LOGOUT")).split()[1] == b"OK"
        held[0].close()
        end = time.monotonic() + DEADLINE
        while True:
            again = await IMAP.connect(b.imap)
            if again.greeting.startswith(b"* OK"):
                held.append(again)
                break
            again.close()
            assert time.monotonic() < end, "B never accepted again"
            await asyncio.sleep(0.05)
    finally:
        for c in held:
            c.close()


async def test_sessions_per_user_are_counted_over_both_processes(two: tuple[Serve, Serve]) -> None:
    a, b = two
    first = await IMAP.connect(a.imap)
    second = await IMAP.connect(b.imap)
    try:
        assert (await first.command("a1", "LOGIN alice@example.test secret-pw")).split()[1] == b"OK"
        # max_connections_per_user = 1: the session on A counts on B.
        assert (await second.command("b1", "LOGIN alice@example.test secret-pw")).split()[1:3] == [b"NO", b"[LIMIT]"]
        assert (await first.command("a2", "LOGOUT")).split()[1] == b"OK"
        assert await first.closed()
        end = time.monotonic() + DEADLINE
        tag = 2
        while (answer := await second.command(f"b{tag}", "LOGIN alice@example.test secret-pw")).split()[1] != b"OK":
            assert answer.split()[1:3] == [b"NO", b"[LIMIT]"]
            assert time.monotonic() < end, "the user's slot was never given back"
            tag += 1
            await asyncio.sleep(0.05)
    finally:
        first.close()
        second.close()


async def http_get(port: int) -> tuple[bytes, asyncio.StreamWriter]:
    """One GET on a new connection, kept open: the status line, or b"" when the server
    closed the connection without answering."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /login HTTP/1.1\r\nHost: mail.example.test\r\n\r\n")
    return await asyncio.wait_for(reader.readline(), DEADLINE), writer


async def test_web_connections_to_one_process_count_toward_the_limit_on_the_other(two: tuple[Serve, Serve]) -> None:
    a, b = two
    held = [await http_get(a.http) for _ in range(2)]  # [limits.http] max_connections_per_ip = 2
    try:
        assert all(status.startswith(b"HTTP/1.1 200") for status, _ in held)
        status, refused = await http_get(b.http)
        assert status == b""  # closed without an answer: A's two connections count on B
        refused.close()
        # One connection to A ends: B answers again once the slot is given back.
        held[0][1].close()
        end = time.monotonic() + DEADLINE
        while True:
            status, again = await http_get(b.http)
            if status:
                assert status.startswith(b"HTTP/1.1 200")
                held.append((status, again))
                break
            again.close()
            assert time.monotonic() < end, "B never accepted again"
            await asyncio.sleep(0.05)
    finally:
        for _, writer in held:
            writer.close()
