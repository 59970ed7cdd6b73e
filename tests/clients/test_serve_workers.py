"""``serve`` with several processes (``[server] processes``): what a user sees.

- A message delivered by a worker process wakes an IMAP IDLE session of the main process,
  and reaches a NOTIFY session of the main between commands (RFC 5465).
- Concurrent deliveries over several processes: every 250'd message is stored exactly once.
- SIGKILL of the main takes its workers with it: the port then refuses, and a new
  ``serve`` binds it and delivers.
- SIGTERM: idle SMTP sessions of every process get 421 4.3.2, messages in DATA finish
  with 250, every process exits, the main with status 0.
- A worker that dies is restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import smtplib
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from postoffice import app
from postoffice.config import Config, load_config
from postoffice.testing.serve import POSTOFFICE, free_port
from postoffice.workers import WorkerPool

DEADLINE = 30.0

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(not POSTOFFICE.exists(), reason="the postoffice console script is not installed in the venv"),
    pytest.mark.skipif(not hasattr(socket, "SO_REUSEPORT"), reason="SO_REUSEPORT is needed"),
]


def write_config(tmp_path: Path, processes: int, extra: str = "") -> tuple[Path, int, int]:
    smtp, imap = free_port(), free_port()
    path = tmp_path / "postoffice.toml"
    path.write_text(
        f'data_dir = "{tmp_path / "data"}"\ndomains = ["example.test"]\n'
        f'[listen]\nsmtp = "127.0.0.1:{smtp}"\nimap = "127.0.0.1:{imap}"\n'
        f"[server]\nprocesses = {processes}\n{extra}"
    )
    return path, smtp, imap


async def add_user(config: Config) -> None:
    async with app.services(config) as s:
        await s.mail.add_user("alice@example.test", "secret-pw")


def message(n: int) -> bytes:
    return f"Message-ID: <m{n}@workers.test>\r\nSubject: m{n}\r\n\r\n".encode() + b"x" * 4000 + b"\r\n"


def send(port: int, n: int) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=DEADLINE) as c:
        c.sendmail("a@remote.test", ["alice@example.test"], message(n))


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


async def wait_for(predicate: object, what: str, deadline: float = DEADLINE) -> None:
    end = time.monotonic() + deadline
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < end, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


class Serve:
    """``postoffice serve`` as a subprocess; its stdout lines collected as they come."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, config_file: Path) -> Serve:
        process = await asyncio.create_subprocess_exec(
            str(POSTOFFICE), "--config", str(config_file), "serve",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        return cls(process)

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            self.lines.append(line.decode(errors="replace").rstrip("\n"))

    def worker_pids(self) -> dict[int, int]:
        """Worker index -> pid of its latest process that reported serving."""
        pids: dict[int, int] = {}
        for line in self.lines:
            m = re.match(r"worker (\d+)\s+serving .* \(pid (\d+)\)", line)
            if m:
                pids[int(m.group(1))] = int(m.group(2))
        return pids

    async def wait_workers(self, count: int) -> dict[int, int]:
        await wait_for(lambda: len(self.worker_pids()) == count, f"{count} workers serving")
        return self.worker_pids()

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()
        await self._reader


@pytest.fixture
async def cleanup() -> AsyncIterator[list[Serve]]:
    started: list[Serve] = []
    yield started
    for serve in started:
        await serve.stop()


async def imap_line(reader: asyncio.StreamReader) -> bytes:
    line = await asyncio.wait_for(reader.readline(), DEADLINE)
    assert line, "the IMAP server closed the connection"
    return line


async def imap_command(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, tag: str, command: str) -> None:
    writer.write(f"{tag} {command}\r\n".encode())
    while not (line := await imap_line(reader)).startswith(tag.encode() + b" "):
        pass
    assert line.split()[1] == b"OK", line


@contextlib.asynccontextmanager
async def imap_here_smtp_in_a_worker(
    tmp_path: Path,
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter, int, WorkerPool]]:
    """This test is the main process: its IMAP listener and bus in-process, with a client
    signed in as alice, while the only process accepting on the SMTP port is one real
    worker of a WorkerPool. Yields the IMAP client, the SMTP port and the pool (stopped
    on the way out)."""
    config_file, smtp_port, _ = write_config(tmp_path, 2)
    config = load_config(config_file)
    await add_user(config)
    async with app.services(config) as s:
        imap = await app.start_protocol_listener(s, "imap", "127.0.0.1", 0)
        pool = WorkerPool(config, {"smtp": ("127.0.0.1", smtp_port)}, 1, s.bus)
        pool.start()
        try:
            await asyncio.wait_for(pool.workers[0].ready.wait(), DEADLINE)
            reader, writer = await asyncio.open_connection("127.0.0.1", imap.bound()[1])
            await imap_line(reader)
            await imap_command(reader, writer, "a", "LOGIN alice@example.test secret-pw")
            yield reader, writer, smtp_port, pool
            writer.close()
        finally:
            await pool.stop()
            imap.stop_accepting()


async def test_delivery_in_a_worker_wakes_imap_idle_in_the_main(tmp_path: Path) -> None:
    async with imap_here_smtp_in_a_worker(tmp_path) as (reader, writer, smtp_port, pool):
        await imap_command(reader, writer, "b", "SELECT INBOX")
        writer.write(b"c IDLE\r\n")
        assert (await imap_line(reader)).startswith(b"+")
        for n in range(3):
            await asyncio.to_thread(send, smtp_port, n)
            while not re.match(rb"\* %d EXISTS" % (n + 1), await imap_line(reader)):
                pass
        writer.write(b"DONE\r\n")
        while not (line := await imap_line(reader)).startswith(b"c "):
            pass
        assert b"OK" in line
    assert all(w.process is not None and w.process.returncode == 0 for w in pool.workers)


async def test_delivery_in_a_worker_reaches_a_notify_session_in_the_main(tmp_path: Path) -> None:
    # RFC 5465: the session has another mailbox selected and sends nothing at all; the
    # change committed in the worker crosses the hub and becomes a STATUS of INBOX.
    async with imap_here_smtp_in_a_worker(tmp_path) as (reader, writer, smtp_port, _):
        await imap_command(reader, writer, "b", "SELECT Sent")
        await imap_command(reader, writer, "c", "NOTIFY SET (inboxes (MessageNew MessageExpunge))")
        for n in range(2):
            await asyncio.to_thread(send, smtp_port, n)
            while not re.match(
                rb"\* STATUS INBOX \(MESSAGES %d UIDNEXT %d\)" % (n + 1, n + 2), await imap_line(reader)
            ):
                pass
        await imap_command(reader, writer, "d", "LOGOUT")


async def test_concurrent_deliveries_over_processes_are_stored_exactly_once(
    tmp_path: Path, cleanup: list[Serve]
) -> None:
    config_file, smtp_port, _ = write_config(tmp_path, 3)
    await add_user(load_config(config_file))
    serve = await Serve.start(config_file)
    cleanup.append(serve)
    await serve.wait_workers(2)
    total = 120
    # Each message on a new connection: the kernel spreads them over the three processes.
    sem = asyncio.Semaphore(10)

    async def one(n: int) -> None:
        async with sem:
            await asyncio.to_thread(send, smtp_port, n)  # raises unless 250

    await asyncio.gather(*(one(n) for n in range(total)))
    serve.process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(serve.process.wait(), DEADLINE) == 0
    async with app.services(load_config(config_file)) as s:
        user = await s.store.get_account("alice@example.test")
        assert user is not None
        boxes = await s.mail.list_mailboxes(user)
        assert sum(b.messages for b in boxes) == total


async def test_sigkill_of_the_main_takes_its_workers_along(tmp_path: Path, cleanup: list[Serve]) -> None:
    config_file, smtp_port, _ = write_config(tmp_path, 3)
    await add_user(load_config(config_file))
    serve = await Serve.start(config_file)
    cleanup.append(serve)
    pids = await serve.wait_workers(2)
    os.kill(serve.process.pid, signal.SIGKILL)
    await serve.process.wait()
    await wait_for(lambda: not any(alive(pid) for pid in pids.values()), "the workers to die")

    def refused() -> bool:
        try:
            socket.create_connection(("127.0.0.1", smtp_port), timeout=2).close()
        except ConnectionRefusedError:
            return True
        return False

    await wait_for(refused, "the SMTP port to refuse connections")
    again = await Serve.start(config_file)
    cleanup.append(again)
    await again.wait_workers(2)
    for n in range(6):
        await asyncio.to_thread(send, smtp_port, n)


async def smtp_reply(reader: asyncio.StreamReader) -> bytes:
    while True:
        line = await asyncio.wait_for(reader.readline(), DEADLINE)
        assert line, "connection closed without a reply"
        if line[3:4] != b"-":
            return line


async def test_sigterm_stops_every_process_after_the_smtp_shutdown(tmp_path: Path, cleanup: list[Serve]) -> None:
    config_file, smtp_port, _ = write_config(tmp_path, 3, 'shutdown_grace = "20s"\n')
    await add_user(load_config(config_file))
    serve = await Serve.start(config_file)
    cleanup.append(serve)
    pids = await serve.wait_workers(2)

    async def session() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection("127.0.0.1", smtp_port)
        assert (await smtp_reply(reader)).startswith(b"220")
        writer.write(b"EHLO client.test\r\n")
        assert (await smtp_reply(reader)).startswith(b"250")
        return reader, writer

    idle = [await session() for _ in range(9)]
    in_data = [await session() for _ in range(6)]
    for n, (reader, writer) in enumerate(in_data):
        writer.write(b"MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n")
        assert [(await smtp_reply(reader))[:3] for _ in range(3)] == [b"250", b"250", b"354"]
        writer.write(message(n)[:100])
        await writer.drain()
    serve.process.send_signal(signal.SIGTERM)
    for reader, _ in idle:
        assert (await smtp_reply(reader)).startswith(b"421 4.3.2")
    for n, (reader, writer) in enumerate(in_data):
        writer.write(message(n)[100:] + b".\r\n")
        assert (await smtp_reply(reader)).startswith(b"250")
    assert await asyncio.wait_for(serve.process.wait(), DEADLINE) == 0
    assert not any(alive(pid) for pid in pids.values())
    for _, writer in idle + in_data:
        writer.close()
    async with app.services(load_config(config_file)) as s:
        user = await s.store.get_account("alice@example.test")
        assert user is not None
        assert sum(b.messages for b in await s.mail.list_mailboxes(user)) == len(in_data)


async def test_a_dead_worker_is_restarted(tmp_path: Path, cleanup: list[Serve]) -> None:
    config_file, smtp_port, _ = write_config(tmp_path, 2)
    await add_user(load_config(config_file))
    serve = await Serve.start(config_file)
    cleanup.append(serve)
    old = (await serve.wait_workers(1))[1]
    os.kill(old, signal.SIGKILL)
    await wait_for(lambda: serve.worker_pids().get(1) not in (None, old), "a new worker process")
    new = serve.worker_pids()[1]
    assert alive(new)
    for n in range(4):
        await asyncio.to_thread(send, smtp_port, n)
    serve.process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(serve.process.wait(), DEADLINE) == 0
    assert not alive(new)
