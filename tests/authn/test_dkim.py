"""DKIM keys, signing and verification (RFC 6376, RFC 8463).

A message signed for a.test carries an RSA-SHA256 and an Ed25519-SHA256 signature; both
verify with our verifier (keys fetched from a test DNS server on loopback), with dkimpy's
own whole-message verifier, and with an independent one: Perl's Mail::DKIM (Debian
libmail-dkim-perl). Keys are made once per domain, private (0600), and rotated to new
selectors on request.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
from pathlib import Path

import dkim
import pytest

from postoffice.authn import DkimKeys, DkimSigner, sign_message, signing_domain
from postoffice.authn.resolver import TxtLookup, make_resolver
from postoffice.authn.verify import DkimVerifier
from postoffice.config import DNSConfig
from postoffice.testing.dkim_verifiers import OPENDKIM, mail_dkim_results, opendkim_results
from postoffice.testing.dns import TestDNSServer

from .conftest import publish_keys

MESSAGE = (
    b"From: Alice <alice@a.test>\r\n"
    b"To: Bob <bob@b.test>\r\n"
    b"Subject: signed  mail\r\n"
    b"Date: Fri, 04 Dec 2026 12:00:00 +0000\r\n"
    b"Message-ID: <1@a.test>\r\n"
    b"\r\n"
    b"Hello Bob,  \r\n"
    b"\r\n"
    b"a line\twith tabs\r\n"
    b"\r\n\r\n"
)



def lookup(dns: TestDNSServer) -> TxtLookup:
    return TxtLookup(make_resolver(DNSConfig(nameservers=((dns.host, dns.port),), timeout=5)))


async def verify(dns: TestDNSServer, message: bytes) -> list[tuple[str, str, str]]:
    header, _, body = message.partition(b"\r\n\r\n")
    verifier = DkimVerifier(header + b"\r\n\r\n")
    for i in range(0, len(body), 7):
        verifier.update(body[i : i + 7])
    return [(r.result, r.algorithm, r.domain) for r in await verifier.finish(lookup(dns))]


def test_keys_made_once_private_and_rotated(keys: DkimKeys, tmp_path: Path) -> None:
    first = keys.keys("a.test")
    assert [k.algorithm for k in first] == ["rsa-sha256", "ed25519-sha256"]
    assert first[0].selector != first[1].selector  # one selector names one key record
    folder = tmp_path / "dkim" / "a.test"
    for name in os.listdir(folder):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert DkimKeys(tmp_path / "dkim").keys("a.test") == first  # another process: the same keys
    rotated = keys.rotate("a.test")
    assert {k.selector for k in rotated}.isdisjoint({k.selector for k in first})
    assert DkimKeys(tmp_path / "dkim").keys("a.test") == rotated
    assert (folder / f"{first[0].selector}.rsa.pem").exists()  # old keys stay for mail in flight
    assert "k=rsa; p=" in rotated[0].public_record() and "k=ed25519; p=" in rotated[1].public_record()


async def test_signed_message_verifies(keys: DkimKeys, dns_server: TestDNSServer) -> None:
    publish_keys(dns_server, keys, "a.test")
    signed = sign_message(keys.keys("a.test"), MESSAGE) + MESSAGE
    assert await verify(dns_server, signed) == [
        ("pass", "rsa-sha256", "a.test"),
        ("pass", "ed25519-sha256", "a.test"),
    ]
    # dkimpy's own whole-message verification agrees, for both signatures.
    records = {name: value for name, value in _records(dns_server).items()}
    checker = dkim.DKIM(signed)
    assert checker.verify(0, dnsfunc=lambda n, timeout=5: records.get(n)) is True
    assert checker.verify(1, dnsfunc=lambda n, timeout=5: records.get(n)) is True


def _records(dns: TestDNSServer) -> dict[bytes, bytes]:
    out: dict[bytes, bytes] = {}
    for name, types in dns._zones.items():
        for value in types.get("TXT", []):
            out[(name + ".").encode()] = b"".join(
                part.encode() for part in value.strip('"').split('" "')
            )
    return out


async def test_tampered_message_fails(keys: DkimKeys, dns_server: TestDNSServer) -> None:
    publish_keys(dns_server, keys, "a.test")
    signed = sign_message(keys.keys("a.test"), MESSAGE) + MESSAGE
    body_changed = signed.replace(b"a line", b"A line")
    assert [r[0] for r in await verify(dns_server, body_changed)] == ["fail", "fail"]
    header_changed = signed.replace(b"Subject: signed", b"Subject: forged")
    assert [r[0] for r in await verify(dns_server, header_changed)] == ["fail", "fail"]
    dns_server.set(f"{keys.keys('a.test')[0].selector}._domainkey.a.test", "TXT", [])
    assert [r[0] for r in await verify(dns_server, signed)] == ["permerror", "pass"]  # RSA key gone


async def test_streamed_signing_of_a_large_message(keys: DkimKeys, dns_server: TestDNSServer, tmp_path: Path) -> None:
    publish_keys(dns_server, keys, "a.test")
    body = b"".join(b"line %d of a long message  \r\n" % i for i in range(200_000))  # ~6 MB
    path = tmp_path / "big.eml"
    path.write_bytes(MESSAGE.split(b"\r\n\r\n")[0] + b"\r\n\r\n" + body)
    signer = DkimSigner(keys)
    fields = await signer.signature(path, mail_from="alice@a.test", local_domains=["a.test"])
    assert fields.count(b"DKIM-Signature:") == 2
    assert [r[0] for r in await verify(dns_server, fields + path.read_bytes())] == ["pass", "pass"]
    # Not from a local domain: nothing to sign.
    assert await signer.signature(MESSAGE.replace(b"a.test", b"elsewhere.test"), mail_from="x@elsewhere.test",
                                  local_domains=["a.test"]) == b""


def test_signing_domain() -> None:
    header = b"From: Alice <alice@a.test>\r\n\r\n"
    assert signing_domain(header, "alice@a.test", ["a.test"]) == "a.test"
    assert signing_domain(b"From: x@other.test\r\n\r\n", "alice@a.test", ["a.test"]) == "a.test"
    assert signing_domain(b"From: x@other.test\r\n\r\n", "x@other.test", ["a.test"]) is None


def public_keys(keys: DkimKeys) -> dict[str, str]:
    return {f"{k.selector}._domainkey.a.test": k.public_record() for k in keys.keys("a.test")}


@pytest.mark.skipif(not os.path.exists(OPENDKIM), reason="Debian opendkim missing (Makefile TEST_DEBS)")
def test_independent_verifier_opendkim(keys: DkimKeys) -> None:
    """OpenDKIM (Debian opendkim, in the Makefile's TEST_DEBS) verifies both signatures."""
    signed = sign_message(keys.keys("a.test"), MESSAGE) + MESSAGE
    assert opendkim_results(signed, public_keys(keys)) == [("pass", "rsa-sha256", "a.test"), ("pass", "ed25519-sha256", "a.test")]
    tampered = signed.replace(b"a line", b"A line")
    assert opendkim_results(tampered, public_keys(keys)) == [("fail", "rsa-sha256", "a.test"), ("fail", "ed25519-sha256", "a.test")]


@pytest.mark.skipif(shutil.which("perl") is None, reason="perl missing")
async def test_independent_verifier_mail_dkim(keys: DkimKeys, dns_server: TestDNSServer) -> None:
    """Perl's Mail::DKIM (Debian libmail-dkim-perl, in TEST_DEBS) verifies the RSA-SHA256
    signature, reading the key from the test DNS server. (Debian 12's Mail::DKIM
    1.20230212 does not know ed25519-sha256: it reports that signature "invalid".)"""
    publish_keys(dns_server, keys, "a.test")
    signed = sign_message(keys.keys("a.test"), MESSAGE) + MESSAGE

    async def results(message: bytes) -> dict[str, str]:
        return {algorithm: result for result, algorithm, _ in await asyncio.to_thread(mail_dkim_results, message, dns_server.port)}

    assert (await results(signed))["rsa-sha256"] == "pass"
    assert (await results(signed.replace(b"a line", b"A line")))["rsa-sha256"] == "fail"


async def test_signer_from_config_and_switch(tmp_path: Path) -> None:
    from postoffice.config import config_from_dict

    config = config_from_dict({"data_dir": str(tmp_path / "data"), "domains": ["a.test"]})
    signed = await DkimSigner.from_config(config).signature(MESSAGE, mail_from="alice@a.test", local_domains=["a.test"])
    assert signed.count(b"DKIM-Signature:") == 2
    assert (tmp_path / "data" / "dkim" / "a.test" / "current").exists()  # keys made on first need
    off = config_from_dict({"data_dir": str(tmp_path / "data"), "domains": ["a.test"], "authn": {"dkim_sign": False}})
    assert await DkimSigner.from_config(off).signature(MESSAGE, mail_from="alice@a.test", local_domains=["a.test"]) == b""
