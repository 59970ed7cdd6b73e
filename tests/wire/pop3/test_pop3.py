"""POP3 command parsing, responses and the streaming dot-stuffer."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postoffice.testing.chunks import pieces
from postoffice.wire.pop3 import (
    ALL_RESPONSES,
    COMMANDS,
    ERR_ARGUMENT_TOO_LONG,
    ERR_BAD_MESSAGE_NUMBER,
    ERR_IN_USE,
    ERR_LOGIN_DELAY,
    ERR_SYS_PERM,
    ERR_SYS_TEMP,
    ERR_UNKNOWN_COMMAND,
    OK_CAPA,
    Apop,
    Auth,
    Capa,
    Dele,
    DotStuffer,
    List,
    Noop,
    Pass,
    POP3SyntaxError,
    Quit,
    Response,
    Retr,
    Rset,
    Stat,
    Stls,
    Top,
    Uidl,
    UnknownCommand,
    User,
    Utf8,
    dot_stuff,
    multiline,
    parse_command,
)

GOOD = [
    (b"USER alice@example.com", User("alice@example.com")),
    (b"user alice\r\n", User("alice")),
    (b"PASS secret", Pass("secret")),
    (b"PASS  two  spaces here ", Pass(" two  spaces here ")),
    ("PASS pässwörd".encode(), Pass("pässwörd")),
    (b"QUIT", Quit()),
    (b"STAT", Stat()),
    (b"LIST", List()),
    (b"list 3", List(3)),
    (b"RETR 1", Retr(1)),
    (b"DELE 12", Dele(12)),
    (b"NOOP", Noop()),
    (b"RSET", Rset()),
    (b"TOP 1 0", Top(1, 0)),
    (b"top 2 10", Top(2, 10)),
    (b"UIDL", Uidl()),
    (b"UIDL 7", Uidl(7)),
    (b"CAPA", Capa()),
    (b"STLS", Stls()),
    (b"AUTH", Auth()),
    (b"AUTH plain", Auth("PLAIN")),
    (b"AUTH PLAIN =", Auth("PLAIN", "=")),
    (b"AUTH PLAIN " + b"QUFB" * 30, Auth("PLAIN", "QUFB" * 30)),  # longer than 40: exempt
    (b"UTF8", Utf8()),
    (b"APOP mrose c4c9334bac560ecc979e58001b3e22fb", Apop("mrose", "c4c9334bac560ecc979e58001b3e22fb")),
    (b"STAT  ", Stat()),
]


@pytest.mark.parametrize(("line", "command"), GOOD, ids=lambda x: repr(x)[:50])
def test_good(line: bytes, command: object) -> None:
    assert parse_command(line) == command


def test_every_command_class_is_covered() -> None:
    assert {type(command) for _, command in GOOD} == set(COMMANDS)


def test_pass_repr_hides_password() -> None:
    assert "secret" not in repr(parse_command(b"PASS secret"))


BAD = [
    (b"", ERR_UNKNOWN_COMMAND),
    (b"FOO", ERR_UNKNOWN_COMMAND),
    (b"STATUS", ERR_UNKNOWN_COMMAND),
    (b"\xff", ERR_UNKNOWN_COMMAND),
    (b"RETR", None),
    (b"RETR 0", ERR_BAD_MESSAGE_NUMBER),
    (b"RETR -1", ERR_BAD_MESSAGE_NUMBER),
    (b"RETR +1", ERR_BAD_MESSAGE_NUMBER),
    (b"RETR 1.5", ERR_BAD_MESSAGE_NUMBER),
    (b"RETR x", ERR_BAD_MESSAGE_NUMBER),
    (b"RETR 1 2", None),
    (b"RETR  1", None),
    (b"RETR " + b"1" * 41, ERR_ARGUMENT_TOO_LONG),
    (b"DELE", None),
    (b"LIST 1 2", None),
    (b"LIST 0", ERR_BAD_MESSAGE_NUMBER),
    (b"UIDL abc", ERR_BAD_MESSAGE_NUMBER),
    (b"TOP 1", None),
    (b"TOP 1 -1", ERR_BAD_MESSAGE_NUMBER),
    (b"TOP 0 1", ERR_BAD_MESSAGE_NUMBER),
    (b"STAT 1", None),
    (b"QUIT now", None),
    (b"USER", None),
    (b"USER a b", None),
    (b"PASS", None),
    (b"PASS ", None),
    (b"PASS a\x00b", None),
    (b"AUTH PL@IN", None),
    (b"AUTH PLAIN !!", None),
    (b"AUTH PLAIN a b", None),
    (b"APOP mrose", None),
    (b"APOP mrose nothex", None),
    (b"NOOP " + b"x" * 41, ERR_ARGUMENT_TOO_LONG),
    (b"USER \xff", None),
]


@pytest.mark.parametrize(("line", "response"), BAD, ids=lambda x: repr(x)[:50])
def test_bad(line: bytes, response: Response | None) -> None:
    with pytest.raises(POP3SyntaxError) as info:
        parse_command(line)
    assert not info.value.response.ok
    assert isinstance(info.value, UnknownCommand) == (response is ERR_UNKNOWN_COMMAND)
    if response is not None:
        assert info.value.response.code == response.code
        assert info.value.response.text == response.text


@given(st.binary(max_size=80))
def test_fuzz_random_bytes(line: bytes) -> None:
    try:
        parse_command(line)
    except POP3SyntaxError as error:
        assert not error.response.ok


@given(st.sampled_from([b"RETR ", b"TOP ", b"LIST ", b"USER ", b"PASS ", b"AUTH ", b"APOP "]), st.text(max_size=60))
def test_fuzz_after_keyword(keyword: bytes, rest: str) -> None:
    try:
        parse_command(keyword + rest.encode("utf-8", "surrogatepass"))
    except POP3SyntaxError:
        pass


def test_responses() -> None:
    assert bytes(ERR_IN_USE) == b"-ERR [IN-USE] Maildrop is locked by another session\r\n"
    assert ERR_LOGIN_DELAY.code == "LOGIN-DELAY"
    assert (ERR_SYS_TEMP.code, ERR_SYS_PERM.code) == ("SYS/TEMP", "SYS/PERM")
    assert ALL_RESPONSES["ERR_AUTH"].code == "AUTH" and ALL_RESPONSES["ERR_UTF8"].code == "UTF8"
    assert Response(True, None, "2 320").to_bytes() == b"+OK 2 320\r\n"
    assert Response(True, None, "").to_bytes() == b"+OK\r\n"
    assert Response(False, None, "a\r\nb").to_bytes() == b"-ERR a  b\r\n"
    for name, response in ALL_RESPONSES.items():
        assert name.startswith("OK" if response.ok else "ERR")
    with pytest.raises(ValueError):
        Response(False, "bad code", "")


def test_multiline_listing() -> None:
    assert multiline(OK_CAPA, ["USER", "UIDL", ".odd"]) == (
        b"+OK Capability list follows\r\nUSER\r\nUIDL\r\n..odd\r\n.\r\n"
    )
    assert multiline(OK_CAPA, []) == b"+OK Capability list follows\r\n.\r\n"


@pytest.mark.parametrize(
    ("body", "wire"),
    [
        (b"", b".\r\n"),
        (b"a\r\n", b"a\r\n.\r\n"),
        (b"a", b"a\r\n.\r\n"),
        (b"a\r", b"a\r\n.\r\n"),
        (b"a\n", b"a\r\n.\r\n"),
        (b".\r\n", b"..\r\n.\r\n"),
        (b".a\r\n.\r\n..\r\n", b"..a\r\n..\r\n...\r\n.\r\n"),
        (b"x\r\n.", b"x\r\n..\r\n.\r\n"),
        (b"x\n.y\r.z", b"x\r\n..y\r\n..z\r\n.\r\n"),
        (b"a. b\r\n\r\n", b"a. b\r\n\r\n.\r\n"),
    ],
)
def test_dot_stuff_table(body: bytes, wire: bytes) -> None:
    assert dot_stuff(body) == wire
    stuffer = DotStuffer()
    assert b"".join(stuffer.feed(body[i : i + 1]) for i in range(len(body))) + stuffer.finish() == wire


def _unstuff(wire: bytes) -> bytes:
    """What a POP3 client reads back (RFC 1939 §3)."""
    assert wire.endswith(b"\r\n.\r\n") or wire == b".\r\n"
    lines = wire[:-3].split(b"\r\n")[:-1] if wire != b".\r\n" else []
    for line in lines:
        assert line != b"."  # no premature terminator
    return b"".join((line[1:] if line.startswith(b".") else line) + b"\r\n" for line in lines)


@settings(max_examples=300)
@given(st.lists(st.sampled_from([b".", b"\r", b"\n", b"\r\n", b"a", b".."]), max_size=40).map(b"".join),
       st.lists(st.integers(min_value=1, max_value=7), min_size=1, max_size=20))  # fmt: skip
def test_fuzz_dot_stuffer(body: bytes, cuts: list[int]) -> None:
    whole = dot_stuff(body)
    stuffer = DotStuffer()
    out = b"".join(stuffer.feed(piece) for piece in pieces(body, cuts)) + stuffer.finish()
    assert out == whole
    normalised = body.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")
    if normalised and not normalised.endswith(b"\r\n"):
        normalised += b"\r\n"
    assert _unstuff(whole) == normalised


def test_dot_stuffer_finish_once() -> None:
    stuffer = DotStuffer()
    stuffer.finish()
    with pytest.raises(RuntimeError):
        stuffer.finish()
    with pytest.raises(RuntimeError):
        stuffer.feed(b"x")
