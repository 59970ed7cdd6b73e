"""Relayed mail from a local domain leaves DKIM-signed (RFC 6376, RFC 8463), and the
signature covers the octets on the wire: it still verifies after the 8BITMIME
downgrade to quoted-printable for a peer without 8BITMIME (RFC 6152 §3)."""

from __future__ import annotations

import email
import email.policy

from postoffice.authn import DkimKeys
from postoffice.authn.resolver import TxtLookup, make_resolver
from postoffice.authn.verify import DkimVerifier
from postoffice.config import DNSConfig
from postoffice.store.api import NewDelivery
from postoffice.store.queue import NewQueueRecipient
from postoffice.testing.dns import TestDNSServer
from postoffice.testing.server import TranscriptServer
from postoffice.testing.smtp_sink import SMTPSink

from .test_relay import runner_for

EIGHT_BIT = (
    "From: Alice <alice@a.test>\r\nTo: bob@b.test\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n"
    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n\r\nSchöne Grüße aus Köln.\r\n.leading dot\r\n"
).encode()


async def _verify(dns: TestDNSServer, message: bytes) -> list[tuple[str, str, str]]:
    header, _, body = message.partition(b"\r\n\r\n")
    verifier = DkimVerifier(header + b"\r\n\r\n")
    verifier.update(body)
    lookup = TxtLookup(make_resolver(DNSConfig(nameservers=((dns.host, dns.port),), timeout=5)))
    return [(r.result, r.algorithm, r.domain) for r in await verifier.finish(lookup)]


async def test_relayed_message_is_signed_and_verifies_after_downgrade() -> None:
    sink = SMTPSink(extensions=("PIPELINING", "SIZE 100000000"))  # no 8BITMIME: converted on the way
    port = await sink.start()
    try:
        async with TranscriptServer("smtp", users=["alice"], domain="a.test") as a:
            runner = runner_for(a, {"b.test": ("127.0.0.1", port)})
            await runner.outbound.submit(
                EIGHT_BIT, sender="alice@a.test", local=[], remote=[NewQueueRecipient("bob@b.test")], max_size=10**6,
                envelope=NewDelivery("alice@a.test", (), 0.0, body="8BITMIME"),
            )  # fmt: skip
            await runner.run_until_idle()
            await sink.wait_for(1)
            [got] = sink.messages
            parsed = email.message_from_bytes(got.message, policy=email.policy.compat32)
            assert parsed["Content-Transfer-Encoding"].lower() == "quoted-printable"
            assert all(byte < 0x80 for byte in got.message)  # nothing 8-bit reached the 7-bit peer
            signatures = parsed.get_all("DKIM-Signature") or []
            assert len(signatures) == 2 and all("d=a.test" in s.replace(" ", "") for s in signatures)
            keys = DkimKeys(a.config.dkim_dir)
            with TestDNSServer() as dns:
                for key in keys.keys("a.test"):
                    dns.set(f"{key.selector}._domainkey.a.test", "TXT", [key.public_record()])
                results = await _verify(dns, got.message)
            assert results == [("pass", "rsa-sha256", "a.test"), ("pass", "ed25519-sha256", "a.test")]
    finally:
        await sink.stop()


async def test_mail_from_another_domain_is_not_signed() -> None:
    sink = SMTPSink()
    port = await sink.start()
    try:
        async with TranscriptServer("smtp", users=["alice"], domain="a.test") as a:
            runner = runner_for(a, {"b.test": ("127.0.0.1", port)})
            await runner.outbound.submit(
                b"From: someone@elsewhere.test\r\nSubject: x\r\n\r\nbody\r\n", sender="someone@elsewhere.test",
                local=[], remote=[NewQueueRecipient("bob@b.test")], max_size=10**6,
            )  # fmt: skip
            await runner.run_until_idle()
            await sink.wait_for(1)
            [got] = sink.messages
            assert b"DKIM-Signature" not in got.message
    finally:
        await sink.stop()


# A BODY=BINARYMIME message is stored byte for byte (RFC 3030 §3), so a text part may
# hold a bare CR; a binary part holds anything.
BINARY = bytes(range(256)) * 8
BINARY_MIME = (
    b"From: Alice <alice@a.test>\r\nTo: bob@b.test\r\nSubject: binary\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=BB\r\n\r\n--BB\r\nContent-Type: text/plain\r\n\r\n"
    b"a bare CR\rhere and a bare LF\nthere\r\n--BB\r\nContent-Type: application/octet-stream\r\n"
    b"Content-Transfer-Encoding: binary\r\n\r\n" + BINARY + b"\r\n--BB--\r\n"
)


async def test_binarymime_downgraded_for_a_data_only_peer_still_verifies() -> None:
    """The binary part goes as base64 and every line end as CRLF (the DATA framing makes
    it so); the signature covers those octets, not the stored ones."""
    sink = SMTPSink(extensions=("PIPELINING", "8BITMIME", "SIZE 100000000"))  # neither CHUNKING nor BINARYMIME
    port = await sink.start()
    try:
        async with TranscriptServer("smtp", users=["alice"], domain="a.test") as a:
            runner = runner_for(a, {"b.test": ("127.0.0.1", port)})
            await runner.outbound.submit(
                BINARY_MIME, sender="alice@a.test", local=[], remote=[NewQueueRecipient("bob@b.test")], max_size=10**6,
                envelope=NewDelivery("alice@a.test", (), 0.0, body="BINARYMIME"), normalise_line_ends=False,
            )  # fmt: skip
            await runner.run_until_idle()
            await sink.wait_for(1)
            [got] = sink.messages
            assert got.via == "DATA"
            parts = list(email.message_from_bytes(got.message, policy=email.policy.compat32).walk())
            assert parts[2]["Content-Transfer-Encoding"] == "base64" and parts[2].get_payload(decode=True) == BINARY
            keys = DkimKeys(a.config.dkim_dir)
            with TestDNSServer() as dns:
                for key in keys.keys("a.test"):
                    dns.set(f"{key.selector}._domainkey.a.test", "TXT", [key.public_record()])
                results = await _verify(dns, got.message)
            assert results == [("pass", "rsa-sha256", "a.test"), ("pass", "ed25519-sha256", "a.test")]
    finally:
        await sink.stop()
