"""Real IMAP clients (Python's imaplib, imapclient) against the server over real sockets.

The clients are blocking, so each runs in a thread while the server runs on the test's
event loop. They prove that what the transcripts specify is what clients need: a folder
hierarchy, APPEND, COPY, MOVE, SEARCH, IDLE woken by a delivery, CONDSTORE/QRESYNC
resync after changes made elsewhere, and a big message streamed both ways.
"""

from __future__ import annotations

import asyncio
import imaplib
from collections.abc import AsyncIterator

import imapclient
import pytest

from postoffice.testing.server import TranscriptServer

USER = "alice@example.test"
PASSWORD = "password"


def message(subject: str, body: str = "hello") -> bytes:
    return (
        f"From: bob@example.test\r\nTo: {USER}\r\nSubject: {subject}\r\n"
        f"Date: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <{subject.replace(' ', '.')}@example.test>\r\n\r\n{body}\r\n"
    ).encode()


@pytest.fixture
async def server() -> AsyncIterator[tuple[TranscriptServer, int]]:
    async with TranscriptServer("imap", users=["alice"]) as srv:
        port = await srv.start_listener("imap")
        yield srv, port


async def test_imaplib_folders_append_copy_move_search(server: tuple[TranscriptServer, int]) -> None:
    srv, port = server

    def client() -> dict[str, object]:
        m = imaplib.IMAP4("127.0.0.1", port)
        out: dict[str, object] = {}
        m.login(USER, PASSWORD)
        assert m.create("Projects/2024")[0] == "OK"
        typ, data = m.list('""', "Projects*")
        out["list"] = sorted(d.decode() for d in data if d)
        for i in range(3):
            typ, _ = m.append("INBOX", r"(\Seen)" if i == 0 else None, None, message(f"note {i}", f"body {i} kiwi"))
            assert typ == "OK"
        typ, data = m.select("INBOX")
        out["exists"] = int(data[0])
        typ, data = m.search(None, "BODY", "kiwi", "UNSEEN")
        out["search"] = data[0].split()
        typ, data = m.copy("1:2", "Projects/2024")
        assert typ == "OK"
        typ, data = m.uid("MOVE", "3", "Projects/2024")
        assert typ == "OK", data
        typ, data = m.status("Projects/2024", "(MESSAGES)")
        out["status"] = data[0].decode()
        typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)] FLAGS)")
        out["fetch"] = data[0][1]
        m.store("1", "+FLAGS", r"\Deleted")
        typ, data = m.expunge()
        out["expunged"] = data
        m.logout()
        return out

    out = await asyncio.to_thread(client)
    assert out["list"] == ['(\\HasChildren) "/" Projects', '(\\HasNoChildren) "/" Projects/2024']
    assert out["exists"] == 3
    assert out["search"] == [b"2", b"3"]
    assert out["status"] == "Projects/2024 (MESSAGES 3)"
    assert out["fetch"] == b"Subject: note 0\r\n\r\n"
    assert out["expunged"] == [b"3", b"1"]  # imaplib keeps the MOVE's EXPUNGE too
    assert await srv.count_messages("alice", "INBOX") == 1


async def test_imapclient_idle_woken_by_delivery(server: tuple[TranscriptServer, int]) -> None:
    srv, port = server
    idling = asyncio.Event()
    loop = asyncio.get_running_loop()

    def client() -> list[object]:
        c = imapclient.IMAPClient("127.0.0.1", port=port, ssl=False)
        c.login(USER, PASSWORD)
        c.select_folder("INBOX")
        c.idle()
        loop.call_soon_threadsafe(idling.set)
        responses = c.idle_check(timeout=10)
        c.idle_done()
        c.logout()
        return responses

    task = asyncio.create_task(asyncio.to_thread(client))
    await asyncio.wait_for(idling.wait(), 10)
    await srv.deliver(["alice"], message("while idle"))
    responses = await asyncio.wait_for(task, 15)
    assert (1, b"EXISTS") in responses


async def test_imapclient_condstore_qresync_resync(server: tuple[TranscriptServer, int]) -> None:
    srv, port = server
    for i in range(3):
        await srv.deliver(["alice"], message(f"m{i}"))

    def first() -> tuple[int, int]:
        c = imapclient.IMAPClient("127.0.0.1", port=port, ssl=False)
        c.login(USER, PASSWORD)
        assert c.has_capability("CONDSTORE") and c.has_capability("QRESYNC")
        info = c.select_folder("INBOX")
        c.logout()
        return int(info[b"UIDVALIDITY"]), int(info[b"HIGHESTMODSEQ"])

    uidvalidity, modseq = await asyncio.to_thread(first)

    # Changes made elsewhere: another client flags one message and expunges another.
    def elsewhere() -> None:
        c = imapclient.IMAPClient("127.0.0.1", port=port, ssl=False)
        c.login(USER, PASSWORD)
        c.select_folder("INBOX")
        c.add_flags([1], [imapclient.SEEN])
        c.delete_messages([2])
        c.expunge()
        c.logout()

    await asyncio.to_thread(elsewhere)

    def resync() -> tuple[dict[int, object], list[bytes]]:
        c = imapclient.IMAPClient("127.0.0.1", port=port, ssl=False)
        c.login(USER, PASSWORD)
        c.enable("QRESYNC")
        typ, data = c._imap._simple_command(  # imapclient has no QRESYNC select: send it raw
            "SELECT", f"INBOX (QRESYNC ({uidvalidity} {modseq}))"
        )
        untagged = c._imap.untagged_responses
        vanished = untagged.get("VANISHED", [])
        c._imap.untagged_responses = {}
        c.select_folder("INBOX")
        changed = c.fetch(c.search("ALL"), ["FLAGS"], modifiers=[f"CHANGEDSINCE {modseq}"])
        c.logout()
        return changed, vanished

    changed, vanished = await asyncio.to_thread(resync)
    assert vanished == [b"(EARLIER) 2"]
    assert list(changed) == [1]
    assert imapclient.SEEN in changed[1][b"FLAGS"]


async def test_big_message_streams_both_ways(server: tuple[TranscriptServer, int]) -> None:
    srv, port = server
    body = b"".join(b"line %08d of a big message, long enough to matter\r\n" % i for i in range(60_000))  # ~3 MB
    big = b"Subject: big\r\nFrom: bob@example.test\r\n\r\n" + body

    def client() -> tuple[bytes, bytes]:
        m = imaplib.IMAP4("127.0.0.1", port)
        m.login(USER, PASSWORD)
        assert m.append("INBOX", None, None, big)[0] == "OK"
        m.select("INBOX")
        typ, data = m.fetch("1", "(BODY.PEEK[])")
        whole = data[0][1]
        typ, data = m.fetch("1", "(BODY.PEEK[TEXT]<1000000.100>)")
        part = data[0][1]
        m.logout()
        return whole, part

    whole, part = await asyncio.to_thread(client)
    assert whole == big
    assert part == body[1_000_000:1_000_100]


async def test_imaplib_scram_sha_256(server: tuple[TranscriptServer, int]) -> None:
    from postoffice.wire.sasl import ScramClient

    srv, port = server

    def client() -> str:
        scram = ScramClient(USER, PASSWORD)
        state = {"step": 0}

        def answer(challenge: bytes) -> bytes:
            state["step"] += 1
            if state["step"] == 1:
                return scram.first()
            if state["step"] == 2:
                return scram.final(challenge)
            assert scram.verify(challenge)
            return b""

        m = imaplib.IMAP4("127.0.0.1", port)
        typ, _ = m.authenticate("SCRAM-SHA-256", answer)
        m.logout()
        return typ

    assert await asyncio.to_thread(client) == "OK"
