"""Python's poplib against the POP3 server over real sockets: both modes of the seed
(download-and-delete, download-and-keep) over three sessions, UIDL stable across
sessions and a server restart, IN-USE for a second session, STLS with real TLS."""

from __future__ import annotations

import asyncio
import poplib
import ssl
from pathlib import Path

import pytest

from postoffice.testing.server import TranscriptServer


def message(subject: str) -> bytes:
    return (
        f"From: bob@example.test\r\nTo: alice@example.test\r\nSubject: {subject}\r\n\r\n"
        f"Body of {subject}\r\n.leading dot\r\n"
    ).encode()


def open_pop(port: int) -> poplib.POP3:
    pop = poplib.POP3("127.0.0.1", port, timeout=10)
    pop.user("alice@example.test")
    pop.pass_("password")
    return pop


def retrieve(pop: poplib.POP3, n: int) -> bytes:
    _, lines, octets = pop.retr(n)
    return b"".join(line + b"\r\n" for line in lines)


def download_and_delete(port: int) -> list[bytes]:
    pop = open_pop(port)
    count, _ = pop.stat()
    got = []
    for n in range(1, count + 1):
        got.append(retrieve(pop, n))
        pop.dele(n)
    pop.quit()
    return got


def download_new(port: int, seen: set[bytes]) -> list[bytes]:
    pop = open_pop(port)
    got = []
    for entry in pop.uidl()[1]:
        n, uid = entry.split()
        if uid not in seen:
            seen.add(uid)
            got.append(retrieve(pop, int(n)))
    pop.quit()
    return got


async def test_download_and_delete_over_three_sessions() -> None:
    async with TranscriptServer("pop3", users=["alice"]) as srv:
        port = await srv.start_listener("pop3")
        for session in range(3):
            subjects = [f"s{session}-m{i}" for i in range(session + 1)]
            for subject in subjects:
                await srv.deliver(["alice"], message(subject))
            got = await asyncio.to_thread(download_and_delete, port)
            assert got == [message(s) for s in subjects]
            assert await srv.count_messages("alice", "INBOX") == 0


async def test_download_and_keep_over_three_sessions_and_a_restart(tmp_path: Path) -> None:
    seen: set[bytes] = set()
    listings: list[list[bytes]] = []
    data = tmp_path / "data"
    async with TranscriptServer("pop3", users=["alice"], data_dir=data) as srv:
        port = await srv.start_listener("pop3")
        await srv.deliver(["alice"], message("a"))
        assert await asyncio.to_thread(download_new, port, seen) == [message("a")]
        await srv.deliver(["alice"], message("b"))
        assert await asyncio.to_thread(download_new, port, seen) == [message("b")]
        assert await asyncio.to_thread(download_new, port, seen) == []
        listings.append(await asyncio.to_thread(lambda: _uidl(port)))
    async with TranscriptServer("pop3", users=["alice"], data_dir=data) as srv:  # a restart
        port = await srv.start_listener("pop3")
        listings.append(await asyncio.to_thread(lambda: _uidl(port)))
        await srv.deliver(["alice"], message("c"))
        assert await asyncio.to_thread(download_new, port, seen) == [message("c")]
        assert await srv.count_messages("alice", "INBOX") == 3
    assert listings[0] == listings[1] and len(listings[0]) == 2


def _uidl(port: int) -> list[bytes]:
    pop = open_pop(port)
    listing = pop.uidl()[1]
    pop.quit()
    return listing


async def test_second_session_gets_in_use() -> None:
    async with TranscriptServer("pop3", users=["alice"]) as srv:
        port = await srv.start_listener("pop3")

        def scenario() -> str:
            first = open_pop(port)
            second = poplib.POP3("127.0.0.1", port, timeout=10)
            second.user("alice@example.test")
            with pytest.raises(poplib.error_proto) as refused:
                second.pass_("password")
            first.quit()
            second.user("alice@example.test")
            second.pass_("password")
            second.quit()
            return refused.value.args[0].decode()

        assert (await asyncio.to_thread(scenario)).startswith("-ERR [IN-USE]")


async def test_stls_refusal_before_tls_then_login() -> None:
    async with TranscriptServer("pop3", users=["alice"], config_overrides={"auth.trusted_networks": []}) as srv:
        port = await srv.start_listener("pop3")
        await srv.deliver(["alice"], message("secret"))

        def scenario() -> tuple[str, dict[str, list[str]], bytes]:
            pop = poplib.POP3("127.0.0.1", port, timeout=10)
            assert "USER" not in pop.capa() and "STLS" in pop.capa()
            with pytest.raises(poplib.error_proto) as refused:
                pop.user("alice@example.test")
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            pop.stls(context)
            assert isinstance(pop.sock, ssl.SSLSocket)
            capa = pop.capa()
            pop.user("alice@example.test")
            pop.pass_("password")
            body = retrieve(pop, 1)
            pop.quit()
            return refused.value.args[0].decode(), capa, body

        refusal, capa, body = await asyncio.to_thread(scenario)
        assert refusal.startswith("-ERR [AUTH]")
        assert "USER" in capa and "STLS" not in capa
        assert body == message("secret")


async def test_pop3s_implicit_tls() -> None:
    async with TranscriptServer("pop3", users=["alice"], config_overrides={"auth.trusted_networks": []}) as srv:
        port = await srv.start_listener("pop3s")

        def scenario() -> int:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            pop = poplib.POP3_SSL("127.0.0.1", port, context=context, timeout=10)
            pop.user("alice@example.test")
            pop.pass_("password")
            count = pop.stat()[0]
            pop.quit()
            return count

        assert await asyncio.to_thread(scenario) == 0
