"""Routing (RFC 5321 §5.1, RFC 7505) against a DNS server on loopback."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from postoffice.config import DNSConfig, RelayConfig
from postoffice.queue import QueueRunner, RouteError, Router
from postoffice.store.queue import NewQueueRecipient
from postoffice.testing.dns import TestDNSServer
from postoffice.testing.server import TranscriptServer
from postoffice.testing.smtp_sink import SMTPSink

ZONE = {
    "b.test": {"MX": ["20 backup.b.test.", "10 mx2.b.test.", "10 mx1.b.test."]},
    "mx1.b.test": {"A": ["127.0.0.1"]},
    "mx2.b.test": {"A": ["127.0.0.2"], "AAAA": ["::1"]},
    "backup.b.test": {"A": ["127.0.0.3"]},
    "plain.test": {"A": ["127.0.0.1"]},  # no MX: the implicit MX
    "nomail.test": {"MX": ["0 ."]},  # RFC 7505 null MX
}


@pytest.fixture
def dns_port() -> Iterator[int]:
    with TestDNSServer(ZONE) as server:
        yield server.port


def router(port: int, seed: int = 1, **relay: object) -> Router:
    return Router(RelayConfig(mx_port=2525, **relay), DNSConfig(nameservers=(("127.0.0.1", port),), timeout=5.0), rng=random.Random(seed))  # type: ignore[arg-type]


async def test_mx_preference_order_with_equal_preferences_shuffled(dns_port: int) -> None:
    orders = set()
    for seed in range(20):
        hosts = await router(dns_port, seed).mx_hosts("b.test")
        assert sorted(hosts[:2]) == ["mx1.b.test", "mx2.b.test"] and hosts[2] == "backup.b.test"
        orders.add(tuple(hosts[:2]))
    assert len(orders) == 2  # both orders of the equal-preference pair occur
    route = await router(dns_port).route("B.test")
    addresses = [(h.host, h.port) for h in route.hops]
    assert ("::1", 2525) in addresses and ("127.0.0.1", 2525) in addresses  # IPv6 and IPv4
    assert addresses[-1] == ("127.0.0.3", 2525)
    assert {h.server_name for h in route.hops} == {"mx1.b.test", "mx2.b.test", "backup.b.test"}


async def test_implicit_mx_null_mx_and_missing_domain(dns_port: int) -> None:
    r = router(dns_port)
    assert [(h.host, h.server_name) for h in (await r.route("plain.test")).hops] == [("127.0.0.1", "plain.test")]
    with pytest.raises(RouteError) as info:
        await r.route("nomail.test")
    assert (info.value.reply.code, info.value.reply.enhanced) == (556, "5.1.10")
    with pytest.raises(RouteError) as info:
        await r.route("nowhere.test")
    assert info.value.reply.is_permanent and info.value.reply.enhanced == "5.1.2"


async def test_static_route_and_smarthost_come_first(dns_port: int) -> None:
    r = router(dns_port, routes={"b.test": ("127.0.0.9", 2626)}, smarthost=("smart.test", 587))
    assert [(h.host, h.port) for h in (await r.route("b.test")).hops] == [("127.0.0.9", 2626)]
    [hop] = (await r.route("c.test")).hops
    assert (hop.host, hop.port, hop.tls) == ("smart.test", 587, "verify")


async def test_answers_are_cached_for_their_ttl() -> None:
    with TestDNSServer(ZONE, ttl=60) as server:
        r = router(server.port)
        first = await r.route("b.test")
        assert set((await r.route("b.test")).hops) == set(first.hops)
        assert server.queries.count(("b.test", "MX")) == 1 and server.queries.count(("_mta-sts.b.test", "TXT")) == 1


async def test_unreachable_dns_is_temporary() -> None:
    r = Router(RelayConfig(), DNSConfig(nameservers=(("127.0.0.1", 9),), timeout=0.5))
    with pytest.raises(RouteError) as info:
        await r.route("b.test")
    assert info.value.reply.is_transient


async def test_delivery_by_mx_and_null_mx_bounces_at_once(dns_port: int) -> None:
    sink = SMTPSink()
    port = await sink.start()
    try:
        async with TranscriptServer("smtp", users=["alice"], domain="a.test") as a:
            outbound = a.mail.outbound
            assert outbound is not None
            dns = DNSConfig(nameservers=(("127.0.0.1", dns_port),), timeout=5.0)
            runner = QueueRunner(a.mail, outbound.queue, outbound, a.config, router=Router(RelayConfig(mx_port=port), dns))
            for to in ("bob@plain.test", "carol@nomail.test"):
                await outbound.submit(
                    b"Subject: to " + to.encode() + b"\r\n\r\nhi\r\n", sender="alice@a.test", local=[],
                    remote=[NewQueueRecipient(to)], max_size=10**6,
                )  # fmt: skip
            await runner.run_until_idle()
            assert [m.recipients for m in sink.messages] == [["bob@plain.test"]]
            box = await a.mail.get_mailbox(await a.account("alice"), "INBOX")
            [record] = await a.mail.list_messages(box)
            report = await a.mail.read(await a.mail.get_content(record.content_id))
            assert b"multipart/report" in report and b"Status: 5.1.10" in report
            assert await outbound.queue.list_entries() == []
    finally:
        await sink.stop()
