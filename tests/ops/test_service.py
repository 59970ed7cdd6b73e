"""A real ``serve`` stopped, reloaded and run as a service, as an administrator does it.

- SIGTERM while a 50 MB message is in SMTP DATA, an IMAP APPEND literal is half sent,
  an IMAP client IDLEs and a POP3 client waits: the IDLE client gets ``* BYE`` and the
  POP3 client ``-ERR [SYS/TEMP]`` at once, no new connection is accepted, the APPEND
  completes (then ``* BYE``), the message still gets its 250 and is stored although its
  client paused longer than SMTP's old fixed 5 s grace (one deadline, ``[server]
  shutdown_grace``, for every protocol), and the process exits 0 within the deadline.
- SIGTERM while the webmail streams a paced media answer that takes longer than the
  web's old fixed 5 s: the answer completes, then the process exits 0.
- Past the deadline, a client stalled in DATA gets 421 4.3.2 no sooner than the
  configured deadline, nothing of its message is stored, and the process exits 0.
- SIGHUP with a renewed certificate at the configured path: new TLS connections to
  either process of a two-process ``serve`` present the new one, and an IMAP session open across the reload goes on; a changed key that
  needs a restart (``domains``) is named in the log, once.
- SIGHUP with changed limits, log format and deadline in a two-process ``serve``: every
  process applies them (new SMTP sessions on either process get the new recipient
  limit; the log turns JSON), open IMAP and SMTP sessions go on, and one line of the
  main process names the changes that need a restart (``domains``, ``listen.imap``).
- ``serve`` (two processes, debug log) prints each listener's line once, and each
  process says once that it stops.
- Started as root with ``[server] user``, on a privileged loopback port: the process
  then runs as that user, and serves.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from postoffice import app
from postoffice.config import load_config
from postoffice.mail.auth import fast_hasher
from postoffice.net.tls import ensure_self_signed
from postoffice.testing.serve import POSTOFFICE, free_port, start_serve

PASSWORD = "ops-right-pw-4d2"
DEADLINE = 60.0
GRACE = 40.0  # [server] shutdown_grace of the SIGTERM tests
STOP_SLACK = 15.0  # past the deadline: the goodbyes, the sessions' cleanup, closing the store
OLD_SMTP_GRACE = 5.0  # SMTP's own grace before one deadline served every protocol

pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.skipif(not POSTOFFICE.exists(), reason="the postoffice console script is not installed"),
]


async def add_alice(config_file: Path) -> None:
    async with app.services(load_config(config_file)) as s:
        s.mail.auth.hasher = fast_hasher()
        await s.mail.add_user("alice@example.test", PASSWORD)


class LineClient:
    def __init__(self, port: int, context: ssl.SSLContext | None = None) -> None:
        sock = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE)
        self.sock: socket.socket = context.wrap_socket(sock) if context else sock
        self.file = self.sock.makefile("rb")

    def until(self, prefix: bytes) -> bytes:
        while True:
            line = self.file.readline()
            assert line, f"closed while waiting for {prefix!r}"
            if line.startswith(prefix):
                return line

    def command(self, data: bytes, answer: bytes) -> bytes:
        self.sock.sendall(data)
        return self.until(answer)


def imap_logged_in(port: int) -> LineClient:
    c = LineClient(port)
    c.until(b"* OK")
    c.command(f"a1 LOGIN alice@example.test {PASSWORD}\r\n".encode(), b"a1 OK")
    c.command(b"a2 SELECT INBOX\r\n", b"a2 OK")
    return c


def refuses(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except OSError:
        return True
    return False


async def test_sigterm_lets_data_finish_and_says_bye_to_idle(tmp_path: Path) -> None:
    smtp, imap, pop3 = free_port(), free_port(), free_port()
    config_file = tmp_path / "postoffice.toml"
    config_file.write_text(
        f'data_dir = "{tmp_path / "data"}"\ndomains = ["example.test"]\n'
        f'[listen]\nsmtp = "127.0.0.1:{smtp}"\nimap = "127.0.0.1:{imap}"\npop3 = "127.0.0.1:{pop3}"\n'
        f'[server]\nshutdown_grace = "{GRACE:.0f}s"\n[limits.smtp]\nmax_message_size = "80MB"\n'
    )
    await add_alice(config_file)
    process = await start_serve(config_file, imap)
    body = (b"x" * 998 + b"\r\n") * (50 * 1024 * 1024 // 1000)
    digest = hashlib.sha256(b"Subject: big\r\n\r\n" + body).hexdigest()
    try:

        appended = b"Subject: appended\r\n\r\n" + b"y" * 100_000 + b"\r\n"

        def scenario() -> tuple[bytes, bytes, bool, bytes, float]:
            idle = imap_logged_in(imap)
            idle.command(b"a3 IDLE\r\n", b"+")
            pop = LineClient(pop3)
            pop.until(b"+OK")
            pop.command(b"USER alice@example.test\r\n", b"+OK")
            pop.command(f"PASS {PASSWORD}\r\n".encode(), b"+OK")
            append = imap_logged_in(imap)
            append.command(f"a5 APPEND INBOX {{{len(appended)}}}\r\n".encode(), b"+")
            append.sock.sendall(appended[:50_000])
            s = LineClient(smtp)
            s.until(b"220 ")
            s.command(b"EHLO client.test\r\n", b"250 ")
            s.command(b"MAIL FROM:<bob@remote.test>\r\n", b"250 ")
            s.command(b"RCPT TO:<alice@example.test>\r\n", b"250 ")
            s.command(b"DATA\r\n", b"354 ")
            s.sock.sendall(b"Subject: big\r\n\r\n" + body[: len(body) // 2])
            os.kill(process.pid, signal.SIGTERM)
            signalled = time.monotonic()
            bye = idle.until(b"* BYE")  # the server is stopping now
            assert pop.file.readline().startswith(b"-ERR [SYS/TEMP]")  # RFC 3206: no UPDATE state
            stopped_accepting = refuses(smtp) and refuses(imap)
            append.sock.sendall(appended[50_000:] + b"\r\n")
            assert append.until(b"a5 ").startswith(b"a5 OK")  # the APPEND in flight completes
            assert append.file.readline().startswith(b"* BYE")
            # A slow client: it pauses past SMTP's old fixed grace; the configured deadline
            # of the whole stop is what counts.
            time.sleep(max(0.0, signalled + OLD_SMTP_GRACE + 2.0 - time.monotonic()))
            s.sock.sendall(body[len(body) // 2 :] + b".\r\n")
            accepted = s.until(b"2")  # 250 after the whole message is durable
            goodbye = s.file.readline()  # then 421: the server closes the session
            return bye, accepted, stopped_accepting, goodbye, signalled

        bye, accepted, stopped_accepting, goodbye, signalled = await asyncio.to_thread(scenario)
        assert bye.startswith(b"* BYE")
        assert accepted.startswith(b"250 "), accepted
        assert stopped_accepting
        assert goodbye.startswith(b"421 ") or goodbye == b""
        assert await asyncio.wait_for(process.wait(), GRACE + STOP_SLACK) == 0
        assert time.monotonic() - signalled < GRACE + STOP_SLACK  # exited within the deadline
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    async with app.services(load_config(config_file)) as s:
        account = await s.store.get_account("alice@example.test")
        assert account is not None
        box = await s.mail.get_mailbox(account, "INBOX")
        records = await s.mail.list_messages(box)
        assert len(records) == 2  # the APPEND and the SMTP message
        record = max(records, key=lambda r: r.size)
        stored = await s.mail.read(await s.mail.get_content(record.content_id))
        # Trace headers (Received) come first, then the message exactly as sent.
        assert hashlib.sha256(stored[stored.index(b"Subject: big\r\n") :]).hexdigest() == digest


async def test_sigterm_deadline_is_the_configured_one_for_smtp_too(tmp_path: Path) -> None:
    grace = OLD_SMTP_GRACE + 4.0
    smtp, imap = free_port(), free_port()
    config_file = tmp_path / "postoffice.toml"
    config_file.write_text(
        f'data_dir = "{tmp_path / "data"}"\ndomains = ["example.test"]\n'
        f'[listen]\nsmtp = "127.0.0.1:{smtp}"\nimap = "127.0.0.1:{imap}"\n'
        f'[server]\nprocesses = 1\nshutdown_grace = "{grace:.0f}s"\n'
    )
    await add_alice(config_file)
    process = await start_serve(config_file, imap)  # the last listener started
    try:

        def scenario() -> tuple[bytes, float, bytes]:
            idle = imap_logged_in(imap)
            idle.command(b"a3 IDLE\r\n", b"+")
            s = LineClient(smtp)
            s.until(b"220 ")
            s.command(b"EHLO client.test\r\n", b"250 ")
            s.command(b"MAIL FROM:<bob@remote.test>\r\n", b"250 ")
            s.command(b"RCPT TO:<alice@example.test>\r\n", b"250 ")
            s.command(b"DATA\r\n", b"354 ")
            s.sock.sendall(b"Subject: stalled\r\n\r\nhalf a message\r\n")  # and no more
            os.kill(process.pid, signal.SIGTERM)
            signalled = time.monotonic()
            bye = idle.until(b"* BYE")
            goodbye = s.file.readline()  # the client never finishes: the deadline ends it
            return goodbye, time.monotonic() - signalled, bye

        goodbye, after, bye = await asyncio.to_thread(scenario)
        assert bye.startswith(b"* BYE")
        assert goodbye.startswith(b"421 4.3.2"), goodbye
        assert after >= grace - 0.5, f"421 after {after:.1f} s, before the configured {grace:.0f} s"
        assert await asyncio.wait_for(process.wait(), grace + STOP_SLACK) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    async with app.services(load_config(config_file)) as s:
        account = await s.store.get_account("alice@example.test")
        assert account is not None
        assert await s.mail.list_messages(await s.mail.get_mailbox(account, "INBOX")) == []


async def test_sigterm_lets_a_paced_web_download_finish_within_the_deadline(tmp_path: Path) -> None:
    import re as regex
    import sys
    import wave

    import httpx

    sys.path.insert(0, str(Path(__file__).parents[1] / "media"))
    from media_helpers import media_mail

    http = free_port()
    config_file = tmp_path / "postoffice.toml"
    config_file.write_text(
        f'data_dir = "{tmp_path / "data"}"\ndomains = ["example.test"]\n[listen]\nhttp = "127.0.0.1:{http}"\n'
        f'[server]\nprocesses = 1\nshutdown_grace = "{GRACE:.0f}s"\n'
    )
    wav = tmp_path / "voice.wav"
    with wave.open(str(wav), "wb") as w:  # 120 s, 8 kHz mono 16-bit: 16,000 octets a second
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes(n % 251 for n in range(2 * 8000 * 120)))
    async with app.services(load_config(config_file)) as s:
        s.mail.auth.hasher = fast_hasher()
        await s.mail.add_user("alice@example.test", PASSWORD)
        uid = (await s.mail.deliver(media_mail(wav.read_bytes(), "audio/wav"), ["alice@example.test"])).records[0].uid
        assert s.mail.media is not None
        await s.mail.media.settle()
    process = await start_serve(config_file, http)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http}", timeout=DEADLINE) as c:
            page = await c.get("/login")
            csrf = regex.search(r'name="csrf" value="([^"]*)"', page.text)
            assert csrf
            signed = await c.post("/login", data={"csrf": csrf.group(1), "address": "alice@example.test", "password": PASSWORD})
            assert signed.status_code == 303
            # Paced at twice the media's rate after a burst of 8 s of media: 128,000 octets
            # at once, then 32,000 a second; this answer takes about 9 s, more than the web's
            # old fixed 5 s at a stop.
            length = 128_000 + 9 * 32_000
            url = f"/message/{uid}/media/2?folder=INBOX&source=original"
            received = 0
            async with c.stream("GET", url, headers={"Range": f"bytes=0-{length - 1}"}) as r:
                assert r.status_code == 206 and int(r.headers["content-length"]) == length
                async for data in r.aiter_raw():
                    if not received:
                        os.kill(process.pid, signal.SIGTERM)
                        signalled = time.monotonic()
                    received += len(data)
        assert received == length  # the answer in flight was finished, not cut
        assert await asyncio.wait_for(process.wait(), GRACE + STOP_SLACK) == 0
        assert time.monotonic() - signalled < GRACE + STOP_SLACK
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def spawn_serve(config_file: Path, port: int, stderr: Path) -> asyncio.subprocess.Process:
    """``serve`` with its stderr (the log) in a file; returns once ``port`` accepts."""
    with stderr.open("wb") as err:
        process = await asyncio.create_subprocess_exec(
            str(POSTOFFICE), "--config", str(config_file), "serve", stdout=asyncio.subprocess.DEVNULL, stderr=err
        )
    end = time.monotonic() + DEADLINE
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if process.returncode is not None or time.monotonic() > end:
                if process.returncode is None:
                    process.kill()
                raise AssertionError("serve did not listen") from None
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return process


def presented_certificate(port: int) -> bytes:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE) as sock, context.wrap_socket(sock) as tls:
        der = tls.getpeercert(binary_form=True)
        assert der is not None
        return der


async def test_sighup_presents_a_renewed_certificate_and_keeps_sessions(tmp_path: Path) -> None:
    imap, imaps = free_port(), free_port()
    old_cert, old_key = ensure_self_signed(tmp_path / "old", "old.example.test")
    new_cert, new_key = ensure_self_signed(tmp_path / "new", "new.example.test")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    shutil.copy(old_cert, cert)
    shutil.copy(old_key, key)
    config_file = tmp_path / "postoffice.toml"
    config_file.write_text(
        f'data_dir = "{tmp_path / "data"}"\ndomains = ["example.test"]\n'
        f'[listen]\nimap = "127.0.0.1:{imap}"\nimaps = "127.0.0.1:{imaps}"\n'
        f'[tls]\ncert = "{cert}"\nkey = "{key}"\n[server]\nprocesses = 2\n'
    )
    await add_alice(config_file)
    err = tmp_path / "stderr"
    process = await spawn_serve(config_file, imaps, err)
    try:
        old_der = await asyncio.to_thread(presented_certificate, imaps)
        session = await asyncio.to_thread(imap_logged_in, imap)
        shutil.copy(new_cert, cert)
        shutil.copy(new_key, key)
        # A key a running process cannot change: named in the log, the rest applies.
        config_file.write_text(config_file.read_text().replace('domains = ["example.test"]', 'domains = ["example.test", "other.test"]'))
        os.kill(process.pid, signal.SIGHUP)
        end = time.monotonic() + DEADLINE
        while len(set(re.findall(r"event=reload .* pid=(\d+)", err.read_text()))) < 2:  # both processes
            assert time.monotonic() < end, "not every process reloaded:\n" + err.read_text()
            await asyncio.sleep(0.05)
        # New connections land on either process (SO_REUSEPORT): each presents the new one.
        for _ in range(12):
            assert await asyncio.to_thread(presented_certificate, imaps) != old_der
        answer = await asyncio.to_thread(session.command, b"a9 NOOP\r\n", b"a9 ")
        assert answer.startswith(b"a9 OK")
        assert process.returncode is None
        restart = [line for line in err.read_text().splitlines() if "event=reload_needs_restart" in line]
        assert len(restart) == 1 and "keys=domains" in restart[0], restart
    finally:
        process.terminate()
        assert await asyncio.wait_for(process.wait(), DEADLINE) == 0


def json_lines(path: Path) -> list[dict[str, object]]:
    out = []
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def smtp_recipients_accepted(port: int) -> list[bytes]:
    """A new SMTP session that tries two recipients: the first reply line of each."""
    s = LineClient(port)
    s.until(b"220 ")
    s.command(b"EHLO client.test\r\n", b"250 ")
    s.command(b"MAIL FROM:<bob@remote.test>\r\n", b"250 ")
    answers = [s.command(f"RCPT TO:<{rcpt}@example.test>\r\n".encode(), b"") for rcpt in ("alice", "postmaster")]
    s.command(b"QUIT\r\n", b"221 ")
    return answers


async def test_sighup_applies_the_reloadable_settings_in_every_process(tmp_path: Path) -> None:
    smtp, imap = free_port(), free_port()
    config_file = tmp_path / "postoffice.toml"
    before = (
        f'data_dir = "{tmp_path / "data"}"\ndomains = ["example.test"]\n'
        f'[listen]\nsmtp = "127.0.0.1:{smtp}"\nimap = "127.0.0.1:{imap}"\n'
        '[server]\nprocesses = 2\n[limits.smtp]\nmax_recipients = 5\n'
    )
    config_file.write_text(before)
    await add_alice(config_file)
    err = tmp_path / "stderr"
    process = await spawn_serve(config_file, imap, err)
    try:
        assert [a[:3] for a in await asyncio.to_thread(smtp_recipients_accepted, smtp)] == [b"250", b"250"]
        session = await asyncio.to_thread(imap_logged_in, imap)
        open_smtp = await asyncio.to_thread(LineClient, smtp)
        await asyncio.to_thread(open_smtp.until, b"220 ")
        # Live: a limit, the log format, the deadline of a stop. Needs a restart: the
        # domains and a listener's address.
        config_file.write_text(
            before.replace('domains = ["example.test"]', 'domains = ["example.test", "other.test"]')
            .replace(f'imap = "127.0.0.1:{imap}"', f'imap = "127.0.0.1:{free_port()}"')
            .replace("max_recipients = 5", "max_recipients = 1")
            .replace("processes = 2", 'processes = 2\nshutdown_grace = "7s"')
            + '[log]\nformat = "json"\n'
        )
        os.kill(process.pid, signal.SIGHUP)
        end = time.monotonic() + DEADLINE
        while len({line["pid"] for line in json_lines(err) if line.get("event") == "reload"}) < 2:
            assert time.monotonic() < end, "not every process reloaded:\n" + err.read_text()
            assert process.returncode is None
            await asyncio.sleep(0.05)
        reloads = [line for line in json_lines(err) if line.get("event") == "reload"]
        assert all(
            set(str(line["keys"]).split(",")) == {"limits.smtp.max_recipients", "log.format", "server.shutdown_grace"}
            for line in reloads
        ), reloads
        # One line, from the main process, naming each changed setting a restart needs.
        restart = [line for line in json_lines(err) if line.get("event") == "reload_needs_restart"]
        assert len(restart) == 1, restart
        assert set(str(restart[0]["keys"]).split(",")) == {"domains", "listen.imap"}
        assert "restart needed for" in str(restart[0]["msg"])
        # Every process serves new sessions with the new limit (connections land on
        # either process: SO_REUSEPORT).
        for _ in range(12):
            answers = await asyncio.to_thread(smtp_recipients_accepted, smtp)
            assert [a[:3] for a in answers] == [b"250", b"452"], answers
        # Nothing was dropped.
        answer = await asyncio.to_thread(session.command, b"a9 NOOP\r\n", b"a9 ")
        assert answer.startswith(b"a9 OK")
        assert (await asyncio.to_thread(open_smtp.command, b"NOOP\r\n", b"2")).startswith(b"250")
        assert any(line.get("event") == "connect" for line in json_lines(err))  # the new format, live
        assert PASSWORD not in err.read_text()  # the logins above, in either format
        assert process.returncode is None
    finally:
        process.terminate()
        assert await asyncio.wait_for(process.wait(), DEADLINE) == 0


async def test_serve_prints_each_line_once(tmp_path: Path) -> None:
    names = ("smtp", "imap", "imaps", "http", "https")
    ports = {name: free_port() for name in names}
    config_file = tmp_path / "postoffice.toml"
    config_file.write_text(
        f'data_dir = "{tmp_path / "data"}"\ndomains = ["example.test"]\n[listen]\n'
        + "".join(f'{name} = "127.0.0.1:{port}"\n' for name, port in ports.items())
        + '[server]\nprocesses = 2\n[log]\nlevel = "debug"\n'  # debug: every line there is
    )
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            str(POSTOFFICE), "--config", str(config_file), "serve", stdout=stdout, stderr=stderr
        )
    try:
        end = time.monotonic() + DEADLINE
        while "worker 1 " not in out.read_text():  # both processes serve
            assert process.returncode is None and time.monotonic() < end, out.read_text() + err.read_text()
            await asyncio.sleep(0.05)
        await asyncio.to_thread(lambda: urllib.request.urlopen(f"http://127.0.0.1:{ports['http']}/login", timeout=DEADLINE).read())
    finally:
        process.terminate()
        assert await asyncio.wait_for(process.wait(), DEADLINE) == 0
    printed = out.read_text().splitlines() + err.read_text().splitlines()
    for name, port in ports.items():
        announced = [line for line in printed if "listening on" in line and re.search(rf"\b{port}\b", line)]
        assert len(announced) == 1, (name, announced)
    assert not [line for line in printed if line.count("listening on") > 1]
    # Each process says once that it stops (uvicorn's own "Shutting down", once per web
    # listener, repeated it).
    stops = collections.Counter(
        m.group(1) for line in printed if (m := re.search(r"pid=(\d+) msg=\"?[Ss]hutting down\"?$", line))
    )
    assert len(stops) == 2 and set(stops.values()) == {1}, stops


def ensure_system_user(user: str) -> None:
    import pwd

    try:
        pwd.getpwnam(user)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user], check=True)


def private_base() -> Path:
    base = Path(tempfile.mkdtemp(prefix="postoffice-root-", dir="/tmp"))
    base.chmod(0o755)  # the dropped user must reach data_dir
    return base


def _privileged_free_port() -> int | None:
    for port in (143, 110, 993, 995, 587, 465, 25):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    return None


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to bind a privileged port and change user")
async def test_root_binds_a_privileged_port_then_runs_as_the_configured_user() -> None:
    user = "postoffice-test"
    await asyncio.to_thread(ensure_system_user, user)
    port = _privileged_free_port()
    if port is None:
        pytest.skip("no privileged loopback port is free")
    base = await asyncio.to_thread(private_base)
    try:
        config_file = base / "postoffice.toml"
        config_file.write_text(
            f'data_dir = "{base / "data"}"\ndomains = ["example.test"]\n'
            f'[listen]\nimap = "127.0.0.1:{port}"\n[server]\nuser = "{user}"\n'
        )
        await add_alice(config_file)
        process = await start_serve(config_file, port)
        try:
            import pwd

            uid = pwd.getpwnam(user).pw_uid
            end = time.monotonic() + DEADLINE
            while True:
                status = await asyncio.to_thread(Path(f"/proc/{process.pid}/status").read_text)
                uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
                if uids == [str(uid)] * 4:
                    break
                assert time.monotonic() < end, f"still running as {uids}"
                await asyncio.sleep(0.05)
            # It still serves, and writes its store, as that user.
            session = await asyncio.to_thread(imap_logged_in, port)
            answer = await asyncio.to_thread(session.command, b"a4 CREATE Projects\r\n", b"a4 ")
            assert answer.startswith(b"a4 OK")
        finally:
            process.terminate()
            assert await asyncio.wait_for(process.wait(), DEADLINE) == 0
    finally:
        shutil.rmtree(base, ignore_errors=True)
