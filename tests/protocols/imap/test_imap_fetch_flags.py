"""FETCH of only FLAGS is answered from the session's view of the mailbox; a change the
change bus has not (yet) reported, as from another process whose notice is late, must
still show: here the store is changed directly, with no notice on the bus at all."""

from __future__ import annotations

import asyncio

from postoffice.store.api import FlagUpdate
from postoffice.testing.server import TranscriptServer


async def _command(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, line: bytes) -> list[bytes]:
    writer.write(line + b"\r\n")
    await writer.drain()
    tag = line.split(b" ", 1)[0]
    lines = []
    while True:
        data = await asyncio.wait_for(reader.readline(), 30)
        if not data:
            raise ConnectionError("server closed")
        lines.append(data)
        if data.startswith(tag + b" "):
            assert data.startswith(tag + b" OK"), data
            return lines


async def test_fetch_flags_shows_a_change_the_bus_did_not_report() -> None:
    async with TranscriptServer("imap", users=["alice"]) as srv:
        for n in range(3):
            await srv.deliver(["alice"], f"Subject: m{n}\r\n\r\nbody {n}\r\n".encode())
        port = await srv.start_listener("imap")
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            await reader.readline()  # greeting
            await _command(reader, writer, b"a1 LOGIN alice@example.test password")
            await _command(reader, writer, b"a2 SELECT INBOX")
            first = await _command(reader, writer, b"a3 FETCH 1:* (FLAGS)")
            assert b"* 2 FETCH (FLAGS (\\Recent))\r\n" in first
            store = srv.services.store
            account = await store.get_account("alice@example.test")
            assert account is not None
            inbox = await store.get_mailbox(account.id, "INBOX")
            assert inbox is not None
            await store.update_flags(inbox.id, [2], FlagUpdate("add", frozenset({"\\Flagged"})))
            second = await _command(reader, writer, b"a4 FETCH 1:* (FLAGS)")
            assert b"* 2 FETCH (FLAGS (\\Flagged \\Recent))\r\n" in second
        finally:
            writer.close()


async def test_select_again_after_changes_shows_them() -> None:
    # SELECT snapshots are kept per process (MailService.list_flags) while the mailbox
    # is unchanged; changes made without a word on the bus must still show.
    async with TranscriptServer("imap", users=["alice"]) as srv:
        for n in range(4):
            await srv.deliver(["alice"], f"Subject: m{n}\r\n\r\nbody {n}\r\n".encode())
        port = await srv.start_listener("imap")
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            await reader.readline()  # greeting
            await _command(reader, writer, b"a1 LOGIN alice@example.test password")
            assert b"* 4 EXISTS\r\n" in await _command(reader, writer, b"a2 SELECT INBOX")
            assert b"* 4 EXISTS\r\n" in await _command(reader, writer, b"a3 SELECT INBOX")
            store = srv.services.store
            account = await store.get_account("alice@example.test")
            assert account is not None
            inbox = await store.get_mailbox(account.id, "INBOX")
            assert inbox is not None
            await store.update_flags(inbox.id, [2], FlagUpdate("add", frozenset({"$Later"})))
            await store.expunge(inbox.id, [4])
            again = b"".join(await _command(reader, writer, b"a4 SELECT INBOX"))
            assert b"* 3 EXISTS\r\n" in again and b"$Later" in again
            fetched = await _command(reader, writer, b"a5 UID FETCH 1:* (FLAGS)")
            assert b"* 2 FETCH (UID 2 FLAGS ($Later))\r\n" in fetched
            assert not any(b"UID 4 " in line for line in fetched)
        finally:
            writer.close()
