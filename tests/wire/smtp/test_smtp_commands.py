"""SMTP command parsing: a table per command, parameter errors with their replies, fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postoffice.wire.smtp import (
    COMMANDS,
    Address,
    Auth,
    Bdat,
    Data,
    Ehlo,
    Expn,
    Helo,
    Help,
    MailFrom,
    MailParams,
    Noop,
    Path,
    Quit,
    RcptParams,
    RcptTo,
    Rset,
    SMTPSyntaxError,
    StartTls,
    UnknownCommand,
    Vrfy,
    decode_xtext,
    encode_xtext,
    parse_command,
)

AB = Path(Address("a", "b.example"))

GOOD = [
    (b"EHLO mail.example.com", Ehlo("mail.example.com", True)),
    (b"ehlo [192.0.2.1]\r\n", Ehlo("[192.0.2.1]", True)),
    (b"EHLO [IPv6:::1]", Ehlo("[IPv6:::1]", True)),
    (b"EHLO bad_name", Ehlo("bad_name", False)),
    (b"HeLo mail.example.com", Helo("mail.example.com", True)),
    (b"MAIL FROM:<a@b.example>", MailFrom(AB)),
    (b"mail from:<a@b.example>\r\n", MailFrom(AB)),
    (b"MAIL FROM: <a@b.example>", MailFrom(AB)),
    (b"MAIL FROM:<>", MailFrom(Path(None))),
    (b"MAIL FROM:<a@b.example> SIZE=1000", MailFrom(AB, MailParams(size=1000))),
    (b"MAIL FROM:<a@b.example> size=0 body=8bitmime", MailFrom(AB, MailParams(size=0, body="8BITMIME"))),
    (b"MAIL FROM:<a@b.example> BODY=7BIT", MailFrom(AB, MailParams(body="7BIT"))),
    (b"MAIL FROM:<a@b.example> BODY=BINARYMIME", MailFrom(AB, MailParams(body="BINARYMIME"))),
    (b"MAIL FROM:<a@b.example> SMTPUTF8", MailFrom(AB, MailParams(smtputf8=True))),
    (b"MAIL FROM:<a@b.example> RET=hdrs ENVID=QQ+2B1", MailFrom(AB, MailParams(ret="HDRS", envid="QQ+1"))),
    (b"MAIL FROM:<a@b.example> RET=FULL", MailFrom(AB, MailParams(ret="FULL"))),
    (b"MAIL FROM:<a@b.example> AUTH=<>", MailFrom(AB, MailParams(auth="<>"))),
    (b"MAIL FROM:<a@b.example> AUTH=e+2Bf@x.y", MailFrom(AB, MailParams(auth="e+f@x.y"))),
    (b"MAIL FROM:<a@b.example>  SIZE=5   ", MailFrom(AB, MailParams(size=5))),
    (b"RCPT TO:<a@b.example>", RcptTo(AB)),
    (b"rcpt to:<Postmaster>", RcptTo(Path(Address("Postmaster", "")))),
    (b"RCPT TO:<a@b.example> NOTIFY=NEVER", RcptTo(AB, RcptParams(notify=("NEVER",)))),
    (b"RCPT TO:<a@b.example> NOTIFY=success,DELAY", RcptTo(AB, RcptParams(notify=("SUCCESS", "DELAY")))),
    (b"RCPT TO:<a@b.example> ORCPT=rfc822;a+40b.example", RcptTo(AB, RcptParams(orcpt=("rfc822", "a@b.example")))),
    (b"RCPT TO:<@r.example:a@b.example>", RcptTo(Path(Address("a", "b.example"), ("r.example",)))),
    (b"DATA", Data()),
    (b"data  ", Data()),
    (b"BDAT 0 LAST", Bdat(0, True)),
    (b"BDAT 1000", Bdat(1000, False)),
    (b"bdat 12 last", Bdat(12, True)),
    (b"RSET", Rset()),
    (b"NOOP", Noop()),
    (b"NOOP anything at all", Noop("anything at all")),
    (b"QUIT", Quit()),
    (b"VRFY alice", Vrfy("alice")),
    (b"EXPN staff list", Expn("staff list")),
    (b"HELP", Help()),
    (b"HELP MAIL", Help("MAIL")),
    (b"STARTTLS", StartTls()),
    (b"AUTH PLAIN", Auth("PLAIN")),
    (b"auth plain AGFsaWNlAHNlY3JldA==", Auth("PLAIN", "AGFsaWNlAHNlY3JldA==")),
    (b"AUTH PLAIN =", Auth("PLAIN", "=")),
    (b"AUTH SCRAM-SHA-256 biwsbj11c2VyLHI9Zm9v", Auth("SCRAM-SHA-256", "biwsbj11c2VyLHI9Zm9v")),
]


@pytest.mark.parametrize(("line", "command"), GOOD, ids=lambda x: repr(x)[:60])
def test_good(line: bytes, command: object) -> None:
    assert parse_command(line) == command


def test_every_command_class_is_covered() -> None:
    assert {type(command) for _, command in GOOD} == set(COMMANDS)


BAD = [
    # line, code, enhanced
    (b"", 500, "5.5.2"),
    (b"FOO bar", 500, "5.5.2"),
    (b"MAILFROM:<a@b.c>", 500, "5.5.2"),
    (b"\xff\xfe", 500, "5.5.2"),
    (b"EHLO", 501, "5.5.4"),
    (b"EHLO a b", 501, "5.5.4"),
    (b"HELO", 501, "5.5.4"),
    (b"MAIL", 501, "5.5.4"),
    (b"MAIL TO:<a@b.c>", 501, "5.5.4"),
    (b"MAIL FROM:a@b.c", 501, "5.1.7"),
    (b"MAIL FROM:<a@b.c.>", 501, "5.1.7"),
    (b"MAIL FROM:<a@b.c>x", 501, "5.5.4"),
    (b"MAIL FROM:<a@b.c> FOO=1", 555, "5.5.4"),
    (b"MAIL FROM:<a@b.c> NOTIFY=NEVER", 555, "5.5.4"),  # RCPT parameter on MAIL
    (b"MAIL FROM:<a@b.c> SIZE=abc", 501, "5.5.4"),
    (b"MAIL FROM:<a@b.c> SIZE=-1", 501, "5.5.4"),
    (b"MAIL FROM:<a@b.c> SIZE=" + b"9" * 21, 501, "5.5.4"),
    (b"MAIL FROM:<a@b.c> SIZE", 501, "5.5.4"),
    (b"MAIL FROM:<a@b.c> SIZE=", 501, "5.5.4"),
    (b"MAIL FROM:<a@b.c> SIZE=1 SIZE=2", 501, "5.5.4"),
    (b"MAIL FROM:<a@b.c> BODY=9BIT", 501, "5.5.4"),
    (b"MAIL FROM:<a@b.c> SMTPUTF8=yes", 501, "5.5.4"),
    (b"MAIL FROM:<a@b.c> RET=ALL", 501, "5.5.4"),
    (b"MAIL FROM:<a@b.c> ENVID=a+zz", 501, "5.5.4"),
    (b"MAIL FROM:<a@b.c> ENVID=" + b"x" * 101, 501, "5.5.4"),
    (b"MAIL FROM:<a@b.c> -X=1", 501, "5.5.4"),
    (b"MAIL FROM:<j\xc3\xb6@b.c>", 553, "5.6.7"),
    (b"RCPT", 501, "5.5.4"),
    (b"RCPT TO:<>", 501, "5.1.3"),
    (b"RCPT TO:<a@b.c> SIZE=1", 555, "5.5.4"),
    (b"RCPT TO:<a@b.c> NOTIFY=NEVER,SUCCESS", 501, "5.5.4"),
    (b"RCPT TO:<a@b.c> NOTIFY=SUCCESS,SUCCESS", 501, "5.5.4"),
    (b"RCPT TO:<a@b.c> NOTIFY=SOMETIMES", 501, "5.5.4"),
    (b"RCPT TO:<a@b.c> ORCPT=a@b.c", 501, "5.5.4"),
    (b"RCPT TO:<a@b.c> ORCPT=rfc822;", 501, "5.5.4"),
    (b"RCPT TO:<j\xc3\xb6@b.c>", 553, "5.6.7"),
    (b"RCPT TO:<a@b.c\x00>", 501, "5.5.4"),
    (b"DATA now", 501, "5.5.4"),
    (b"BDAT", 501, "5.5.4"),
    (b"BDAT -1", 501, "5.5.4"),
    (b"BDAT 1 FIRST", 501, "5.5.4"),
    (b"BDAT 1 LAST x", 501, "5.5.4"),
    (b"RSET x", 501, "5.5.4"),
    (b"QUIT now", 501, "5.5.4"),
    (b"STARTTLS x", 501, "5.5.4"),
    (b"VRFY", 501, "5.5.4"),
    (b"EXPN", 501, "5.5.4"),
    (b"AUTH", 501, "5.5.4"),
    (b"AUTH PL@IN", 501, "5.5.4"),
    (b"AUTH PLAIN not!base64", 501, "5.5.4"),
    (b"AUTH PLAIN abc def", 501, "5.5.4"),
]


@pytest.mark.parametrize(("line", "code", "enhanced"), BAD, ids=lambda x: repr(x)[:60])
def test_bad(line: bytes, code: int, enhanced: str) -> None:
    with pytest.raises(SMTPSyntaxError) as info:
        parse_command(line)
    assert (info.value.reply.code, info.value.reply.enhanced) == (code, enhanced)
    assert isinstance(info.value, UnknownCommand) == (code == 500)


def test_smtputf8_paths() -> None:
    mail = parse_command("MAIL FROM:<jöran@bücher.example> SMTPUTF8".encode())
    assert isinstance(mail, MailFrom) and mail.params.smtputf8
    assert mail.sender == Address("jöran", "bücher.example")
    rcpt = parse_command("RCPT TO:<用户@例子.广告>".encode(), smtputf8=True)
    assert isinstance(rcpt, RcptTo) and rcpt.recipient.local == "用户"
    with pytest.raises(SMTPSyntaxError) as info:
        parse_command("RCPT TO:<用户@例子.广告>".encode())
    assert info.value.reply.code == 553
    # A quoted local part that merely contains the word does not declare SMTPUTF8.
    with pytest.raises(SMTPSyntaxError):
        parse_command('MAIL FROM:<"ö SMTPUTF8"@x.y>'.encode())


def test_xtext_round_trip() -> None:
    assert decode_xtext("a+2Bb+3Dc") == "a+b=c"
    assert encode_xtext("a+b=c d") == "a+2Bb+3Dc+20d"
    for bad in ("a+2b", "a+", "a b", "a=b"):
        with pytest.raises(ValueError):
            decode_xtext(bad)


@given(st.text(max_size=60))
def test_xtext_encode_decodes_back(text: str) -> None:
    encoded = encode_xtext(text)
    if all(ord(c) < 256 for c in text):
        assert decode_xtext(encoded) == text


verbs = st.sampled_from([b"MAIL FROM:", b"RCPT TO:", b"EHLO ", b"BDAT ", b"AUTH ", b"DATA", b"", b"VRFY "])


@given(st.binary(max_size=120))
def test_fuzz_random_bytes(line: bytes) -> None:
    try:
        parse_command(line)
    except SMTPSyntaxError as error:
        assert 500 <= error.reply.code < 600 or error.reply.code == 553


@given(verbs, st.text(max_size=80), st.booleans())
def test_fuzz_after_verb(verb: bytes, rest: str, smtputf8: bool) -> None:
    try:
        parse_command(verb + rest.encode("utf-8", "surrogatepass"), smtputf8=smtputf8)
    except SMTPSyntaxError:
        pass
