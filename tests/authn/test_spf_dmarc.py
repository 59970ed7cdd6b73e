"""SPF (RFC 7208) over the test DNS server, DMARC records and alignment (RFC 7489), and
the Authentication-Results field (RFC 8601)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from postoffice.authn.dmarc import evaluate, organizational_domain, parse_record
from postoffice.authn.resolver import TxtLookup, make_resolver, make_sync_resolver
from postoffice.authn.results import authentication_results, authserv_id_of, strip_forged
from postoffice.authn.spf import SpfResult, check_spf
from postoffice.authn.verify import DkimResult
from postoffice.config import DNSConfig
from postoffice.testing.dns import TestDNSServer

ZONES = {
    "a.test": {"TXT": ["v=spf1 ip4:127.0.0.1 -all"], "MX": ["10 mx.a.test."]},
    "mx.a.test": {"A": ["127.0.0.2"]},
    "soft.test": {"TXT": ["v=spf1 ip4:192.0.2.1 ~all"]},
    "neutral.test": {"TXT": ["v=spf1 ?all"]},
    "inc.test": {"TXT": ["v=spf1 include:a.test -all"]},
    "viamx.test": {"TXT": ["v=spf1 mx:a.test -all"]},
    "broken.test": {"TXT": ["v=spf1 ip4:not-an-ip -all"]},
    "helo.test": {"TXT": ["v=spf1 ip4:127.0.0.1 -all"]},
    "nospf.test": {"MX": ["10 mx.a.test."]},
}


@pytest.fixture
def dns() -> Iterator[TestDNSServer]:
    with TestDNSServer(ZONES) as server:
        yield server


async def spf(dns: TestDNSServer, ip: str, mail_from: str, helo: str = "client.test") -> str:
    resolver = make_sync_resolver(DNSConfig(nameservers=((dns.host, dns.port),), timeout=5))
    result = await check_spf(resolver, ip=ip, mail_from=mail_from, helo=helo, receiver="mx.b.test")
    return result.result


@pytest.mark.parametrize(
    ("ip", "sender", "expected"),
    [
        ("127.0.0.1", "alice@a.test", "pass"),
        ("192.0.2.9", "alice@a.test", "fail"),
        ("127.0.0.1", "x@soft.test", "softfail"),
        ("127.0.0.1", "x@neutral.test", "neutral"),
        ("127.0.0.1", "x@nospf.test", "none"),
        ("127.0.0.1", "x@nxdomain.test", "none"),
        ("127.0.0.1", "x@inc.test", "pass"),
        ("127.0.0.2", "x@viamx.test", "pass"),
        ("127.0.0.1", "x@viamx.test", "fail"),
        ("127.0.0.1", "x@broken.test", "permerror"),
    ],
)
async def test_spf_results(dns: TestDNSServer, ip: str, sender: str, expected: str) -> None:
    assert await spf(dns, ip, sender) == expected


async def test_spf_null_sender_checks_helo(dns: TestDNSServer) -> None:
    assert await spf(dns, "127.0.0.1", "", helo="helo.test") == "pass"  # RFC 7208 §2.3
    assert await spf(dns, "192.0.2.9", "", helo="helo.test") == "fail"


async def test_spf_temperror_when_dns_does_not_answer() -> None:
    # A UDP port nobody answers on: the lookup times out -> temperror (RFC 7208 §2.6.6).
    resolver = make_sync_resolver(DNSConfig(nameservers=(("127.0.0.1", 9),), timeout=0.5))
    result = await check_spf(resolver, ip="127.0.0.1", mail_from="a@a.test", helo="x", receiver="mx")
    assert result.result == "temperror"


def test_organizational_domain_from_the_packaged_list() -> None:
    assert organizational_domain("mail.a.test") == "a.test"
    assert organizational_domain("a.b.example.co.uk") == "example.co.uk"
    assert organizational_domain("example.com") == "example.com"


def test_parse_record() -> None:
    record = parse_record(b"v=DMARC1; p=quarantine; sp=reject; adkim=s; pct=50")
    assert record is not None and (record.policy, record.subdomain_policy, record.adkim, record.pct) == (
        "quarantine", "reject", "s", 50,
    )
    assert parse_record(b"v=spf1 -all") is None
    assert parse_record(b"v=DMARC1; p=bogus") is None


def dkim_pass(domain: str) -> DkimResult:
    return DkimResult("pass", domain, "s", "rsa-sha256", "abcdefgh")


SPF_NONE = SpfResult("none", "elsewhere.test", "mailfrom")


async def test_dmarc_alignment_and_policies(dns: TestDNSServer) -> None:
    lookup = TxtLookup(make_resolver(DNSConfig(nameservers=((dns.host, dns.port),), timeout=5)))
    dns.set("_dmarc.a.test", "TXT", ["v=DMARC1; p=reject; sp=quarantine"])
    # Aligned DKIM (relaxed: a subdomain's signature aligns with the organisational domain).
    assert (await evaluate(lookup, "a.test", SPF_NONE, [dkim_pass("mail.a.test")])).result == "pass"
    # Aligned SPF.
    assert (await evaluate(lookup, "a.test", SpfResult("pass", "a.test", "mailfrom"), [])).result == "pass"
    # Nothing aligned: fail, p=reject; from a subdomain: sp=quarantine.
    failed = await evaluate(lookup, "a.test", SpfResult("pass", "other.test", "mailfrom"), [dkim_pass("other.test")])
    assert (failed.result, failed.policy) == ("fail", "reject")
    sub = await evaluate(lookup, "news.a.test", SPF_NONE, [])
    assert (sub.result, sub.policy) == ("fail", "quarantine")
    # Strict DKIM alignment refuses the subdomain's signature.
    dns.set("_dmarc.a.test", "TXT", ["v=DMARC1; p=reject; adkim=s"])
    assert (await evaluate(lookup, "a.test", SPF_NONE, [dkim_pass("mail.a.test")])).result == "fail"
    # No record: none.
    assert (await evaluate(lookup, "nospf.test", SPF_NONE, [])).result == "none"


def test_authentication_results_field_and_forgery_removal() -> None:
    field = authentication_results(
        "mx.b.test",
        SpfResult("pass", "a.test", "mailfrom"),
        [dkim_pass("a.test")],
        None,
    )
    assert field.startswith(b"Authentication-Results: mx.b.test;\r\n\tspf=pass smtp.mailfrom=a.test;")
    assert b"dkim=pass header.d=a.test header.s=s header.a=rsa-sha256 header.b=abcdefgh" in field
    assert field.endswith(b"\r\n")
    header = (
        b"Authentication-Results: MX.B.TEST; dkim=pass\r\n"
        b"Subject: x\r\n"
        b"Authentication-Results: (comment) mx.b.test;\r\n\tspf=pass\r\n"
        b"Authentication-Results: other.test; spf=fail\r\n"
        b"\r\n"
    )
    assert strip_forged(header, "mx.b.test") == (
        b"Subject: x\r\nAuthentication-Results: other.test; spf=fail\r\n\r\n"
    )
    assert authserv_id_of(b" example.org 1; none") == "example.org"


def test_config_dns_and_submission_limits() -> None:
    from postoffice.config import ConfigError, config_from_dict

    config = config_from_dict({"dns": {"nameservers": ["127.0.0.1:5353", "::1", "[::1]:53"], "timeout": "3s"}})
    assert config.dns.addresses() == [("127.0.0.1", 5353), ("::1", 53), ("::1", 53)]
    assert config.dns.timeout == 3.0
    with pytest.raises(ConfigError, match="dns.nameservers"):
        config_from_dict({"dns": {"nameservers": ["resolver.example:53"]}})
    limits = config_from_dict({"limits": {"smtp": {"max_messages_per_hour": 5, "max_recipients_per_message": 10}}})
    assert (limits.limits.smtp.max_messages_per_hour, limits.limits.smtp.max_recipients_per_message) == (5, 10)
    assert config_from_dict({"authn": {"inbound_checks": False}}).authn.inbound_checks is False


async def test_forged_results_removed_from_a_stream_fed_byte_at_a_time() -> None:
    from postoffice.authn.inbound import without_forged_results

    message = (
        b"Authentication-Results: mx.b.test;\r\n\tdkim=pass\r\nSubject: x\r\n\r\n"
        b"Authentication-Results: mx.b.test; in the body, kept\r\n"
    )
    expected = b"Subject: x\r\n\r\nAuthentication-Results: mx.b.test; in the body, kept\r\n"
    assert without_forged_results(message, "mx.b.test", 4096) == expected

    async def one_by_one() -> AsyncIterator[bytes]:
        for i in range(len(message)):
            yield message[i : i + 1]

    stream = without_forged_results(one_by_one(), "mx.b.test", 4096)
    assert not isinstance(stream, bytes)
    assert b"".join([chunk async for chunk in stream]) == expected
