"""The outbound queue end to end: two postoffice instances, a capturing sink, an injected clock."""

from __future__ import annotations

import asyncio
import email
import email.policy
import hashlib
import os
import shutil
import tracemalloc
from collections.abc import AsyncIterator
from email.message import EmailMessage, Message
from pathlib import Path

import aiosmtplib
import pytest

from postoffice.authn import DkimKeys
from postoffice.config import DNSConfig, RelayConfig
from postoffice.mail.outbound import Outbound
from postoffice.queue import QueueRunner, Router
from postoffice.store.api import NewDelivery
from postoffice.store.queue import NewQueueRecipient
from postoffice.testing.dkim_verifiers import OPENDKIM, mail_dkim_results, opendkim_results
from postoffice.testing.dns import TestDNSServer
from postoffice.testing.server import TranscriptServer
from postoffice.testing.smtp_sink import SMTPSink

DEADLINE = 20.0


def runner_for(srv: TranscriptServer, routes: dict[str, tuple[str, int]]) -> QueueRunner:
    outbound = srv.mail.outbound
    assert isinstance(outbound, Outbound)
    router = Router(RelayConfig(routes=routes), DNSConfig())
    return QueueRunner(srv.mail, outbound.queue, outbound, srv.config, router=router)


async def inbox(srv: TranscriptServer, user: str, mailbox: str = "INBOX") -> list[Message]:
    mail = srv.mail
    box = await mail.get_mailbox(await srv.account(user), mailbox)
    out = []
    for record in await mail.list_messages(box):
        content = await mail.get_content(record.content_id)
        out.append(email.message_from_bytes(await mail.read(content), policy=email.policy.compat32))
    return out


async def raw_inbox(srv: TranscriptServer, user: str) -> bytes:
    """The octets of the one message in ``user``'s INBOX, as stored."""
    mail = srv.mail
    [record] = await mail.list_messages(await mail.get_mailbox(await srv.account(user), "INBOX"))
    return await mail.read(await mail.get_content(record.content_id))


async def wait_inbox(srv: TranscriptServer, user: str, count: int) -> list[Message]:
    async with asyncio.timeout(DEADLINE):
        while True:
            messages = await inbox(srv, user)
            if len(messages) >= count:
                return messages
            await asyncio.sleep(0.05)


async def submit(port: int, sender: str, to: str, subject: str, body: str = "Hello.\n") -> None:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    await aiosmtplib.send(
        message, hostname="127.0.0.1", port=port, username=sender, password=TranscriptServer.password, start_tls=False
    )


def report_of(message: Message) -> tuple[str, list[Message]]:
    """(report type, the parts) of a multipart/report; fails if it is not one."""
    assert message.get_content_type() == "multipart/report"
    parts = message.get_payload()
    assert isinstance(parts, list)
    return message.get_param("report-type") or "", parts


def delivery_status(message: Message) -> list[dict[str, str]]:
    """The field groups of the message/delivery-status part (per message, then per recipient)."""
    kind, parts = report_of(message)
    assert kind == "delivery-status"
    status = parts[1]
    assert status.get_content_type() == "message/delivery-status"
    groups = status.get_payload()
    assert isinstance(groups, list)
    return [{k.lower(): v for k, v in g.items()} for g in groups]


def publish_sender(dns: TestDNSServer, srv: TranscriptServer, domain: str) -> dict[str, str]:
    """Put ``domain``'s DKIM keys (made now, in ``srv``'s key folder), SPF (loopback) and
    DMARC (p=reject) on the test DNS server; the key records, by name."""
    records = {f"{k.selector}._domainkey.{domain}": k.public_record() for k in DkimKeys(srv.config.dkim_dir).keys(domain)}
    for name, record in records.items():
        dns.set(name, "TXT", [record])
    dns.set(domain, "TXT", ["v=spf1 ip4:127.0.0.1 -all"])
    dns.set(f"_dmarc.{domain}", "TXT", ["v=DMARC1; p=reject"])
    return records


def authentication_results(message: Message, authserv_id: str) -> str:
    """The Authentication-Results field ``authserv_id`` wrote, unfolded (there must be one)."""
    [ours] = [" ".join(str(f).split()) for f in message.get_all("Authentication-Results") or [] if str(f).strip().startswith(authserv_id + ";")]
    return ours


async def independent_verdicts(raw: bytes, keys: dict[str, str], dns: TestDNSServer) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """What OpenDKIM and Mail::DKIM say of the message's signatures."""
    return (
        await asyncio.to_thread(opendkim_results, raw, keys),
        await asyncio.to_thread(mail_dkim_results, raw, dns.port),
    )


@pytest.mark.skipif(not os.path.exists(OPENDKIM) or shutil.which("perl") is None, reason="Debian opendkim / libmail-dkim-perl missing (TEST_DEBS)")
async def test_two_instances_send_and_reply() -> None:
    """A (a.test) and B (b.test) with static routes to each other, sender checks on at
    both: alice's message reaches bob DKIM-signed d=a.test, B's checks pass, and OpenDKIM
    and Mail::DKIM (neither shares code with us) verify the signature as B stored it;
    bob's reply comes back the same way, signed d=b.test."""
    with TestDNSServer() as dns:
        checks = {"authn.inbound_checks": True, "dns.nameservers": [dns.address], "dns.timeout": 5}
        async with (
            TranscriptServer("smtp", users=["alice"], domain="a.test", config_overrides=checks) as a,
            TranscriptServer("smtp", users=["bob"], domain="b.test", config_overrides=checks) as b,
        ):
            a_keys, b_keys = publish_sender(dns, a, "a.test"), publish_sender(dns, b, "b.test")
            a_mx, b_mx = await a.start_listener("smtp"), await b.start_listener("smtp")
            a_sub, b_sub = await a.start_listener("submission"), await b.start_listener("submission")
            runner_a = runner_for(a, {"b.test": ("127.0.0.1", b_mx)})
            runner_b = runner_for(b, {"a.test": ("127.0.0.1", a_mx)})
            runner_a.start()
            runner_b.start()
            try:
                await submit(a_sub, "alice@a.test", "bob@b.test", "Hello Bob")
                [got] = await wait_inbox(b, "bob", 1)
                assert got["Subject"] == "Hello Bob"
                assert got.get_all("Return-Path") == ["<alice@a.test>"]  # B's own; A's copy kept none (RFC 5321 §4.4)
                assert len(got.get_all("Received") or []) == 2  # A's submission, then B's MX
                assert "with ESMTPS" in str(got.get_all("Received")[0])  # opportunistic STARTTLS between them
                signatures = [" ".join(str(s).split()) for s in got.get_all("DKIM-Signature") or []]
                assert len(signatures) == 2 and all("d=a.test;" in s for s in signatures)
                verdict = authentication_results(got, "mail.b.test")
                assert "dkim=pass header.d=a.test header.s=" in verdict and "spf=pass" in verdict and "dmarc=pass" in verdict
                raw = await raw_inbox(b, "bob")
                assert await independent_verdicts(raw, a_keys, dns) == (
                    [("pass", "rsa-sha256", "a.test"), ("pass", "ed25519-sha256", "a.test")],
                    # Debian 12's Mail::DKIM does not know ed25519-sha256 (RFC 8463): "invalid"
                    [("pass", "rsa-sha256", "a.test"), ("invalid", "ed25519-sha256", "a.test")],
                )
                await submit(b_sub, "bob@b.test", "alice@a.test", "Re: Hello Bob")
                [reply] = await wait_inbox(a, "alice", 1)
                assert reply["Subject"] == "Re: Hello Bob"
                verdict = authentication_results(reply, "mail.a.test")
                assert "dkim=pass header.d=b.test header.s=" in verdict and "spf=pass" in verdict and "dmarc=pass" in verdict
                opendkim, mail_dkim = await independent_verdicts(await raw_inbox(a, "alice"), b_keys, dns)
                assert opendkim == [("pass", "rsa-sha256", "b.test"), ("pass", "ed25519-sha256", "b.test")]
                assert mail_dkim[0] == ("pass", "rsa-sha256", "b.test")
                # Both queues are empty once delivered.
                async with asyncio.timeout(DEADLINE):
                    while await a.mail.outbound.queue.list_entries() or await b.mail.outbound.queue.list_entries():  # type: ignore[union-attr]  # noqa: ASYNC110 (store polled)
                        await asyncio.sleep(0.05)
            finally:
                await runner_a.stop()
                await runner_b.stop()


async def test_mx_listener_never_relays() -> None:
    async with TranscriptServer("smtp", users=["alice"], domain="a.test") as a:
        port = await a.start_listener("smtp")
        await a.run(
            "S: 220\nC: EHLO x.test\nS: 250-*\nS: 250 ...\nC: MAIL FROM:<x@x.test>\nS: 250 2.1.0\n"
            "C: RCPT TO:<someone@b.test>\nS: 554 5.7.1\nC: QUIT\nS: 221",
            listener="smtp",
        )
        assert port
        assert await a.mail.outbound.queue.list_entries() == []  # type: ignore[union-attr]


async def test_destination_down_backoff_delay_notice_and_failure_report() -> None:
    sink = SMTPSink()
    dead_port = await sink.start()
    await sink.stop()  # nothing listens there any more
    async with TranscriptServer("smtp", users=["alice"], domain="a.test") as a:
        sub = await a.start_listener("submission")
        runner = runner_for(a, {"b.test": ("127.0.0.1", dead_port)})
        queue = runner.queue
        await submit(sub, "alice@a.test", "bob@b.test", "Are you there?")
        [entry] = await queue.list_entries()
        created = entry.created
        limits = a.config.limits.relay
        attempts_at: list[float] = []
        while True:
            await runner.run_until_idle()
            current = await queue.get_entry(entry.id)
            if current is None:
                break
            [r] = current.recipients
            if r.attempts > len(attempts_at):
                attempts_at.append(a.clock.now() - created)
            assert r.status == "queued" and r.last_reply.startswith("451 4.4.1")
            # Nothing happens one second before the next attempt is due.
            a.clock.advance(r.next_attempt - a.clock.now() - 1)
            await runner.run_until_idle()
            again = await queue.get_entry(entry.id)
            assert again is not None and again.recipients[0].attempts == r.attempts
            a.clock.advance(1)
        gaps = [round(t2 - t1) for t1, t2 in zip(attempts_at, attempts_at[1:], strict=False)]
        assert gaps[:6] == [300, 600, 1200, 2400, 3600, 3600]
        assert attempts_at[-1] < limits.lifetime <= attempts_at[-1] + limits.max_retry
        reports = await inbox(a, "alice")
        assert len(reports) == 2
        delayed, failed = reports
        groups = delivery_status(delayed)
        assert groups[1]["action"] == "delayed" and groups[1]["final-recipient"] == "rfc822; bob@b.test"
        assert groups[1]["status"].startswith("4.")
        groups = delivery_status(failed)
        assert groups[1]["action"] == "failed" and groups[1]["status"] == "4.4.7"
        _, parts = report_of(failed)
        assert parts[2].get_content_type() == "text/rfc822-headers"
        assert "Subject: Are you there?" in str(parts[2].get_payload())
        assert failed["From"] == "Mail Delivery System <postmaster@a.test>"


async def test_permanent_refusal_bounces_at_once_with_full_message() -> None:
    sink = SMTPSink(rcpt_replies={"gone@b.test": b"550 5.1.1 No such user"})
    port = await sink.start()
    try:
        async with TranscriptServer("smtp", users=["alice"], domain="a.test") as a:
            runner = runner_for(a, {"b.test": ("127.0.0.1", port)})
            outbound = runner.outbound
            body = b"From: alice@a.test\r\nSubject: full\r\n\r\nThe whole body.\r\n"
            await outbound.submit(
                body,
                sender="alice@a.test",
                local=[],
                remote=[NewQueueRecipient("gone@b.test"), NewQueueRecipient("ok@b.test")],
                max_size=10**6,
                envelope=NewDelivery("alice@a.test", (), 0.0, ret="FULL", envid="ENV-1"),
            )
            await runner.run_until_idle()
            assert [m.recipients for m in sink.messages] == [["ok@b.test"]]
            [bounce] = await inbox(a, "alice")
            groups = delivery_status(bounce)
            assert groups[0]["original-envelope-id"] == "ENV-1"
            assert len(groups) == 2  # only the failed recipient is reported
            assert groups[1]["status"] == "5.1.1" and groups[1]["final-recipient"] == "rfc822; gone@b.test"
            assert "550 5.1.1" in groups[1]["diagnostic-code"]
            _, parts = report_of(bounce)
            assert parts[2].get_content_type() == "message/rfc822"
            assert b"The whole body." in parts[2].as_bytes()
            assert await runner.queue.list_entries() == []
    finally:
        await sink.stop()


async def test_null_sender_never_gets_a_bounce_and_loops_are_bounced() -> None:
    sink = SMTPSink(rcpt_replies={"gone@b.test": b"550 5.1.1 No such user"})
    port = await sink.start()
    try:
        async with TranscriptServer("smtp", users=["alice"], domain="a.test") as a:
            runner = runner_for(a, {"b.test": ("127.0.0.1", port)})
            outbound = runner.outbound
            await outbound.submit(
                b"Subject: a bounce\r\n\r\nx\r\n", sender="", local=[], remote=[NewQueueRecipient("gone@b.test")],
                max_size=10**6,
            )  # fmt: skip
            looping = b"".join(b"Received: from h%d by h%d; Mon, 1 Jan 2024 00:00:00 +0000\r\n" % (i, i) for i in range(51))
            await outbound.submit(
                looping + b"Subject: loop\r\n\r\nx\r\n", sender="alice@a.test", local=[],
                remote=[NewQueueRecipient("ok@b.test")], max_size=10**6,
            )  # fmt: skip
            await runner.run_until_idle()
            assert sink.messages == []  # the loop was never sent; the DSN's recipient refused
            [bounce] = await inbox(a, "alice")
            groups = delivery_status(bounce)
            assert groups[1]["status"] == "5.4.6"
            assert await runner.queue.list_entries() == []
    finally:
        await sink.stop()


async def test_several_messages_share_one_connection() -> None:
    sink = SMTPSink()
    port = await sink.start()
    try:
        async with TranscriptServer("smtp", users=["alice"], domain="a.test") as a:
            runner = runner_for(a, {"b.test": ("127.0.0.1", port)})
            for n in range(5):
                await runner.outbound.submit(
                    b"Subject: %d\r\n\r\nbody\r\n" % n, sender="alice@a.test", local=[],
                    remote=[NewQueueRecipient(f"u{n}@b.test")], max_size=10**6,
                )  # fmt: skip
            await runner.run_until_idle()
            assert len(sink.messages) == 5 and sink.connections == 1
            assert await runner.queue.list_entries() == []
    finally:
        await sink.stop()


async def test_a_pass_that_read_the_queue_before_a_delivery_ended_does_not_send_it_again() -> None:
    """The queue is read, then a delivery in flight ends, then the pass looks at that
    entry: it is still "queued" in what the pass read, and must not go out twice."""
    sink = SMTPSink()
    port = await sink.start()
    try:
        async with TranscriptServer("smtp", users=["alice"], domain="a.test") as a:
            runner = runner_for(a, {"b.test": ("127.0.0.1", port)})
            store = runner.queue
            await runner.outbound.submit(
                b"From: alice@a.test\r\nSubject: once\r\n\r\nbody\r\n", sender="alice@a.test", local=[],
                remote=[NewQueueRecipient("bob@b.test")], max_size=10**6,
            )  # fmt: skip
            first = await runner.run_pass()  # the delivery starts
            read: list[object] = []

            class ReadThenWait:  # the real store; its read returns once the delivery has ended
                def __getattr__(self, name: str) -> object:
                    return getattr(store, name)

                async def due_entries(self, now: float, limit: int) -> list[object]:
                    entries = await store.due_entries(now, limit)
                    read.extend(entries)
                    await asyncio.gather(*first)
                    return entries  # type: ignore[return-value]

            runner.queue = ReadThenWait()  # type: ignore[assignment]
            second = await runner.run_pass()
            runner.queue = store
            await asyncio.gather(*second)
            assert len(read) == 1  # the second pass did read the entry while it was in flight
            assert len(sink.messages) == 1
            assert await store.list_entries() == []
    finally:
        await sink.stop()


@pytest.mark.parametrize("misbehave", ["garbage", "stall-data"])
async def test_bad_peer_leaves_entry_in_retry(misbehave: str) -> None:
    sink = SMTPSink(misbehave=misbehave, extensions=("8BITMIME",))
    port = await sink.start()
    try:
        async with TranscriptServer(
            "smtp", users=["alice"], domain="a.test", config_overrides={"limits.relay.timeout_data_end": 0.5}
        ) as a:
            runner = runner_for(a, {"b.test": ("127.0.0.1", port)})
            await runner.outbound.submit(
                b"Subject: x\r\n\r\nbody\r\n", sender="alice@a.test", local=[],
                remote=[NewQueueRecipient("u@b.test")], max_size=10**6,
            )  # fmt: skip
            await runner.run_until_idle()
            [entry] = await runner.queue.list_entries()
            [r] = entry.recipients
            assert r.status == "queued" and r.attempts == 1 and r.last_reply.startswith("451 4.")
    finally:
        await sink.stop()


async def test_a_message_queued_while_a_connection_is_open_uses_that_connection() -> None:
    """A connection whose destination has nothing more waits a moment (connection_idle)
    for the next pass: a message queued meanwhile goes over it, with no new connection."""
    sink = SMTPSink()
    port = await sink.start()
    try:
        async with TranscriptServer("smtp", users=["alice"], domain="a.test") as a:
            runner = runner_for(a, {"b.test": ("127.0.0.1", port)})
            runner.connection_idle = 30.0  # generous: the test's own steps fit in it
            for n in range(2):
                await runner.outbound.submit(
                    b"Subject: %d\r\n\r\nbody\r\n" % n, sender="alice@a.test", local=[],
                    remote=[NewQueueRecipient(f"u{n}@b.test")], max_size=10**6,
                )  # fmt: skip
                tasks = await runner.run_pass()  # the first pass starts the connection; the second adds to it
                await sink.wait_for(n + 1)
            assert len(sink.messages) == 2 and sink.connections == 1
            assert not tasks  # the second pass needed no new connection
            runner.connection_idle = 0.0
            await runner.stop()
    finally:
        await sink.stop()


async def test_a_backlog_is_spread_over_several_connections() -> None:
    """30 messages waiting for one destination go over 3 connections at once (one per 10
    waiting), within connections_per_destination; 5 share one (the test above)."""
    sink = SMTPSink()
    port = await sink.start()
    try:
        async with TranscriptServer(
            "smtp", users=["alice"], domain="a.test", config_overrides={"limits.relay.connections_per_destination": 8}
        ) as a:
            runner = runner_for(a, {"b.test": ("127.0.0.1", port)})
            for n in range(30):
                await runner.outbound.submit(
                    b"Subject: %d\r\n\r\nbody\r\n" % n, sender="alice@a.test", local=[],
                    remote=[NewQueueRecipient(f"u{n}@b.test")], max_size=10**6,
                )  # fmt: skip
            await runner.run_until_idle()
            assert len(sink.messages) == 30 and sink.connections >= 3
            assert await runner.queue.list_entries() == []
    finally:
        await sink.stop()


async def test_connections_per_destination_limit() -> None:
    sink = SMTPSink()
    port = await sink.start()
    try:
        async with TranscriptServer(
            "smtp", users=["alice"], domain="a.test",
            config_overrides={"limits.relay.messages_per_connection": 1, "limits.relay.connections_per_destination": 2},
        ) as a:  # fmt: skip
            runner = runner_for(a, {"b.test": ("127.0.0.1", port)})
            for n in range(6):
                await runner.outbound.submit(
                    b"Subject: %d\r\n\r\nbody\r\n" % n, sender="alice@a.test", local=[],
                    remote=[NewQueueRecipient(f"u{n}@b.test")], max_size=10**6,
                )  # fmt: skip
            await runner.run_until_idle()
            # One message per connection: six connections at least. A seventh may open
            # when two connection tasks race for the last message (it then only says
            # EHLO and QUIT); the limit under test is the concurrency, two at a time.
            assert len(sink.messages) == 6 and sink.connections >= 6
            assert sink.max_active <= 2
    finally:
        await sink.stop()


async def test_client_auth_and_starttls_to_a_submission_server() -> None:
    """The smarthost path: STARTTLS, then AUTH PLAIN, then a message, to our own submission listener."""
    from postoffice.smtpclient import Envelope, RecipientSpec, SMTPClientError, SMTPConnection

    async with TranscriptServer("smtp", users=["alice", "bob"], domain="b.test") as b:
        port = await b.start_listener("submission")
        limits = b.config.limits.relay
        conn = await SMTPConnection.open(
            "127.0.0.1", port, limits, helo="a.test", tls="opportunistic", auth=("alice@b.test", TranscriptServer.password)
        )
        assert conn.tls
        message = b"From: alice@b.test\r\nSubject: via smarthost\r\n\r\nhi\r\n"
        result = await conn.send(Envelope("alice@b.test", (RecipientSpec("bob@b.test"),), len(message)), _chunks(message))
        await conn.quit()
        assert result.recipients[0].delivered
        [got] = await inbox(b, "bob")
        assert got["Subject"] == "via smarthost"
        with pytest.raises(SMTPClientError) as info:
            await SMTPConnection.open("127.0.0.1", port, limits, helo="a.test", tls="opportunistic", auth=("alice@b.test", "wrong"))
        assert info.value.reply.code == 535
        with pytest.raises(SMTPClientError):  # never a password in clear
            await SMTPConnection.open("127.0.0.1", port, limits, helo="a.test", tls="none", auth=("alice@b.test", "x"))


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_received_limit_at_its_edge() -> None:
    sink = SMTPSink()
    port = await sink.start()
    try:
        async with TranscriptServer("smtp", users=["alice"], domain="a.test") as a:
            runner = runner_for(a, {"b.test": ("127.0.0.1", port)})
            limit = a.config.limits.relay.max_received_headers
            for count, to in ((limit, "ok@b.test"), (limit + 1, "loop@b.test")):
                received = b"".join(b"Received: from h%d by h%d; Mon, 1 Jan 2024 00:00:00 +0000\r\n" % (i, i) for i in range(count))
                await runner.outbound.submit(
                    received + b"Subject: hops\r\n\r\nx\r\n", sender="alice@a.test", local=[],
                    remote=[NewQueueRecipient(to)], max_size=10**6,
                )  # fmt: skip
            await runner.run_until_idle()
            assert [m.recipients for m in sink.messages] == [["ok@b.test"]]
            [bounce] = await inbox(a, "alice")
            assert delivery_status(bounce)[1]["final-recipient"] == "rfc822; loop@b.test"
    finally:
        await sink.stop()


@pytest.mark.slow
async def test_big_message_is_relayed_in_constant_memory(tmp_path: Path) -> None:
    """64 MiB through submit, queue and BDAT: Python allocations stay far below the size."""
    line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\r\n"
    size = 64 * 1024 * 1024
    path = tmp_path / "big.eml"
    digest = hashlib.sha256()
    with path.open("wb") as f:
        head = b"Subject: big\r\n\r\n"
        f.write(head)
        digest.update(head)
        block = line * (1024 * 1024 // len(line))
        for _ in range(size // len(block)):
            f.write(block)
            digest.update(block)
    sink = SMTPSink(discard=True)
    port = await sink.start()
    try:
        async with TranscriptServer("smtp", users=["alice"], domain="a.test") as a:
            runner = runner_for(a, {"b.test": ("127.0.0.1", port)})
            await runner.outbound.submit(
                path, sender="alice@a.test", local=[], remote=[NewQueueRecipient("bob@b.test")], max_size=10**9
            )
            tracemalloc.start()
            try:
                await runner.run_until_idle()
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            [got] = sink.messages
            assert got.sha256 == digest.hexdigest() and got.size == path.stat().st_size
            assert peak < 16 * 1024 * 1024, peak
    finally:
        await sink.stop()


@pytest.mark.parametrize("peer_dsn", [False, True])
async def test_notify_success(peer_dsn: bool) -> None:
    """NOTIFY=SUCCESS to a peer without DSN: a "relayed" report (RFC 3461 §6.2.3.1);
    to a peer with DSN the parameters go on (RFC 3461 §4) and the peer reports."""
    extensions = ("PIPELINING", "8BITMIME", "DSN") if peer_dsn else ("PIPELINING", "8BITMIME")
    sink = SMTPSink(extensions=extensions)
    port = await sink.start()
    try:
        async with TranscriptServer("smtp", users=["alice"], domain="a.test") as a:
            runner = runner_for(a, {"b.test": ("127.0.0.1", port)})
            await runner.outbound.submit(
                b"Subject: tell me\r\n\r\nx\r\n", sender="alice@a.test", local=[],
                remote=[NewQueueRecipient("bob@b.test", notify="SUCCESS,FAILURE", orcpt="rfc822;Bob@b.test")],
                max_size=10**6, envelope=NewDelivery("alice@a.test", (), 0.0, ret="HDRS", envid="E1"),
            )  # fmt: skip
            await runner.run_until_idle()
            [got] = sink.messages
            reports = await inbox(a, "alice")
            if peer_dsn:
                assert "RET=HDRS" in got.mail_params and "ENVID=E1" in got.mail_params
                assert reports == []
            else:
                assert "RET=" not in got.mail_params
                [report] = reports
                groups = delivery_status(report)
                assert groups[1]["action"] == "relayed" and groups[1]["status"].startswith("2.")
                assert groups[1]["original-recipient"] == "rfc822;Bob@b.test"
    finally:
        await sink.stop()


async def test_a_stalled_destination_does_not_hold_the_others() -> None:
    stalled, fine = SMTPSink(misbehave="stall-data", extensions=("8BITMIME",)), SMTPSink()
    stalled_port, fine_port = await stalled.start(), await fine.start()
    try:
        async with TranscriptServer("smtp", users=["alice"], domain="a.test") as a:
            runner = runner_for(a, {"b.test": ("127.0.0.1", stalled_port), "c.test": ("127.0.0.1", fine_port)})
            runner.start()
            try:
                for to in ("bob@b.test", "carol@c.test"):
                    await runner.outbound.submit(
                        b"Subject: x\r\n\r\nbody\r\n", sender="alice@a.test", local=[],
                        remote=[NewQueueRecipient(to)], max_size=10**6,
                    )  # fmt: skip
                await fine.wait_for(1)
                async with asyncio.timeout(DEADLINE):
                    while stalled.data_started < 1:  # noqa: ASYNC110 (a counter of the sink)
                        await asyncio.sleep(0.01)
                assert stalled.messages == [] and len(fine.messages) == 1  # one stuck in DATA, the other delivered
                async with asyncio.timeout(DEADLINE):
                    while len(await runner.queue.list_entries()) > 1:  # noqa: ASYNC110 (the store, polled)
                        await asyncio.sleep(0.01)  # c.test's delivery is being recorded
            finally:
                await runner.stop()
            # Stopped in the middle: the stalled message is still queued, never lost.
            [entry] = await runner.queue.list_entries()
            assert [(r.address, r.status) for r in entry.recipients] == [("bob@b.test", "queued")]
    finally:
        await stalled.stop()
        await fine.stop()
