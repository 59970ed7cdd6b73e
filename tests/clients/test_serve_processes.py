"""``serve`` with every protocol in several processes (``[server] processes``): a session
behaves the same whichever process the kernel handed its connection to.

Each test finds which process holds a connection (the server side of the TCP
connection in ``/proc/net/tcp``, then the process whose file descriptors hold that
socket), so it can put sessions on chosen processes of the SO_REUSEPORT pool:

- IMAP IDLE in one process is woken by a delivery accepted by another: worker to
  worker (through the main), main to worker, and worker to main.
- A POP3 maildrop locked by a session of one process: a session of another process
  gets ``-ERR [IN-USE]``, and gets in once the first has quit.
- A worker SIGKILLed in the middle of a delivery load: every message answered 250 is in
  the mailbox afterwards, and the restarted worker serves again (delivers, and its IMAP
  IDLE is woken by a delivery in another process).
"""

from __future__ import annotations

import asyncio
import imaplib
import os
import re
import signal
import smtplib
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from postoffice import app
from postoffice.config import load_config
from postoffice.testing.serve import POSTOFFICE, free_port

DEADLINE = 30.0
USER, PASSWORD = "alice@example.test", "secret-pw"

pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.skipif(not POSTOFFICE.exists(), reason="the postoffice console script is not installed in the venv"),
    pytest.mark.skipif(not hasattr(socket, "SO_REUSEPORT"), reason="SO_REUSEPORT is needed"),
    pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="finding a connection's process needs /proc"),
]


@dataclass
class Ports:
    smtp: int
    imap: int
    pop3: int


async def wait_for(predicate: Callable[[], object], what: str, deadline: float = DEADLINE) -> None:
    end = time.monotonic() + deadline
    while not predicate():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


class Serve:
    """``postoffice serve`` with ``processes`` processes; its stdout lines as they come."""

    def __init__(self, process: asyncio.subprocess.Process, ports: Ports, config_file: Path) -> None:
        self.process = process
        self.ports = ports
        self.config_file = config_file
        self.lines: list[str] = []
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, tmp_path: Path, processes: int) -> Serve:
        ports = Ports(free_port(), free_port(), free_port())
        config_file = tmp_path / "postoffice.toml"
        config_file.write_text(
            f'data_dir = "{tmp_path / "data"}"\ndomains = ["example.test"]\n'
            f'[listen]\nsmtp = "127.0.0.1:{ports.smtp}"\nimap = "127.0.0.1:{ports.imap}"\n'
            f'pop3 = "127.0.0.1:{ports.pop3}"\n'
            f"[server]\nprocesses = {processes}\n"
            "[limits.smtp]\nmax_connections_per_ip = 200\n"
            "[limits.imap]\nmax_connections_per_ip = 200\nmax_connections_per_user = 200\n"
            "[limits.pop3]\nmax_connections_per_ip = 200\n"
        )
        async with app.services(load_config(config_file)) as s:
            await s.mail.add_user(USER, PASSWORD)
        with (tmp_path / "serve.log").open("wb") as log:  # the processes' logs, for a failure's report
            process = await asyncio.create_subprocess_exec(
                str(POSTOFFICE), "--config", str(config_file), "serve", stdout=asyncio.subprocess.PIPE, stderr=log
            )
        serve = cls(process, ports, config_file)
        await serve.wait_workers(processes - 1)
        return serve

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

    def pids(self) -> list[int]:
        """The main's pid, then each worker's."""
        return [self.process.pid, *self.worker_pids().values()]

    async def wait_workers(self, count: int) -> dict[int, int]:
        await wait_for(lambda: len(self.worker_pids()) == count, f"{count} workers serving")
        return self.worker_pids()

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), DEADLINE)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        await self._reader


@pytest.fixture
async def cleanup() -> AsyncIterator[list[Serve]]:
    started: list[Serve] = []
    yield started
    for serve in started:
        await serve.stop()


# ---- which process holds a connection ----------------------------------------------------


def _hex_address(host: str, port: int) -> str:
    return f"{socket.inet_aton(host)[::-1].hex().upper()}:{port:04X}"


def holder(client: tuple[str, int], server: tuple[str, int], pids: list[int]) -> int | None:
    """The pid among ``pids`` whose descriptors hold the server side of the connection
    from ``client`` to ``server`` (None: no such socket, or not accepted yet)."""
    local, remote = _hex_address(*server), _hex_address(*client)
    inode = None
    for row in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = row.split()
        if fields[1] == local and fields[2] == remote:
            inode = fields[9]
    if inode is None or inode == "0":
        return None
    target = f"socket:[{inode}]"
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    return pid
            except OSError:
                continue
    return None


class Line:
    """A line-based client connection (IMAP, POP3, SMTP) and the process serving it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, pid: int) -> None:
        self.reader, self.writer, self.pid = reader, writer, pid

    async def line(self) -> bytes:
        line = await asyncio.wait_for(self.reader.readline(), DEADLINE)
        assert line, "the server closed the connection"
        return line

    def send(self, text: str) -> None:
        self.writer.write(text.encode() + b"\r\n")

    async def until_tagged(self, tag: str) -> bytes:
        while not (line := await self.line()).startswith(tag.encode() + b" "):
            pass
        return line

    async def imap_ok(self, tag: str, command: str) -> None:
        self.send(f"{tag} {command}")
        line = await self.until_tagged(tag)
        assert line.split()[1] == b"OK", line

    async def smtp_reply(self) -> bytes:
        while (line := await self.line())[3:4] == b"-":
            pass
        return line

    def close(self) -> None:
        self.writer.close()


async def connect_to(serve: Serve, port: int, wanted: set[int], attempts: int = 200) -> dict[int, Line]:
    """One connection on each process of ``wanted`` (pids), greeting read: new connections
    until the kernel has handed one to each (the others are closed at once)."""
    found: dict[int, Line] = {}
    for _ in range(attempts):
        if wanted <= found.keys():
            return found
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.wait_for(reader.readline(), DEADLINE)  # the greeting: accepted by now
        client = writer.get_extra_info("sockname")[:2]
        pid = holder(client, ("127.0.0.1", port), serve.pids())
        if pid in wanted and pid not in found:
            found[pid] = Line(reader, writer, pid)
        else:
            writer.close()
    raise AssertionError(f"no connection reached processes {wanted - found.keys()} in {attempts} attempts")


async def deliver(conn: Line, n: int) -> None:
    """One message over an SMTP connection whose greeting was read; asserts the 250."""
    conn.send("EHLO client.test")
    assert (await conn.smtp_reply()).startswith(b"250")
    conn.send("MAIL FROM:<a@remote.test>")
    assert (await conn.smtp_reply()).startswith(b"250")
    conn.send(f"RCPT TO:<{USER}>")
    assert (await conn.smtp_reply()).startswith(b"250")
    conn.send("DATA")
    assert (await conn.smtp_reply()).startswith(b"354")
    conn.writer.write(message(n) + b".\r\n")
    assert (await conn.smtp_reply()).startswith(b"250")


def message(n: int) -> bytes:
    return f"Message-ID: <m{n}@processes.test>\r\nSubject: m{n}\r\n\r\n".encode() + b"x" * 2000 + b"\r\n"


async def idle(conn: Line) -> None:
    await conn.imap_ok("a", f"LOGIN {USER} {PASSWORD}")
    await conn.imap_ok("b", "SELECT INBOX")
    conn.send("c IDLE")
    assert (await conn.line()).startswith(b"+")


async def woken(conn: Line, exists: int) -> None:
    while not re.match(rb"\* %d EXISTS" % exists, await conn.line()):
        pass


# ---- the tests ----------------------------------------------------------------------------


async def test_imap_idle_is_woken_by_a_delivery_in_any_other_process(tmp_path: Path, cleanup: list[Serve]) -> None:
    serve = await Serve.start(tmp_path, 3)
    cleanup.append(serve)
    main, w1, w2 = serve.pids()
    watchers = await connect_to(serve, serve.ports.imap, {main, w1, w2})
    for conn in watchers.values():
        await idle(conn)
    senders = await connect_to(serve, serve.ports.smtp, {main, w2})
    # Accepted by worker 2: its own session, the main's (forwarded) and worker 1's
    # (sent on by the main) all see it, once.
    await deliver(senders[w2], 1)
    for conn in watchers.values():
        await woken(conn, 1)
    # Accepted by the main: sent to both workers.
    await deliver(senders[main], 2)
    for conn in watchers.values():
        await woken(conn, 2)
    for conn in watchers.values():
        conn.send("DONE")
        line = await conn.until_tagged("c")
        assert line.split()[1] == b"OK", line
        # No second notification of either message is pending anywhere.
        await conn.imap_ok("d", "NOOP")
    for conn in (*watchers.values(), *senders.values()):
        conn.close()


async def test_a_pop3_maildrop_lock_holds_across_processes(tmp_path: Path, cleanup: list[Serve]) -> None:
    serve = await Serve.start(tmp_path, 2)
    cleanup.append(serve)
    main, worker = serve.pids()
    sessions = await connect_to(serve, serve.ports.pop3, {main, worker})
    first, second = sessions[worker], sessions[main]
    for conn in (first, second):
        conn.send(f"USER {USER}")
        assert (await conn.line()).startswith(b"+OK")
    first.send(f"PASS {PASSWORD}")
    assert (await first.line()).startswith(b"+OK")
    second.send(f"PASS {PASSWORD}")
    assert (await second.line()).startswith(b"-ERR [IN-USE]")
    first.send("QUIT")
    assert (await first.line()).startswith(b"+OK")
    # The lock went with the first session: a session of the main now gets in.
    again = (await connect_to(serve, serve.ports.pop3, {main}))[main]
    again.send(f"USER {USER}")
    assert (await again.line()).startswith(b"+OK")
    again.send(f"PASS {PASSWORD}")
    assert (await again.line()).startswith(b"+OK")
    again.send("QUIT")
    assert (await again.line()).startswith(b"+OK")
    for conn in (first, second, again):
        conn.close()


def send_one(port: int, n: int) -> bool:
    """True when the message was answered 250; False when the connection failed."""
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=DEADLINE) as c:
            c.sendmail("a@remote.test", [USER], message(n))
    except (OSError, smtplib.SMTPException):
        return False
    return True


def stored_message_ids(port: int) -> list[str]:
    with imaplib.IMAP4("127.0.0.1", port, timeout=DEADLINE) as c:
        c.login(USER, PASSWORD)
        c.select("INBOX", readonly=True)
        typ, data = c.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
        assert typ == "OK"
        return re.findall(r"<(m\d+)@processes\.test>", b"".join(p[1] for p in data if isinstance(p, tuple)).decode())


async def test_no_acknowledged_message_is_lost_when_a_worker_is_killed_and_it_serves_again(
    tmp_path: Path, cleanup: list[Serve]
) -> None:
    serve = await Serve.start(tmp_path, 3)
    cleanup.append(serve)
    old = serve.worker_pids()[1]
    acknowledged: list[int] = []
    numbers = iter(range(1_000_000))
    stop = asyncio.Event()

    async def sender() -> None:
        while not stop.is_set():
            n = next(numbers)
            if await asyncio.to_thread(send_one, serve.ports.smtp, n):
                acknowledged.append(n)

    senders = [asyncio.create_task(sender()) for _ in range(8)]
    try:
        await wait_for(lambda: len(acknowledged) >= 40, "40 deliveries before the kill", 60)
        os.kill(old, signal.SIGKILL)  # in the middle of the load: some of its sessions in DATA
        before = len(acknowledged)
        await wait_for(lambda: len(acknowledged) >= before + 40, "40 deliveries after the kill", 60)
    finally:
        stop.set()
        await asyncio.gather(*senders)
    stored = await asyncio.to_thread(stored_message_ids, serve.ports.imap)
    assert {f"m{n}" for n in acknowledged} <= set(stored)
    assert len(stored) == len(set(stored))  # each message was sent once: stored at most once

    # The restarted worker serves: an IDLE on it is woken by a delivery in another
    # process, and a delivery it accepts is stored.
    await wait_for(lambda: serve.worker_pids().get(1) not in (None, old), "worker 1 restarted")
    new, main = serve.worker_pids()[1], serve.process.pid
    watcher = (await connect_to(serve, serve.ports.imap, {new}))[new]
    await idle(watcher)
    count = len(stored)
    senders_by_pid = await connect_to(serve, serve.ports.smtp, {new, main})
    await deliver(senders_by_pid[main], 2_000_000)
    await woken(watcher, count + 1)
    await deliver(senders_by_pid[new], 2_000_001)
    await woken(watcher, count + 2)
    for conn in (watcher, *senders_by_pid.values()):
        conn.close()
