"""Debian's fetchmail and curl against the POP3 server over real sockets."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest

from postoffice.testing.server import TranscriptServer


def message(subject: str) -> bytes:
    return f"From: bob@example.test\r\nTo: alice@example.test\r\nSubject: {subject}\r\n\r\nBody {subject}\r\n".encode()


async def run(*argv: str, env: dict[str, str] | None = None) -> tuple[int, bytes, bytes]:
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, out, err


@pytest.mark.skipif(shutil.which("fetchmail") is None, reason="fetchmail is not installed")
async def test_fetchmail_keep_twice_downloads_each_message_once(tmp_path: Path) -> None:
    async with TranscriptServer("pop3", users=["alice"]) as srv:
        port = await srv.start_listener("pop3")
        for subject in ("one", "two", "three"):
            await srv.deliver(["alice"], message(subject))
        out = tmp_path / "delivered.mbox"
        rc = tmp_path / "fetchmailrc"
        rc.write_text(
            "set no syslog\n"
            f"poll 127.0.0.1 protocol pop3 port {port} uidl\n"
            f'  user "alice@example.test" there with password "password" is "{os.environ.get("USER", "root")}" here\n'
            "  keep sslproto ''\n"
            f"  mda \"/bin/sh -c 'cat >> {out}'\"\n"
        )
        rc.chmod(0o600)
        env = {**os.environ, "HOME": str(tmp_path), "FETCHMAILHOME": str(tmp_path)}
        argv = ["fetchmail", "-f", str(rc), "-i", str(tmp_path / "fetchids"), "-d0", "--nosyslog"]
        code, _, err = await run(*argv, env=env)
        assert code == 0, err.decode()
        code, _, err = await run(*argv, env=env)
        assert code == 1, err.decode()  # fetchmail: 1 = no new mail
        text = out.read_bytes()
        for subject in (b"one", b"two", b"three"):
            assert text.count(b"Subject: " + subject + b"\n") + text.count(b"Subject: " + subject + b"\r\n") == 1
        assert await srv.count_messages("alice", "INBOX") == 3  # --keep


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
async def test_curl_list_and_retr() -> None:
    async with TranscriptServer("pop3", users=["alice"]) as srv:
        port = await srv.start_listener("pop3")
        await srv.deliver(["alice"], message("first"))
        await srv.deliver(["alice"], message("second"))
        url = f"pop3://127.0.0.1:{port}/"
        auth = ["--user", "alice@example.test:password", "--silent", "--show-error"]
        code, listing, err = await run("curl", *auth, url)
        assert code == 0, err.decode()
        lines = listing.decode().split("\r\n")
        assert [line.split()[0] for line in lines if line] == ["1", "2"]
        code, body, err = await run("curl", *auth, url + "2")
        assert code == 0, err.decode()
        assert body == message("second")
        assert await srv.count_messages("alice", "INBOX") == 2
