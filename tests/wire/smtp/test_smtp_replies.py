"""Reply constants and wire formatting."""

from __future__ import annotations

import re

import pytest

from postoffice.wire.smtp import ALL_REPLIES, R220_READY, R250_OK, R334_AUTH_CHALLENGE, Reply, ehlo_reply


@pytest.mark.parametrize("name", sorted(ALL_REPLIES))
def test_constant_name_carries_code(name: str) -> None:
    reply = ALL_REPLIES[name]
    assert name.startswith(f"R{reply.code}_")
    wire = reply.to_bytes()
    assert wire.endswith(b"\r\n") and wire.count(b"\r\n") == 1
    assert re.match(rb"\d{3} ", wire)
    if reply.enhanced:
        assert wire.startswith(f"{reply.code} {reply.enhanced} ".encode())


def test_required_constants_exist() -> None:
    expected = {
        "R250_OK": (250, "2.0.0"),
        "R550_NO_SUCH_USER": (550, "5.1.1"),
        "R554_RELAY_DENIED": (554, "5.7.1"),
        "R530_AUTH_REQUIRED": (530, "5.7.0"),
        "R553_SENDER_NOT_OWNED": (553, "5.7.1"),
        "R451_REMOTE_NOT_YET": (451, "4.3.0"),
        "R552_TOO_BIG": (552, "5.3.4"),
        "R500_LINE_TOO_LONG": (500, "5.5.2"),
        "R501_SYNTAX": (501, "5.5.4"),
        "R555_BAD_PARAM": (555, "5.5.4"),
        "R535_AUTH_FAILED": (535, "5.7.8"),
        "R538_ENCRYPTION_REQUIRED": (538, "5.7.11"),
        "R235_AUTH_OK": (235, "2.7.0"),
    }
    for name, codes in expected.items():
        assert (ALL_REPLIES[name].code, ALL_REPLIES[name].enhanced) == codes
    for name in (
        "R503_BAD_SEQUENCE",
        "R502_NOT_IMPLEMENTED",
        "R354_START_INPUT",
        "R334_AUTH_CHALLENGE",
        "R221_BYE",
        "R220_READY",
        "R252_CANNOT_VRFY",
        "R214_HELP",
        "R421_SHUTTING_DOWN",
    ):
        assert name in ALL_REPLIES


def test_multiline_and_text() -> None:
    reply = Reply(250, "2.0.0", "one\ntwo\r\nthree")
    assert reply.to_bytes() == b"250-2.0.0 one\r\n250-2.0.0 two\r\n250 2.0.0 three\r\n"
    assert R250_OK.with_text("Fine").to_bytes() == b"250 2.0.0 Fine\r\n"
    assert R220_READY.with_text("mx.example ESMTP").to_bytes() == b"220 mx.example ESMTP\r\n"
    assert R334_AUTH_CHALLENGE.to_bytes() == b"334 \r\n"
    assert R334_AUTH_CHALLENGE.with_text("dGVzdA==").to_bytes() == b"334 dGVzdA==\r\n"


def test_ehlo_reply() -> None:
    reply = ehlo_reply("mx.example", "Hello client.example", ["PIPELINING", "SIZE 1000", "LIMITS RCPTMAX=100"])
    assert reply.to_bytes() == (
        b"250-mx.example Hello client.example\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 LIMITS RCPTMAX=100\r\n"
    )
    assert ehlo_reply("mx.example", "", []).to_bytes() == b"250 mx.example\r\n"


def test_bad_reply_values_refused() -> None:
    with pytest.raises(ValueError):
        Reply(250, "5.0.0", "mismatch")
    with pytest.raises(ValueError):
        Reply(99, None, "")
