"""Logs as an administrator and fail2ban read them.

- A failed IMAP LOGIN, POP3 PASS, SMTP AUTH and web sign-in each log exactly one
  ``event=auth_failed`` line, in text and in JSON, that the shipped fail2ban filter
  (``contrib/fail2ban/filter.d/postoffice.conf``, quoted in the README) matches with
  the address the client connected from (each client uses its own 127.0.0.x).
- Those lines carry the session's protocol and listener; no line carries the password
  tried, and no line a mail address unless ``[log] addresses = true``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from postoffice import app, lifecycle
from postoffice.clock import ManualClock
from postoffice.mail.auth import fast_hasher
from postoffice.observe.logs import LineFormatter
from postoffice.testing.server import build_config

ROOT = Path(__file__).resolve().parents[2]
FILTER = ROOT / "contrib" / "fail2ban" / "filter.d" / "postoffice.conf"
PASSWORD = "ops-right-pw-4d2"
WRONG = "ops-wrong-pw-9c1"
CLIENTS = {"imap": "127.0.0.2", "pop3": "127.0.0.3", "smtp": "127.0.0.4", "http": "127.0.0.5"}


class Lines(logging.Handler):
    def __init__(self, fmt: str, addresses: bool = False) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(LineFormatter(fmt, addresses=addresses))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def failregexes() -> list[re.Pattern[str]]:
    """The filter's failregex lines, with fail2ban's <HOST> as a named group."""
    text = FILTER.read_text()
    block = re.search(r"^failregex = (.*?)^\w", text, re.S | re.M)
    assert block
    rules = [line.strip() for line in block.group(1).splitlines() if line.strip()]
    return [re.compile(r.replace("<HOST>", r"(?P<host>[0-9A-Fa-f:.]+)").replace("^", "", 1)) for r in rules]


def matched_hosts(lines: list[str]) -> list[str]:
    hosts = []
    for line in lines:
        for rule in failregexes():
            m = rule.search(line)
            if m:
                hosts.append(m.group("host"))
                break
    return hosts


async def exchange(host: str, port: int, source: str, script: list[bytes]) -> bytes:
    reader, writer = await asyncio.open_connection(host, port, local_addr=(source, 0))
    received = await reader.readline()
    for line in script:
        writer.write(line)
        await writer.drain()
        received += await asyncio.wait_for(reader.readline(), 30)
    writer.close()
    return received


@pytest.fixture
async def servers(tmp_path: Path) -> AsyncIterator[tuple[lifecycle.Listening, list[Lines]]]:
    config = build_config(
        tmp_path / "data", {"listen": {n: "127.0.0.1:0" for n in ("imap", "pop3", "submission", "http")}}
    )
    s = await app.open_services(config, clock=ManualClock())
    handlers = [Lines("text"), Lines("json"), Lines("text", addresses=True)]
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)
    for h in handlers:
        root.addHandler(h)
    try:
        s.mail.auth.hasher = fast_hasher()
        await s.mail.add_user("alice@example.test", PASSWORD)
        listening = await lifecycle.start_listeners(s, ["imap", "pop3", "submission", "http"], announce=False)
        yield listening, handlers
        await lifecycle.stop_listeners(listening)
    finally:
        for h in handlers:
            root.removeHandler(h)
        root.setLevel(level)
        await s.close()


async def fail_everywhere(listening: lifecycle.Listening) -> None:
    host, port = listening.bound("imap")
    answer = await exchange(host, port, CLIENTS["imap"], [f"a1 LOGIN alice@example.test {WRONG}\r\n".encode()])
    assert b"a1 NO [AUTHENTICATIONFAILED]" in answer
    host, port = listening.bound("pop3")
    answer = await exchange(host, port, CLIENTS["pop3"], [b"USER alice@example.test\r\n", f"PASS {WRONG}\r\n".encode()])
    assert answer.splitlines()[-1].startswith(b"-ERR [AUTH]")
    host, port = listening.bound("submission")
    plain = base64.b64encode(f"\0alice@example.test\0{WRONG}".encode())
    reader, writer = await asyncio.open_connection(host, port, local_addr=(CLIENTS["smtp"], 0))
    await reader.readline()
    writer.write(b"EHLO client.test\r\n")
    while not (await reader.readline()).startswith(b"250 "):
        pass
    writer.write(b"AUTH PLAIN " + plain + b"\r\n")
    assert (await asyncio.wait_for(reader.readline(), 30)).startswith(b"535 5.7.8")
    writer.close()
    host, port = listening.bound("http")
    transport = httpx.AsyncHTTPTransport(local_address=CLIENTS["http"])
    async with httpx.AsyncClient(base_url=f"http://{host}:{port}", transport=transport) as c:
        page = await c.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]*)"', page.text)
        assert csrf
        response = await c.post(
            "/login", data={"csrf": csrf.group(1), "address": "alice@example.test", "password": WRONG}
        )
        assert response.status_code in (401, 403, 200)


async def test_each_failed_login_is_one_line_fail2ban_matches(servers: tuple[lifecycle.Listening, list[Lines]]) -> None:
    listening, (text, json_lines, with_addresses) = servers
    await fail_everywhere(listening)
    for handler in (text, json_lines):
        failures = [line for line in handler.lines if "auth_failed" in line]
        assert len(failures) == 4, failures
        assert sorted(matched_hosts(handler.lines)) == sorted(CLIENTS.values())
        for protocol, ip in CLIENTS.items():
            (line,) = [x for x in failures if ip in x]
            assert protocol in line  # proto=imap / "proto": "imap"
    everything = text.lines + json_lines.lines + with_addresses.lines
    assert not [line for line in everything if WRONG in line or PASSWORD in line]
    # Addresses only when asked for.
    assert not [line for line in text.lines + json_lines.lines if "alice@example.test" in line]


@pytest.mark.skipif(shutil.which("fail2ban-regex") is None, reason="fail2ban (TEST_DEBS) is not installed")
async def test_fail2ban_itself_bans_the_right_addresses(
    servers: tuple[lifecycle.Listening, list[Lines]], tmp_path: Path
) -> None:
    listening, (text, json_lines, _) = servers
    await fail_everywhere(listening)
    for handler in (text, json_lines):
        log = tmp_path / "postoffice.log"
        log.write_text("\n".join(handler.lines) + "\n")
        command = ["fail2ban-regex", "--out", "ip", str(log), str(FILTER)]
        out = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert sorted(out.stdout.split()) == sorted(CLIENTS.values())


def test_the_readme_quotes_the_filter() -> None:
    readme = (ROOT / "README.md").read_text()
    for line in FILTER.read_text().splitlines():
        if line.startswith(("failregex", "            ^")):
            assert line.strip().removeprefix("failregex = ") in readme


@pytest.mark.timeout(120)
@pytest.mark.parametrize("fmt", ["text", "json"])
async def test_serve_prints_each_line_once_in_the_configured_format(tmp_path: Path, fmt: str) -> None:
    from postoffice.testing.serve import POSTOFFICE, free_port

    if not POSTOFFICE.exists():
        pytest.skip("the postoffice console script is not installed")
    imap = free_port()
    config = tmp_path / "postoffice.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "data"}"\ndomains = ["example.test"]\n[listen]\nimap = "127.0.0.1:{imap}"\n'
        f'[log]\nformat = "{fmt}"\n'
    )
    out, err = tmp_path / "out", tmp_path / "err"
    with out.open("wb") as o, err.open("wb") as e:
        process = await asyncio.create_subprocess_exec(str(POSTOFFICE), "--config", str(config), "serve", stdout=o, stderr=e)
    try:
        end = asyncio.get_running_loop().time() + 30
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", imap)
            except OSError:
                assert asyncio.get_running_loop().time() < end, "serve never listened"
                await asyncio.sleep(0.05)
                continue
            writer.close()
            break
    finally:
        process.terminate()
        assert await asyncio.wait_for(process.wait(), 30) == 0
    lines = (out.read_text() + err.read_text()).splitlines()
    assert len([line for line in lines if f":{imap}" in line and "listening" in line]) == 1
    logged = err.read_text().splitlines()
    assert logged  # at least the connection above and the stop
    for line in logged:
        if fmt == "json":
            assert json.loads(line)["level"] in ("debug", "info", "warning", "error")
        else:
            assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=\w+ event=\w+ ", line), line
