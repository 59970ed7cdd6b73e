"""SPF, DKIM and DMARC on the MX listener, over real SMTP sessions, with the records
served by a test DNS server on loopback (RFC 7208, RFC 6376, RFC 7489, RFC 8601).

The client connects from 127.0.0.1. Genuine mail from a.test (SPF allows 127.0.0.1, DKIM
signed) arrives with spf=pass, dkim=pass, dmarc=pass in an Authentication-Results field
that the server wrote, a forged one claiming our authserv-id removed. A forged message
(From: a.test, unsigned, from an address outside SPF) fails DMARC and is refused with 550
5.7.1 at the end of DATA under p=reject, put in Junk under p=quarantine, delivered under
p=none.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from postoffice.authn import DkimKeys, sign_message
from postoffice.testing import TranscriptServer
from postoffice.testing.dns import TestDNSServer
from postoffice.testing.smtp_client import SMTPClient

from .conftest import publish_keys

pytestmark = pytest.mark.timeout(120)

HOSTNAME = "mail.b.test"  # our authserv-id


def message(subject: str, body: bytes = b"Hello Bob.\r\n", extra: bytes = b"") -> bytes:
    return (
        extra + b"From: Alice <alice@a.test>\r\nTo: bob@b.test\r\n"
        b"Subject: " + subject.encode() + b"\r\nMessage-ID: <" + subject.encode() + b"@a.test>\r\n\r\n" + body
    )


@pytest.fixture
def dns() -> Iterator[TestDNSServer]:
    with TestDNSServer({"a.test": {"MX": ["10 mx.a.test."]}, "mx.a.test": {"A": ["127.0.0.1"]}}) as server:
        yield server


@pytest.fixture
async def mx(dns: TestDNSServer, tmp_path: Path) -> AsyncIterator[TranscriptServer]:
    overrides = {"authn.inbound_checks": True, "dns.nameservers": [dns.address], "dns.timeout": 5}
    async with TranscriptServer("smtp", users=["bob"], listeners=["smtp"], domain="b.test",
                                config_overrides=overrides) as server:
        assert server.config.hostname == HOSTNAME
        yield server


async def send(server: TranscriptServer, data: bytes, mail_from: str = "alice@a.test") -> tuple[int, str]:
    """One message over SMTP to bob@b.test; the reply at the end of DATA."""
    client = await SMTPClient.open(server.port("smtp"), ehlo=True)
    try:
        assert (await client.send(f"MAIL FROM:<{mail_from}>\r\n".encode()))[0] == 250
        assert (await client.send(b"RCPT TO:<bob@b.test>\r\n"))[0] == 250
        assert (await client.send(b"DATA\r\n"))[0] == 354
        stuffed = re.sub(rb"(?m)^\.", b"..", data)
        reply = await client.send(stuffed + b".\r\n")
        await client.send(b"QUIT\r\n")
        return reply
    finally:
        client.close()


async def stored(server: TranscriptServer, mailbox: str) -> list[bytes]:
    mail = server.mail
    account = await mail.get_account("bob@b.test")
    assert account is not None
    box = await mail.get_mailbox(account, mailbox)
    return [await mail.read(await mail.get_content(r.content_id)) for r in await mail.list_messages(box)]


def results(data: bytes) -> list[str]:
    """The method results of every Authentication-Results field that names us."""
    header = data.split(b"\r\n\r\n", 1)[0].decode()
    fields = re.findall(r"(?ms)^Authentication-Results:(.*?)(?=^\S)", header + "\r\nEnd:")
    return [" ".join(f.split()) for f in fields]


async def test_genuine_mail_passes(mx: TranscriptServer, dns: TestDNSServer, tmp_path: Path) -> None:
    keys = DkimKeys(tmp_path / "a-dkim")
    publish_keys(dns, keys, "a.test")
    dns.set("a.test", "TXT", ["v=spf1 ip4:127.0.0.1 -all"])
    dns.set("_dmarc.a.test", "TXT", ["v=DMARC1; p=reject"])
    forged = b"Authentication-Results: mail.b.test; dkim=pass header.d=bank.test\r\n"
    original = message("genuine", extra=forged)
    signed = sign_message(keys.keys("a.test"), original) + original
    assert await send(mx, signed) == (250, "2.0.0")
    [data] = await stored(mx, "INBOX")
    [ours] = results(data)  # the forged field that claimed our authserv-id is gone
    assert ours.startswith("mail.b.test;")
    assert "spf=pass smtp.mailfrom=a.test" in ours
    assert "dkim=pass header.d=a.test" in ours and "header.a=rsa-sha256" in ours and "header.a=ed25519-sha256" in ours
    assert "dmarc=pass" in ours and "header.from=a.test" in ours
    assert b"bank.test" not in data
    assert data.index(b"Authentication-Results:") < data.index(b"DKIM-Signature:")  # at the top (RFC 8601 §5)


async def test_large_signed_message_is_checked_streamed(mx: TranscriptServer, dns: TestDNSServer, tmp_path: Path) -> None:
    keys = DkimKeys(tmp_path / "a-dkim")
    publish_keys(dns, keys, "a.test")
    dns.set("a.test", "TXT", ["v=spf1 -all"])
    dns.set("_dmarc.a.test", "TXT", ["v=DMARC1; p=reject"])
    body = b"".join(b"line %07d of a big message\r\n" % i for i in range(120_000))  # ~3.5 MB: spooled to a file
    original = message("big", body=body)
    signed = sign_message(keys.keys("a.test"), original) + original
    assert await send(mx, signed) == (250, "2.0.0")  # SPF fails, aligned DKIM passes: DMARC passes
    [data] = await stored(mx, "INBOX")
    [ours] = results(data)
    assert "spf=fail" in ours and "dkim=pass" in ours and "dmarc=pass" in ours
    assert data.endswith(body)
    assert not list((mx.config.spool_dir).glob("authn-*"))  # the check's spool file is gone


@pytest.mark.parametrize(
    ("policy", "reply", "mailbox"),
    [("reject", (550, "5.7.1"), None), ("quarantine", (250, "2.0.0"), "Junk"), ("none", (250, "2.0.0"), "INBOX")],
)
async def test_forged_mail(mx: TranscriptServer, dns: TestDNSServer, policy: str, reply: tuple[int, str],
                           mailbox: str | None) -> None:
    dns.set("a.test", "TXT", ["v=spf1 ip4:192.0.2.1 -all"])  # 127.0.0.1 is outside
    dns.set("_dmarc.a.test", "TXT", [f"v=DMARC1; p={policy}"])
    assert await send(mx, message(f"forged-{policy}")) == reply
    inbox, junk = await stored(mx, "INBOX"), await stored(mx, "Junk")
    if mailbox is None:
        assert inbox == [] and junk == []
        return
    [data] = inbox if mailbox == "INBOX" else junk
    assert (inbox if mailbox == "Junk" else junk) == []
    [ours] = results(data)
    assert "spf=fail" in ours and "dkim=none" in ours and "dmarc=fail" in ours and f"p={policy}" in ours


async def test_mail_without_dmarc_record_is_delivered_with_results(mx: TranscriptServer, dns: TestDNSServer) -> None:
    assert await send(mx, message("plain").replace(b"a.test", b"c.test"), mail_from="x@c.test") == (250, "2.0.0")
    [data] = await stored(mx, "INBOX")
    [ours] = results(data)
    assert "spf=none" in ours and "dkim=none" in ours and "dmarc=none" in ours


async def test_dns_failure_delivers_with_temperror(tmp_path: Path) -> None:
    """No DNS answer at all: the message is not lost nor refused; the results say temperror."""
    overrides = {"authn.inbound_checks": True, "dns.nameservers": ["127.0.0.1:9"], "dns.timeout": 0.5}
    async with TranscriptServer("smtp", users=["bob"], listeners=["smtp"], domain="b.test",
                                config_overrides=overrides) as server:
        assert await send(server, message("no-dns")) == (250, "2.0.0")
        [data] = await stored(server, "INBOX")
        [ours] = results(data)
        assert "spf=temperror" in ours and "dmarc=temperror" in ours


async def test_submission_removes_forged_results(tmp_path: Path) -> None:
    """A user cannot slip an Authentication-Results field claiming this server past
    submission either (RFC 8601 §5); one naming another server stays."""
    import base64

    async with TranscriptServer("smtp", users=["alice", "bob"], listeners=["submission"], domain="b.test") as server:
        client = await SMTPClient.open(server.port("submission"), ehlo=True)
        token = base64.b64encode(b"\0alice@b.test\0" + server.password.encode()).decode()
        assert (await client.send(f"AUTH PLAIN {token}\r\n".encode()))[0] == 235
        assert (await client.send(b"MAIL FROM:<alice@b.test>\r\n"))[0] == 250
        assert (await client.send(b"RCPT TO:<bob@b.test>\r\n"))[0] == 250
        assert (await client.send(b"DATA\r\n"))[0] == 354
        data = (
            b"Authentication-Results: mail.b.test; dmarc=pass header.from=bank.test\r\n"
            b"Authentication-Results: other.test; spf=pass\r\n"
            b"From: alice@b.test\r\nSubject: hi\r\n\r\nhello\r\n"
        )
        assert await client.send(data + b".\r\n") == (250, "2.0.0")
        client.close()
        [stored_message] = await stored(server, "INBOX")
        assert b"bank.test" not in stored_message
        assert b"Authentication-Results: other.test; spf=pass\r\n" in stored_message
