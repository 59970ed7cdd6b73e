"""``/metrics`` and ``/healthz`` as a monitoring system sees them.

- A real ``serve``: after a small scripted SMTP and IMAP session, ``/metrics`` shows the
  counters moved by exactly what the session did (connections, commands, messages,
  deliveries, failed logins, octets sent, which the client counts itself).
- ``/metrics`` is refused to a non-loopback client without the bearer token, served
  with it.
- ``/healthz``: 200; 503 naming the store when its writes fail (an injected fault),
  200 again once they succeed; 503 naming a listener that stopped accepting.
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
import urllib.request
from pathlib import Path

import httpx
import pytest

from postoffice import app, lifecycle
from postoffice.clock import ManualClock
from postoffice.config import load_config
from postoffice.mail.auth import fast_hasher
from postoffice.observe import health
from postoffice.testing.serve import POSTOFFICE, free_port, start_serve
from postoffice.testing.server import build_config

PASSWORD = "ops-right-pw-4d2"
DEADLINE = 30.0


def scrape(port: int) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=DEADLINE).read().decode()
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def delta(before: dict[str, float], after: dict[str, float], name: str) -> float:
    return after.get(name, 0.0) - before.get(name, 0.0)


class Client:
    """A line client that counts the octets it receives."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE)
        self.file = self.sock.makefile("rb")
        self.received = 0

    def line(self) -> bytes:
        data = self.file.readline()
        self.received += len(data)
        return data

    def until(self, prefix: bytes) -> bytes:
        while True:
            data = self.line()
            assert data, "connection closed"
            if data.startswith(prefix):
                return data

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close(self) -> None:
        assert self.file.read() == b""  # the server closed: nothing more was sent
        self.sock.close()


@pytest.mark.timeout(120)
@pytest.mark.skipif(not POSTOFFICE.exists(), reason="the postoffice console script is not installed")
async def test_metrics_move_by_exactly_what_a_session_did(tmp_path: Path) -> None:
    smtp, imap, http = free_port(), free_port(), free_port()
    path = tmp_path / "postoffice.toml"
    path.write_text(
        f'data_dir = "{tmp_path / "data"}"\ndomains = ["example.test"]\n'
        f'[listen]\nsmtp = "127.0.0.1:{smtp}"\nimap = "127.0.0.1:{imap}"\nhttp = "127.0.0.1:{http}"\n'
        '[auth]\nfailure_delay = "10ms"\n'
    )
    async with app.services(load_config(path)) as s:
        s.mail.auth.hasher = fast_hasher()
        await s.mail.add_user("alice@example.test", PASSWORD)
    process = await start_serve(path, http)
    try:
        before = await asyncio.to_thread(scrape, http)

        def session() -> tuple[int, int]:
            c = Client(smtp)
            c.line()
            for command, answer in ((b"EHLO client.test\r\n", b"250 "), (b"MAIL FROM:<bob@remote.test>\r\n", b"250 "),
                                    (b"RCPT TO:<alice@example.test>\r\n", b"250 "), (b"DATA\r\n", b"354 "),
                                    (b"Subject: hi\r\n\r\nhello\r\n.\r\n", b"250 "), (b"QUIT\r\n", b"221 ")):  # fmt: skip
                c.send(command)
                c.until(answer)
            c.close()
            i = Client(imap)
            i.line()
            for command, answer in ((b"a1 LOGIN alice@example.test wrong-pw-77\r\n", b"a1 NO"),
                                    (f"a2 LOGIN alice@example.test {PASSWORD}\r\n".encode(), b"a2 OK"),
                                    (b"a3 SELECT INBOX\r\n", b"a3 OK"), (b"a4 FETCH 1 BODY[]\r\n", b"a4 OK"),
                                    (b"a5 LOGOUT\r\n", b"a5 OK")):  # fmt: skip
                i.send(command)
                i.until(answer)
            i.close()
            urllib.request.urlopen(f"http://127.0.0.1:{http}/login", timeout=DEADLINE).read()
            return c.received, i.received

        smtp_octets, imap_octets = await asyncio.to_thread(session)
        end = time.monotonic() + DEADLINE
        while True:  # the sessions' octets are counted when their connections are closed
            after = await asyncio.to_thread(scrape, http)
            if after.get('postoffice_connections_open{listener="imap"}') == 0.0 and delta(
                before, after, 'postoffice_sent_bytes_total{protocol="imap"}'
            ):
                break
            assert time.monotonic() < end, "the closed connections were never counted"
            await asyncio.sleep(0.05)
        expected = {
            'postoffice_connections_total{listener="smtp"}': 1,
            'postoffice_connections_total{listener="imap"}': 1,
            'postoffice_command_seconds_count{command="EHLO",protocol="smtp"}': 1,
            'postoffice_command_seconds_count{command="DATA",protocol="smtp"}': 1,
            'postoffice_command_seconds_count{command="RCPT",protocol="smtp"}': 1,
            'postoffice_command_seconds_count{command="LOGIN",protocol="imap"}': 2,
            'postoffice_command_seconds_count{command="FETCH",protocol="imap"}': 1,
            'postoffice_messages_accepted_total{protocol="smtp"}': 1,
            'postoffice_deliveries_total{protocol="smtp"}': 1,
            'postoffice_auth_failures_total{protocol="imap"}': 1,
            'postoffice_sent_bytes_total{protocol="smtp"}': smtp_octets,
            'postoffice_sent_bytes_total{protocol="imap"}': imap_octets,
            "postoffice_store_messages": 1,
            'postoffice_command_seconds_count{command="GET",protocol="http"}': 1,  # the sign-in page
        }
        assert {name: delta(before, after, name) for name in expected} == expected
        assert after['postoffice_connections_open{listener="smtp"}'] == 0
    finally:
        process.terminate()
        assert await asyncio.wait_for(process.wait(), DEADLINE) == 0


async def test_metrics_need_the_token_beyond_loopback(tmp_path: Path) -> None:
    from postoffice.web.ops import OpsEndpoints

    config = build_config(tmp_path / "data", {"metrics.bearer_token": "tok-123"})
    s = await app.open_services(config, clock=ManualClock())
    try:

        async def webmail(scope: object, receive: object, send: object) -> None:
            raise AssertionError("not for the webmail")

        endpoints = OpsEndpoints(webmail, "http", s.mail)  # type: ignore[arg-type]
        remote = httpx.ASGITransport(app=endpoints, client=("192.0.2.9", 4000))
        async with httpx.AsyncClient(transport=remote, base_url="http://mail.example.test") as c:
            assert (await c.get("/metrics")).status_code == 403
            assert (await c.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 403
            ok = await c.get("/metrics", headers={"Authorization": "Bearer tok-123"})
            assert ok.status_code == 200
            assert re.search(r"^postoffice_store_accounts 0\.0$", ok.text, re.M)
        local = httpx.ASGITransport(app=endpoints, client=("127.0.0.1", 4000))
        async with httpx.AsyncClient(transport=local, base_url="http://localhost") as c:
            assert (await c.get("/metrics")).status_code == 200
    finally:
        await s.close()


async def test_healthz_follows_store_writes_and_listeners(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = build_config(tmp_path / "data", {"listen": {"http": "127.0.0.1:0", "imap": "127.0.0.1:0"}})
    s = await app.open_services(config, clock=ManualClock())
    try:
        listening = await lifecycle.start_listeners(s, ["http", "imap"], announce=False)
        lifecycle.register_health(s, listening)
        host, port = listening.bound("http")
        async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as c:
            assert (await c.get("/healthz")).status_code == 200

            async def refused(*args: object, **kwargs: object) -> bool:
                raise OSError(28, "No space left on device")

            with monkeypatch.context() as m:
                m.setattr(s.store, "acquire_lock", refused)
                answer = await c.get("/healthz")
                assert answer.status_code == 503
                assert "store" in answer.text
            assert (await c.get("/healthz")).status_code == 200
            listening.listeners["imap"].stop_accepting()
            answer = await c.get("/healthz")
            assert answer.status_code == 503
            assert "imap" in answer.text
        await lifecycle.stop_listeners(listening)
    finally:
        health.HEALTH.listeners = {}
        health.HEALTH.store_probe = None
        await s.close()


async def test_store_figures_are_read_without_a_scan_of_the_messages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from postoffice.cli import main
    from postoffice.store.sqlite import SQLiteStore
    from postoffice.web.ops import OpsEndpoints

    config_file = tmp_path / "postoffice.toml"
    config_file.write_text(f'data_dir = "{tmp_path / "data"}"\ndomains = ["example.test"]\n[listen]\n')
    message = b"Subject: twice\r\n\r\n" + b"q" * 5000 + b"\r\n"
    async with app.services(load_config(config_file)) as s:
        s.mail.auth.hasher = fast_hasher()
        for user in ("alice", "bob"):
            await s.mail.add_user(f"{user}@example.test", PASSWORD)
        size = (await s.mail.deliver(message, ["alice@example.test", "bob@example.test"])).size

    async def no_scan(*args: object, **kwargs: object) -> object:
        raise AssertionError("the store's figures scanned the messages")

    # Whatever the store holds, the figures are one read: listing the messages or the
    # mailboxes (a scan on a 100k-message store) would fail here.
    monkeypatch.setattr(SQLiteStore, "list_messages", no_scan)
    monkeypatch.setattr(SQLiteStore, "list_mailboxes", no_scan)
    s = await app.open_services(load_config(config_file), clock=ManualClock())
    try:

        async def webmail(scope: object, receive: object, send: object) -> None:
            raise AssertionError("not for the webmail")

        endpoints = OpsEndpoints(webmail, "http", s.mail)  # type: ignore[arg-type]
        local = httpx.ASGITransport(app=endpoints, client=("127.0.0.1", 4000))
        async with httpx.AsyncClient(transport=local, base_url="http://localhost") as c:
            text = (await c.get("/metrics")).text
    finally:
        await s.close()
    figures = dict(line.rsplit(" ", 1) for line in text.splitlines() if line.startswith("postoffice_store_"))
    assert float(figures["postoffice_store_messages"]) == 2
    assert float(figures["postoffice_store_raw_bytes"]) == 2 * size
    assert float(figures["postoffice_store_content_bytes"]) == size
    assert float(figures["postoffice_store_dedup_saved_bytes"]) == size
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["--config", str(config_file), "status"]) == 0
    values = dict(line.split(": ", 1) for line in capsys.readouterr().out.splitlines() if ": " in line)
    assert (values["messages"], values["message_bytes"], values["dedup_saved_bytes"]) == ("2", str(2 * size), str(size))
