"""Response serialisation, ENVELOPE and BODYSTRUCTURE rendering."""

from __future__ import annotations

import base64
import datetime as dt
import re

import pytest

from postoffice.message.address import Address, Group
from postoffice.message.structure import BodyPart, Disposition, EmbeddedMessage, Envelope
from postoffice.wire.imap import ImapSyntaxError, SequenceSet, parse_line
from postoffice.wire.imap import response as r
from postoffice.wire.imap.render import body_structure, envelope


def test_values_encode() -> None:
    assert r.encode(None) == b"NIL"
    assert r.encode(42) == b"42"
    assert r.encode('say "hi" \\o/') == b'"say \\"hi\\" \\\\o/"'
    assert r.encode("two\r\nlines") == b"{10}\r\ntwo\r\nlines"
    assert r.encode(b"raw") == b"{3}\r\nraw"
    assert r.encode(r.Literal8(b"a\x00b")) == b"~{3}\r\na\x00b"
    assert r.encode([r.Atom("\\Seen"), "x", None, [1, 2]]) == b'(\\Seen "x" NIL (1 2))'
    assert r.encode(SequenceSet.of([1, 2, 3])) == b"1:3"
    with pytest.raises(TypeError):
        r.encode(object())


def test_utf8_goes_quoted_only_when_enabled() -> None:
    assert r.string("Grüße") == b"{7}\r\nGr\xc3\xbc\xc3\x9fe"
    assert r.string("Grüße", utf8=True) == '"Grüße"'.encode()
    assert r.nstring(None) == b"NIL"
    with pytest.raises(ValueError):
        r.quoted("Grüße")


def test_astring_and_mailbox() -> None:
    assert r.astring("INBOX") == b"INBOX"
    assert r.astring("NIL") == b'"NIL"'
    assert r.astring("a b") == b'"a b"'
    assert r.astring("") == b'""'
    assert r.mailbox("Entwürfe") == b"Entw&APw-rfe"
    assert r.mailbox("Entwürfe", utf8=True) == '"Entwürfe"'.encode()


def test_date_time() -> None:
    when = dt.datetime(1996, 7, 17, 2, 44, 25, tzinfo=dt.timezone(dt.timedelta(hours=-7)))
    assert r.date_time(when) == b'"17-Jul-1996 02:44:25 -0700"'
    assert r.date_time(dt.datetime(2024, 1, 5, 9, 0, 0)) == b'" 5-Jan-2024 09:00:00 +0000"'
    ist = dt.timezone(dt.timedelta(hours=5, minutes=30))
    assert r.date_time(dt.datetime(2024, 12, 31, 23, 59, 59, tzinfo=ist)) == b'"31-Dec-2024 23:59:59 +0530"'


def test_date_time_round_trips_through_append() -> None:
    when = dt.datetime(2001, 2, 3, 4, 5, 6, tzinfo=dt.timezone(dt.timedelta(hours=-3, minutes=-30)))
    cmd = parse_line(b"a APPEND INBOX " + r.date_time(when) + b" {1+}\r\nx")
    assert cmd.messages[0].date_time == when  # type: ignore[attr-defined]


def test_status_responses_and_codes() -> None:
    assert (
        r.tagged("A003", "OK", "APPEND completed", r.code_appenduid(38505, 3955))
        == b"A003 OK [APPENDUID 38505 3955] APPEND completed\r\n"
    )
    assert r.NO_ALREADYEXISTS.tagged("a1", "exists") == b"a1 NO [ALREADYEXISTS] exists\r\n"
    assert r.NO_NONEXISTENT.tagged("a1") == b"a1 NO [NONEXISTENT] no\r\n"
    assert r.NO_TRYCREATE.tagged("a", "x") == b"a NO [TRYCREATE] x\r\n"
    assert r.NO_CANNOT.tagged("a", "x") == b"a NO [CANNOT] x\r\n"
    assert r.OK_UIDNEXT.untagged("next", args="4392") == b"* OK [UIDNEXT 4392] next\r\n"
    assert (
        r.untagged_status("OK", "hi", r.code_highestmodseq(715194045007)) == b"* OK [HIGHESTMODSEQ 715194045007] hi\r\n"
    )
    assert r.tagged("a", "OK", "done", r.code_modified(SequenceSet.of([1, 2, 3]))) == b"a OK [MODIFIED 1:3] done\r\n"
    assert (
        r.code_copyuid(38505, SequenceSet.parse("304,319:320"), SequenceSet.parse("3956:3958"))
        == "COPYUID 38505 304,319:320 3956:3958"
    )
    assert r.code_permanentflags(["\\Seen", "\\*"]) == "PERMANENTFLAGS (\\Seen \\*)"
    assert r.continuation() == b"+ Ready\r\n"
    assert r.continuation_data(b"") == b"+ \r\n"
    assert r.bye() == b"* BYE Logging out\r\n"
    assert "NO_NONEXISTENT" in r.REPLIES and "OK_APPENDUID" in r.REPLIES
    assert all(name.startswith(reply.status + "_") or name == reply.status for name, reply in r.REPLIES.items())


def test_syntax_error_response() -> None:
    assert r.syntax_error_response(ImapSyntaxError("bad", "a1")) == b"a1 BAD bad\r\n"
    assert r.syntax_error_response(ImapSyntaxError("bad")) == b"* BAD bad\r\n"
    assert (
        r.syntax_error_response(ImapSyntaxError("big", "a2", code="TOOBIG", status="NO")) == b"a2 NO [TOOBIG] big\r\n"
    )


def test_data_responses() -> None:
    assert (
        r.fetch_response(12, [("FLAGS", (r.Atom("\\Seen"),)), ("UID", 4), ("BODY[]<0>", b"ab")])
        == b"* 12 FETCH (FLAGS (\\Seen) UID 4 BODY[]<0> {2}\r\nab)\r\n"
    )
    assert r.list_response(["\\HasNoChildren"], "/", "INBOX") == b'* LIST (\\HasNoChildren) "/" INBOX\r\n'
    assert (
        r.list_response([], None, "a b", extended=[("CHILDINFO", ("SUBSCRIBED",))])
        == b'* LIST () NIL "a b" ("CHILDINFO" ("SUBSCRIBED"))\r\n'
    )
    assert (
        r.list_response([], "/", "New", extended=[("OLDNAME", ("Entwürfe",))])
        == b'* LIST () "/" New ("OLDNAME" (Entw&APw-rfe))\r\n'
    )
    assert (
        r.status_response("blurdybloop", {"MESSAGES": 231, "UIDNEXT": 44292})
        == b"* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n"
    )
    assert r.search_response([2, 84, 882]) == b"* SEARCH 2 84 882\r\n"
    assert r.search_response([], modseq=7) == b"* SEARCH (MODSEQ 7)\r\n"
    assert r.esearch_response("A282", min=2, count=3) == b'* ESEARCH (TAG "A282") MIN 2 COUNT 3\r\n'
    assert r.esearch_response("a", uid=True, all=SequenceSet.of([1, 2, 5])) == b'* ESEARCH (TAG "a") UID ALL 1:2,5\r\n'
    assert r.capability_response(["IMAP4rev2", "IDLE"]) == b"* CAPABILITY IMAP4rev2 IDLE\r\n"
    assert r.enabled_response(["CONDSTORE"]) == b"* ENABLED CONDSTORE\r\n"
    assert r.vanished_response(SequenceSet.parse("41,43:116"), earlier=True) == b"* VANISHED (EARLIER) 41,43:116\r\n"
    assert r.exists_response(23) == b"* 23 EXISTS\r\n"
    assert r.expunge_response(3) == b"* 3 EXPUNGE\r\n"


GRAY = (Address("Terry Gray", None, "gray", "cac.washington.edu"),)
ENV = Envelope(
    date="Wed, 17 Jul 1996 02:23:25 -0700 (PDT)",
    subject="IMAP4rev2 WG mtg summary and minutes",
    from_=GRAY,
    sender=GRAY,
    reply_to=GRAY,
    to=(Address(None, None, "imap", "cac.washington.edu"),),
    cc=(Address(None, None, "minutes", "CNRI.Reston.VA.US"), Address("John Klensin", None, "KLENSIN", "MIT.EDU")),
    message_id="<B27397-0100000@cac.washington.edu>",
)


def test_envelope_matches_rfc9051_example() -> None:
    # RFC 9051 §7.5.2 / §8 example FETCH ENVELOPE
    assert envelope(ENV) == (
        b'("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev2 WG mtg summary and minutes" '
        b'(("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) '
        b'(("Terry Gray" NIL "gray" "cac.washington.edu")) ((NIL NIL "imap" "cac.washington.edu")) '
        b'((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL '
        b'"<B27397-0100000@cac.washington.edu>")'
    )


def test_envelope_group_syntax() -> None:
    team = Group("g", (Address(None, None, "a", "x"),))
    env = Envelope(to=(Group("undisclosed-recipients"),), cc=(team, Address(None, None, "b", "y")))
    assert envelope(env) == (
        b'(NIL NIL NIL NIL NIL ((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) '
        b'((NIL NIL "g" NIL)(NIL NIL "a" "x")(NIL NIL NIL NIL)(NIL NIL "b" "y")) NIL NIL NIL)'
    )


def test_body_structure_text_and_multipart() -> None:
    text = BodyPart("1", "TEXT", "PLAIN", params=(("CHARSET", "US-ASCII"),), encoding="7BIT", size=3028, lines=92)
    # RFC 9051 §7.5.2 example BODYSTRUCTURE (non-extended form is BODY)
    assert body_structure(text, extended=False) == b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92)'
    assert body_structure(text) == b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92 NIL NIL NIL NIL)'
    attachment = BodyPart(
        "2",
        "application",
        "pdf",
        params=(("name", "a b.pdf"),),
        encoding="base64",
        size=100,
        disposition=Disposition("attachment", (("filename", "a b.pdf"),)),
        language=("en", "de"),
    )
    multi = BodyPart("", "multipart", "mixed", params=(("boundary", "xyz"),), children=(text, attachment))
    assert body_structure(multi, extended=False) == (
        b'(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92)'
        b'("application" "pdf" ("name" "a b.pdf") NIL NIL "BASE64" 100) "mixed")'
    )
    assert body_structure(multi).endswith(
        b'"BASE64" 100 NIL ("attachment" ("filename" "a b.pdf")) ("en" "de") NIL) "mixed" ("boundary" "xyz") NIL NIL NIL)'
    )


def test_body_structure_multipart_without_parts_is_one_empty_text_body() -> None:
    empty = BodyPart("1", "multipart", "mixed", params=(("boundary", "b"),), encoding="7BIT", size=10)
    assert body_structure(empty, extended=False) == b'("text" "plain" ("charset" "us-ascii" "boundary" "b") NIL NIL "7BIT" 10 0)'


def test_body_structure_message_rfc822() -> None:
    inner = BodyPart("2.1", "text", "plain", size=5, lines=1)
    msg = BodyPart(
        "2", "message", "rfc822", size=200, lines=8, message=EmbeddedMessage(Envelope(subject="hi"), inner)
    )
    assert body_structure(msg, extended=False) == (
        b'("message" "rfc822" NIL NIL NIL "7BIT" 200 (NIL "hi" NIL NIL NIL NIL NIL NIL NIL NIL) '
        b'("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 5 1) 8)'
    )
    # not parsed (a structure stored before such parts were): an empty envelope and body
    opaque = BodyPart("2", "message", "rfc822", encoding="BASE64", size=20, lines=1)
    assert body_structure(opaque, extended=False) == (
        b'("message" "rfc822" NIL NIL NIL "BASE64" 20 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) '
        b'("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 0 0) 1)'
    )


def _decode_words(value: bytes) -> bytes:
    """The octets of RFC 2047 encoded words ``"=?cs?b?...?= ..."`` (quoted)."""
    return b"".join(base64.b64decode(m) for m in re.findall(rb"=\?[\w-]+\?b\?([A-Za-z0-9+/=]*)\?=", value))


@pytest.mark.parametrize("utf8", [False, True])
def test_nul_in_envelope_and_bodystructure_never_goes_out_raw(utf8: bool) -> None:
    """RFC 9051 §9 CHAR8 = %x01-ff: NUL fits neither a quoted string nor a literal, so the
    value goes as encoded words of its octets (a long one in several words, none split
    inside a character), a parameter as an RFC 2231 extended value."""
    long_subject = "é" * 40 + "\x00" + "x" * 60
    env = Envelope(subject=long_subject, from_=(Address("A\x00\udce9", None, "a\x00b", "example.test"),))
    out = envelope(env, utf8=utf8)
    assert b"\x00" not in out and b"{" not in out
    subject = out.split(b" ", 2)[1]
    assert _decode_words(out[: out.index(b" ((")]) == long_subject.encode("utf-8")
    assert subject.startswith(b'"=?utf-8?b?')
    assert all(len(w) <= 75 for w in out[: out.index(b" ((")].split(b'"')[1].split(b" "))
    # a display name whose octets are not UTF-8: unknown-8bit, the octet kept
    assert b'"=?unknown-8bit?b?' + base64.b64encode(b"A\x00\xe9") + b'?="' in out
    part = BodyPart("", "application", "octet-stream", params=(("name", "a\x00b"),), description="d\x00", size=1)
    rendered = body_structure(part, utf8=utf8)
    assert b"\x00" not in rendered
    assert b'"name*" "utf-8\'\'a%00b"' in rendered
    assert _decode_words(rendered) == b"d\x00"
