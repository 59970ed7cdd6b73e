"""One failure policy for every protocol: a handler that raises something nobody expected
gets the protocol's error answer (IMAP ``NO [SERVERBUG]``, SMTP ``451 4.3.0``, POP3
``-ERR [SYS/TEMP]``), logged once with its traceback, and the session answers the next
command. A failure inside DATA never lets the rest of the message be read as commands."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any, NoReturn

import pytest

from postoffice.protocols.imap.fetch import STREAM_OVER
from postoffice.protocols.smtp import delivery
from postoffice.testing.server import TranscriptServer
from postoffice.testing.smtp_client import SMTPClient

DEADLINE = 10.0

# The untagged answers of SELECT / EXAMINE of an empty mailbox.
SELECTED_EMPTY = "S: * FLAGS *\nS: * 0 EXISTS\nS: * 0 RECENT\n" + "S: * OK *\n" * 5  # with MAILBOXID (RFC 8474)


class Boom(RuntimeError):
    """The unexpected failure a test injects."""


async def boom(*args: Any, **kwargs: Any) -> NoReturn:
    raise Boom("injected by the test")


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Log records that carry the injected failure's traceback."""
    return [r for r in caplog.records if r.exc_info is not None and isinstance(r.exc_info[1], Boom)]


# ---- IMAP ------------------------------------------------------------------------------------


async def test_imap_unexpected_failure_is_no_serverbug_and_the_session_goes_on(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async with TranscriptServer("imap") as srv:
        monkeypatch.setattr(srv.mail, "create_mailbox", boom)
        with caplog.at_level(logging.ERROR):
            await srv.run(
                "state: authenticated\n"
                "C: a1 CREATE Fruit\n"
                "S: a1 NO [SERVERBUG]\n"
                "C: a2 NOOP\n"
                "S: a2 OK\n"
                'C: a3 LIST "" INBOX\n'
                "S: * LIST *\n"
                "S: a3 OK\n"
            )
        assert len(tracebacks(caplog)) == 1


async def test_imap_delete_of_the_selected_mailbox_closes_it_and_the_session_goes_on() -> None:
    async with TranscriptServer("imap") as srv:
        await srv.run(
            "state: authenticated\n"
            "C: a0 CREATE Fruit\n"
            "S: a0 OK\n"
            "C: a1 EXAMINE Fruit\n"
            f"{SELECTED_EMPTY}"
            "S: a1 OK [READ-ONLY]\n"
            "C: a2 DELETE Fruit\n"
            "S: * OK [CLOSED]\n"
            "S: a2 OK\n"
            "C: a3 NOOP\n"
            "S: a3 OK\n"
            "C: a4 FETCH 1 FLAGS\n"
            "S: a4 BAD\n"  # back in the authenticated state
            "C: a5 SELECT INBOX\n"
            f"{SELECTED_EMPTY}"
            "S: a5 OK [READ-WRITE]\n"
        )


async def test_imap_mailbox_deleted_by_another_session_is_closed_there() -> None:
    async with TranscriptServer("imap") as srv:
        await srv.run(
            "state: authenticated\n"
            "connections: 2\n"
            "1 C: a0 CREATE Fruit\n"
            "1 S: a0 OK\n"
            "1 C: a1 EXAMINE Fruit\n"
            f"{SELECTED_EMPTY}"
            "1 S: a1 OK [READ-ONLY]\n"
            "2 C: b1 DELETE Fruit\n"
            "2 S: b1 OK\n"
            "1 C: a2 NOOP\n"
            "1 S: * OK [CLOSED]\n"
            "1 S: a2 OK\n"
            "1 C: a3 LIST \"\" Fruit\n"
            "1 S: a3 OK\n"
        )


async def test_imap_failure_inside_a_literal_closes_the_connection_without_another_byte(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Once ``{n}`` is out, the client reads n octets whatever comes: an error line would
    be read as message data, so the connection is closed and the client sees a short
    literal, never a corrupted message."""
    size = 3 * STREAM_OVER
    async with TranscriptServer("imap", users=["alice"], listeners=["imap"]) as srv:
        await srv.deliver(["alice"], b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * (size // 1000))

        async def broken_stream(*args: Any, **kwargs: Any) -> AsyncIterator[bytes]:
            yield b"Subject: big\r\n"
            raise Boom("injected by the test")

        monkeypatch.setattr(srv.mail, "stream", broken_stream)
        reader, writer = await asyncio.open_connection("127.0.0.1", srv.port("imap"))
        try:
            await asyncio.wait_for(reader.readline(), DEADLINE)
            writer.write(b"a1 LOGIN alice@example.test password\r\na2 SELECT INBOX\r\n")
            while not (await asyncio.wait_for(reader.readline(), DEADLINE)).startswith(b"a2 "):
                pass
            with caplog.at_level(logging.ERROR):
                writer.write(b"a3 FETCH 1 BODY.PEEK[]\r\n")
                header = await asyncio.wait_for(reader.readuntil(b"}\r\n"), DEADLINE)
                announced = int(header.rsplit(b"{", 1)[1][:-3])
                rest = await asyncio.wait_for(reader.read(), DEADLINE)  # to the end of the stream
            assert header.startswith(b"* 1 FETCH (")
            assert rest == b"Subject: big\r\n" and len(rest) < announced
            assert len(tracebacks(caplog)) == 1
        finally:
            writer.close()


# ---- SMTP ------------------------------------------------------------------------------------


async def test_smtp_unexpected_failure_is_451_4_3_0_and_the_session_goes_on(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async with TranscriptServer("smtp", users=["alice"]) as srv:
        monkeypatch.setattr(srv.mail, "resolve_recipient", boom)
        with caplog.at_level(logging.ERROR):
            await srv.run(
                "C: EHLO client.test\n"
                "S: 250 *\n"
                "C: MAIL FROM:<a@remote.test>\n"
                "S: 250 2.1.0\n"
                "C: RCPT TO:<alice@example.test>\n"
                "S: 451 4.3.0\n"
                "C: NOOP\n"
                "S: 250 2.0.0\n"
                "C: RSET\n"
                "S: 250 2.0.0\n"
            )
        assert len(tracebacks(caplog)) == 1


async def test_smtp_failure_inside_data_reads_the_message_to_its_end(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def start(*args: Any) -> NoReturn:
        raise Boom("injected by the test")

    # A message bigger than one chunk starts the streamed delivery: make that fail.
    monkeypatch.setattr(delivery, "start", start)
    body = b"QUIT\r\nRSET\r\n" * (3 * delivery.CHUNK // 10)  # lines that must never run as commands
    async with TranscriptServer("smtp", users=["alice"], listeners=["smtp"]) as srv:
        client = await SMTPClient.open(srv.port("smtp"), ehlo=True)
        try:
            with caplog.at_level(logging.ERROR):
                assert (await client.send(b"MAIL FROM:<a@remote.test>\r\n"))[0] == 250
                assert (await client.send(b"RCPT TO:<alice@example.test>\r\n"))[0] == 250
                assert (await client.send(b"DATA\r\n"))[0] == 354
                assert await client.send(b"Subject: big\r\n\r\n" + body + b".\r\n") == (451, "4.3.0")
                assert (await client.send(b"NOOP\r\n"))[0] == 250
                # The transaction is over and nothing of the message was kept.
                assert (await client.send(b"DATA\r\n"))[0] == 503
            assert len(tracebacks(caplog)) == 1
            assert await srv.count_messages("alice", "INBOX") == 0
        finally:
            client.close()


async def test_smtp_failure_inside_bdat_reads_the_chunk_to_its_end(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(delivery, "push", boom)
    chunk = b"QUIT\r\n" * 20_000  # octets that must never run as commands (RFC 3030 §2)
    async with TranscriptServer("smtp", users=["alice"], listeners=["smtp"]) as srv:
        client = await SMTPClient.open(srv.port("smtp"), ehlo=True)
        try:
            with caplog.at_level(logging.ERROR):
                assert (await client.send(b"MAIL FROM:<a@remote.test>\r\n"))[0] == 250
                assert (await client.send(b"RCPT TO:<alice@example.test>\r\n"))[0] == 250
                assert await client.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk) == (451, "4.3.0")
                assert (await client.send(b"NOOP\r\n"))[0] == 250
                assert (await client.send(b"BDAT 1 LAST\r\nx"))[0] == 503  # the transaction is over
            assert len(tracebacks(caplog)) == 1
            assert await srv.count_messages("alice", "INBOX") == 0
        finally:
            client.close()


# ---- POP3 ------------------------------------------------------------------------------------


async def test_pop3_unexpected_failure_is_err_sys_temp_and_the_session_goes_on(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async with TranscriptServer("pop3", users=["alice"]) as srv:
        await srv.deliver(["alice"], b"Subject: one\r\n\r\nbody\r\n")
        monkeypatch.setattr(srv.mail, "get_content", boom)
        monkeypatch.setattr(srv.mail, "get_contents", boom)  # RETR reads ahead in batches
        with caplog.at_level(logging.ERROR):
            await srv.run(
                "state: authenticated\n"
                "C: RETR 1\n"
                "S: -ERR [SYS/TEMP]\n"
                "C: STAT\n"
                "S: +OK *\n"
            )
        assert len(tracebacks(caplog)) == 1
