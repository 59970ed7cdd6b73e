"""Fuzzing over the wire (issue 15): mutated command lines sent to a running server over
real sockets (``postoffice.testing.wirefuzz``). Every line gets the protocol's answer
(BAD/NO, 5xx, -ERR, or what it asked for), never the failure policy's answer for an
unexpected exception (``NO [SERVERBUG]``, ``451 4.3.0``, ``-ERR [SYS/TEMP]``); a
connection ends only with the protocol's goodbye; the event loop never stalls; and
afterwards other clients are served as usual. bench/fuzz.py runs many more lines
(``POSTOFFICE_FUZZ_LINES``).
"""

from __future__ import annotations

import asyncio
import os
import random

from postoffice.testing.server import TranscriptServer
from postoffice.testing.smtp_client import SMTPClient
from postoffice.testing.wirefuzz import MAX_LITERAL, fuzz_imap, fuzz_pop3, fuzz_smtp

LINES = int(os.environ.get("POSTOFFICE_FUZZ_LINES", "300"))  # per protocol
SEED = int(os.environ.get("POSTOFFICE_FUZZ_SEED", "1515"))
CONFIG = {
    "limits.imap.max_literal_size": MAX_LITERAL,  # larger literals are refused before "+"
    "limits.smtp.max_message_size": MAX_LITERAL,  # larger BDAT chunks are refused before being read
    "limits.smtp.max_errors": 100,
    "limits.smtp.max_junk_commands": 100,
    "limits.pop3.max_errors": 100,
}


async def fetch_subjects(port: int) -> list[bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        lines: list[bytes] = []
        for command in (b"a LOGIN alice@example.test password", b"b SELECT INBOX",
                        b"c FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])", b"d LOGOUT"):  # fmt: skip
            writer.write(command + b"\r\n")
            while not (line := await asyncio.wait_for(reader.readline(), 30)).startswith(command[:2]):
                assert line, "connection closed"
                lines.append(line)
            assert line.startswith(command[:2] + b"OK"), line
        return lines
    finally:
        writer.close()


async def test_mutated_commands_get_protocol_answers_and_the_server_lives_on() -> None:
    async with TranscriptServer("imap", listeners=["imap", "smtp", "pop3"], config_overrides=CONFIG) as srv:
        for i in range(5):
            await srv.deliver(["alice"], b"Subject: seed %d\r\nFrom: a@example.net\r\n\r\nbody %d\r\n" % (i, i))
        user, password = srv.user_address("alice"), srv.password
        async with srv.no_stall():
            reports = await asyncio.gather(
                fuzz_imap(srv.port("imap"), user, password, LINES, random.Random(SEED)),
                fuzz_smtp(srv.port("smtp"), LINES, random.Random(SEED + 1)),
                fuzz_pop3(srv.port("pop3"), user, password, LINES, random.Random(SEED + 2)),
            )
        problems = [p for report in reports for p in report.problems]
        assert not problems, "\n".join([*(r.summary() for r in reports), *problems[:20]])
        for report in reports:
            assert report.lines > LINES // 2, report.summary()
        assert reports[1].messages > 0, reports[1].summary()  # DATA and BDAT were reached
        # Other clients are served as before: a message sent by SMTP is read by IMAP.
        smtp = await SMTPClient.open(srv.port("smtp"), ehlo=True)
        assert (await smtp.send(b"MAIL FROM:<bob@example.net>\r\n"))[0] == 250
        assert (await smtp.send(b"RCPT TO:<alice@example.test>\r\n"))[0] == 250
        assert (await smtp.send(b"DATA\r\n"))[0] == 354
        assert (await smtp.send(b"Subject: after the fuzzing\r\n\r\nstill here\r\n.\r\n"))[0] == 250
        smtp.close()
        assert any(b"after the fuzzing" in line for line in await fetch_subjects(srv.port("imap")))


async def test_a_parameter_section_number_of_thousands_of_digits_is_delivered() -> None:
    # Found by tests/wire/test_parsers_fuzz.py: int() of more than 4,300 digits raises
    # ValueError, and the MIME parser turned such a message into "451 4.3.0" for ever.
    async with TranscriptServer("imap", listeners=["smtp"]) as srv:
        smtp = await SMTPClient.open(srv.port("smtp"), ehlo=True)
        assert (await smtp.send(b"MAIL FROM:<bob@example.net>\r\n"))[0] == 250
        assert (await smtp.send(b"RCPT TO:<alice@example.test>\r\n"))[0] == 250
        assert (await smtp.send(b"DATA\r\n"))[0] == 354
        content_type = b"Content-Type: text/plain; name*" + b"9" * 5000 + b"=x; name*0=y\r\n"
        assert (await smtp.send(b"Subject: deep\r\nMIME-Version: 1.0\r\n" + content_type + b"\r\nbody\r\n.\r\n"))[0] == 250
        smtp.close()
        assert await srv.count_messages("alice", "INBOX") == 1
