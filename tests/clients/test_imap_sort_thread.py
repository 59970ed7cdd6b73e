"""imapclient's ``sort`` and ``thread`` (RFC 5256) against the server over a real socket.

The client runs in a thread while the server runs on the test's event loop; what it
parses from the answers is what a mail client would show as a sorted or threaded list.
"""

from __future__ import annotations

import asyncio
import imaplib
from collections.abc import AsyncIterator
from pathlib import Path

import imapclient
import pytest

from postoffice.testing.server import TranscriptServer

USER = "alice@example.test"
PASSWORD = "password"
MAIL = Path(__file__).parent.parent / "transcripts" / "imap" / "sort-mail"


@pytest.fixture
async def server() -> AsyncIterator[tuple[TranscriptServer, int]]:
    async with TranscriptServer("imap", users=["alice"]) as srv:
        port = await srv.start_listener("imap")
        for n in range(1, 8):
            await srv.deliver(["alice"], (MAIL / f"m{n}.eml").read_bytes())
            await srv.advance_clock(60)
        yield srv, port


async def test_imapclient_sort_and_thread(server: tuple[TranscriptServer, int]) -> None:
    _srv, port = server

    def client() -> dict[str, object]:
        c = imapclient.IMAPClient("127.0.0.1", port=port, ssl=False)
        c.login(USER, PASSWORD)
        out: dict[str, object] = {"caps": c.capabilities()}
        c.select_folder("INBOX")
        out["date"] = c.sort(["DATE"])
        out["reverse_arrival"] = c.sort(["REVERSE ARRIVAL"])
        out["subject_lunch"] = c.sort("SUBJECT", ["SUBJECT", "lunch"])
        out["references"] = c.thread("REFERENCES")
        out["orderedsubject"] = c.thread("ORDEREDSUBJECT", ["SINCE", "1-Jan-2000"])
        out["fetch"] = c.fetch([2, 4], ["PREVIEW", "EMAILID", "THREADID", "SAVEDATE"])
        out["emailid_search"] = c.search(["EMAILID", out["fetch"][2][b"EMAILID"][0].decode()])  # type: ignore[index]
        c.logout()
        return out

    out = await asyncio.to_thread(client)
    caps = out["caps"]
    assert isinstance(caps, tuple)
    assert {b"SORT", b"THREAD=REFERENCES", b"THREAD=ORDEREDSUBJECT", b"ESORT"} <= set(caps)
    assert out["date"] == [6, 2, 4, 1, 3, 5, 7]
    assert out["reverse_arrival"] == [7, 6, 5, 4, 3, 2, 1]
    assert out["subject_lunch"] == [1, 2, 4]
    # imapclient nests a thread as tuples; a dummy root shows as its children's tuples
    assert out["references"] == (((6,), (5,)), (2, 1, 4), ((3,), (7,)))
    assert out["orderedsubject"] == ((6,), (2, (4,), (1,)), (3, (5,), (7,)))
    fetched = out["fetch"]
    assert isinstance(fetched, dict)
    assert fetched[2][b"PREVIEW"] == b"y" * 200  # the stored preview: 200 characters
    assert fetched[2][b"THREADID"] is None
    assert fetched[2][b"EMAILID"] != fetched[4][b"EMAILID"]
    assert fetched[2][b"SAVEDATE"] is not None
    assert out["emailid_search"] == [2]


async def test_imaplib_keeps_a_sort_context(server: tuple[TranscriptServer, int]) -> None:
    """RFC 5267 §4.3 with Python's imaplib: a UID SORT RETURN (UPDATE) context, then a
    delivery; the client reads the ADDTO that places the new message in its sorted list."""
    srv, port = server
    c: imaplib.IMAP4

    def open_context() -> tuple[list[str], list[object]]:
        nonlocal c
        c = imaplib.IMAP4("127.0.0.1", port)  # in the thread: the server runs on this loop
        c.login(USER, PASSWORD)
        c.select("INBOX")
        typ, _ = c._simple_command("UID", "SORT", "RETURN", "(UPDATE)", "(DATE)", "UTF-8", "ALL")  # type: ignore[attr-defined]
        assert typ == "OK"
        _, caps = c.capability()  # after login: the greeting's list is the pre-login one
        return caps[0].decode().split(), c.untagged_responses.pop("ESEARCH", [])

    caps, first = await asyncio.to_thread(open_context)
    assert {"CONTEXT=SEARCH", "CONTEXT=SORT"} <= set(caps)
    assert first[0].endswith(b"UID ALL 6,2,4,1,3,5,7")  # type: ignore[union-attr]
    # m6 again: no Date field, so its internal date (the test clock, in 2023) places it
    # just after the first m6 and before every dated message: the second in the list
    await srv.deliver(["alice"], (MAIL / "m6.eml").read_bytes())

    def poll() -> list[object]:
        c.noop()
        out = c.untagged_responses.pop("ESEARCH", [])
        c.logout()
        return out

    updates = await asyncio.to_thread(poll)
    assert len(updates) == 1 and updates[0].endswith(b"UID ADDTO (2 8)")  # type: ignore[union-attr]
