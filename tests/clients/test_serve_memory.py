"""Memory comes back (issue 15): a burst of logins does not leave the server hundreds of
MiB larger. Each password check (argon2id) works in 19 MiB; with glibc's default,
rising mmap threshold those blocks came from per-thread heap arenas that kept them, so
64 concurrent logins left ``serve`` about 700 MiB larger (observe/memory.py fixes the
threshold). The bound below is far above what the working server keeps (a few MiB) and
far below what the arenas kept."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from postoffice import app
from postoffice.config import load_config
from postoffice.testing.serve import POSTOFFICE, free_port, start_serve

DEADLINE = 60.0
CONCURRENT = 64  # logins at once: as many as the server's executor threads
ROUNDS = 3
GROWTH_BOUND_MIB = 120

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(not POSTOFFICE.exists(), reason="the postoffice console script is not installed in the venv"),
]


def tree_rss_mib(pid: int) -> float:
    """VmRSS of ``pid`` and of every process below it (``serve``'s workers), in MiB."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo.extend(children.get(p, []))
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        total += next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    return total / 1024


async def login_and_logout(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await asyncio.wait_for(reader.readline(), DEADLINE)
        writer.write(b"a LOGIN alice@example.test secret-pw\r\nb LOGOUT\r\n")
        while not (line := await asyncio.wait_for(reader.readline(), DEADLINE)).startswith(b"b "):
            assert line, "connection closed"
            assert not line.startswith(b"a NO"), line
    finally:
        writer.close()


async def test_a_burst_of_logins_leaves_no_hundreds_of_mib_behind(tmp_path: Path) -> None:
    port = free_port()
    path = tmp_path / "postoffice.toml"
    path.write_text(
        f'data_dir = "{tmp_path / "data"}"\ndomains = ["example.test"]\n[listen]\nimap = "127.0.0.1:{port}"\n'
        f"[server]\nprocesses = 1\n[limits.imap]\nmax_connections_per_ip = 200\nmax_connections_per_user = 200\n"
    )
    async with app.services(load_config(path)) as s:
        await s.mail.add_user("alice@example.test", "secret-pw")
    process = await start_serve(path, port)
    try:
        await login_and_logout(port)
        before = tree_rss_mib(process.pid)
        for _ in range(ROUNDS):
            await asyncio.gather(*(login_and_logout(port) for _ in range(CONCURRENT)))
        after = tree_rss_mib(process.pid)
        assert after - before < GROWTH_BOUND_MIB, f"RSS {before:.0f} MiB -> {after:.0f} MiB after {ROUNDS * CONCURRENT} logins"
    finally:
        process.terminate()
        await process.wait()
