"""The transcript kit against toy servers: parsing, matching rules, waits, reports."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from postoffice.testing.match import tokenize, try_match
from postoffice.testing.transcript import Action, ExpectBlock, Send, TranscriptSyntaxError, parse_transcript

# ---- parsing -------------------------------------------------------------------------------


def test_header_and_steps() -> None:
    t = parse_transcript(
        textwrap.dedent(
            """\
            # a comment
            state: selected   # nonauth | authenticated | selected
            users: alice bob
            connections: 2
            config: limits.imap.max_commands_before_auth = 3
            config: auth.trusted_networks = []
            tls: yes

            1 C: a1 NOOP
            S: a1 OK
            2 C: b1 NOOP
            @ordered
            2 S: * 1 EXISTS
            2 S: b1 OK
            @deliver-text alice hello there
            """
        ),
        protocol="imap",
    )
    h = t.header
    assert (h.state, h.users, h.connections, h.tls, h.listener) == ("selected", ["alice", "bob"], 2, True, "imaps")
    assert h.config == {"limits.imap.max_commands_before_auth": 3, "auth.trusted_networks": []}
    assert h.login_user(2) == "bob"
    kinds = [type(s).__name__ for s in t.steps]
    assert kinds == ["Send", "ExpectBlock", "Send", "ExpectBlock", "Action"]
    block = t.steps[3]
    assert isinstance(block, ExpectBlock) and block.ordered and block.conn == 2 and len(block.lines) == 2
    action = t.steps[4]
    assert isinstance(action, Action) and action.args == ["alice", "hello", "there"]


def test_client_literals_are_joined_and_split_into_waits() -> None:
    t = parse_transcript("C: a1 LOGIN {5}\nC: alice {8}\nC: password\nC: a2 APPEND INBOX {7+}\nC: hello\nC: \n")
    login, append = t.steps
    assert isinstance(login, Send) and isinstance(append, Send)
    assert [(p.data, p.wait) for p in login.pieces] == [
        (b"a1 LOGIN {5}\r\n", True),
        (b"alice", False),
        (b" {8}\r\n", True),
        (b"password", False),
        (b"\r\n", False),
    ]
    # {n+} does not wait; the literal ends inside the joint CRLF, so the command ends after it.
    assert [(p.data, p.wait) for p in append.pieces] == [(b"a2 APPEND INBOX {7+}\r\n", False), (b"hello\r\n", False), (b"\r\n", False)]


def test_raw_lines_decode_escapes_without_crlf() -> None:
    (step,) = parse_transcript(r"C!: MAIL FROM:<a@b>\nRCPT\x00\r\n").steps
    assert isinstance(step, Send) and step.raw and step.pieces[0].data == b"MAIL FROM:<a@b>\nRCPT\x00\r\n"


@pytest.mark.parametrize(
    "text, message",
    [
        ("C: a1 APPEND INBOX {50}\nC: short\n", "runs past"),
        ("state: sleepy\n", "state must be"),
        ("C: a1 NOOP\nbogus line\n", "not a header"),
        ("@frobnicate 1\n", "unknown action"),
        ("C: a1 NOOP\n!S: * BYE\n", "only !S:"),
    ],
)
def test_syntax_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(TranscriptSyntaxError, match=message) as info:
        parse_transcript(text, source="x.t")
    assert "x.t:" in str(info.value)


# ---- token matching ---------------------------------------------------------------------------


def m(pattern: str, value: str, caps: dict[str, str] | None = None) -> bool:
    return try_match(tokenize(pattern.encode()), tokenize(value.encode()), caps if caps is not None else {})


def test_captures_wildcards_and_unordered_lists() -> None:
    caps: dict[str, str] = {}
    assert m("* 1 FETCH (UID $u FLAGS (\\Seen))", "* 1 FETCH (FLAGS (\\Seen) UID 17)", caps)
    assert caps == {"u": "17"}
    assert not m("* 2 FETCH (UID $u)", "* 2 FETCH (UID 18)", caps)  # $u is 17 now
    assert m("* 2 FETCH (UID $_ *)", "* 2 FETCH (UID 18 RFC822.SIZE 10 FLAGS ())")
    assert not m("* 2 FETCH (UID $_)", "* 2 FETCH (UID 18 RFC822.SIZE 10)")  # extra item without *
    assert m("* FLAGS (\\Seen \\Draft)", "* FLAGS (\\Draft \\Seen)")
    assert not m("* FLAGS (\\Seen)", "* FLAGS (\\Draft \\Seen)")
    assert m("* CAPABILITY IMAP4rev2 IDLE *", "* CAPABILITY IDLE MOVE IMAP4rev2")
    assert m('* LIST (\\HasNoChildren) "/" Fruit/Apple', '* LIST (\\HasNoChildren) "/" "Fruit/Apple"')
    assert not m("* SEARCH 2 1", "* SEARCH 1 2")  # order matters elsewhere
    assert m("* STATUS INBOX ($_ *)", "* STATUS INBOX (MESSAGES 2 UIDNEXT 3)")
    assert m("* 1 FETCH (FLAGS ($Forwarded))", "* 1 FETCH (FLAGS ($Forwarded))")
    assert not m("* 1 FETCH (FLAGS ($Forwarded))", "* 1 FETCH (FLAGS ($Junk))")  # keywords are not captures
    assert m("* 1 FETCH (BODY[HEADER.FIELDS (From)] {3}\r\nabc)", "* 1 FETCH (BODY[HEADER.FIELDS (From)] {3}\r\nabc)")


# ---- running against the toy servers ---------------------------------------------------------


async def test_imap_block_untagged_in_any_order_and_captures(toy) -> None:  # type: ignore[no-untyped-def]
    caps = await toy.run(
        """
        S: * OK [CAPABILITY IMAP4rev2 *]
        C: a1 SELECT INBOX
        S: * OK [UIDVALIDITY $uv]
        S: * FLAGS (\\Answered \\Flagged \\Seen)
        S: * 0 EXISTS
        S: a1 OK [READ-WRITE]
        C: a2 FETCH 1:* (UID FLAGS BODY[])
        S: * 2 FETCH (BODY[] {11}
        S: Hello World UID 9)
        S: * 1 FETCH (FLAGS (\\Flagged \\Seen) UID $u)
        S: a2 OK
        """
    )
    assert caps == {"uv": "42", "u": "7"}


async def test_ordered_block_and_extra_lines(toy) -> None:  # type: ignore[no-untyped-def]
    await toy.run("C: a1 ECHO x y\n@ordered\nS: * ECHO x\nS: * ECHO y\nS: a1 OK")
    with pytest.raises(AssertionError, match=r"unexpected .\* ECHO x. \(@ordered block"):
        await toy.run("C: a1 ECHO x y\n@ordered\nS: * ECHO y\nS: * ECHO x\nS: a1 OK")
    await toy.run("C: a1 ECHO x y\nS: * ECHO y\nS: * ECHO x\nS: a1 OK")  # a multiset otherwise
    with pytest.raises(AssertionError, match=r"unexpected untagged responses \['\* ECHO z'\]"):
        await toy.run("C: a1 ECHO x z\nS: * ECHO x\nS: a1 OK")
    await toy.run("C: a1 ECHO x z\nS: * ECHO x\nS: ...\nS: a1 OK")


async def test_tagged_answer_ignores_text_but_checks_code(toy) -> None:  # type: ignore[no-untyped-def]
    await toy.run('C: a1 LOGIN alice "wrong"\nS: a1 NO [AUTHENTICATIONFAILED] whatever text')
    await toy.run('C: a1 LOGIN alice "wrong"\nS: a1 NO')
    with pytest.raises(AssertionError, match="expected the tagged answer"):
        await toy.run('C: a1 LOGIN alice "wrong"\nS: a1 NO [ALREADYEXISTS]')


async def test_literals_wait_for_continuation(toy) -> None:  # type: ignore[no-untyped-def]
    await toy.run("C: a1 LOGIN {5}\nC: alice {8}\nC: password\nS: a1 OK")
    await toy.run("C: a2 APPEND INBOX {5}\nC: hello\nS: a2 OK [APPENDUID 42 1]\n@expect-count alice INBOX 1")
    await toy.run("C: a3 APPEND INBOX {5+}\nC: world\nS: a3 OK [APPENDUID 42 2]")
    assert toy.mail.messages["alice"] == [b"hello", b"world"]
    # A refused literal is not sent; the refusal is matched by the S: lines.
    await toy.run("C: a4 APPEND Refuse {5}\nC: hello\nS: a4 NO [TOOBIG]\nC: a5 NOOP\nS: a5 OK")


async def test_negative_lines(toy) -> None:  # type: ignore[no-untyped-def]
    await toy.run("C: a1 ECHO x\nS: * ECHO x\n!S: * ECHO y\nS: a1 OK")
    with pytest.raises(AssertionError, match="must not"):
        await toy.run("C: a1 ECHO x y\nS: * ECHO x\n!S: * ECHO y\nS: ...\nS: a1 OK")


async def test_mismatch_report_marks_the_line_and_shows_bytes(toy) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AssertionError) as info:
        await toy.run("C: a1 NOOP\nS: a1 OK\nC: a2 FROB\nS: a2 OK\nC: a3 NOOP")
    report = str(info.value)
    assert "failed at line 4" in report
    assert ">>    4 | S: a2 OK" in report
    assert "C> b'a2 FROB\\r\\n'" in report and "S< b'a2 BAD unknown command\\r\\n'" in report


async def test_timeout_fails_clearly(toy) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AssertionError, match=r"timed out after 0.2 s on connection 1 waiting for 'a1 OK'"):
        await toy.run("timeout: 0.2s\nC: a1 SLOW\nS: a1 OK")


async def test_two_connections_idle_and_wait(toy) -> None:  # type: ignore[no-untyped-def]
    await toy.run(
        """
        connections: 2
        state: selected
        1 C: a1 IDLE
        1 S: +
        2 C: b1 NOOP
        2 S: b1 OK
        @deliver-text alice first
        1 S: * 1 EXISTS
        @deliver-text alice second
        @wait 1 "* 2 EXISTS" 2s
        1 C: DONE
        1 S: a1 OK
        @expect-count alice INBOX 2
        """
    )
    with pytest.raises(AssertionError, match="timed out"):
        await toy.run("C: a1 IDLE\nS: +\n@wait 1 \"* 9 EXISTS\" 0.2s")


async def test_logout_and_expect_closed(toy) -> None:  # type: ignore[no-untyped-def]
    await toy.run("C: a1 LOGOUT\nS: * BYE\nS: a1 OK\n@expect-closed 1\n@connect 1\nS: * OK\nC: a2 NOOP\nS: a2 OK")
    with pytest.raises(AssertionError, match="is not open"):
        await toy.run("@close 1\nC: a1 NOOP")


async def test_greeting_is_checked(toy) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AssertionError, match="did not arrive|got"):
        await toy.run("S: * BYE\nC: a1 NOOP")


async def test_smtp_replies(toy) -> None:  # type: ignore[no-untyped-def]
    await toy.run(
        """
        S: 220
        C: EHLO client.example.test
        S: 250-*
        S: 250-SIZE $size
        S: 250-AUTH LOGIN PLAIN
        S: 250 PIPELINING
        C: MAIL FROM:<a@example.test>
        C: RCPT TO:<nobody@example.test>
        C: RCPT TO:<alice@example.test>
        S: 250 2.1.0
        S: 550 5.1.1
        S: 250
        C: DATA
        S: 354
        C: Subject: hi
        C:
        C: body
        C: .
        S: 250 2.0.0
        """,
        "smtp",
    )
    with pytest.raises(AssertionError, match="expected the reply '550 5.1.2'"):
        await toy.run("C: RCPT TO:<nobody@x>\nS: 550 5.1.2", "smtp")
    await toy.run("C: EHLO x\nS: 250-*\nS: 250 ...", "smtp")
    await toy.run("state: authenticated\nC: QUIT\nS: 221\n@expect-closed 1", "smtp")


async def test_pop3_multiline_responses(toy) -> None:  # type: ignore[no-untyped-def]
    toy.mail.messages["alice"] = [b"Subject: x\r\n\r\n.dot\r\nend"]
    caps = await toy.run(
        """
        state: authenticated
        C: CAPA
        S: +OK
        S: UIDL
        S: TOP
        S: RESP-CODES
        S: SASL SCRAM-SHA-256 PLAIN
        S: .
        C: STAT
        S: +OK 1 $size
        C: LIST
        S: +OK
        C: LIST 9
        S: -ERR [SYS/PERM]
        C: RETR 1
        @ordered
        S: +OK
        S: Subject: x
        S:
        S: ..dot
        S: end
        S: .
        """,
        "pop3",
    )
    assert caps == {"size": "23"}
    with pytest.raises(AssertionError, match="expected"):
        await toy.run("C: CAPA\nS: +OK\nS: TOP\nS: .", "pop3")  # the body must be complete


# ---- pytest collection ------------------------------------------------------------------------


def test_each_t_file_is_one_pytest_item(tmp_path: Path) -> None:
    folder = tmp_path / "transcripts" / "imap"
    folder.mkdir(parents=True)
    (folder / "good.t").write_text("C: a1 NOOP\nS: a1 OK\n")
    (folder / "broken.t").write_text("C: a1 NOOP\nwhat is this\n")
    (tmp_path / "conftest.py").write_text("from postoffice.testing.pytest_plugin import pytest_collect_file  # noqa\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", "-q", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = result.stdout
    assert "broken.t:2: not a header" in out
    assert "1 failed" in out
    assert ("1 skipped" in out) or ("1 passed" in out) or ("good.t" in out)
