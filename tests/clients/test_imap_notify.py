"""NOTIFY (RFC 5465) with a real client library over real sockets.

imapclient has no NOTIFY call, so the command goes through its ``_raw_command``; the
notifications are read with its own response parser (``idle_check`` reads whatever
untagged responses the socket holds, IDLE or not). A second imapclient session
appends, changes flags, expunges and renames; the first, sending nothing, is told of
each: EXISTS and the FETCH it asked for, a flag FETCH, EXPUNGE, STATUS of a watched
mailbox, LIST with OLDNAME.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import imapclient

from postoffice.testing.server import TranscriptServer

USER = "alice@example.test"
PASSWORD = "password"
DEADLINE = 20.0


def message(subject: str) -> bytes:
    return f"From: bob@example.test\r\nTo: {USER}\r\nSubject: {subject}\r\n\r\nhello\r\n".encode()


def wait_for(client: imapclient.IMAPClient, wanted: Any, what: str) -> list[Any]:
    """Read unsolicited responses until ``wanted(responses)``; never longer than DEADLINE."""
    seen: list[Any] = []
    end = time.monotonic() + DEADLINE
    while not wanted(seen):
        assert time.monotonic() < end, f"no {what} within {DEADLINE} s; got {seen!r}"
        seen += client.idle_check(timeout=0.5)
    return seen


def has(kind: bytes, test: Any = lambda r: True) -> Any:
    """A message response (``(1, b'EXISTS')``) of that kind."""
    return lambda seen: any(len(r) > 1 and r[1] == kind and test(r) for r in seen)


def named(kind: bytes) -> Any:
    """A mailbox response (``(b'STATUS', b'Work', (...))``) of that kind."""
    return lambda seen: any(r[0] == kind for r in seen)


async def test_a_second_sessions_changes_arrive_as_notifications() -> None:
    async with TranscriptServer("imap", users=["alice"]) as srv:
        port = await srv.start_listener("imap")

        def run() -> dict[str, Any]:
            out: dict[str, Any] = {}
            watcher = imapclient.IMAPClient("127.0.0.1", port=port, ssl=False, timeout=DEADLINE)
            other = imapclient.IMAPClient("127.0.0.1", port=port, ssl=False, timeout=DEADLINE)
            try:
                watcher.login(USER, PASSWORD)
                other.login(USER, PASSWORD)
                out["capable"] = watcher.has_capability("NOTIFY")
                other.create_folder("Work")
                watcher.select_folder("INBOX")
                typ, data = watcher._raw_command(
                    b"NOTIFY",
                    [
                        b"SET",
                        b"(selected (MessageNew (UID ENVELOPE) MessageExpunge FlagChange))",
                        b"(personal (MessageNew MessageExpunge MailboxName))",
                    ],
                    uid=False,
                )
                out["notify"] = typ
                # a message appended to the selected mailbox: EXISTS, then the FETCH asked for
                other.append("INBOX", message("first news"))
                seen = wait_for(watcher, has(b"FETCH", lambda r: b"ENVELOPE" in r[2]), "FETCH of the new message")
                out["exists"] = [r[0] for r in seen if r[1] == b"EXISTS"]
                fetched = next(r for r in seen if r[1] == b"FETCH")
                items = dict(zip(fetched[2][::2], fetched[2][1::2], strict=True))
                out["new_uid"] = items[b"UID"]
                out["new_subject"] = items[b"ENVELOPE"][1]
                # a flag change in the selected mailbox
                other.select_folder("INBOX")
                other.add_flags([out["new_uid"]], [b"\\Flagged"])
                seen = wait_for(watcher, has(b"FETCH", lambda r: b"FLAGS" in r[2]), "FETCH of the new flags")
                flagged = next(r for r in seen if r[1] == b"FETCH" and b"FLAGS" in r[2])
                out["flags"] = dict(zip(flagged[2][::2], flagged[2][1::2], strict=True))[b"FLAGS"]
                # an append to another mailbox: its STATUS
                other.append("Work", message("for later"))
                seen = wait_for(watcher, named(b"STATUS"), "STATUS of Work")
                out["status"] = next(r for r in seen if r[0] == b"STATUS")
                # an expunge in the selected mailbox
                other.delete_messages([out["new_uid"]])
                other.expunge()
                seen = wait_for(watcher, has(b"EXPUNGE"), "EXPUNGE")
                out["expunged"] = [r[0] for r in seen if r[1] == b"EXPUNGE"]
                # a rename: LIST with the old name
                other.rename_folder("Work", "Done")
                seen = wait_for(watcher, named(b"LIST"), "LIST of the renamed mailbox")
                out["list"] = next(r for r in seen if r[0] == b"LIST")
                out["noop"] = watcher.noop()[0]
            finally:
                other.logout()
                watcher.logout()
            return out

        out = await asyncio.to_thread(run)
    assert out["capable"]
    assert out["notify"] == "OK"
    assert out["exists"] == [1]
    assert out["new_uid"] == 1
    assert out["new_subject"] == b"first news"
    assert b"\\Flagged" in out["flags"]
    assert out["status"] == (b"STATUS", b"Work", (b"MESSAGES", 1, b"UIDNEXT", 2))
    assert out["expunged"] == [1]
    assert out["list"] == (b"LIST", (b"\\HasNoChildren",), b"/", b"Done", (b"OLDNAME", (b"Work",)))
    assert out["noop"] == b"NOOP completed"
