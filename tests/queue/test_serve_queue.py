"""The queue in a real ``postoffice serve``: the command line while it runs, and SIGKILL
in the middle of a relay (at least once, never lost)."""

from __future__ import annotations

import asyncio
import email
import imaplib
import json
import os
import random
import signal
import socket
import sys
import time
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest

from postoffice.testing.smtp_sink import SMTPSink

POSTOFFICE = Path(sys.executable).parent / "postoffice"
PASSWORD = "secret-password"

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(not POSTOFFICE.exists(), reason="the postoffice console script is not installed in the venv"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(tmp_path: Path, route_port: int, ports: dict[str, int], extra: str = "") -> Path:
    path = tmp_path / "postoffice.toml"
    path.write_text(
        'hostname = "mail.a.test"\n'
        f'data_dir = "{tmp_path / "data"}"\n'
        'domains = ["a.test"]\n'
        "[listen]\n" + "".join(f'{k} = "127.0.0.1:{v}"\n' for k, v in ports.items()) +
        "[relay.routes]\n"
        f'"b.test" = "127.0.0.1:{route_port}"\n'
        "[limits.relay]\n"
        "poll_interval = 0.2\n" + extra
    )  # fmt: skip
    return path


async def cli(config: Path, *args: str, stdin: str = "") -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        str(POSTOFFICE), "--config", str(config), *args,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(stdin.encode()), 60)
    assert process.returncode is not None
    return process.returncode, out.decode() + err.decode()


async def serve(config: Path, port: int) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        str(POSTOFFICE), "--config", str(config), "serve",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    end = time.monotonic() + 30
    while time.monotonic() < end:
        assert process.returncode is None, "the server exited"
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return process
    raise AssertionError("the server did not start listening")


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)


async def submit(port: int, subject: str) -> None:
    message = EmailMessage()
    message["From"] = "alice@a.test"
    message["To"] = "bob@b.test"
    message["Subject"] = subject
    message["Message-ID"] = f"<{subject.replace(' ', '-')}@a.test>"
    message.set_content("Hello Bob.\n")
    await aiosmtplib.send(message, hostname="127.0.0.1", port=port, username="alice@a.test", password=PASSWORD, start_tls=False)


def message_id(message: bytes) -> bytes:
    return message.split(b"Message-ID: ", 1)[1].split(b"\r\n", 1)[0]


async def until(condition: object, deadline: float = 30.0) -> None:
    async with asyncio.timeout(deadline):
        while not await condition():  # type: ignore[operator]  # noqa: ASYNC110 (state of another process)
            await asyncio.sleep(0.1)


def imap_inbox(port: int) -> list[email.message.Message]:
    imap = imaplib.IMAP4("127.0.0.1", port)
    try:
        imap.login("alice@a.test", PASSWORD)
        imap.select("INBOX")
        _, data = imap.search(None, "ALL")
        out = []
        for number in data[0].split():
            _, fetched = imap.fetch(number, "(RFC822)")
            raw = fetched[0]
            assert isinstance(raw, tuple)
            out.append(email.message_from_bytes(raw[1]))
        return out
    finally:
        imap.logout()


async def test_queue_commands_while_serve_runs(tmp_path: Path) -> None:
    dead = free_port()  # nothing listens there: every attempt is deferred
    ports = {"submission": free_port(), "imap": free_port()}
    config = write_config(tmp_path, dead, ports)
    assert (await cli(config, "user", "add", "alice@a.test", "--password-stdin", stdin=PASSWORD + "\n"))[0] == 0
    server = await serve(config, ports["submission"])
    try:
        await submit(ports["submission"], "first")
        await submit(ports["submission"], "second")

        async def attempted() -> bool:
            code, out = await cli(config, "queue", "list", "--json")
            entries = json.loads(out)
            return len(entries) == 2 and all(e["recipients"][0]["attempts"] >= 1 for e in entries)

        await until(attempted)
        code, out = await cli(config, "queue", "list", "--json")
        first, second = json.loads(out)
        assert first["sender"] == "alice@a.test" and first["recipients"][0]["address"] == "bob@b.test"
        assert first["recipients"][0]["status"] == "queued"
        assert first["recipients"][0]["last_reply"].startswith("451 4.4.1")
        code, out = await cli(config, "queue", "list")
        assert code == 0 and len(out.splitlines()) == 2 and "bob@b.test" in out
        code, out = await cli(config, "queue", "show", str(first["id"]))
        assert code == 0 and "451 4.4.1" in out
        assert (await cli(config, "queue", "show", "999"))[0] == 1
        assert (await cli(config, "queue", "retry", str(first["id"])))[0] == 0
        assert (await cli(config, "queue", "retry", "--all"))[0] == 0
        assert (await cli(config, "queue", "retry"))[0] == 2
        # bounce: the sender gets the failure report at once; delete: gone without one.
        assert (await cli(config, "queue", "bounce", str(first["id"])))[0] == 0
        assert (await cli(config, "queue", "delete", str(second["id"])))[0] == 0
        assert (await cli(config, "queue", "delete", str(second["id"])))[0] == 1
        code, out = await cli(config, "queue", "list", "--json")
        assert json.loads(out) == []
        [report] = await asyncio.to_thread(imap_inbox, ports["imap"])
        assert report.get_content_type() == "multipart/report"
        assert "first" in str(report["Subject"])
    finally:
        await stop(server)


async def test_sigkill_in_the_middle_of_a_relay_loses_nothing(tmp_path: Path) -> None:
    sink = SMTPSink(misbehave="stall-data", extensions=("PIPELINING", "8BITMIME"))  # DATA, not BDAT
    sink_port = await sink.start()
    ports = {"submission": free_port()}
    config = write_config(tmp_path, sink_port, ports, "first_retry = 1\n")
    assert (await cli(config, "user", "add", "alice@a.test", "--password-stdin", stdin=PASSWORD + "\n"))[0] == 0
    server = await serve(config, ports["submission"])
    try:
        await submit(ports["submission"], "killed in DATA")

        async def in_data() -> bool:
            return sink.data_started >= 1  # the message is on its way: the sink stalls after 354

        await until(in_data)
        sink.misbehave = ""  # the next connection is served normally
        os.kill(server.pid, signal.SIGKILL)
        await server.wait()
        server = await serve(config, ports["submission"])
        await sink.wait_for(1, timeout=60)
        ids = [message_id(m.message) for m in sink.messages]
        assert ids[0] == b"<killed-in-DATA@a.test>"
        # At least once: the stalled first transaction never completed, so exactly one arrived.
        assert len(sink.messages) == 1
        print("\nSIGKILL in DATA, before the end of the data: 1 copy arrived, no duplicate")

        async def emptied() -> bool:
            code, out = await cli(config, "queue", "list", "--json")
            return json.loads(out) == []

        await until(emptied)
    finally:
        await stop(server)
        await sink.stop()


async def test_sigkill_after_the_end_of_data_before_the_reply_sends_it_again(tmp_path: Path) -> None:
    """The peer has the whole message but the sender is killed before the 250 comes: the
    sender cannot know, so after the restart it sends the message again (RFC 5321 §6.1:
    at least once; the duplicate is the price, RFC 1047)."""
    sink = SMTPSink(misbehave="stall-after-data", extensions=("PIPELINING", "8BITMIME"))
    sink_port = await sink.start()
    ports = {"submission": free_port()}
    config = write_config(tmp_path, sink_port, ports, "first_retry = 1\n")
    assert (await cli(config, "user", "add", "alice@a.test", "--password-stdin", stdin=PASSWORD + "\n"))[0] == 0
    server = await serve(config, ports["submission"])
    try:
        await submit(ports["submission"], "killed before the reply")
        await sink.wait_for(1, timeout=60)  # the peer holds the message; its 250 never leaves
        sink.misbehave = ""
        os.kill(server.pid, signal.SIGKILL)
        await server.wait()
        server = await serve(config, ports["submission"])
        await sink.wait_for(2, timeout=60)

        async def emptied() -> bool:
            code, out = await cli(config, "queue", "list", "--json")
            return json.loads(out) == []

        await until(emptied)
        ids = [message_id(m.message) for m in sink.messages]
        assert ids == [b"<killed-before-the-reply@a.test>"] * 2
        print("\nSIGKILL after the end of the data, before the peer's 250: 2 copies arrived (1 duplicate)")
    finally:
        await stop(server)
        await sink.stop()


async def test_sigkills_at_random_moments_of_a_relay_lose_nothing(tmp_path: Path) -> None:
    """20 messages relayed to a slow peer; the sender is SIGKILLed 3 times at random moments
    of the relay and restarted: every message arrives, and the duplicates are counted."""
    rng = random.Random()
    sink = SMTPSink(extensions=("PIPELINING", "8BITMIME"), reply_delay=0.2)  # about 2 s of relaying
    sink_port = await sink.start()
    ports = {"submission": free_port()}
    config = write_config(tmp_path, sink_port, ports, "first_retry = 1\nmax_retry = 1\n")
    assert (await cli(config, "user", "add", "alice@a.test", "--password-stdin", stdin=PASSWORD + "\n"))[0] == 0
    server = await serve(config, ports["submission"])
    sent = [f"random kill {n}" for n in range(20)]
    try:
        for subject in sent:
            await submit(ports["submission"], subject)
        arrived_at_kill = []
        for _ in range(3):
            await asyncio.sleep(rng.uniform(0.0, 0.7))  # a random moment: the point of this test
            arrived_at_kill.append(len(sink.messages))
            os.kill(server.pid, signal.SIGKILL)
            await server.wait()
            server = await serve(config, ports["submission"])

        async def emptied() -> bool:
            code, out = await cli(config, "queue", "list", "--json")
            return json.loads(out) == []

        await until(emptied, deadline=90)
        ids = [message_id(m.message) for m in sink.messages]
        expected = {f"<{s.replace(' ', '-')}@a.test>".encode() for s in sent}
        assert set(ids) == expected  # none lost
        duplicates = len(ids) - len(expected)
        print(f"\n3 SIGKILLs at random moments of relaying 20 messages (when {arrived_at_kill} had arrived): "
              f"{len(ids)} copies arrived, {duplicates} duplicates")  # fmt: skip
    finally:
        await stop(server)
        await sink.stop()
