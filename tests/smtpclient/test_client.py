"""The SMTP client against a capturing sink on loopback."""

from __future__ import annotations

import base64
import dataclasses
import email
import email.policy
from collections.abc import AsyncIterator

import pytest

from postoffice.config import RelayLimits
from postoffice.message.downgrade import Downgrader, downgrade
from postoffice.smtpclient import (
    DataFramer,
    Envelope,
    RecipientSpec,
    ReplyError,
    ReplyParser,
    SMTPClientError,
    SMTPConnection,
)
from postoffice.testing.smtp_sink import SMTPSink

LIMITS = RelayLimits()


async def chunks(data: bytes, size: int = 7) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def envelope(message: bytes, *rcpts: str, **kw: object) -> Envelope:
    return Envelope("a@a.test", tuple(RecipientSpec(r) for r in rcpts or ("b@b.test",)), len(message), **kw)  # type: ignore[arg-type]


async def open_sink(**kw: object) -> tuple[SMTPSink, int]:
    sink = SMTPSink(**kw)  # type: ignore[arg-type]
    return sink, await sink.start()


async def connect(port: int, limits: RelayLimits = LIMITS) -> SMTPConnection:
    return await SMTPConnection.open("127.0.0.1", port, limits, helo="a.test", tls="opportunistic")


TRICKY = b"Subject: dots\r\n\r\nline one\r\n.\r\n..two\r\nbare\rcr and bare\nlf\r\n.\nend"


@pytest.mark.parametrize("extensions", [("PIPELINING", "8BITMIME"), ("8BITMIME",), ()])
async def test_data_dot_stuffing_and_bare_line_ends(extensions: tuple[str, ...]) -> None:
    sink, port = await open_sink(extensions=extensions)
    conn = await connect(port)
    result = await conn.send(envelope(TRICKY), chunks(TRICKY, 3))
    await conn.quit()
    await sink.stop()
    assert [r.reply.code for r in result.recipients] == [250]
    assert len(sink.messages) == 1
    got = sink.messages[0]
    assert got.via == "DATA"
    # One message, each bare CR / LF became CRLF, the lone dot line came through as a dot.
    assert got.message == (
        b"Subject: dots\r\n\r\nline one\r\n.\r\n..two\r\nbare\r\ncr and bare\r\nlf\r\n.\r\nend\r\n"  # the last line gets its CRLF
    )
    assert got.wire.endswith(b"\r\nend\r\n.\r\n")
    assert b"\r\n..\r\n" in got.wire and b"\r\n...two" in got.wire


def test_framer_is_independent_of_chunking() -> None:
    whole = DataFramer()
    expected = whole.feed(TRICKY) + whole.finish()
    for size in range(1, 12):
        f = DataFramer()
        out = b"".join(f.feed(TRICKY[i : i + size]) for i in range(0, len(TRICKY), size)) + f.finish()
        assert out == expected
    f = DataFramer()
    assert f.feed(b".") + f.finish() == b"..\r\n.\r\n"
    assert DataFramer().finish() == b".\r\n"


async def test_bdat_when_chunking_offered() -> None:
    sink, port = await open_sink()
    conn = await connect(port)
    message = b"Subject: x\r\n\r\n" + bytes(range(256)) * 4000
    result = await conn.send(envelope(message, body="BINARYMIME"), chunks(message, 100_000))
    await conn.quit()
    await sink.stop()
    assert result.recipients[0].delivered
    assert sink.messages[0].via == "BDAT"
    assert sink.messages[0].message == message
    assert "BODY=BINARYMIME" in sink.messages[0].mail_params


async def test_bdat_gathers_small_pieces_into_one_chunk() -> None:
    # A 4 KB message streamed in 7-octet pieces after a prepended signature: one BDAT LAST
    # (one round trip), not one chunk per piece; a big message still goes in several.
    sink, port = await open_sink()
    conn = await connect(port)
    small = b"Subject: small\r\n\r\n" + b"x" * 4000 + b"\r\n"

    async def sign(_: AsyncIterator[bytes]) -> bytes:
        return b"X-Signed: yes\r\n"

    result = await conn.send(envelope(small), lambda: chunks(small), sign=sign)
    big = b"Subject: big\r\n\r\n" + b"y" * 1_000_000 + b"\r\n"
    result_big = await conn.send(envelope(big), chunks(big, 10_000))
    await conn.quit()
    await sink.stop()
    assert result.recipients[0].delivered and result_big.recipients[0].delivered
    assert sink.messages[0].message == b"X-Signed: yes\r\n" + small
    assert sink.messages[0].bdat_chunks == 1
    assert sink.messages[1].message == big
    assert 1 < sink.messages[1].bdat_chunks <= 5


async def test_helo_fallback_and_several_transactions() -> None:
    sink, port = await open_sink(ehlo=False)
    conn = await connect(port)
    assert not conn.esmtp
    for n in range(3):
        message = b"Subject: %d\r\n\r\nhello\r\n" % n
        result = await conn.send(envelope(message), chunks(message))
        assert result.recipients[0].delivered
    await conn.quit()
    await sink.stop()
    assert sink.connections == 1 and len(sink.messages) == 3
    assert sink.messages[0].mail_params == ""  # no ESMTP parameters to a HELO peer


async def test_per_recipient_results_4xx_and_5xx() -> None:
    sink, port = await open_sink(
        rcpt_replies={"busy@b.test": b"450 4.2.1 Try later", "gone@b.test": b"550 5.1.1 No such user"}
    )
    conn = await connect(port)
    message = b"Subject: x\r\n\r\nhi\r\n"
    result = await conn.send(envelope(message, "ok@b.test", "busy@b.test", "gone@b.test"), chunks(message))
    await conn.quit()
    await sink.stop()
    assert result.reply_for("ok@b.test").code == 250
    assert result.reply_for("busy@b.test").is_transient
    assert result.reply_for("gone@b.test").is_permanent
    assert result.reply_for("gone@b.test").enhanced == "5.1.1"
    assert sink.messages[0].recipients == ["ok@b.test"]


async def test_all_recipients_refused_sends_nothing() -> None:
    sink, port = await open_sink(rcpt_replies={"gone@b.test": b"550 5.1.1 No"})
    conn = await connect(port)
    message = b"Subject: x\r\n\r\nhi\r\n"
    result = await conn.send(envelope(message, "gone@b.test"), chunks(message))
    # The connection is still usable afterwards.
    result2 = await conn.send(envelope(message, "ok@b.test"), chunks(message))
    await conn.quit()
    await sink.stop()
    assert result.recipients[0].reply.code == 550
    assert result2.recipients[0].delivered
    assert len(sink.messages) == 1


async def test_size_refused_before_sending() -> None:
    sink, port = await open_sink(extensions=("PIPELINING", "SIZE 1000"))
    conn = await connect(port)
    message = b"Subject: big\r\n\r\n" + b"x" * 2000 + b"\r\n"
    result = await conn.send(envelope(message), chunks(message))
    ok = b"Subject: small\r\n\r\nhi\r\n"
    result2 = await conn.send(envelope(ok), chunks(ok))
    await conn.quit()
    await sink.stop()
    assert result.recipients[0].reply.code == 552 and result.recipients[0].reply.enhanced == "5.3.4"
    assert result2.recipients[0].delivered
    assert [m.message for m in sink.messages] == [ok]
    assert f"SIZE={len(ok)}" in sink.messages[0].mail_params


async def test_smtputf8_needed_but_not_offered_is_5_6_7() -> None:
    sink, port = await open_sink(extensions=("8BITMIME",))
    conn = await connect(port)
    message = "Subject: ünï\r\n\r\nhi\r\n".encode()
    result = await conn.send(envelope(message, "b@b.test", smtputf8=True), chunks(message))
    await conn.quit()
    await sink.stop()
    assert result.recipients[0].reply.code == 553 and result.recipients[0].reply.enhanced == "5.6.7"
    assert sink.messages == []


EIGHT_BIT = (
    b"From: a@a.test\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n\r\nGr\xc3\xbc\xc3\x9fe = sch\xc3\xb6n \r\n.\r\n"
)


async def test_8bit_to_peer_without_8bitmime_arrives_quoted_printable() -> None:
    sink, port = await open_sink(extensions=("PIPELINING",))
    conn = await connect(port)
    result = await conn.send(envelope(EIGHT_BIT, body="8BITMIME"), chunks(EIGHT_BIT, 5))
    await conn.quit()
    await sink.stop()
    assert result.converted and result.recipients[0].delivered
    got = sink.messages[0]
    assert "BODY=" not in got.mail_params
    assert all(b < 128 for b in got.wire)
    parsed = email.message_from_bytes(got.message, policy=email.policy.default)
    assert parsed["Content-Transfer-Encoding"] == "quoted-printable"
    assert parsed.get_payload(decode=True) == b"Gr\xc3\xbc\xc3\x9fe = sch\xc3\xb6n \r\n.\r\n"


BINARY = bytes(range(256)) * 50 + b"\r\n--notaboundary\n\r"
BINARY_MIME = (
    b"From: a@a.test\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=BB\r\n\r\n"
    b"--BB\r\nContent-Type: text/plain\r\n\r\nhello\r\n--BB\r\nContent-Type: application/octet-stream\r\n"
    b"Content-Transfer-Encoding: binary\r\n\r\n" + BINARY + b"\r\n--BB--\r\n"
)


async def test_binarymime_to_data_only_peer_arrives_as_base64() -> None:
    sink, port = await open_sink(extensions=("PIPELINING", "8BITMIME"))
    conn = await connect(port)
    result = await conn.send(envelope(BINARY_MIME, body="BINARYMIME"), chunks(BINARY_MIME, 1000))
    await conn.quit()
    await sink.stop()
    assert result.recipients[0].delivered
    got = sink.messages[0]
    assert got.via == "DATA" and "BODY=8BITMIME" in got.mail_params
    parts = list(email.message_from_bytes(got.message).walk())
    assert parts[2]["Content-Transfer-Encoding"] == "base64"
    assert parts[2].get_payload(decode=True) == BINARY


def test_downgrade_is_independent_of_chunking() -> None:
    expected = downgrade(BINARY_MIME, convert_8bit=True, convert_binary=True)
    assert base64.b64encode(BINARY[:57]) in expected
    for size in (1, 2, 3, 5, 64, 1000):
        d = Downgrader(convert_8bit=True, convert_binary=True)
        out = b"".join(d.feed(BINARY_MIME[i : i + size]) for i in range(0, len(BINARY_MIME), size)) + d.finish()
        assert out == expected
    # A message that needs nothing passes byte for byte.
    plain = b"Subject: x\r\n\r\nhello\r\n"
    assert downgrade(plain, convert_8bit=True, convert_binary=True) == plain


@pytest.mark.parametrize("misbehave", ["endless-line", "garbage", "close-after-mail", "421"])
async def test_bad_peers_give_transient_errors(misbehave: str) -> None:
    sink, port = await open_sink(misbehave=misbehave)
    message = b"Subject: x\r\n\r\nhi\r\n"
    limits = dataclasses.replace(LIMITS, timeout_greeting=5.0, timeout_command=5.0)
    with pytest.raises(SMTPClientError) as info:
        conn = await connect(port, limits)
        await conn.send(envelope(message), chunks(message))
    await sink.stop()
    assert info.value.reply.code // 100 == 4


@pytest.mark.parametrize("misbehave", ["stall-greeting", "stall-data"])
async def test_stalled_peer_times_out(misbehave: str) -> None:
    sink, port = await open_sink(misbehave=misbehave, extensions=("8BITMIME",))
    message = b"Subject: x\r\n\r\nhi\r\n"
    limits = dataclasses.replace(LIMITS, timeout_greeting=0.5, timeout_data_end=0.5)
    with pytest.raises(SMTPClientError) as info:
        conn = await connect(port, limits)
        await conn.send(envelope(message), chunks(message))
    await sink.stop()
    assert info.value.reply.enhanced == "4.4.2"


async def test_connection_refused_is_transient() -> None:
    sink, port = await open_sink()
    await sink.stop()
    with pytest.raises(SMTPClientError) as info:
        await connect(port)
    assert info.value.reply.is_transient


def test_reply_parser_limits() -> None:
    parser = ReplyParser(max_lines=2)
    assert parser.feed_line(b"250-a\r\n") is None
    assert parser.feed_line(b"250-b\r\n") is None
    with pytest.raises(ReplyError):
        parser.feed_line(b"250-c\r\n")
    for bad in (b"25 x\r\n", b"abc\r\n", b"250x\r\n", b"650 no\r\n"):
        with pytest.raises(ReplyError):
            ReplyParser().feed_line(bad)
    with pytest.raises(ReplyError):
        p = ReplyParser()
        p.feed_line(b"250-a")
        p.feed_line(b"251 b")
    reply = ReplyParser().feed_line(b"550 5.1.1 nobody")
    assert reply is not None and reply.code == 550 and reply.enhanced == "5.1.1"


@pytest.mark.parametrize("extra, accepted", [(0, True), (1, False)])
async def test_reply_line_limit_at_its_edge(extra: int, accepted: bool) -> None:
    limits = dataclasses.replace(LIMITS, max_reply_line=100)
    greeting = b"220 " + b"x" * (100 - 4 - 2 + extra)  # with its CRLF: 100 (+ extra) octets
    sink, port = await open_sink(greeting=greeting)
    try:
        if accepted:
            conn = await connect(port, limits)
            await conn.quit()
        else:
            with pytest.raises(SMTPClientError) as info:
                await connect(port, limits)
            assert info.value.reply.enhanced == "4.5.0"
    finally:
        await sink.stop()


@pytest.mark.parametrize("lines, accepted", [(10, True), (11, False)])
async def test_reply_lines_limit_at_its_edge(lines: int, accepted: bool) -> None:
    limits = dataclasses.replace(LIMITS, max_reply_lines=10)
    sink, port = await open_sink(extensions=[f"X-EXT{n}" for n in range(lines - 1)])  # + the first line
    try:
        if accepted:
            conn = await connect(port, limits)
            assert "X-EXT8" in conn.extensions
            await conn.quit()
        else:
            with pytest.raises(SMTPClientError):
                await connect(port, limits)
    finally:
        await sink.stop()


async def test_starttls_refused_falls_back_to_plain_unless_verification_is_required() -> None:
    # The sink offers STARTTLS but cannot do it (502): opportunistic TLS tries again in clear
    # (RFC 7435 §3); required TLS gives up with 4.7.x.
    sink, port = await open_sink(extensions=("STARTTLS", "PIPELINING", "8BITMIME"))
    try:
        conn = await connect(port)
        assert not conn.tls and sink.connections == 2
        message = b"Subject: x\r\n\r\nhi\r\n"
        assert (await conn.send(envelope(message), chunks(message))).recipients[0].delivered
        await conn.quit()
        with pytest.raises(SMTPClientError) as info:
            await SMTPConnection.open("127.0.0.1", port, LIMITS, helo="a.test", tls="verify")
        assert info.value.reply.is_transient and (info.value.reply.enhanced or "").startswith("4.7.")
    finally:
        await sink.stop()


async def test_verified_tls_refuses_an_unverifiable_certificate() -> None:
    """Against our own MX listener (self-signed certificate): opportunistic TLS works,
    verified TLS refuses it."""
    from postoffice.testing.server import TranscriptServer

    async with TranscriptServer("smtp", users=["bob"], domain="b.test") as b:
        port = await b.start_listener("smtp")
        conn = await SMTPConnection.open("127.0.0.1", port, LIMITS, helo="a.test", tls="opportunistic")
        assert conn.tls
        await conn.quit()
        with pytest.raises(SMTPClientError) as info:
            await SMTPConnection.open("127.0.0.1", port, LIMITS, helo="a.test", tls="verify")
        assert (info.value.reply.enhanced or "").startswith("4.7.")
