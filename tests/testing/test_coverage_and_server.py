"""Coverage scanning of transcripts, and TranscriptServer on the real services."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from postoffice.testing.coverage import coverage_report, missing_commands, reply_key, scan_transcripts
from postoffice.testing.server import TranscriptServer


@dataclass(frozen=True)
class Entry:
    name: str
    states: frozenset[str]


IMAP_TABLE = [
    Entry("LOGIN", frozenset({"nonauth"})),
    Entry("NOOP", frozenset({"nonauth", "authenticated", "selected"})),
    Entry("SELECT", frozenset({"authenticated", "selected"})),
    Entry("IDLE", frozenset({"authenticated", "selected"})),
    Entry("UID", frozenset({"selected"})),
]


class ImapCodes:
    ALREADYEXISTS = "ALREADYEXISTS"
    TRYCREATE = "[TRYCREATE]"
    helper = "not a constant"


def test_imap_pairs_follow_the_session_state(tmp_path: Path) -> None:
    folder = tmp_path / "imap"
    folder.mkdir()
    (folder / "login.t").write_text(
        "C: a1 NOOP\nS: a1 OK\nC: a2 LOGIN alice password\nS: a2 OK\nC: a3 SELECT INBOX\nS: * 0 EXISTS\nS: a3 OK\n"
        "C: a4 IDLE\nS: + idling\nC: DONE\nS: a4 OK\nC: a5 UID FETCH 1 FLAGS\nS: a5 NO [ALREADYEXISTS]\n"
    )
    (folder / "noop.t").write_text("state: authenticated\nC: b1 NOOP\nC: b2 SELECT Nope\nS: b1 OK\nS: b2 NO\n")
    usage = scan_transcripts(folder, "imap")
    assert usage.files == 2
    assert usage.commands == {
        ("NOOP", "nonauth"),
        ("LOGIN", "nonauth"),
        ("SELECT", "authenticated"),
        ("IDLE", "selected"),
        ("UID FETCH", "selected"),
        ("NOOP", "authenticated"),
    }  # DONE is IDLE's data, not a command
    assert missing_commands(IMAP_TABLE, usage) == [("IDLE", "authenticated"), ("NOOP", "selected"), ("SELECT", "selected")]
    report = coverage_report(folder, "imap", IMAP_TABLE, ImapCodes)
    assert "TRYCREATE ([TRYCREATE]" not in report and "TRYCREATE (TRYCREATE)" in report
    assert "ALREADYEXISTS" not in report


def test_smtp_and_pop3_states_and_reply_keys(tmp_path: Path) -> None:
    (tmp_path / "smtp").mkdir()
    (tmp_path / "smtp" / "mail.t").write_text(
        "C: EHLO x\nS: 250 *\nC: MAIL FROM:<a@x>\nC: RCPT TO:<b@x>\nC: DATA\nS: 250 2.1.0\nS: 550 5.1.1\nS: 354\n"
        "C: body\nC: .\nS: 554 5.5.1\n"
    )
    usage = scan_transcripts(tmp_path / "smtp", "smtp")
    assert usage.commands == {("EHLO", "connected"), ("MAIL", "greeted"), ("RCPT", "mail"), ("DATA", "mail")}
    assert {"250", "550 5.1.1", "554 5.5.1", "354"} <= usage.replies

    class Replies(enum.Enum):
        R550_NO_SUCH_USER = "550 5.1.1 no such user"
        R452_TOO_MANY = "452 4.5.3 too many recipients"

    assert coverage_report(tmp_path / "smtp", "smtp", None, {m.name: m for m in Replies}) == (
        "smtp: reply constants no transcript shows:\n  R452_TOO_MANY (452 4.5.3)"
    )

    (tmp_path / "pop3").mkdir()
    (tmp_path / "pop3" / "auth.t").write_text("C: USER a\nS: +OK\nC: PASS b\nS: -ERR [AUTH]\nC: AUTH PLAIN\nS: +\nC: AGFAYgBj\nS: +OK\nC: STAT\n")
    usage = scan_transcripts(tmp_path / "pop3", "pop3")
    assert usage.commands == {("USER", "authorization"), ("PASS", "authorization"), ("AUTH", "authorization"), ("STAT", "transaction")}
    assert usage.replies == {"AUTH"}


def test_reply_key_shapes() -> None:
    @dataclass
    class Reply:
        code: int
        enhanced: str | None

    assert reply_key(Reply(550, "5.1.1")) == "550 5.1.1"
    assert reply_key(Reply(221, None)) == "221"
    assert reply_key(b"250 2.0.0 ok") == "250 2.0.0"
    assert reply_key("[IN-USE]") == "IN-USE"
    assert reply_key("NO [OVERQUOTA] full") == "OVERQUOTA"
    assert reply_key("a sentence") is None


async def test_transcript_server_services_users_clock_and_counts(tmp_path: Path) -> None:
    overrides = {"limits.imap.max_commands_before_auth": 3, "auth.trusted_networks": []}
    async with TranscriptServer("imap", users=["alice", "bob"], config_overrides=overrides, data_dir=tmp_path / "d") as srv:
        assert srv.config.limits.imap.max_commands_before_auth == 3
        assert srv.config.auth.trusted_networks == ()
        assert srv.mail.clock is srv.clock
        assert {a.address for a in await srv.mail.list_users()} == {"alice@example.test", "bob@example.test"}
        await srv.deliver(["alice", "bob"], b"Subject: hi\r\n\r\nhello\r\n")
        assert await srv.count_messages("alice", "INBOX") == 1
        start = srv.clock.now()
        await srv.advance_clock(60)
        assert srv.clock.now() == start + 60
