"""Real SMTP clients deliver through both policies, and the message is read back byte for
byte after the trace headers the server prepends (Return-Path, Received).

Clients: Python's smtplib (MX, and submission with STARTTLS + AUTH), aiosmtplib
(submissions, implicit TLS), Debian's swaks (both), and a raw socket for BDAT with
BINARYMIME in several chunks (RFC 3030) and for SCRAM-SHA-256 over TLS.
"""

from __future__ import annotations

import asyncio
import base64
import imaplib
import re
import shutil
import smtplib
import ssl
from collections.abc import AsyncIterator

import aiosmtplib
import pytest

from postoffice.testing import TranscriptServer
from postoffice.wire.sasl import ScramClient

pytestmark = pytest.mark.timeout(60)

UTF8_USER = "用户@example.test"
_TRACE = re.compile(rb"\A(?:(?:Return-Path|Received):[^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*)+")


def tls_client() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


@pytest.fixture
async def srv() -> AsyncIterator[TranscriptServer]:
    async with TranscriptServer(
        "smtp",
        users=["alice", UTF8_USER],
        listeners=["smtp", "submission", "submissions"],
        config_overrides={"auth.trusted_networks": []},  # passwords only over TLS
    ) as server:
        yield server


async def messages(srv: TranscriptServer, user: str) -> list[bytes]:
    box = await srv.mail.get_mailbox(await srv.account(user), "INBOX")
    out = []
    for record in await srv.mail.list_messages(box):
        out.append(await srv.mail.read(await srv.mail.get_content(record.content_id)))
    return out


def after_trace(stored: bytes) -> bytes:
    """The message as sent: the stored bytes less the prepended Return-Path and Received."""
    m = _TRACE.match(stored)
    assert m is not None and b"Return-Path: <" in m.group(0) and b"Received: from " in m.group(0), stored[:300]
    return stored[m.end() :]


async def assert_received(srv: TranscriptServer, user: str, sent: list[bytes]) -> None:
    got = [after_trace(m) for m in await messages(srv, user)]
    assert len(got) == len(sent)
    for a, b in zip(got, sent, strict=True):
        assert a == b, (len(a), len(b), a[:200], b[:200])


def sample_messages() -> list[bytes]:
    plain = b"From: a@remote.test\r\nTo: alice@example.test\r\nSubject: plain\r\n\r\nHello, plain text.\r\n..a stuffed line\r\n"
    utf8 = (
        "From: a@remote.test\r\nTo: alice@example.test\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        "Grüße aus Köln — 日本語のテキスト\r\n"
    ).encode()
    return [plain, utf8]


def attachment(megabytes: int) -> bytes:
    payload = base64.encodebytes(bytes(range(256)) * (megabytes * 1024 * 1024 // 256 * 3 // 4)).replace(b"\n", b"\r\n")
    return (
        b"From: a@remote.test\r\nTo: alice@example.test\r\nSubject: big\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n'
        b"--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + payload
        + b"--b1--\r\n"
    )


# ---- smtplib ----------------------------------------------------------------------------------


async def test_smtplib_mx(srv: TranscriptServer) -> None:
    port = srv.port("smtp")
    sent = [*sample_messages(), attachment(10)]
    utf8_message = "From: a@remote.test\r\nTo: 用户@example.test\r\nSubject: utf8 address\r\n\r\nhallo\r\n".encode()

    def send() -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            client.ehlo("client.example.test")
            for message in sent:
                client.sendmail("a@remote.test", ["alice@example.test"], message, mail_options=["BODY=8BITMIME"])
            client.sendmail("sender@remote.test", [UTF8_USER], utf8_message, mail_options=["SMTPUTF8", "BODY=8BITMIME"])

    await asyncio.to_thread(send)
    await assert_received(srv, "alice", sent)
    await assert_received(srv, UTF8_USER, [utf8_message])


async def test_smtplib_submission_starttls_login(srv: TranscriptServer) -> None:
    port = srv.port("submission")
    sent = sample_messages()

    def send() -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            client.ehlo("client.example.test")
            with pytest.raises(smtplib.SMTPException, match="No suitable"):
                client.login("alice@example.test", "password")  # no PLAIN/LOGIN before TLS
            client.starttls(context=tls_client())
            client.ehlo("client.example.test")
            client.login("alice@example.test", "password")
            for message in sent:
                client.sendmail("alice@example.test", ["alice@example.test"], message, mail_options=["BODY=8BITMIME"])
            # Another domain: accepted for relay, into the outbound queue.
            assert client.sendmail("alice@example.test", ["friend@remote.test"], b"Subject: x\r\n\r\nx\r\n") == {}

    await asyncio.to_thread(send)
    await assert_received(srv, "alice", sent)
    assert srv.mail.outbound is not None
    [queued] = await srv.mail.outbound.queue.list_entries()
    assert [r.address for r in queued.recipients] == ["friend@remote.test"]


# ---- aiosmtplib ------------------------------------------------------------------------------


async def test_aiosmtplib_submissions_implicit_tls(srv: TranscriptServer) -> None:
    sent = [*sample_messages(), attachment(10)]
    client = aiosmtplib.SMTP(
        hostname="127.0.0.1", port=srv.port("submissions"), use_tls=True, tls_context=tls_client(), timeout=30
    )
    async with client:
        await client.login("alice@example.test", "password")  # aiosmtplib encodes SASL names as ASCII
        for message in sent:
            errors, _ = await client.sendmail(
                "alice@example.test", ["alice@example.test"], message, mail_options=["BODY=8BITMIME"]
            )
            assert not errors
        with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
            await client.sendmail("someone@example.test", ["alice@example.test"], b"Subject: x\r\n\r\nx\r\n")
        assert refused.value.code == 553
    await assert_received(srv, "alice", sent)


async def test_aiosmtplib_mx_smtputf8(srv: TranscriptServer) -> None:
    message = "From: 发件人@remote.test\r\nTo: 用户@example.test\r\nSubject: 你好\r\n\r\n你好，世界\r\n".encode()
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=srv.port("smtp"), start_tls=False, timeout=30) as client:
        errors, _ = await client.sendmail(
            "发件人@remote.test", [UTF8_USER], message, mail_options=["SMTPUTF8", "BODY=8BITMIME"]
        )
        assert not errors
    await assert_received(srv, UTF8_USER, [message])


# ---- swaks ------------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("swaks") is None, reason="Debian's swaks is not installed")
async def test_swaks_both_policies(srv: TranscriptServer, tmp_path: object) -> None:
    sent = sample_messages()
    base = ["swaks", "--server", "127.0.0.1", "--helo", "client.example.test", "--to", "alice@example.test"]
    runs = [
        [*base, "--port", str(srv.port("smtp")), "--from", "a@remote.test", "--data", "-"],
        [*base, "--port", str(srv.port("submission")), "--from", "alice@example.test", "-tls",
         "--auth", "PLAIN", "--auth-user", "alice@example.test", "--auth-password", "password", "--data", "-"],
    ]  # fmt: skip
    for command in runs:
        for message in sent:
            process = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            out, _ = await process.communicate(message)
            assert process.returncode == 0, out.decode(errors="replace")[-2000:]
    # swaks always writes CRLF before the ".": a message that ends in CRLF gains one empty line.
    await assert_received(srv, "alice", [m + b"\r\n" for m in sent + sent])


# ---- raw sockets: BDAT BINARYMIME, SCRAM-SHA-256 -----------------------------------------------


class RawClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int, *, tls: bool = False) -> RawClient:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=tls_client() if tls else None, limit=1 << 20
        )
        client = cls(reader, writer)
        assert (await client.reply())[0] == 220
        return client

    async def reply(self) -> tuple[int, list[str]]:
        lines = []
        while True:
            line = (await asyncio.wait_for(self.reader.readline(), 30)).decode()
            assert line, "connection closed"
            lines.append(line[4:].rstrip("\r\n"))
            if line[3] != "-":
                return int(line[:3]), lines

    async def command(self, line: str | bytes, data: bytes = b"") -> tuple[int, list[str]]:
        raw = line.encode() if isinstance(line, str) else line
        self.writer.write(raw + b"\r\n" + data)
        await self.writer.drain()
        return await self.reply()

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


async def bdat_send(port: int, message: bytes, chunk: int, *, tls: bool = False, login: bool = False) -> int:
    client = await RawClient.open(port, tls=tls)
    assert (await client.command("EHLO client.example.test"))[0] == 250
    if login:
        token = base64.b64encode(b"\0alice@example.test\0password").decode()
        assert (await client.command(f"AUTH PLAIN {token}"))[0] == 235
    sender = "alice@example.test" if login else "a@remote.test"
    assert (await client.command(f"MAIL FROM:<{sender}> BODY=BINARYMIME SIZE={len(message)}"))[0] == 250
    assert (await client.command("RCPT TO:<alice@example.test>"))[0] == 250
    pieces = [message[i : i + chunk] for i in range(0, len(message), chunk)] or [b""]
    for piece in pieces[:-1]:
        assert (await client.command(f"BDAT {len(piece)}", piece))[0] == 250
    code, _ = await client.command(f"BDAT {len(pieces[-1])} LAST", pieces[-1])
    await client.command("QUIT")
    await client.close()
    return code


def binary_message(binary: bytes) -> bytes:
    return (
        b"From: a@remote.test\r\nTo: alice@example.test\r\nSubject: binary\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n" + binary
    )


async def test_bdat_binarymime_in_chunks_both_policies(srv: TranscriptServer) -> None:
    binary = bytes(b for b in range(256) if b not in (10, 13)) * 64  # NULs and 8-bit octets
    message = binary_message(binary)
    assert await bdat_send(srv.port("smtp"), message, 1000) == 250
    assert await bdat_send(srv.port("submissions"), message, 777, tls=True, login=True) == 250
    await assert_received(srv, "alice", [message, message])


async def test_bdat_binarymime_keeps_bare_cr_and_lf(srv: TranscriptServer) -> None:
    binary = bytes(range(256)) * 64
    message = (
        b"From: a@remote.test\r\nTo: alice@example.test\r\nSubject: binary\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n" + binary
    )
    assert await bdat_send(srv.port("smtp"), message, 1000) == 250
    assert await bdat_send(srv.port("submissions"), message, 777, tls=True, login=True) == 250
    await assert_received(srv, "alice", [message, message])


def binary_multipart(big: bytes, small: bytes) -> bytes:
    return (
        b"From: a@remote.test\r\nTo: alice@example.test\r\nSubject: parts\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n'
        b"--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n" + big
        + b"\r\n--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n" + small
        + b"\r\n--b1--\r\n"
    )  # fmt: skip


async def test_binarymime_bare_cr_lf_read_back_over_imap_and_pop3() -> None:
    """A BINARYMIME message whose binary parts hold bare CR, bare LF and NULs is stored as
    sent (the large part goes to the part store as its own blob), IMAP returns each part
    and the whole message exactly, and POP3 (a line protocol) still frames RETR correctly."""
    big = bytes(range(256)) * 1024  # 256 KiB: over the part-store threshold
    small = b"a\rb\nc\r\n\n\rd\x00\n.x\r.\r\n.\r\n"  # a CRLF.CRLF inside binary data is data
    message = binary_multipart(big, small)
    async with TranscriptServer("smtp", users=["alice"], listeners=["smtp", "imap", "pop3"]) as srv:
        assert await bdat_send(srv.port("smtp"), message, 50_000) == 250
        [stored] = await messages(srv, "alice")
        assert after_trace(stored) == message
        [record] = await srv.mail.list_messages(await srv.mail.get_mailbox(await srv.account("alice"), "INBOX"))
        content = await srv.mail.get_content(record.content_id)
        assert len(content.blob_ids) == 1  # the big binary part as its own blob (the small skeleton is inline)

        def imap() -> list[bytes]:
            m = imaplib.IMAP4("127.0.0.1", srv.port("imap"))
            m.login("alice@example.test", "password")
            m.select("INBOX")
            out = []
            for item in ("BODY.PEEK[]", "BODY.PEEK[2]", "BINARY.PEEK[2]", "BODY.PEEK[3]", "BODY.PEEK[2]<1000.70000>"):
                typ, data = m.fetch("1", f"({item})")
                assert typ == "OK", data
                out.append(data[0][1])
            typ, data = m.fetch("1", "(RFC822.SIZE)")
            out.append(data[0])
            m.logout()
            return out

        whole, part2, binary2, part3, partial, size = await asyncio.to_thread(imap)

        # RFC 3501 §9: a {n} literal is CHAR8, without NUL; BODY[] sends each NUL as
        # 0x80, octet for octet (as Dovecot does). BINARY[] (a literal8) sends it as stored.
        def body(data: bytes) -> bytes:
            return data.replace(b"\x00", b"\x80")

        assert whole == body(stored)
        assert binary2 == big
        assert part2 == body(big)
        assert part3 == body(small)
        assert partial == body(big)[1000:71000]
        assert f"RFC822.SIZE {len(stored)}".encode() in size

        # POP3 is a line protocol (RFC 1939 §3): RETR sends each bare CR / LF as CRLF,
        # dot-stuffed; the response still ends at the one terminating ".".
        reader, writer = await asyncio.open_connection("127.0.0.1", srv.port("pop3"))
        writer.write(b"USER alice@example.test\r\nPASS password\r\nRETR 1\r\nQUIT\r\n")
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), 30)
        writer.close()
        statuses = raw.split(b"\r\n", 4)  # greeting, USER, PASS, RETR; then the body
        assert all(line.startswith(b"+OK") for line in statuses[:4]), statuses[:4]
        rest = statuses[4]
        end = rest.find(b"\r\n.\r\n")
        body, after = rest[: end + 2], rest[end + 5 :]
        assert after.startswith(b"+OK") and after.count(b"\r\n") == 1  # QUIT, after the one terminator
        unstuffed = re.sub(rb"(?<=\r\n)\.", b"", b"\r\n" + body)[2:]
        normalised = re.sub(rb"\r\n|\r|\n", b"\r\n", stored)
        assert unstuffed == normalised


async def test_bare_lf_and_cr_normalised_unless_binarymime(srv: TranscriptServer) -> None:
    """docs/architecture.md §5: only BODY=BINARYMIME keeps bare CR / LF; an 8BITMIME message, by DATA
    or by BDAT, is stored with every line end as CRLF."""
    sent = "Subject: lf\nX-Note: bare LF\r\n\nGrüße\nsecond\rthird\r\n".encode()
    normalised = "Subject: lf\r\nX-Note: bare LF\r\n\r\nGrüße\r\nsecond\r\nthird\r\n".encode()
    client = await RawClient.open(srv.port("smtp"))
    assert (await client.command("EHLO client.example.test"))[0] == 250
    assert (await client.command("MAIL FROM:<a@remote.test> BODY=8BITMIME"))[0] == 250
    assert (await client.command("RCPT TO:<alice@example.test>"))[0] == 250
    assert (await client.command("DATA"))[0] == 354
    assert (await client.command(sent + b"."))[0] == 250
    assert (await client.command("MAIL FROM:<a@remote.test> BODY=8BITMIME"))[0] == 250
    assert (await client.command("RCPT TO:<alice@example.test>"))[0] == 250
    assert (await client.command(f"BDAT {len(sent)} LAST", sent))[0] == 250
    await client.command("QUIT")
    await client.close()
    await assert_received(srv, "alice", [normalised, normalised])


async def test_bdat_20_mb(srv: TranscriptServer) -> None:
    message = attachment(20)
    assert len(message) > 20 * 1024 * 1024 * 0.99
    assert await bdat_send(srv.port("smtp"), message, 4 * 1024 * 1024) == 250
    await assert_received(srv, "alice", [message])


async def test_scram_sha_256_over_tls(srv: TranscriptServer) -> None:
    for port, tls in ((srv.port("submissions"), True), (srv.port("submission"), False)):
        client = await RawClient.open(port, tls=tls)
        code, lines = await client.command("EHLO client.example.test")
        auth_line = next(line for line in lines if line.startswith("AUTH "))
        # without TLS and with no trusted network, only SCRAM is offered
        assert auth_line.split()[1:] == (["SCRAM-SHA-256", "PLAIN", "LOGIN"] if tls else ["SCRAM-SHA-256"])
        scram = ScramClient("alice@example.test", "password")
        code, lines = await client.command("AUTH SCRAM-SHA-256 " + base64.b64encode(scram.first()).decode())
        assert code == 334
        final = scram.final(base64.b64decode(lines[0]))
        code, lines = await client.command(base64.b64encode(final).decode())
        assert code == 334 and scram.verify(base64.b64decode(lines[0]))
        code, _ = await client.command("")
        assert code == 235
        assert (await client.command("MAIL FROM:<alice@example.test>"))[0] == 250
        await client.close()
    # a wrong password fails
    client = await RawClient.open(srv.port("submissions"), tls=True)
    await client.command("EHLO client.example.test")
    scram = ScramClient("alice@example.test", "wrong")
    code, lines = await client.command("AUTH SCRAM-SHA-256 " + base64.b64encode(scram.first()).decode())
    code, _ = await client.command(base64.b64encode(scram.final(base64.b64decode(lines[0]))).decode())
    assert code == 535
    await client.close()
