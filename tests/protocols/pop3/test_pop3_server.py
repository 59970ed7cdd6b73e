"""POP3 server behaviour that needs Python to check: exact sizes, bytes read from the
store, the store after UPDATE, the lock, SCRAM, failures mapped to response codes."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from collections.abc import AsyncIterator

from postoffice.errors import Kind, MailError
from postoffice.net.listener import start_listener
from postoffice.protocols.pop3 import COMMANDS, POP3Server, State
from postoffice.protocols.pop3.maildrop import unique_id
from postoffice.testing.server import TranscriptServer
from postoffice.wire.pop3 import ALL_RESPONSES
from postoffice.wire.sasl import ScramClient


class Client:
    """A minimal POP3 client over a real socket."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, port: int) -> Client:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = cls(reader, writer)
        assert (await client.line()).startswith(b"+OK")
        return client

    async def line(self) -> bytes:
        return await asyncio.wait_for(self.reader.readline(), 10)

    async def cmd(self, text: str) -> bytes:
        self.writer.write(text.encode() + b"\r\n")
        return await self.line()

    async def body(self) -> bytes:
        """A multi-line body, un-stuffed (RFC 1939 §3), with its CRLFs."""
        out = bytearray()
        while True:
            line = await self.line()
            assert line, "connection closed inside a multi-line response"
            if line == b".\r\n":
                return bytes(out)
            out += line[1:] if line.startswith(b".") else line

    async def login(self, user: str = "alice@example.test") -> bytes:
        assert (await self.cmd(f"USER {user}")).startswith(b"+OK")
        return await self.cmd("PASS password")

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()


@contextlib.asynccontextmanager
async def pop3_server(**overrides: object) -> AsyncIterator[tuple[TranscriptServer, int]]:
    async with TranscriptServer("pop3", users=["alice"], config_overrides=overrides) as srv:
        yield srv, await srv.start_listener("pop3")


async def wait_for(predicate: object, deadline: float = 10.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        result = predicate()  # type: ignore[operator]
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met before the deadline")


def message(subject: str, body_lines: int = 3, line: bytes = b"hello") -> bytes:
    head = f"From: bob@example.test\r\nTo: alice@example.test\r\nSubject: {subject}\r\n\r\n".encode()
    return head + b"".join(line + b" %d\r\n" % i for i in range(body_lines))


async def test_sizes_are_exact_octets_retr_sends() -> None:
    async with pop3_server() as (srv, port):
        raw = b"Subject: lf\n\n.dot line\nbare lf\n\n..two dots\n"
        await srv.deliver(["alice"], raw)
        await srv.deliver(["alice"], message("plain", 50))
        client = await Client.connect(port)
        await client.login()
        assert (await client.cmd("LIST")).startswith(b"+OK 2 messages")
        listing = (await client.body()).split(b"\r\n")
        sizes = {int(n): int(s) for n, s in (entry.split() for entry in listing if entry)}
        for n, size in sizes.items():
            status = await client.cmd(f"RETR {n}")
            assert status.startswith(b"+OK")
            body = await client.body()
            assert len(body) == size
            assert b"\n" not in body.replace(b"\r\n", b"")  # CRLF only
        stat = await client.cmd("STAT")
        assert stat.split()[1:3] == [b"2", str(sum(sizes.values())).encode()]
        await client.cmd("QUIT")


async def test_top_reads_only_what_it_sends() -> None:
    async with pop3_server() as (srv, port):
        big = message("big", 40_000, b"x" * 70)  # about 3 MB
        await srv.deliver(["alice"], big)
        client = await Client.connect(port)
        await client.login()
        before = srv.mail.blobs.bytes_read
        assert (await client.cmd("TOP 1 2")).startswith(b"+OK")
        body = await client.body()
        read = srv.mail.blobs.bytes_read - before
        header = big[: big.index(b"\r\n\r\n") + 4]
        assert body == header + b"x" * 70 + b" 0\r\n" + b"x" * 70 + b" 1\r\n"
        assert read < 100_000, read  # not the 3 MB message
        before = srv.mail.blobs.bytes_read
        assert (await client.cmd("RETR 1")).startswith(b"+OK")
        assert await client.body() == big
        assert srv.mail.blobs.bytes_read - before >= len(big) - len(header)  # the header is inline in the layout
        await client.cmd("QUIT")


async def test_update_expunges_in_one_call_and_publishes_it() -> None:
    async with pop3_server() as (srv, port):
        for i in range(3):
            await srv.deliver(["alice"], message(f"m{i}"))
        account = await srv.account("alice")
        box = await srv.mail.get_mailbox(account, "INBOX")
        uids = [m.uid for m in await srv.mail.list_messages(box)]
        calls: list[list[int]] = []
        real = srv.mail.expunge

        async def counting(mailbox: object, marked: list[int]) -> None:
            calls.append(list(marked))
            await real(mailbox, marked)  # type: ignore[arg-type]

        srv.mail.expunge = counting  # type: ignore[method-assign]
        subscription = srv.mail.subscribe(account)
        client = await Client.connect(port)
        await client.login()
        assert (await client.cmd("DELE 1")).startswith(b"+OK")
        assert (await client.cmd("DELE 3")).startswith(b"+OK")
        assert (await client.cmd("QUIT")).startswith(b"+OK")
        assert calls == [[uids[0], uids[2]]]
        change = await asyncio.wait_for(subscription.queue.get(), 10)  # type: ignore[attr-defined]
        assert change.kind == "expunge" and set(change.uids) == {uids[0], uids[2]}
        changes = await srv.mail.changes_since(box, 0)
        assert set(changes.expunged) == {uids[0], uids[2]}
        assert [m.uid for m in await srv.mail.list_messages(box)] == [uids[1]]


async def test_update_failure_is_sys_temp_and_deletes_nothing() -> None:
    async with pop3_server() as (srv, port):
        await srv.deliver(["alice"], message("kept"))

        async def failing(mailbox: object, uids: object) -> None:
            raise MailError(Kind.UNAVAILABLE, "database is busy")

        srv.mail.expunge = failing  # type: ignore[method-assign,assignment]
        client = await Client.connect(port)
        await client.login()
        await client.cmd("DELE 1")
        assert (await client.cmd("QUIT")).startswith(b"-ERR [SYS/TEMP]")
        assert await srv.count_messages("alice", "INBOX") == 1
        await wait_for(lambda: _relogin_ok(port))


async def _relogin_ok(port: int) -> bool:
    client = await Client.connect(port)
    try:
        ok = (await client.login()).startswith(b"+OK")
        await client.cmd("QUIT")
        return ok
    finally:
        await client.close()


async def test_store_failure_mid_command_is_sys_perm() -> None:
    async with pop3_server() as (srv, port):
        await srv.deliver(["alice"], message("broken"))

        async def broken(content_id: object) -> object:
            raise MailError(Kind.MALFORMED, "content missing")

        srv.mail.get_content = broken  # type: ignore[method-assign,assignment]
        srv.mail.get_contents = broken  # type: ignore[method-assign,assignment]  # RETR reads ahead in batches
        client = await Client.connect(port)
        await client.login()
        assert (await client.cmd("RETR 1")).startswith(b"-ERR [SYS/PERM]")
        assert (await client.cmd("NOOP")).startswith(b"+OK")  # the session goes on
        await client.cmd("QUIT")


async def test_disconnect_without_quit_deletes_nothing_and_frees_the_lock() -> None:
    async with pop3_server() as (srv, port):
        await srv.deliver(["alice"], message("a"))
        await srv.deliver(["alice"], message("b"))
        client = await Client.connect(port)
        await client.login()
        await client.cmd("DELE 1")
        await client.cmd("DELE 2")
        client.writer.write(b"QUI")  # a cut-off QUIT is not a QUIT
        await client.close()
        await wait_for(lambda: _relogin_ok(port))
        assert await srv.count_messages("alice", "INBOX") == 2


async def test_lock_is_refreshed_on_activity() -> None:
    async with pop3_server(**{"limits.pop3.lock_ttl": "100s"}) as (srv, port):
        refreshes: list[str] = []
        real = srv.mail.lock_maildrop

        async def counting(account: object, holder: str) -> bool:
            refreshes.append(holder)
            return await real(account, holder)  # type: ignore[arg-type]

        srv.mail.lock_maildrop = counting  # type: ignore[method-assign]
        client = await Client.connect(port)
        await client.login()
        assert len(refreshes) == 1
        await client.cmd("NOOP")
        assert len(refreshes) == 1  # a quarter of the ttl has not passed
        srv.clock.advance(26)
        assert (await client.cmd("NOOP")).startswith(b"+OK")
        assert len(refreshes) == 2 and refreshes[0] == refreshes[1]
        await client.cmd("QUIT")


async def test_lost_lock_ends_the_session_with_in_use() -> None:
    async with pop3_server(**{"limits.pop3.lock_ttl": "100s"}) as (srv, port):
        client = await Client.connect(port)
        await client.login()

        async def stolen(account: object, holder: str) -> bool:
            return False

        srv.mail.lock_maildrop = stolen  # type: ignore[method-assign,assignment]
        srv.clock.advance(30)
        assert (await client.cmd("NOOP")).startswith(b"-ERR [IN-USE]")
        assert await client.line() == b""


async def test_scram_sha_256() -> None:
    async with pop3_server(**{"auth.trusted_networks": []}) as (srv, port):
        client = await Client.connect(port)
        scram = ScramClient("alice@example.test", "password")
        first = base64.b64encode(scram.first()).decode()
        challenge = await client.cmd(f"AUTH SCRAM-SHA-256 {first}")
        assert challenge.startswith(b"+ ")
        final = scram.final(base64.b64decode(challenge[2:].strip()))
        challenge = await client.cmd(base64.b64encode(final).decode())
        assert challenge.startswith(b"+ ")  # RFC 5034 §4: server-final as a last challenge
        assert scram.verify(base64.b64decode(challenge[2:].strip()))
        assert (await client.cmd("")).startswith(b"+OK")
        assert (await client.cmd("STAT")).startswith(b"+OK 0 0")
        await client.cmd("QUIT")


async def test_bare_auth_lists_mechanisms() -> None:
    async with pop3_server(**{"auth.trusted_networks": []}) as (srv, port):
        client = await Client.connect(port)
        assert (await client.cmd("AUTH")).startswith(b"+OK")
        assert await client.body() == b"SCRAM-SHA-256\r\n"  # no plain-text mechanism without TLS
        await client.cmd("QUIT")


async def test_stls_unavailable_without_a_tls_context() -> None:
    async with TranscriptServer("pop3", users=["alice"]) as srv:
        server = POP3Server(srv.mail, srv.config, listener="pop3", tls=None)
        listener = await start_listener("127.0.0.1", 0, server.handle, name="pop3", max_connections_per_ip=5)
        try:
            client = await Client.connect(listener.sockets[0].getsockname()[1])
            assert (await client.cmd("CAPA")).startswith(b"+OK")
            assert b"STLS" not in await client.body()
            assert (await client.cmd("STLS")).startswith(b"-ERR [SYS/TEMP]")
            await client.cmd("QUIT")
            await client.close()
        finally:
            listener.close()


def test_unique_id_shape() -> None:
    for uidvalidity, uid in [(1, 1), (2**32 - 1, 2**32 - 1), (1_700_000_000, 42)]:
        uidl = unique_id(uidvalidity, uid)
        assert 1 <= len(uidl) <= 70 and all(0x21 <= ord(c) <= 0x7E for c in uidl)
    assert unique_id(1, 12) != unique_id(11, 2)


def test_command_table_covers_every_keyword() -> None:
    from postoffice.wire.pop3 import COMMANDS as WIRE_COMMANDS

    assert set(COMMANDS) == {cls.keyword for cls in WIRE_COMMANDS}
    assert all(State.UPDATE not in spec.states for spec in COMMANDS.values())


def test_login_delay_is_never_sent() -> None:
    # CAPA says LOGIN-DELAY 0; the constant exists for completeness only.
    import postoffice.protocols.pop3 as package

    pkg_dir = package.__path__[0]
    from pathlib import Path

    text = "".join(p.read_text() for p in Path(pkg_dir).glob("*.py"))
    assert "ERR_LOGIN_DELAY" not in text
    assert "ERR_LOGIN_DELAY" in ALL_RESPONSES


async def test_retr_of_message_without_final_line_end() -> None:
    # A message stored without a final CRLF (APPEND, import) gets one in RETR, as the
    # multi-line format needs (RFC 1939 §3); its LIST size stays the stored size, 2 short.
    # Messages that arrive by SMTP always end in CRLF.
    async with pop3_server() as (srv, port):
        await srv.deliver(["alice"], b"Subject: x\r\n\r\nno final CRLF")
        client = await Client.connect(port)
        await client.login()
        listing = await client.cmd("LIST 1")
        size = int(listing.split()[2])
        assert (await client.cmd("RETR 1")).startswith(b"+OK")
        body = await client.body()
        assert body.endswith(b"\r\n")
        assert size == len(body) - 2
        await client.cmd("QUIT")
