"""MTA-STS (RFC 8461) when relaying: the policy of b.test is discovered through its
``_mta-sts`` TXT record on a DNS server on loopback, fetched over verified HTTPS from a
policy server on loopback (its certificate from a test CA that ``[relay] tls_ca_file``
trusts), cached for its max_age, and enforced: only a listed MX, and only over TLS
verified for the MX name. Deliveries run with the test's clock (``run_until_idle``)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from postoffice.queue import QueueRunner
from postoffice.queue.mtasts import Policy, PolicyError, parse_policy
from postoffice.store.queue import NewQueueRecipient
from postoffice.testing.ca import TestCA
from postoffice.testing.dns import TestDNSServer
from postoffice.testing.server import TranscriptServer

from .test_dns_served import runner_to
from .test_relay import inbox

pytestmark = pytest.mark.timeout(120)


class PolicyServer:
    """HTTPS on 127.0.0.1 for mta-sts.b.test: answers ``status`` with ``policy`` as text/plain."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert, key)
        self.policy = ""
        self.status = "200 OK"
        self.requests: list[str] = []  # request lines, in order
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._answer, "127.0.0.1", 0, ssl=self.context)
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError, ssl.SSLError):
            head = await reader.readuntil(b"\r\n\r\n")
            self.requests.append(head.split(b"\r\n", 1)[0].decode())
            body = self.policy.encode()
            extra = "Location: https://elsewhere.test/policy\r\n" if self.status.startswith("3") else ""
            writer.write(
                f"HTTP/1.1 {self.status}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n{extra}"
                f"Connection: close\r\n\r\n".encode() + body
            )
            await writer.drain()
            writer.close()


def policy(mode: str, *mx: str, max_age: int = 86400) -> str:
    return "version: STSv1\r\nmode: " + mode + "\r\n" + "".join(f"mx: {m}\r\n" for m in mx) + f"max_age: {max_age}\r\n"


@contextlib.asynccontextmanager
async def setup(tmp_path: Path, *, trusted_mx_cert: bool) -> AsyncIterator[tuple[TranscriptServer, TranscriptServer, TestDNSServer, PolicyServer, QueueRunner]]:
    """(A, B, DNS, policy server, A's queue runner, whose policy cache lives as long as
    it does); B's certificate from the CA if ``trusted_mx_cert``."""
    ca = TestCA(tmp_path / "ca")
    server = PolicyServer(*ca.issue("mta-sts.b.test"))
    https_port = await server.start()
    zone = {
        "b.test": {"MX": ["10 mail.b.test."]},
        "mail.b.test": {"A": ["127.0.0.1"]},
        "mta-sts.b.test": {"A": ["127.0.0.1"]},
    }
    b_settings: dict[str, object] = {}
    if trusted_mx_cert:
        cert, key = ca.issue("mail.b.test")
        b_settings = {"tls.cert": str(cert), "tls.key": str(key)}
    try:
        with TestDNSServer(zone) as dns:
            a_settings = {
                "dns.nameservers": [dns.address], "dns.timeout": 5,
                "relay.tls_ca_file": str(ca.ca_file), "relay.mta_sts_port": https_port,
            }  # fmt: skip
            async with (
                TranscriptServer("smtp", users=["alice"], domain="a.test", config_overrides=a_settings) as a,
                TranscriptServer("smtp", users=["bob"], domain="b.test", config_overrides=b_settings) as b,
            ):
                yield a, b, dns, server, runner_to(a, await b.start_listener("smtp"))
    finally:
        await server.stop()


async def send_all(runner: QueueRunner, *subjects: str) -> None:
    """Queue one message per subject from alice to bob and run A's queue once to its end."""
    for subject in subjects:
        await runner.outbound.submit(
            f"From: alice@a.test\r\nTo: bob@b.test\r\nSubject: {subject}\r\n\r\nhi\r\n".encode(), sender="alice@a.test",
            local=[], remote=[NewQueueRecipient("bob@b.test")], max_size=10**6,
        )  # fmt: skip
    await runner.run_until_idle()


async def retry(a: TranscriptServer, runner: QueueRunner, seconds: float) -> None:
    """Let ``seconds`` pass on A's clock and run A's queue once to its end."""
    a.clock.advance(seconds)
    await runner.run_until_idle()


async def subjects(b: TranscriptServer) -> list[str]:
    return [m["Subject"] for m in await inbox(b, "bob")]


async def waiting(a: TranscriptServer) -> list[str]:
    """The last reply of each recipient still queued at A."""
    entries = await a.mail.outbound.queue.list_entries()  # type: ignore[union-attr]
    return [r.last_reply for e in entries for r in e.recipients if r.status == "queued"]


async def test_enforce_policy_fetched_cached_and_obeyed(tmp_path: Path) -> None:
    async with setup(tmp_path, trusted_mx_cert=True) as (a, b, dns, server, runner):
        dns.set("_mta-sts.b.test", "TXT", ["v=STSv1; id=1"])
        server.policy = policy("enforce", "mail.b.test")
        await send_all(runner, "one")
        assert await subjects(b) == ["one"]
        [received] = (await inbox(b, "bob"))[0].get_all("Received") or []
        assert "with ESMTPS" in str(received)
        assert server.requests == ["GET /.well-known/mta-sts.txt HTTP/1.1"]
        await send_all(runner, "two")
        assert await subjects(b) == ["one", "two"] and len(server.requests) == 1  # cached: same id, max_age not over

        # A new policy (new id) that lists another MX: nothing goes to mail.b.test, the message waits.
        dns.set("_mta-sts.b.test", "TXT", ["v=STSv1; id=2"])
        server.policy = policy("enforce", "mx.elsewhere.test")
        await send_all(runner, "three")
        assert await subjects(b) == ["one", "two"] and len(server.requests) == 2
        [reason] = await waiting(a)
        assert reason.startswith("451 4.7.5") and "MTA-STS" in reason

        # The domain fixes its policy (a wildcard, one label): the retry delivers.
        dns.set("_mta-sts.b.test", "TXT", ["v=STSv1; id=3"])
        server.policy = policy("enforce", "*.b.test")
        await retry(a, runner, 301)
        assert await subjects(b) == ["one", "two", "three"] and await waiting(a) == []


async def test_enforce_needs_a_verified_certificate_until_the_policy_expires(tmp_path: Path) -> None:
    """B's MX has its self-signed certificate: opportunistic TLS would take it, an enforce
    policy does not. A failed refetch (a redirect, not followed) keeps the cached policy;
    past its max_age, with no policy to be had, mail goes as without MTA-STS."""
    async with setup(tmp_path, trusted_mx_cert=False) as (a, b, dns, server, runner):
        dns.set("_mta-sts.b.test", "TXT", ["v=STSv1; id=1"])
        server.policy = policy("enforce", "mail.b.test", max_age=3600)
        await send_all(runner, "one")
        assert await subjects(b) == []
        [reason] = await waiting(a)
        assert reason.startswith("4") and " 4.7." in reason  # TLS not verified: wait

        dns.set("_mta-sts.b.test", "TXT", ["v=STSv1; id=2"])
        server.status = "301 Moved Permanently"
        await retry(a, runner, 600)
        assert len(server.requests) == 2 and await subjects(b) == []  # the cached policy still holds

        await retry(a, runner, 3600)  # the cached policy has expired and no new one can be fetched
        assert len(server.requests) == 3 and await subjects(b) == ["one"]


async def test_the_policy_outlives_a_restart(tmp_path: Path) -> None:
    """A new runner (as after a restart of serve) uses the policy fetched before, from
    data_dir: the policy host being unreachable now does not switch MTA-STS off."""
    async with setup(tmp_path, trusted_mx_cert=False) as (a, b, dns, server, runner):
        dns.set("_mta-sts.b.test", "TXT", ["v=STSv1; id=1"])
        server.policy = policy("enforce", "mail.b.test")
        await send_all(runner, "one")
        assert await subjects(b) == [] and len(server.requests) == 1
        await server.stop()  # nothing answers for mta-sts.b.test any more
        restarted = runner_to(a, runner.router.relay.mx_port)
        await retry(a, restarted, 301)
        assert await subjects(b) == [] and len(server.requests) == 1
        [reason] = await waiting(a)
        assert " 4.7." in reason  # still enforced: no verified TLS, no delivery


async def test_testing_mode_delivers_to_an_unlisted_mx(tmp_path: Path) -> None:
    async with setup(tmp_path, trusted_mx_cert=False) as (a, b, dns, server, runner):
        dns.set("_mta-sts.b.test", "TXT", ["v=STSv1; id=1"])
        server.policy = policy("testing", "mx.elsewhere.test")
        await send_all(runner, "one")
        assert await subjects(b) == ["one"] and len(server.requests) == 1


def test_policy_parsing_and_mx_patterns() -> None:
    mode, mx, max_age = parse_policy("version: STSv1\nmode: enforce\nmx: Mail.Example.COM.\nmx: *.example.net\nmax_age: 604800\nfuture: x\n")
    assert (mode, mx, max_age) == ("enforce", ("mail.example.com", "*.example.net"), 604800)
    p = Policy("example.com", "1", mode, mx, max_age, 0.0)
    assert p.matches("mail.example.com") and p.matches("MX1.example.net.")
    assert not p.matches("a.b.example.net") and not p.matches("example.net") and not p.matches("other.example.com")
    assert parse_policy(policy("none", max_age=10)) == ("none", (), 10)
    assert parse_policy(policy("enforce", "m.test", max_age=10**9))[2] == 31_557_600  # at most a year (§3.2)
    assert not p.expired(604799.0) and p.expired(604800.0)
    for bad in (
        "mode: enforce\nmx: m.test\nmax_age: 1\n",  # no version
        "version: STSv1\nmode: strict\nmx: m.test\nmax_age: 1\n",
        "version: STSv1\nmode: enforce\nmax_age: 1\n",  # no mx
        "version: STSv1\nmode: enforce\nmx: m.test\nmax_age: -1\n",
    ):
        with pytest.raises(PolicyError):
            parse_policy(bad)
