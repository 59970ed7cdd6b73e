"""Durability of deliver(): a SIGKILL loses no acknowledged message and duplicates none,
and deliver() returns only after its bytes are fsynced."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from postoffice import app
from postoffice.config import config_from_dict

CHILD = textwrap.dedent(
    """
    import asyncio, os, sys
    from postoffice import app
    from postoffice.config import config_from_dict

    async def main(data_dir, fd, count):
        config = config_from_dict({"data_dir": data_dir, "domains": ["example.test"]})
        s = await app.open_services(config)
        if await s.mail.get_account("alice@example.test") is None:
            await s.mail.add_user("alice@example.test", "password")
        out = os.fdopen(fd, "w", buffering=1)
        for i in range(count):
            msg = (f"From: a@example.test\\r\\nTo: alice@example.test\\r\\n"
                   f"Subject: crash {i}\\r\\nMessage-ID: <crash-{i}@example.test>\\r\\n\\r\\n"
                   f"body {i}\\r\\n").encode()
            await s.mail.deliver(msg, ["alice@example.test"])
            out.write(f"{i}\\n")
        await s.close()

    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
    """
)


def _run_child_and_kill(data_dir: Path, count: int, kill_after: int) -> set[int]:
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(data_dir), str(write_fd), str(count)],
        pass_fds=(write_fd,),
    )
    os.close(write_fd)
    reported: set[int] = set()
    buffer = b""
    deadline = time.monotonic() + 120
    with os.fdopen(read_fd, "rb", buffering=0) as pipe:
        while time.monotonic() < deadline:
            chunk = pipe.read(4096)
            if not chunk:
                break
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            reported.update(int(x) for x in lines if x)
            if len(reported) >= kill_after:
                proc.send_signal(signal.SIGKILL)
                break
        # whatever the child wrote before it died still counts as reported
        proc.wait(timeout=60)
        rest = buffer + pipe.read()
    reported.update(int(x) for x in rest.split(b"\n") if x.strip())
    return reported


@pytest.mark.slow
def test_sigkill_during_delivery_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    reported = _run_child_and_kill(data_dir, count=1000, kill_after=300)
    assert len(reported) >= 300

    db = data_dir / "postoffice.sqlite3"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    async def check() -> None:
        config = config_from_dict({"data_dir": str(data_dir), "domains": ["example.test"]})
        s = await app.open_services(config)
        try:
            account = await s.mail.get_account("alice@example.test")
            assert account is not None
            inbox = await s.mail.get_mailbox(account, "INBOX")
            records = await s.mail.list_messages(inbox)
            uids = [r.uid for r in records]
            assert len(uids) == len(set(uids)), "a UID repeats"
            assert inbox.uidnext > max(uids)
            subjects: list[int] = []
            for record in records:
                content = await s.mail.get_content(record.content_id)
                for blob_id in content.blob_ids:
                    assert s.blobs.exists(blob_id), f"missing blob {blob_id}"
                data = await s.mail.read(content)
                assert data.count(b"Subject: crash ") == 1
                subjects.append(int(data.split(b"Subject: crash ", 1)[1].split(b"\r\n", 1)[0]))
            assert len(subjects) == len(set(subjects)), "a delivered message is duplicated"
            missing = reported - set(subjects)
            assert not missing, f"acknowledged messages lost: {sorted(missing)[:10]}"
        finally:
            await s.close()

    asyncio.run(check())


async def test_deliver_returns_only_after_fsync(tmp_path: Path) -> None:
    """An injected fsync that blocks until released: deliver() must not return before it
    ran. The message has a part large enough to become its own blob (a small message
    has no blob file at all: its skeleton is inline, see the next test)."""
    import threading

    from postoffice.store.blobs import FileBlobStore

    config = config_from_dict({"data_dir": str(tmp_path / "data"), "domains": ["example.test"]})
    s = await app.open_services(config)
    try:
        await s.mail.add_user("alice@example.test", "password")
        gate = threading.Event()
        entered = threading.Event()

        def slow_fsync(fd: int) -> None:
            entered.set()
            gate.wait(30)
            os.fsync(fd)

        s.mail.blobs = FileBlobStore(config.blob_dir, fsync=slow_fsync)
        big = b"x" * 76 + b"\r\n"
        message = b"From: a@example.test\r\nSubject: fsync\r\n\r\n" + big * (config.limits.message.part_store_threshold // 78 + 1)
        task = asyncio.create_task(s.mail.deliver(message, ["alice@example.test"]))
        assert await asyncio.to_thread(entered.wait, 30), "the blob store never fsynced"
        # The fsync is held: whatever deliver() does meanwhile, it must not finish.
        await asyncio.sleep(0.2)
        assert not task.done(), "deliver() returned before its fsync completed"
        gate.set()
        result = await asyncio.wait_for(task, 30)
        assert result.records
    finally:
        await s.close()


async def test_small_deliver_returns_only_after_the_database_commit(tmp_path: Path) -> None:
    """A small message is one content row (skeleton inline): deliver() returns only once
    its transaction committed, and commits are synchronous=FULL (fsync of the WAL)."""
    import sqlite3

    config = config_from_dict({"data_dir": str(tmp_path / "data"), "domains": ["example.test"]})
    s = await app.open_services(config)
    try:
        await s.mail.add_user("alice@example.test", "password")
        db = s.store.db  # type: ignore[attr-defined]
        assert await db.write(lambda c: c.execute("PRAGMA synchronous").fetchone()[0]) == 2  # FULL
        blocker = sqlite3.connect(config.db_path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # holds the write lock: no commit can happen
        try:
            message = b"From: a@example.test\r\nSubject: commit\r\n\r\nhello\r\n"
            task = asyncio.create_task(s.mail.deliver(message, ["alice@example.test"]))
            await asyncio.sleep(0.3)
            assert not task.done(), "deliver() returned before its transaction committed"
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        result = await asyncio.wait_for(task, 30)
        assert result.records
        files = [p for p in config.blob_dir.rglob("*") if p.is_file() and p.parent.name != "tmp"]
        assert files == [], "a small message needs no blob file"
    finally:
        await s.close()
