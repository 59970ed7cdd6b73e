"""Internet mail with every record served by DNS: two postoffice instances (a.test, b.test)
and a DNS server on loopback holding their MX, A, SPF, DKIM and DMARC records. Nothing is
routed statically: the runners find each other by MX lookup through ``[dns] nameservers``
(``[relay] mx_port`` is the peer's MX listener), and each MX listener checks SPF, DKIM and
DMARC against the same server (RFC 5321 §5.1, RFC 7208, RFC 6376, RFC 7489, RFC 7505).

Genuine mail arrives with spf=pass, dkim=pass and dmarc=pass; a forged message claiming
From: a.test, unsigned, sent from 127.0.0.2 (outside a.test's SPF record) fails DMARC and
is refused under p=reject, put in Junk under p=quarantine, delivered under p=none; a
domain with a null MX bounces at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator

import aiosmtplib
import pytest

from postoffice.mail.outbound import Outbound
from postoffice.queue import QueueRunner
from postoffice.testing.dns import TestDNSServer
from postoffice.testing.server import TranscriptServer

from .test_relay import DEADLINE, authentication_results, delivery_status, inbox, publish_sender, submit, wait_inbox

pytestmark = pytest.mark.timeout(120)

ZONE = {
    "a.test": {"MX": ["10 mail.a.test."]},
    "mail.a.test": {"A": ["127.0.0.1"]},
    "b.test": {"MX": ["10 mail.b.test."]},
    "mail.b.test": {"A": ["127.0.0.1"]},
    "nomail.test": {"MX": ["0 ."]},  # RFC 7505: this domain takes no mail
}


def runner_to(srv: TranscriptServer, mx_port: int) -> QueueRunner:
    """The runner ``serve`` would start, with ``[relay] mx_port`` the peer's MX port."""
    outbound = srv.mail.outbound
    assert isinstance(outbound, Outbound)
    config = dataclasses.replace(srv.config, relay=dataclasses.replace(srv.config.relay, mx_port=mx_port))
    return QueueRunner(srv.mail, outbound.queue, outbound, config)


@dataclasses.dataclass
class Pair:
    dns: TestDNSServer
    a: TranscriptServer
    b: TranscriptServer
    a_sub: int
    b_sub: int
    b_mx: int


@contextlib.asynccontextmanager
async def two_instances() -> AsyncIterator[Pair]:
    with TestDNSServer(ZONE) as dns:
        settings = {"authn.inbound_checks": True, "dns.nameservers": [dns.address], "dns.timeout": 5}
        async with (
            TranscriptServer("smtp", users=["alice"], domain="a.test", config_overrides=settings) as a,
            TranscriptServer("smtp", users=["bob"], domain="b.test", config_overrides=settings) as b,
        ):
            assert not a.config.relay.routes and not b.config.relay.routes
            publish_sender(dns, a, "a.test")  # DKIM keys, SPF ip4:127.0.0.1 -all, DMARC p=reject
            publish_sender(dns, b, "b.test")
            a_mx, b_mx = await a.start_listener("smtp"), await b.start_listener("smtp")
            runners = [runner_to(a, b_mx), runner_to(b, a_mx)]
            for runner in runners:
                runner.start()
            try:
                yield Pair(dns, a, b, await a.start_listener("submission"), await b.start_listener("submission"), b_mx)
            finally:
                for runner in runners:
                    await runner.stop()


async def test_mail_routed_by_mx_arrives_with_spf_dkim_dmarc_pass_and_forgeries_meet_the_policy() -> None:
    async with two_instances() as pair:
        await submit(pair.a_sub, "alice@a.test", "bob@b.test", "Hello Bob")
        [got] = await wait_inbox(pair.b, "bob", 1)
        assert ("b.test", "MX") in pair.dns.queries and ("mail.b.test", "A") in pair.dns.queries  # routed by DNS
        verdict = authentication_results(got, "mail.b.test")
        assert "spf=pass smtp.mailfrom=a.test" in verdict
        assert "dkim=pass header.d=a.test" in verdict and "dmarc=pass" in verdict and "header.from=a.test" in verdict
        await submit(pair.b_sub, "bob@b.test", "alice@a.test", "Re: Hello Bob")
        [reply] = await wait_inbox(pair.a, "alice", 1)
        verdict = authentication_results(reply, "mail.a.test")
        assert "spf=pass" in verdict and "dkim=pass header.d=b.test" in verdict and "dmarc=pass" in verdict

        # Forgeries: From: a.test, unsigned, from 127.0.0.2 (a.test's SPF allows 127.0.0.1 only).
        async def forge(policy: str) -> None:
            pair.dns.set("_dmarc.a.test", "TXT", [f"v=DMARC1; p={policy}"])
            forged = (
                f"From: Alice <alice@a.test>\r\nTo: bob@b.test\r\nSubject: forged {policy}\r\n"
                f"Message-ID: <forged-{policy}@a.test>\r\n\r\nPay this invoice.\r\n"
            )
            async with aiosmtplib.SMTP(
                hostname="127.0.0.1", port=pair.b_mx, source_address=("127.0.0.2", 0), start_tls=False,
                local_hostname="forger.test", timeout=DEADLINE,
            ) as client:  # fmt: skip
                await client.sendmail("alice@a.test", ["bob@b.test"], forged)

        with pytest.raises(aiosmtplib.SMTPDataError) as refused:
            await forge("reject")
        assert refused.value.code == 550 and refused.value.message.startswith("5.7.1")
        await forge("quarantine")
        await forge("none")
        inbox_subjects = [m["Subject"] for m in await inbox(pair.b, "bob")]
        assert inbox_subjects == ["Hello Bob", "forged none"]
        [junk] = await inbox(pair.b, "bob", "Junk")
        assert junk["Subject"] == "forged quarantine"
        for message, policy in ((junk, "quarantine"), ((await inbox(pair.b, "bob"))[1], "none")):
            verdict = authentication_results(message, "mail.b.test")
            assert "spf=fail" in verdict and "dkim=none" in verdict
            assert "dmarc=fail" in verdict and f"p={policy}" in verdict and "header.from=a.test" in verdict


async def test_a_domain_with_a_null_mx_bounces_at_once() -> None:
    async with two_instances() as pair:
        await submit(pair.a_sub, "alice@a.test", "carol@nomail.test", "To nowhere")
        [report] = await wait_inbox(pair.a, "alice", 1)  # within seconds: no retry was waited for
        [_, recipient] = delivery_status(report)
        assert recipient["action"] == "failed" and recipient["status"] == "5.1.10"
        assert recipient["final-recipient"].endswith("carol@nomail.test")
        assert ("nomail.test", "MX") in pair.dns.queries
        async with asyncio.timeout(DEADLINE):
            while await pair.a.mail.outbound.queue.list_entries():  # type: ignore[union-attr]  # noqa: ASYNC110 (store polled)
                await asyncio.sleep(0.05)
