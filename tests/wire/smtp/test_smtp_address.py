"""RFC 5321 path grammar tables: valid, invalid, UTF-8 with and without SMTPUTF8."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postoffice.wire.smtp import (
    Address,
    AddressSyntaxError,
    RelayTrick,
    SMTPSyntaxError,
    is_domain,
    parse_forward_path,
    parse_mailbox,
    parse_reverse_path,
)

VALID = [
    # text, local, domain, is_quoted, literal, canonical
    ("<user@example.com>", "user", "example.com", False, None, "user@example.com"),
    ("<User.Name+tag@Example.COM>", "User.Name+tag", "Example.COM", False, None, "User.Name+tag@example.com"),
    ("<a!#$%&'*+-/=?^_`{|}~z@x.y>", "a!#$%&'*+-/=?^_`{|}~z", "x.y", False, None, "a!#$%&'*+-/=?^_`{|}~z@x.y"),
    ('<"john doe"@example.com>', "john doe", "example.com", True, None, '"john doe"@example.com'),
    ('<"a\\"b\\\\c"@x.y>', 'a"b\\c', "x.y", True, None, '"a\\"b\\\\c"@x.y'),
    ('<"plain"@x.y>', "plain", "x.y", True, None, "plain@x.y"),
    ('<""@x.y>', "", "x.y", True, None, '""@x.y'),
    ("<u@[192.0.2.1]>", "u", "[192.0.2.1]", False, "192.0.2.1", "u@[192.0.2.1]"),
    ("<u@[IPv6:2001:DB8::0:1]>", "u", "[IPv6:2001:DB8::0:1]", False, "IPv6:2001:DB8::0:1", "u@[IPv6:2001:db8::1]"),
    ("<u@[ipv6:::1]>", "u", "[ipv6:::1]", False, "ipv6:::1", "u@[IPv6:::1]"),
    ("<u@a-b.c1>", "u", "a-b.c1", False, None, "u@a-b.c1"),
    ("<u@localhost>", "u", "localhost", False, None, "u@localhost"),
    ("<u@1.2.3.4>", "u", "1.2.3.4", False, None, "u@1.2.3.4"),  # a Domain by the ABNF
]


@pytest.mark.parametrize(("text", "local", "domain", "quoted", "literal", "canonical"), VALID)
def test_valid_paths(text: str, local: str, domain: str, quoted: bool, literal: str | None, canonical: str) -> None:
    for parse in (parse_reverse_path, parse_forward_path):
        path = parse(text)
        assert path.address == Address(local, domain, quoted, literal)
        assert path.address.canonical == canonical
        assert path.route == ()


INVALID = [
    "user@example.com",  # no angle brackets
    "<user@example.com",
    "user@example.com>",
    "< user@example.com>",
    "<user@example.com >",
    "<user @example.com>",
    "<user>",  # no domain
    "<@example.com>",
    "<user@>",
    "<user@example.com.>",  # trailing dot in the domain
    "<user@.example.com>",
    "<user@exa..mple.com>",
    "<user.@example.com>",
    "<.user@example.com>",
    "<us..er@example.com>",
    "<user@-example.com>",
    "<user@example-.com>",
    "<user@exa_mple.com>",
    "<us(er)@example.com>",
    "<us,er@example.com>",
    "<us[er@example.com>",
    "<a@b@example.com>",
    '<"unterminated@example.com>',
    '<"a"b@example.com>',
    '<"tab\there"@example.com>',
    "<u@[1.2.3]>",
    "<u@[256.1.1.1]>",
    "<u@[1.2.3.4.5]>",
    "<u@[IPv6:1.2.3.4]>",
    "<u@[IPv6:gggg::1]>",
    "<u@[IPv6:fe80::1%eth0]>",
    "<u@[X-tag:whatever]>",  # unregistered General-address-literal
    "<u@[]>",
    "<u@[1.2.3.4>",
    "<@a:>",
    "<@a,b:u@c>",  # every hop needs its @
    "<@a u@c>",
    "<" + "a" * 65 + "@example.com>",  # local part over 64
    "<u@" + "a" * 64 + ".com>",  # label over 63
    "<u@" + ".".join(["a" * 60] * 5) + ">",  # domain over 255 / path over 256
    "<>x",
    "",
    "<",
    "<<u@x>>",
]


@pytest.mark.parametrize("text", INVALID)
def test_invalid_paths(text: str) -> None:
    with pytest.raises(AddressSyntaxError) as info:
        parse_forward_path(text)
    assert info.value.reply.code in (501, 553)


def test_null_path_is_reverse_only() -> None:
    assert parse_reverse_path("<>").is_null
    with pytest.raises(AddressSyntaxError):
        parse_forward_path("<>")


@pytest.mark.parametrize("text", ["<Postmaster>", "<postmaster>", "<POSTMASTER>"])
def test_bare_postmaster_recipient(text: str) -> None:
    # RFC 5321 §4.1.1.3: "RCPT TO:<Postmaster>" must be accepted.
    address = parse_forward_path(text).address
    assert address is not None and address.is_bare_postmaster and address.is_postmaster
    assert address.canonical == "postmaster"
    with pytest.raises(AddressSyntaxError):
        parse_reverse_path(text)


def test_postmaster_with_domain() -> None:
    address = parse_forward_path("<PostMaster@Example.com>").address
    assert address is not None and address.is_postmaster and not address.is_bare_postmaster


def test_source_route_parsed_then_ignored() -> None:
    path = parse_forward_path("<@relay.one,@relay.two:user@final.example>")
    assert path.route == ("relay.one", "relay.two")
    assert path.address == Address("user", "final.example")
    assert RelayTrick.SOURCE_ROUTE in path.relay_tricks()


UTF8 = [
    "<用户@例子.广告>",
    "<jöran@bücher.example>",
    "<ascii@bücher.example>",
    "<jöran@example.com>",
    '<"ö ö"@example.com>',
]


@pytest.mark.parametrize("text", UTF8)
def test_utf8_needs_smtputf8(text: str) -> None:
    with pytest.raises(AddressSyntaxError) as info:
        parse_forward_path(text)
    assert (info.value.reply.code, info.value.reply.enhanced) == (553, "5.6.7")
    address = parse_forward_path(text, smtputf8=True).address
    assert address is not None and not address.is_ascii


@pytest.mark.parametrize("text", ["<u@\u0085x.y>", "<u\u0080@x.y>", "<u@-ö.y>", "<u@[IPv6:ö]>", "<ö\u00a0@x..y>"])
def test_invalid_even_with_smtputf8(text: str) -> None:
    with pytest.raises(AddressSyntaxError):
        parse_forward_path(text, smtputf8=True)


@pytest.mark.parametrize(
    ("text", "tricks"),
    [
        ("<user@example.com>", set()),
        ("<user%other.example@example.com>", {RelayTrick.PERCENT_HACK}),
        ("<other!user@example.com>", {RelayTrick.BANG_PATH}),
        ("<a%b!c@example.com>", {RelayTrick.PERCENT_HACK, RelayTrick.BANG_PATH}),
        ('<"user@other.example"@example.com>', {RelayTrick.QUOTED_ROUTING}),
        ('<"user%other"@example.com>', {RelayTrick.QUOTED_ROUTING}),
        ('<"a!b"@example.com>', {RelayTrick.QUOTED_ROUTING}),
        ('<"just quoted"@example.com>', set()),
        ("<user@[192.0.2.7]>", {RelayTrick.ADDRESS_LITERAL}),
        ("<@x.example:user@example.com>", {RelayTrick.SOURCE_ROUTE}),
    ],
)
def test_relay_tricks(text: str, tricks: set[RelayTrick]) -> None:
    assert parse_forward_path(text).relay_tricks() == tricks


def test_literal_ip() -> None:
    address = parse_forward_path("<u@[010.0.0.1]>").address
    assert address is not None and address.literal_ip == ipaddress.IPv4Address("10.0.0.1")
    assert address.canonical == "u@[10.0.0.1]"


def test_parse_mailbox() -> None:
    assert parse_mailbox("a@b.c") == Address("a", "b.c")
    for bad in ("<a@b.c>", "a", "@x:a@b.c", "a@b.c>"):
        with pytest.raises(AddressSyntaxError):
            parse_mailbox(bad)


def test_is_domain() -> None:
    assert is_domain("mail.example.com") and is_domain("localhost")
    assert not is_domain("mail.example.com.") and not is_domain("bad_name") and not is_domain("")


@given(st.text(max_size=80), st.booleans())
def test_fuzz_only_typed_errors(text: str, smtputf8: bool) -> None:
    try:
        path = parse_forward_path(text, smtputf8=smtputf8)
    except SMTPSyntaxError:
        return
    assert path.address is not None
    # Whatever parses, its canonical form parses again to the same canonical form.
    again = parse_forward_path(f"<{path.address.canonical}>", smtputf8=smtputf8).address
    assert again is not None and again.canonical == path.address.canonical


@given(
    st.from_regex(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,20}(\.[A-Za-z0-9_-]{1,10}){0,2}", fullmatch=True),
    st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\.[a-z]{2,6}){1,3}", fullmatch=True),
)
def test_generated_valid_addresses_parse(local: str, domain: str) -> None:
    address = parse_forward_path(f"<{local}@{domain}>").address
    assert address == Address(local, domain)
